package sqlite

// SetHoldIncidents turns the incident write-back on or off (writeback.go)
// and returns what restores it; tests must not run in parallel with it.
func SetHoldIncidents(on bool) (restore func()) {
	was := holdIncidents
	holdIncidents = on
	return func() { holdIncidents = was }
}

// HeldUpdates is how many incident updates were held back so far.
func HeldUpdates() int64 { return heldUpdates.Load() }

// RowTexts and MustIntact are the migration tests' readers of whole tables.
var (
	RowTexts   = rowTexts
	MustIntact = mustIntact
)
