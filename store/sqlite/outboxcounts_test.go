package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// TestOutboxCountsEqualTheRows checks the outbox's counts the scrape reads
// (outbox_counts, kept by triggers since migration 0030) against the rows:
// after the migration fills them from a store's outbox, and after every
// step of a random run of inserts, deliveries (deletes), failed attempts,
// state changes and replays. Then the store's OutboxStats, which reads
// them and each sink's oldest pending row, gives what the rows give.
func TestOutboxCountsEqualTheRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db := mustVersion(t, path, 29)
	rng := rand.New(rand.NewPCG(30, 6))
	sinks := []string{"jira", "slack", "pagerduty"}
	states := []string{"pending", "held", "dead"}
	at := time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC).UnixNano()
	insert := func(db *sql.DB) {
		t.Helper()
		if _, err := db.ExecContext(ctx, `INSERT INTO outbox (sink, incident_id, kind, state, created_at, next_attempt_at)
			VALUES (?, ?, 'opened', ?, ?, ?)`, sinks[rng.IntN(len(sinks))], 1+rng.IntN(50), states[rng.IntN(len(states))],
			at+rng.Int64N(1e12), at); err != nil {
			t.Fatal(err)
		}
	}
	for id := 1; id <= 50; id++ {
		if _, err := db.ExecContext(ctx, `INSERT INTO incidents (id, state, priority, impact, urgency, title, correlation_key,
			opened_at, updated_at, last_event_at) VALUES (?, 'open', 3, 'medium', 'medium', 'x', ?, ?, ?, ?)`,
			id, fmt.Sprintf("k%d", id), at, at, at); err != nil {
			t.Fatal(err)
		}
	}
	for range 300 {
		insert(db)
	}
	st := mustUpgrade(t, db, path)
	counts := keptCounts{"outbox_counts", `SELECT sink, state, n FROM outbox_counts WHERE n <> 0 ORDER BY 1, 2`,
		`SELECT sink, state, COUNT(*) FROM outbox GROUP BY sink, state ORDER BY 1, 2`}
	counts.same(t, st.r, "after the migration")
	db = reopenPlain(t, st, path)
	top := func() int64 {
		var id int64
		if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 1) FROM outbox`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	counts.steps(t, db, rng, randomSteps(), top, []step{
		func(int64) (string, []any) { insert(db); return "", nil },
		func(id int64) (string, []any) { return `DELETE FROM outbox WHERE id = ?`, []any{id} },
		func(id int64) (string, []any) { // a failed attempt, as the dispatcher writes it
			return `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = 'x', state = ? WHERE id = ?`,
				[]any{at + 1, states[rng.IntN(2)*2], id}
		},
		func(id int64) (string, []any) { // a replay of a dead row
			return `UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, created_at = ? WHERE id = ?`,
				[]any{at, at + rng.Int64N(1e12), id}
		},
		func(id int64) (string, []any) {
			return `UPDATE outbox SET state = ? WHERE id = ?`, []any{states[rng.IntN(len(states))], id}
		},
		func(int64) (string, []any) {
			return `DELETE FROM outbox WHERE incident_id = ? AND state = 'held'`, []any{1 + rng.IntN(50)}
		},
	})
	// A sink with none left has rows of 0, which the stats leave out as
	// the outbox's rows do.
	if _, err := db.ExecContext(ctx, `DELETE FROM outbox WHERE sink = 'pagerduty'`); err != nil {
		t.Fatal(err)
	}
	counts.same(t, db, "pagerduty delivered")
	if zeros := readRows(t, db, `SELECT state FROM outbox_counts WHERE sink = 'pagerduty' AND n = 0`); len(zeros) == 0 {
		t.Fatal("no row of 0 left to leave out")
	}
	want := map[string]incident.OutboxStats{}
	rows, err := db.QueryContext(ctx, `SELECT sink, state, COUNT(*), MIN(created_at) FROM outbox GROUP BY sink, state`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var sink, state string
		var n int
		var oldest int64
		if err := rows.Scan(&sink, &state, &n, &oldest); err != nil {
			t.Fatal(err)
		}
		s := want[sink]
		switch state {
		case "pending":
			s.Pending, s.Oldest = n, time.Unix(0, oldest).UTC()
		case "held":
			s.Held = n
		case "dead":
			s.Dead = n
		}
		want[sink] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(want) != 2 || want["jira"].Pending == 0 || want["slack"].Dead == 0 {
		t.Fatalf("nothing to count: %v", want)
	}
	st = mustUpgrade(t, db, path) // opened again by the store
	got, err := st.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("OutboxStats = %v; want %v", got, want)
	}
}

// TestOutboxStatsReadTheKeptCounts: the scrape's outbox figures read
// outbox_counts and one entry a sink of outbox_pending_age, never the
// outbox's rows.
func TestOutboxStatsReadTheKeptCounts(t *testing.T) {
	st := mustOpenStore(t)
	plan := explain(context.Background(), t, st, qOutboxStats)
	for _, want := range []string{"SCAN c", "SEARCH o USING COVERING INDEX outbox_pending_age (sink=?)"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan:\n%swant %q", plan, want)
		}
	}
	if strings.Count(plan, "outbox_due")+strings.Count(plan, "SCAN o") != 0 {
		t.Errorf("plan:\n%swant no scan of the outbox", plan)
	}
}
