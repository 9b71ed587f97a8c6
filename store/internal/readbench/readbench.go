// Package readbench is what the store backends' read benchmarks share:
// their latency, reported as a p99 beside Go's mean.
package readbench

import (
	"slices"
	"testing"
	"time"
)

// Timed runs fn b.N times and reports the 99th percentile of its
// durations next to the mean, in milliseconds.
func Timed(b *testing.B, fn func() error) {
	b.Helper()
	b.ReportAllocs()
	var ds []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(ds)
	b.ReportMetric(float64(ds[(len(ds)-1)*99/100])/float64(time.Millisecond), "p99-ms")
}
