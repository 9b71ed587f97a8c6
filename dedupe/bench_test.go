package dedupe

import (
	"context"
	"fmt"
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
