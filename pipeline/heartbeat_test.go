package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// TestHeartbeatDoesNoDueWork: a replica without the sweep's lease writes
// the heartbeat and nothing else; the holder's Sweep does the due resolve.
func TestHeartbeatDoesNoDueWork(t *testing.T) {
	e := newEnv(t, envOpts{rules: `correlations:
  - name: latency
    matchers: ['alertname="HighRequestLatency"']
    resolve_after: 5m
`})
	ctx := context.Background()
	e.submit(t0, firing("web-1", t0))
	e.submit(t0.Add(time.Minute), resolved("web-1", t0, t0.Add(time.Minute)))
	if inc := e.only(); inc.State != incident.StateOpen || inc.ResolveDueAt.IsZero() {
		t.Fatalf("before the grace passed: %s, due %v; want open with a resolve due", inc.State, inc.ResolveDueAt)
	}
	e.clock.Set(t0.Add(10 * time.Minute))
	if err := e.p.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if inc := e.only(); inc.State != incident.StateOpen {
		t.Errorf("a heartbeat did due work: %s", inc.State)
	}
	if err := e.p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if inc := e.only(); inc.State != incident.StateResolved {
		t.Errorf("after the sweep: %s, want resolved", inc.State)
	}
}
