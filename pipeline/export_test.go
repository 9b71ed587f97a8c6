package pipeline

// SetMaxSweepBatches bounds the transactions of one Sweep until the
// returned func restores the bound.
func SetMaxSweepBatches(n int) (restore func()) {
	old := maxSweepBatches
	maxSweepBatches = n
	return func() { maxSweepBatches = old }
}

// MaxCloseBatches bounds the close transactions of one Sweep.
const MaxCloseBatches = maxCloseBatches
