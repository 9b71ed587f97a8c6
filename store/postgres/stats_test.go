package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/postgres"
)

// TestStatsPlanReadsTheWindow: on 50k incidents opened over 90 days, with
// fresh statistics, each of the reads of the stats' day parts over 7 days
// (store/internal/statsdays: counts, durations, signatures, per priority)
// comes from the index on opened_at (migration 0006), not from a scan of
// every incident. Plans are
// the planner's cost model, not timings: the machine's load does not
// change them.
func TestStatsPlanReadsTheWindow(t *testing.T) {
	t.Parallel()
	dsn, schema := mustSchema(t)
	mustOpen(t, dsn) // migrates
	db := mustDB(t, dsn)
	ctx := context.Background()
	end := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	start := end.Add(-90 * 24 * time.Hour)
	step := int64(90*24*time.Hour) / 50000
	if _, err := db.ExecContext(ctx, `INSERT INTO incidents (state, priority, impact, urgency, title,
		correlation_key, opened_at, updated_at, last_event_at)
		SELECT 'resolved', 1 + i % 5, 'high', 'medium', 'Alert ' || i, 'key-' || i, $1::bigint + i * $2::bigint, 0, 0
		FROM generate_series(1, 50000) AS i`, start.UnixNano(), step); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM ANALYZE `+pgx.Identifier{schema, "incidents"}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []incident.StatsFilter{
		{Since: end.Add(-7 * 24 * time.Hour), Until: end},
		{Since: end.Add(-7 * 24 * time.Hour), Until: end, Priority: 1},
	} {
		qs, args := postgres.StatsDayQueries(f)
		for i, q := range qs {
			if plan := mustExplain(t, db, q, args); !strings.Contains(plan, "incidents_opened") {
				t.Errorf("priority %d, read %d: does not read the index on opened_at; plan:\n%s", f.Priority, i, plan)
			}
		}
	}
}

// TestStatsSampleBound: the times to acknowledge and to resolve are read
// in one pass, and each is bounded on its own: a window refuses only when
// one measure holds more than the bound, whatever the other holds.
func TestStatsSampleBound(t *testing.T) {
	// Not parallel: it lowers a bound of the package that every other
	// test's stats read.
	dsn, _ := mustSchema(t)
	st := mustOpen(t, dsn)
	ctx := context.Background()
	opened := t0.Add(-time.Hour)
	// Two acknowledged, two resolved: one of each alone, one both.
	shapes := []struct{ ack, resolved bool }{{true, false}, {false, true}, {true, true}}
	err := st.Update(ctx, func(tx incident.Tx) error {
		for i, s := range shapes {
			inc := newIncident(string(rune('a' + i)))
			inc.OpenedAt, inc.UpdatedAt, inc.LastEventAt = opened, opened, opened
			if s.ack {
				inc.AcknowledgedAt = opened.Add(time.Duration(i+1) * time.Minute)
			}
			if s.resolved {
				inc.State, inc.ResolvedAt = incident.StateResolved, opened.Add(time.Duration(i+1)*time.Hour)
			}
			if err := tx.CreateIncident(ctx, &inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f := incident.StatsFilter{Since: t0.Add(-24 * time.Hour), Until: t0}
	restore := postgres.SetMaxStatsSamples(2)
	defer restore()
	got, err := st.Stats(ctx, f, t0)
	if err != nil {
		t.Fatalf("two of each with a bound of two: %v", err)
	}
	if len(got.TimesToAcknowledge) != 2 || len(got.TimesToResolve) != 2 {
		t.Fatalf("times to acknowledge %v, to resolve %v: want two each", got.TimesToAcknowledge, got.TimesToResolve)
	}
	want := map[time.Duration]bool{time.Minute: true, 3 * time.Minute: true}
	for _, d := range got.TimesToAcknowledge {
		if !want[d] {
			t.Errorf("time to acknowledge %s, want 1m and 3m", d)
		}
	}
	postgres.SetMaxStatsSamples(1)
	if _, err := st.Stats(ctx, f, t0); !errors.Is(err, incident.ErrInvalid) {
		t.Fatalf("two of each with a bound of one: %v, want incident.ErrInvalid", err)
	}
}
