package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/racebuild"
)

// rawIncidentCounts are incident_counts' rows as the incidents themselves
// give them (the scrape's queries before migration 0029), without zeros.
const rawIncidentCounts = `SELECT state, priority, COUNT(*) FROM incidents
		WHERE state IN ('open', 'acknowledged') GROUP BY state, priority
	UNION ALL SELECT 'respond_breached', priority, COUNT(*) FROM incidents
		WHERE respond_breached_at IS NOT NULL GROUP BY priority
	UNION ALL SELECT 'resolve_breached', priority, COUNT(*) FROM incidents
		WHERE resolve_breached_at IS NOT NULL GROUP BY priority
	ORDER BY 1, 2`

const keptIncidentCounts = `SELECT kind, priority, n FROM incident_counts WHERE n <> 0 ORDER BY 1, 2`

// keptCounts is a table of counts that triggers keep (kept, its rows
// without zeros) and the counts of the rows themselves (raw), both
// ordered alike.
type keptCounts struct{ table, kept, raw string }

// same fails t at once, naming step, when the kept counts are not the
// rows' own.
func (c keptCounts) same(t *testing.T, q queryer, step string) {
	t.Helper()
	if raw, kept := readRows(t, q, c.raw), readRows(t, q, c.kept); !slices.Equal(raw, kept) {
		t.Fatalf("%s: %s\n%v\nwant the rows' counts\n%v", step, c.table, kept, raw)
	}
}

// randomSteps is how many random changes the kept counts' tests make;
// fewer under the race detector, where SQLite's own code runs about ten
// times slower and the checks after each step took half a minute.
func randomSteps() int {
	if racebuild.Enabled {
		return 300
	}
	return 2000
}

// step is one random change of a test's rows: a statement and its
// arguments for a row's ID, or none when it made the change itself.
type step func(id int64) (string, []any)

// steps runs n of steps, each picked at random and given a random ID
// from 1 to top(), on db, and checks the kept counts after each.
func (c keptCounts) steps(t *testing.T, db *sql.DB, rng *rand.Rand, n int, top func() int64, steps []step) {
	t.Helper()
	for i := range n {
		q, args := steps[rng.IntN(len(steps))](1 + rng.Int64N(max(top(), 1)))
		if q != "" {
			if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
				t.Fatalf("step %d: %s: %v", i, q, err)
			}
		}
		c.same(t, db, fmt.Sprintf("step %d: %s", i, q))
	}
}

