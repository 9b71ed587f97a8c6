package loadgen

import (
	"fmt"
	"os"
	"slices"
	"time"
)

// FsyncStats is what MeasureFsync measured.
type FsyncStats struct {
	Samples  int
	P50, P99 time.Duration
}

// MeasureFsync writes a 4 KiB block to a temporary file in dir and fsyncs
// it, n times, and returns the percentiles of the fsync alone. A durable
// acknowledgement costs at least one fsync of the store's log, so this is
// the floor under its latency on this disk.
func MeasureFsync(dir string, n int) (FsyncStats, error) {
	f, err := os.CreateTemp(dir, ".alertbridge-bench-fsync-*")
	if err != nil {
		return FsyncStats{}, fmt.Errorf("fsync probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, 4096)
	lat := make([]time.Duration, 0, n)
	for i := range n {
		block[0] = byte(i)
		if _, err := f.WriteAt(block, int64(i%256)*int64(len(block))); err != nil {
			return FsyncStats{}, fmt.Errorf("fsync probe: write: %w", err)
		}
		start := time.Now()
		if err := f.Sync(); err != nil {
			return FsyncStats{}, fmt.Errorf("fsync probe: %w", err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	return FsyncStats{Samples: n, P50: percentile(lat, 0.50), P99: percentile(lat, 0.99)}, nil
}
