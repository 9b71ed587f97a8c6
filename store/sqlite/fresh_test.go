package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// TestAlertOnIncidentCreatedInTransaction: Alert answers for an incident the
// transaction created without reading (tx.fresh), and must still find
// every row the transaction gave it: one it put, one moved onto it alone,
// and those a merge moved onto it.
func TestAlertOnIncidentCreatedInTransaction(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	older := mustCreate(t, st, "older", noT0.Add(-time.Hour))
	merged := mustCreate(t, st, "merged", noT0.Add(-time.Hour))
	put := func(tx incident.Tx, inc int64, fp string) error {
		return tx.PutAlert(ctx, incident.Alert{IncidentID: inc, Source: "am", Fingerprint: fp, Status: incident.StatusFiring,
			StartsAt: noT0, FirstSeenAt: noT0, LastSeenAt: noT0, Count: 1})
	}
	if err := st.Update(ctx, func(tx incident.Tx) error {
		if err := put(tx, older, "moved"); err != nil {
			return err
		}
		return put(tx, merged, "merged")
	}); err != nil {
		t.Fatal(err)
	}
	err := st.Update(ctx, func(tx incident.Tx) error {
		inc := incident.Incident{State: incident.StateOpen, Priority: 3, Impact: incident.LevelHigh, Urgency: incident.LevelMedium,
			Title: "new", CorrelationKey: "new", Source: "am", OpenedAt: noT0, UpdatedAt: noT0, LastEventAt: noT0}
		if err := tx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		want := func(step, fp string, found bool) {
			t.Helper()
			a, err := tx.Alert(ctx, inc.ID, "am", fp)
			switch {
			case found && (err != nil || a.Fingerprint != fp || a.IncidentID != inc.ID):
				t.Errorf("%s: Alert(%s) = %+v, %v; want its row", step, fp, a, err)
			case !found && !errors.Is(err, incident.ErrNotFound):
				t.Errorf("%s: Alert(%s) = %+v, %v; want not found", step, fp, a, err)
			}
		}
		want("created", "put", false)
		if err := put(tx, inc.ID, "put"); err != nil {
			return err
		}
		want("put", "put", true)
		want("put", "other", false)
		if err := tx.MoveAlert(ctx, older, inc.ID, "am", "moved"); err != nil {
			return err
		}
		want("moved alone", "moved", true)
		if _, err := tx.MoveAlerts(ctx, merged, inc.ID); err != nil {
			return err
		}
		want("merged", "merged", true)
		want("merged", "put", true)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