// reopenPlain closes st and opens its file on one plain connection, for
// statements of the test's own that the store would not run.
func reopenPlain(t *testing.T, st *Store, path string) *sql.DB {
	t.Helper()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// TestIncidentCountsEqualTheRows checks the counts the scrape reads
// (incident_counts, kept by triggers since migration 0029) against the
// incidents: after the migration fills them from a store's incidents, and
// after every step of a random run of inserts, updates of state, priority
// and breach marks (and of nothing counted), and deletes. Then the store's
// ActiveByPriority and SLABreaches, which read them, give the same.
func TestIncidentCountsEqualTheRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db := mustVersion(t, path, 28)
	rng := rand.New(rand.NewPCG(13, 29))
	states := []string{"pending", "open", "acknowledged", "resolved", "closed"}
	at := time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC).UnixNano()
	breach := func() any {
		if rng.IntN(3) == 0 {
			return at
		}
		return nil
	}
	next := 0
	insert := func(db *sql.DB) {
		t.Helper()
		next++
		if _, err := db.ExecContext(ctx, `INSERT INTO incidents (id, state, priority, impact, urgency, title, correlation_key,
			opened_at, updated_at, last_event_at, respond_breached_at, resolve_breached_at)
			VALUES (?, ?, ?, 'medium', 'medium', 'x', ?, ?, ?, ?, ?, ?)`,
			next, states[rng.IntN(len(states))], 1+rng.IntN(5), fmt.Sprintf("k%d", next),
			at, at, at, breach(), breach()); err != nil {
			t.Fatal(err)
		}
	}
	for range 200 {
		insert(db)
	}
	st := mustUpgrade(t, db, path)
	counts := keptCounts{"incident_counts", keptIncidentCounts, rawIncidentCounts}
	counts.same(t, st.r, "after the migration")
	db = reopenPlain(t, st, path)
	counts.steps(t, db, rng, randomSteps(), func() int64 { return int64(next) }, []step{
		func(int64) (string, []any) { insert(db); return "", nil },
		func(id int64) (string, []any) {
			return `UPDATE incidents SET state = ? WHERE id = ?`, []any{states[rng.IntN(len(states))], id}
		},
		func(id int64) (string, []any) {
			return `UPDATE incidents SET priority = ? WHERE id = ?`, []any{1 + rng.IntN(5), id}
		},
		func(id int64) (string, []any) {
			return `UPDATE incidents SET respond_breached_at = ?, resolve_breached_at = ? WHERE id = ?`, []any{breach(), breach(), id}
		},
		func(id int64) (string, []any) { // all at once, as the writer's update of a whole row does
			return `UPDATE incidents SET state = ?, priority = ?, resolve_breached_at = ? WHERE id = ?`,
				[]any{states[rng.IntN(len(states))], 1 + rng.IntN(5), breach(), id}
		},
		func(id int64) (string, []any) {
			return `UPDATE incidents SET title = 'y', updated_at = updated_at + 1 WHERE id = ?`, []any{id}
		},
		func(id int64) (string, []any) { return `DELETE FROM incidents WHERE id = ?`, []any{id} },
	})
	// A priority counted before and none now has a row of 0, which the
	// reads leave out as the incidents' counts do.
	if _, err := db.ExecContext(ctx, `UPDATE incidents SET state = 'resolved', respond_breached_at = NULL WHERE priority = 5`); err != nil {
		t.Fatal(err)
	}
	counts.same(t, db, "priority 5 resolved")
	if zeros := readRows(t, db, `SELECT kind FROM incident_counts WHERE priority = 5 AND n = 0`); len(zeros) == 0 {
		t.Fatal("no row of 0 left to leave out")
	}
	st = mustUpgrade(t, db, path) // opened again by the store
	active, err := st.ActiveByPriority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	breaches, err := st.SLABreaches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantActive, wantBreaches := map[incident.Priority]int{}, map[[2]string]int{}
	scan := func(q string, fn func(kind string, p incident.Priority, n int)) {
		t.Helper()
		rows, err := st.r.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var kind string
			var p, n int
			if err := rows.Scan(&kind, &p, &n); err != nil {
				t.Fatal(err)
			}
			fn(kind, incident.Priority(p), n)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	scan(`SELECT state, priority, COUNT(*) FROM incidents WHERE state IN ('open', 'acknowledged') GROUP BY state, priority`,
		func(_ string, p incident.Priority, n int) { wantActive[p] += n })
	scan(`SELECT 'respond', priority, COUNT(*) FROM incidents WHERE respond_breached_at IS NOT NULL GROUP BY priority
		UNION ALL SELECT 'resolve', priority, COUNT(*) FROM incidents WHERE resolve_breached_at IS NOT NULL GROUP BY priority`,
		func(target string, p incident.Priority, n int) { wantBreaches[[2]string{target, p.String()}] = n })
	if len(wantActive) == 0 || len(wantBreaches) == 0 {
		t.Fatalf("nothing to count: %v %v", wantActive, wantBreaches)
	}
	if !maps.Equal(active, wantActive) {
		t.Errorf("ActiveByPriority = %v; want %v", active, wantActive)
	}
	if !maps.Equal(breaches, wantBreaches) {
		t.Errorf("SLABreaches = %v; want %v", breaches, wantBreaches)
	}
}

// TestScrapeCountsReadTheKeptCounts: the scrape's active and breach counts
// read incident_counts alone, never the incidents or their indexes.
func TestScrapeCountsReadTheKeptCounts(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	for name, q := range map[string]string{"active by priority": qActiveByPriority, "SLA breaches": qSLABreaches} {
		plan := explain(ctx, t, st, q)
		if !strings.Contains(plan, "SEARCH incident_counts USING PRIMARY KEY (kind=?)") || strings.Contains(plan, "incidents") {
			t.Errorf("%s, plan:\n%swant a search of incident_counts alone", name, plan)
		}
	}
	for _, gone := range []string{"incidents_respond_breached", "incidents_resolve_breached"} {
		if got := readRows(t, st.r, `SELECT name FROM sqlite_master WHERE name = ?`, gone); len(got) != 0 {
			t.Errorf("%s is still there", gone)
		}
	}
}
