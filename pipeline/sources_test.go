package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func TestAcknowledgeEvent(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	pd := fire(0, lab("alertname", "pagerduty", "dedup_key", "k1", "severity", "critical"))
	pd.Source, pd.Fingerprint = "pd-prod", "k1"
	e.submit(t0, pd)
	ack := incident.Event{Source: "pd-prod", Fingerprint: "k1", Acknowledge: true}
	e.submit(t0.Add(time.Minute), ack)
	inc := e.only()
	if inc.State != incident.StateAcknowledged || !inc.AcknowledgedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after ack event: %s acknowledged_at %s", inc.State, inc.AcknowledgedAt)
	}
	// Retries, acks of unknown alerts and acks of resolved incidents are no-ops, not errors.
	e.submit(t0.Add(2*time.Minute), ack, incident.Event{Source: "pd-prod", Fingerprint: "unknown", Acknowledge: true})
	if _, err := e.p.Execute(ctx, incident.Command{IncidentID: inc.ID, Action: incident.ActionResolve}); err != nil {
		t.Fatal(err)
	}
	e.submit(t0.Add(3*time.Minute), ack)
	want := []incident.TimelineKind{"opened", "alert_firing", "acknowledged", "resolved"}
	if diff := cmp.Diff(want, e.timelineKinds(inc.ID)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func TestSubmitChangesIsIdempotent(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	c := incident.Change{Source: "ci", ExternalID: "42", Service: "api", Summary: "deploy", StartedAt: t0, ReceivedAt: t0}
	for i := 0; i < 3; i++ {
		if err := e.p.SubmitChanges(ctx, []incident.Change{c}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.store.Changes(ctx, incident.ChangeFilter{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("changes = %+v, %v; want exactly one", list, err)
	}
}
