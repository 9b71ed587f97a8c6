package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/backlogrow"
)

// backlogEpoch is an hour's start; the tests' incidents open in the 30
// hours after it, many at an hour's first or last nanosecond.
var backlogEpoch = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

// TestBacklogHoursEqualTheRows checks backlog_hours (migration 0031)
// against the incidents: after the migration fills it from an older
// store, and after every step of a random run of inserts, updates of
// state and of when an incident opened (and of neither), and deletes.
// An hour none is active in must have no row. Then the store's backlog
// at many times, the buckets' bounds falling on incidents and on hours'
// edges among them, equals the count over every active incident.
func TestBacklogHoursEqualTheRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db := mustVersion(t, path, 30)
	rng := rand.New(rand.NewPCG(31, 6))
	states := []string{"pending", "open", "acknowledged", "resolved", "closed"}
	opened := func() any {
		if rng.IntN(8) == 0 {
			return nil // pending incidents have not opened
		}
		h := backlogEpoch.Add(time.Duration(rng.IntN(30)) * time.Hour)
		switch rng.IntN(4) {
		case 0:
			return h.UnixNano()
		case 1:
			return h.Add(time.Hour - 1).UnixNano()
		}
		return h.Add(time.Duration(rng.Int64N(int64(time.Hour)))).UnixNano()
	}
	next := 0
	insert := func(db *sql.DB) {
		t.Helper()
		next++
		at := backlogEpoch.UnixNano()
		if _, err := db.ExecContext(ctx, `INSERT INTO incidents (id, state, priority, impact, urgency, title, correlation_key,
			opened_at, updated_at, last_event_at) VALUES (?, ?, ?, 'medium', 'medium', 'x', ?, ?, ?, ?)`,
			next, states[rng.IntN(len(states))], 1+rng.IntN(5), fmt.Sprintf("k%d", next), opened(), at, at); err != nil {
			t.Fatal(err)
		}
	}
	for range 200 {
		insert(db)
	}
	st := mustUpgrade(t, db, path)
	hours := keptCounts{"backlog_hours", `SELECT hour, n FROM backlog_hours ORDER BY 1`,
		`SELECT opened_at / 3600000000000, COUNT(*) FROM incidents
			WHERE state IN ('open', 'acknowledged') AND opened_at IS NOT NULL GROUP BY 1 ORDER BY 1`}
	hours.same(t, st.r, "after the migration")
	db = reopenPlain(t, st, path)
	hours.steps(t, db, rng, randomSteps(), func() int64 { return int64(next) }, []step{
		func(int64) (string, []any) { insert(db); return "", nil },
		func(id int64) (string, []any) {
			return `UPDATE incidents SET state = ? WHERE id = ?`, []any{states[rng.IntN(len(states))], id}
		},
		func(id int64) (string, []any) {
			return `UPDATE incidents SET opened_at = ? WHERE id = ?`, []any{opened(), id}
		},
		func(id int64) (string, []any) { // both at once, as the writer's update of a whole row does
			return `UPDATE incidents SET state = ?, opened_at = ? WHERE id = ?`, []any{states[rng.IntN(len(states))], opened(), id}
		},
		func(id int64) (string, []any) {
			return `UPDATE incidents SET priority = ?, title = 'y' WHERE id = ?`, []any{1 + rng.IntN(5), id}
		},
		func(id int64) (string, []any) { return `DELETE FROM incidents WHERE id = ?`, []any{id} },
	})
	st = mustUpgrade(t, db, path) // opened again by the store
	active := readRows(t, st.r, `SELECT opened_at FROM incidents WHERE state IN ('open', 'acknowledged') AND opened_at IS NOT NULL`)
	if len(active) < 20 {
		t.Fatalf("only %d active incidents: too few to count", len(active))
	}
	// Times whose bounds fall on an active incident's opening, a
	// nanosecond either side of it, and on each hour's edges.
	var nows []time.Time
	for _, a := range active {
		var at int64
		if _, err := fmt.Sscan(a, &at); err != nil {
			t.Fatal(err)
		}
		for _, b := range incident.BacklogAges[:len(incident.BacklogAges)-1] {
			for _, d := range []time.Duration{-1, 0, 1} {
				nows = append(nows, time.Unix(0, at).Add(b.Below+d))
			}
		}
	}
	for h := range 30 + 7*24 + 2 {
		nows = append(nows, backlogEpoch.Add(time.Duration(h)*time.Hour), backlogEpoch.Add(time.Duration(h)*time.Hour-1))
	}
	for _, now := range nows {
		want := rawBacklog(t, st, now)
		got, err := st.Backlog(ctx, incident.StatsFilter{}, now)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("at %s: Backlog = %+v; the count over every active incident %+v", now.Format(time.RFC3339Nano), got, want)
		}
	}
}

// rawBacklog is the backlog at now counted over every active incident.
func rawBacklog(t *testing.T, st *Store, now time.Time) incident.Backlog {
	t.Helper()
	q, args := backlogrow.Query("", nil, now)
	rows, err := st.r.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := backlogrow.Read(rows, now)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeptBacklogReadsHoursNotEveryIncident: the backlog of every service
// and priority reads backlog_hours, and the incidents only by ranges of
// incidents_state_priority (one per state and priority), never all the
// active ones.
func TestKeptBacklogReadsHoursNotEveryIncident(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	var args []any
	for _, cut := range backlogrow.Cutoffs(backlogEpoch) {
		args = append(args, cut/hourNanos, cut, (cut/hourNanos+1)*hourNanos)
	}
	plan := explain(ctx, t, st, qKeptBacklog, args...)
	for _, want := range []string{
		"SEARCH incidents USING COVERING INDEX incidents_state_priority (state=? AND priority=? AND opened_at>? AND opened_at<?)",
		"SEARCH backlog_hours USING INTEGER PRIMARY KEY (rowid>?)",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan:\n%swant %s", plan, want)
		}
	}
	for _, line := range strings.Split(plan, "\n") {
		if strings.Contains(line, "SCAN incidents") || strings.Contains(line, "TEMP B-TREE") {
			t.Errorf("plan:\n%swant no scan of the incidents and no sort", plan)
		}
	}
}
