package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/postgres"
)

func lazyIncident(key string) incident.Incident {
	return incident.Incident{State: incident.StateOpen, Priority: 3, Impact: incident.LevelMedium,
		Urgency: incident.LevelMedium, Title: "t " + key, CorrelationKey: key, Source: "am",
		Labels: map[string]string{"alertname": "A"}, OpenedAt: t0, UpdatedAt: t0, LastEventAt: t0}
}

// TestTransactionBegunAtFirstStatement: an Update that runs no statement
// (repeats the caches answered) begins no transaction; one that does
// begins it at the statement, for as long as the Update (not the
// statement's context), and commits it.
func TestTransactionBegunAtFirstStatement(t *testing.T) {
	dsn, _ := mustSchema(t)
	st := mustOpen(t, dsn)
	ctx := context.Background()

	err := st.Update(ctx, func(itx incident.Tx) error {
		if postgres.TxBegun(itx) {
			t.Error("a transaction was begun before any statement")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("an Update without statements: %v", err)
	}

	first, second := lazyIncident("k1"), lazyIncident("k2")
	err = st.Update(ctx, func(itx incident.Tx) error {
		// The statement that begins the transaction has a context of
		// its own, done before the next statement runs.
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := itx.CreateIncident(sctx, &first)
		cancel()
		if err != nil {
			return err
		}
		if !postgres.TxBegun(itx) {
			t.Error("a statement ran outside a transaction")
		}
		return itx.CreateIncident(ctx, &second)
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	for _, inc := range []incident.Incident{first, second} {
		if _, err := st.Incident(ctx, inc.ID); err != nil {
			t.Errorf("incident %s was not committed: %v", inc.CorrelationKey, err)
		}
	}
}

// TestTransactionThatCannotBegin: when BEGIN fails, each statement fails
// with its error (a row read too, which cannot run without the
// transaction) and nothing is written.
func TestTransactionThatCannotBegin(t *testing.T) {
	dsn, _ := mustSchema(t)
	st := mustOpen(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // BEGIN on a done context fails
	inc := lazyIncident("k")
	err := st.Update(ctx, func(itx incident.Tx) error {
		if _, err := itx.AlertState(ctx, "am", "fp"); err == nil || errors.Is(err, incident.ErrNotFound) {
			t.Errorf("AlertState = %v, want the failed begin", err)
		}
		return itx.CreateIncident(ctx, &inc)
	})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Update = %v, want the failed begin", err)
	}
	list, err := st.Incidents(context.Background(), incident.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("%d incidents written by an Update that never began", len(list))
	}
}
