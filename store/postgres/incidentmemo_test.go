package postgres_test

import (
	"context"
	"testing"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/postgres"
)

// TestIncidentAnsweredWithinTransaction checks when a transaction's
// Incident reads answer from what it read or wrote before, without a
// round trip, and that the answer is what a read would return: after a
// read; after an update SQLite's store would hold back (a summary); not
// after one it would not (a state), nor after a statement that writes
// incidents (linking a problem), which the incident read before must not
// hide; and that a caller changing its copy changes no later answer.
func TestIncidentAnsweredWithinTransaction(t *testing.T) {
	dsn, _ := mustSchema(t)
	st := mustOpen(t, dsn)
	ctx := context.Background()
	inc := lazyIncident("memo")
	p := incident.Problem{Name: "disk", Signature: "sig", State: incident.ProblemOpen, Title: "disk",
		FirstSeenAt: t0, LastSeenAt: t0, OpenedAt: t0, UpdatedAt: t0}
	err := st.Update(ctx, func(tx incident.Tx) error {
		if err := tx.CreateProblem(ctx, &p); err != nil {
			return err
		}
		return tx.CreateIncident(ctx, &inc)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx incident.Tx) error {
		read := func(step string, answered bool) incident.Incident {
			t.Helper()
			before := postgres.IncidentsAnswered()
			got, err := tx.Incident(ctx, inc.ID)
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			if a := postgres.IncidentsAnswered() > before; a != answered {
				t.Errorf("%s: answered without a statement: %v, want %v", step, a, answered)
			}
			return got
		}
		first := read("first read", false)
		first.Labels["alertname"] = "changed by the caller"
		if got := read("read again", true); got.Labels["alertname"] != "A" {
			t.Errorf("read again: labels %v: the caller's change to its copy leaked", got.Labels)
		}
		upd := read("before an update", true)
		upd.Summary = "summary"
		if err := tx.UpdateIncident(ctx, upd); err != nil {
			return err
		}
		if got := read("after a holdable update", true); got.Summary != "summary" {
			t.Errorf("after a holdable update: summary %q", got.Summary)
		}
		upd.State, upd.AcknowledgedAt = incident.StateAcknowledged, t0
		if err := tx.UpdateIncident(ctx, upd); err != nil {
			return err
		}
		if got := read("after a state change", false); got.State != incident.StateAcknowledged {
			t.Errorf("after a state change: state %s", got.State)
		}
		read("read after the state change", true)
		if err := tx.SetIncidentProblem(ctx, inc.ID, p.ID); err != nil {
			return err
		}
		if got := read("after linking a problem", false); got.ProblemID != p.ID {
			t.Errorf("after linking a problem: problem %d, want %d", got.ProblemID, p.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
