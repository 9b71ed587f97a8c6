package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// records is what a deferred repeat may not change at its acknowledgement:
// incidents, their timelines and their alerts but for last-seen times and
// counts (withSeen keeps those too).
func (e *env) records(withSeen bool) map[int64][]any {
	e.t.Helper()
	ctx := context.Background()
	out := map[int64][]any{}
	for _, inc := range e.incidents() {
		tl, err := e.store.Timeline(ctx, inc.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		alerts, err := e.store.Alerts(ctx, inc.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		for i := range alerts {
			if !withSeen {
				alerts[i].LastSeenAt, alerts[i].Count = time.Time{}, 0
			}
		}
		for i := range tl {
			tl[i].ID = 0
		}
		inc.UpdatedAt = time.Time{}
		out[inc.ID] = []any{inc, tl, alerts}
	}
	return out
}

// TestDeferredRepeatsChangeNoRecord runs one sequence (new alerts, repeats,
// a repeat with new annotations, a resolve, a refire) with every repeat
// written at once and with pure repeats deferred: at every
// acknowledgement the incidents, timelines and alerts are the same but
// for last-seen times and counts, and once the deferred repeats are
// written (at Stop) those are the same too.
func TestDeferredRepeatsChangeNoRecord(t *testing.T) {
	direct := newEnv(t, envOpts{})
	deferred := newEnv(t, envOpts{touchFlush: time.Hour}) // only Stop writes them
	changed := firing("web-1", t0)
	changed.Annotations = map[string]string{"summary": "p99 latency above 900ms"}
	steps := [][]incident.Event{
		{firing("web-1", t0), firing("web-2", t0)},
		{firing("web-1", t0), firing("web-2", t0)}, // repeats
		{firing("web-1", t0), firing("web-2", t0)},
		{changed, firing("web-2", t0)}, // new annotations: written at once
		{changed, firing("web-2", t0)},
		{resolved("web-2", t0, t0.Add(5*time.Second))},
		{changed, firing("web-2", t0.Add(10*time.Second))}, // a refire
		{changed, firing("web-2", t0.Add(10*time.Second))},
	}
	for i, evs := range steps {
		at := t0.Add(time.Duration(i+1) * time.Second)
		direct.submit(at, evs...)
		deferred.submit(at, evs...)
		if diff := cmp.Diff(direct.records(false), deferred.records(false)); diff != "" {
			t.Fatalf("step %d: records differ (-direct +deferred):\n%s", i, diff)
		}
	}
	if got := metricValue(t, deferred.reg, "alertbridge_pipeline_repeats_deferred_total"); got < 4 {
		t.Errorf("repeats_deferred_total = %v, want at least 4: nothing was deferred", got)
	}
	alerts, err := deferred.store.Alerts(context.Background(), deferred.only().ID)
	if err != nil {
		t.Fatal(err)
	}
	behind := false
	for _, a := range alerts {
		behind = behind || a.Count < 4
	}
	if !behind {
		t.Errorf("before Stop every count is written: %+v; the repeats were not deferred", alerts)
	}
	for _, e := range []*env{direct, deferred} {
		if err := e.p.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(direct.records(true), deferred.records(true)); diff != "" {
		t.Errorf("after Stop, records differ (-direct +deferred):\n%s", diff)
	}
}

// TestDeferredRepeatsWrittenBySweep checks that a sweep writes deferred
// repeats once they are due, so that an idle daemon does not keep them.
func TestDeferredRepeatsWrittenBySweep(t *testing.T) {
	e := newEnv(t, envOpts{touchFlush: time.Nanosecond})
	e.submit(t0.Add(time.Second), firing("web-1", t0))
	e.submit(t0.Add(2*time.Second), firing("web-1", t0))
	e.submit(t0.Add(3*time.Second), firing("web-1", t0))
	if err := e.p.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	alerts, err := e.store.Alerts(context.Background(), e.only().ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Count != 3 || !alerts[0].LastSeenAt.Equal(t0.Add(3*time.Second)) {
		t.Errorf("alerts after a sweep: %+v, want count 3, last seen t0+3s", alerts)
	}
	if got := metricValue(t, e.reg, "alertbridge_pipeline_touches_pending"); got != 0 {
		t.Errorf("touches_pending = %v after the sweep, want 0", got)
	}
}
