package sqlite

import "os"

// SetHoldIncidents turns the incident write-back on or off (writeback.go)
// and returns what restores it; tests must not run in parallel with it.
func SetHoldIncidents(on bool) (restore func()) {
	was := holdIncidents
	holdIncidents = on
	return func() { holdIncidents = was }
}

// HeldUpdates is how many incident updates were held back so far.
func HeldUpdates() int64 { return heldUpdates.Load() }

// HeadroomPages is how many pages a heartbeat makes the database find.
const HeadroomPages = headroomPages

// RowTexts and MustIntact are the migration tests' readers of whole tables.
var (
	RowTexts   = rowTexts
	MustIntact = mustIntact
)

// ALERTBRIDGE_TEST_COLLIDING_KEYS=1 runs the package's tests with every
// alert state's key under one hash (statekeys.go): each lookup's
// candidates are then all the states, and only the key picks the right
// one (make test-colliding-keys).
func init() {
	if os.Getenv("ALERTBRIDGE_TEST_COLLIDING_KEYS") != "" {
		stateKeysHash = collidingHash
	}
}

// collidingHash puts every key under one hash.
func collidingHash(_, _ []byte) uint64 { return 42 }

// SetSearchBatch sets how many incidents wait for the search index before
// the writer indexes them (searchindex.go); call it before the store's
// first write.
func SetSearchBatch(s *Store, n int) { s.searchBatch = n }
