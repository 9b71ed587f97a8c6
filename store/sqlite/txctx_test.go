package sqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// TestTransactionEndsWithItsContext: the writer's statements run without
// the driver watching their context (see quiet), so the transaction's
// context must still end it: a statement after the context ended fails
// with the context's error, the transaction commits nothing, and the next
// transaction runs as usual.
func TestTransactionEndsWithItsContext(t *testing.T) {
	// canceled and pastDeadline return a context and what ends it.
	canceled := func() (context.Context, func()) { return context.WithCancel(context.Background()) }
	pastDeadline := func() (context.Context, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		t.Cleanup(cancel)
		return ctx, func() { <-ctx.Done() }
	}
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	state := func(fp string) incident.AlertState {
		return incident.AlertState{Source: "am", Fingerprint: fp, Status: incident.StatusFiring, StartsAt: t0, LastSeenAt: t0}
	}
	tests := []struct {
		name string
		// ctx returns the transaction's context and ends it.
		ctx  func() (context.Context, func())
		want error
		// second is the statement after the context ended; nil: none, the
		// commit comes next.
		second func(ctx context.Context, tx incident.Tx) error
	}{
		{"canceled, then a write", canceled, context.Canceled, func(ctx context.Context, tx incident.Tx) error {
			return tx.PutAlertState(ctx, state("b"))
		}},
		{"canceled, then a read", canceled, context.Canceled, func(ctx context.Context, tx incident.Tx) error {
			_, err := tx.AlertState(ctx, "am", "a")
			return err
		}},
		{"past its deadline, then a write", pastDeadline, context.DeadlineExceeded, func(ctx context.Context, tx incident.Tx) error {
			return tx.PutAlertState(ctx, state("b"))
		}},
		{"past its deadline, then a read", pastDeadline, context.DeadlineExceeded, func(ctx context.Context, tx incident.Tx) error {
			_, err := tx.AlertState(ctx, "am", "a")
			return err
		}},
		{"canceled, then the sweep's query", canceled, context.Canceled, func(ctx context.Context, tx incident.Tx) error {
			_, err := tx.DueIncidents(ctx, t0)
			return err
		}},
		{"canceled, then the commit", canceled, context.Canceled, nil},
		{"past its deadline, then the commit", pastDeadline, context.DeadlineExceeded, nil},
		{"canceled, then a query of the flushing path", canceled, context.Canceled, func(ctx context.Context, tx incident.Tx) error {
			_, err := tx.ChangesFor(ctx, []string{"checkout"}, t0.Add(-time.Hour), t0)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpen(t)
			ctx, end := tt.ctx()
			var secondErr error
			err := s.Update(ctx, func(tx incident.Tx) error {
				if err := tx.PutAlertState(ctx, state("a")); err != nil {
					t.Fatalf("first write: %v", err)
				}
				end()
				if tt.second == nil {
					return nil
				}
				secondErr = tt.second(ctx, tx)
				return secondErr
			})
			if tt.second != nil && !errors.Is(secondErr, tt.want) {
				t.Errorf("statement after the context ended: %v, want %v", secondErr, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Update = %v, want %v", err, tt.want)
			}
			bg := context.Background()
			if err := stateOf(s, "a"); !errors.Is(err, incident.ErrNotFound) {
				t.Errorf("the first write was committed: AlertState = %v, want not found", err)
			}
			// The store goes on: the next transaction commits.
			if err := s.Update(bg, func(tx incident.Tx) error { return tx.PutAlertState(bg, state("c")) }); err != nil {
				t.Fatalf("next transaction: %v", err)
			}
			if err := stateOf(s, "c"); err != nil {
				t.Errorf("next transaction not committed: %v", err)
			}
		})
	}
}

// stateOf reads the state of alert ("am", fp) in a transaction of its own.
func stateOf(s *sqlite.Store, fp string) error {
	ctx := context.Background()
	return s.Update(ctx, func(tx incident.Tx) error {
		_, err := tx.AlertState(ctx, "am", fp)
		return err
	})
}
