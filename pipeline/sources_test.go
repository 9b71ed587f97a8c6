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

// TestChangeRedeliveryKeepsWhatItLeavesOut: a deploy tool announces the
// deploy, then sends only its finish; the URL, labels and start stay.
func TestChangeRedeliveryKeepsWhatItLeavesOut(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	full := incident.Change{Source: "ci", ExternalID: "42", Service: "api", Summary: "deploy v42", URL: "https://ci/42",
		StartedAt: t0, Labels: map[string]string{"version": "v42"}, ReceivedAt: t0}
	finish := incident.Change{Source: "ci", ExternalID: "42", Service: "api", Summary: "42", StartedAt: t0.Add(20 * time.Minute),
		FinishedAt: t0.Add(20 * time.Minute), Labels: map[string]string{}, ReceivedAt: t0.Add(20 * time.Minute),
		Omitted: incident.ChangeFields{Summary: true, URL: true, StartedAt: true, Labels: true, Maintenance: true}}
	for _, c := range []incident.Change{full, finish} {
		if err := e.p.SubmitChanges(ctx, []incident.Change{c}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.store.Changes(ctx, incident.ChangeFilter{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("changes = %+v, %v; want exactly one", list, err)
	}
	got := list[0]
	want := full
	want.ID, want.FinishedAt, want.ReceivedAt = got.ID, t0.Add(20*time.Minute), t0.Add(20*time.Minute)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("change after its finish (-want +got):\n%s", diff)
	}
}
