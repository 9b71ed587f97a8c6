package dedupe

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/alertbridge/alertbridge/incident"
)

// BenchmarkDecide is the pure rule on a repeat, the bulk of all traffic.
func BenchmarkDecide(b *testing.B) {
	prior := state(incident.StatusFiring, t0)
	e := ev(incident.StatusFiring, t0)
	for b.Loop() {
		if Decide(prior, e) != incident.TransitionRepeat {
			b.Fatal("not a repeat")
		}
	}
}

// BenchmarkBatchDecide is one transaction's view deciding 100 repeats
// (an Alertmanager group of 100) whose states are cached: the writer's
// dedupe cost per notification, without the store.
func BenchmarkBatchDecide(b *testing.B) {
	const n = 100
	d, err := New(10_000, nil)
	if err != nil {
		b.Fatal(err)
	}
	lookup := mapLookup{}
	events := make([]incident.Event, n)
	for i := range events {
		e := ev(incident.StatusFiring, t0)
		e.Source, e.Fingerprint = "am", fmt.Sprintf("fp%03d", i)
		events[i] = e
		st := *state(incident.StatusFiring, t0)
		st.Source, st.Fingerprint = e.Source, e.Fingerprint
		lookup[key{e.Source, e.Fingerprint}] = st
	}
	ctx := context.Background()
	warm := d.Begin(lookup)
	for _, e := range events {
		if _, _, err := warm.Decide(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		batch := d.Begin(lookup)
		for _, e := range events {
			_, prior, err := batch.Decide(ctx, e)
			if err != nil {
				b.Fatal(err)
			}
			batch.Record(*prior)
		}
		batch.Commit()
	}
}

// BenchmarkCacheHeap fills a cache of 100,000 alert states (the daemon's
// default) and reports the Go heap each cached alert holds: what the
// memory goal of issue #13 counts.
func BenchmarkCacheHeap(b *testing.B) {
	const alerts = 100_000
	for b.Loop() {
		b.StopTimer()
		before := liveHeap()
		d, err := New(alerts, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		batch := d.Begin(mapLookup{})
		for i := range alerts {
			st := *state(incident.StatusFiring, t0)
			st.Source, st.Fingerprint, st.IncidentID = "alertmanager", fmt.Sprintf("%016x", i*7919), int64(i/10+1)
			batch.Record(st)
		}
		batch.Commit()
		b.StopTimer()
		b.ReportMetric(float64(liveHeap()-before)/alerts, "heap-B/alert")
		runtime.KeepAlive(d)
		b.StartTimer()
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
