package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/postgres"
)

// TestWritesSentWithTheNextStatement: the writes no caller reads (an
// alert, its state, its event) wait for the next statement and go with
// it; the transaction reads them as if sent at once, and the commit sends
// what is left. A write that fails fails the statement it went with,
// naming the write, or the commit, and nothing of the transaction is
// kept.
func TestWritesSentWithTheNextStatement(t *testing.T) {
	dsn, _ := mustSchema(t)
	st := mustOpen(t, dsn)
	ctx := context.Background()
	inc := lazyIncident("pending")
	alert := func(incID int64, fp string) incident.Alert {
		return incident.Alert{IncidentID: incID, Source: "am", Fingerprint: fp, Status: incident.StatusFiring,
			Labels: map[string]string{"alertname": "A"}, StartsAt: t0, FirstSeenAt: t0, LastSeenAt: t0, Count: 1}
	}
	state := func(incID int64, fp string) incident.AlertState {
		return incident.AlertState{Source: "am", Fingerprint: fp, Status: incident.StatusFiring, StartsAt: t0,
			IncidentID: incID, LastSeenAt: t0}
	}
	err := st.Update(ctx, func(tx incident.Tx) error {
		if err := tx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		if err := tx.PutAlert(ctx, alert(inc.ID, "a")); err != nil {
			return err
		}
		if n := postgres.Pending(tx); n != 1 {
			t.Errorf("after PutAlert: %d writes pending, want 1", n)
		}
		got, err := tx.Alert(ctx, inc.ID, "am", "a")
		if err != nil || got.Labels["alertname"] != "A" {
			t.Errorf("the alert read after its pending write: %+v, %v", got, err)
		}
		if n := postgres.Pending(tx); n != 0 {
			t.Errorf("after a read: %d writes pending, want 0", n)
		}
		// An update of the incident read here that no constraint can fail
		// waits too.
		read, err := tx.Incident(ctx, inc.ID)
		if err != nil {
			return err
		}
		read.Summary = "sent later"
		if err := tx.UpdateIncident(ctx, read); err != nil {
			return err
		}
		if n := postgres.Pending(tx); n != 1 {
			t.Errorf("after a holdable update: %d writes pending, want 1", n)
		}
		if got, err := tx.IncidentByKey(ctx, inc.CorrelationKey); err != nil || got.Summary != "sent later" {
			t.Errorf("the incident read by key after its pending update: summary %q, %v", got.Summary, err)
		}
		if err := tx.PutAlertState(ctx, state(inc.ID, "a")); err != nil {
			return err
		}
		return tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: t0, Source: "am", Fingerprint: "a",
			Status: incident.StatusFiring, Transition: incident.TransitionNew, IncidentID: inc.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx incident.Tx) error {
		if s, err := tx.AlertState(ctx, "am", "a"); err != nil || s.IncidentID != inc.ID {
			t.Errorf("the state written last, by the commit: %+v, %v", s, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	err = st.Events(ctx, t0.Add(-time.Hour), t0.Add(time.Hour), func(e incident.EventRecord) error {
		if e.Fingerprint == "a" {
			events++
		}
		return nil
	})
	if err != nil || events != 1 {
		t.Errorf("the event written last, by the commit: %d events, %v", events, err)
	}

	// An alert of no incident breaks the foreign key; an update that must
	// change a row may change none.
	badAlert := func(tx incident.Tx, other incident.Incident) error {
		return tx.PutAlert(ctx, alert(other.ID+1000, "b"))
	}
	readState := func(tx incident.Tx) error {
		_, err := tx.AlertState(ctx, "am", "a")
		return err
	}
	for _, tc := range []struct {
		name  string
		queue func(tx incident.Tx, other incident.Incident) error
		next  func(tx incident.Tx) error // nil: the commit sends it
		named string
	}{
		{"with a read", badAlert, readState, "upsert alert, sent with the next statement"},
		{"with the commit", badAlert, nil, "upsert alert, sent with the next statement"},
		{"an update of no row", func(tx incident.Tx, _ incident.Incident) error { return postgres.LaterUpdateNothing(tx) },
			func(tx incident.Tx) error {
				// PostgreSQL does not abort the transaction for it: the
				// store must, and the read must not say "no such row",
				// which its caller would take for its own answer.
				first := readState(tx)
				if errors.Is(first, incident.ErrNotFound) {
					t.Errorf("the read after an update of no row: %v, which a caller takes for no alert state", first)
				}
				if _, err := tx.Incident(ctx, -1); err == nil || !strings.Contains(err.Error(), "changed no row") {
					t.Errorf("a later statement: %v, want the update's error", err)
				}
				return first
			}, "update nothing, sent with the next statement: it changed no row"},
		{"a duplicate key", func(tx incident.Tx, other incident.Incident) error {
			// A timeline entry's ID taken twice: a unique violation the
			// store caused, never the request's conflict.
			entry := incident.TimelineEntry{IncidentID: other.ID, At: other.OpenedAt, Kind: incident.TimelineComment, Actor: "test"}
			if err := tx.AddTimeline(ctx, &entry); err != nil {
				return err
			}
			return postgres.LaterTimelineRow(tx, entry.ID, other.ID)
		}, nil, "insert timeline row, sent with the next statement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := lazyIncident("pending-" + strings.ReplaceAll(tc.name, " ", "-"))
			err := st.Update(ctx, func(tx incident.Tx) error {
				if err := tx.CreateIncident(ctx, &other); err != nil {
					return err
				}
				if err := tc.queue(tx, other); err != nil {
					t.Errorf("the write returned %v before it was sent", err)
				}
				if tc.next == nil {
					return nil
				}
				err := tc.next(tx)
				if err == nil || !strings.Contains(err.Error(), tc.named) {
					t.Errorf("the read the write went with: %v, want the write's error", err)
				}
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tc.named) {
				t.Errorf("Update: %v, want the failed write named (%s)", err, tc.named)
			}
			if errors.Is(err, incident.ErrConflict) || errors.Is(err, incident.ErrNotFound) {
				t.Errorf("Update: %v reads as a domain error, which the pipeline answers as the request's own", err)
			}
			if _, err := st.Incident(ctx, other.ID); !errors.Is(err, incident.ErrNotFound) {
				t.Errorf("the incident of the failed transaction: %v, want ErrNotFound", err)
			}
		})
	}
}
