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
	same := func(q queryer, step string) {
		t.Helper()
		raw, kept := readRows(t, q, rawIncidentCounts), readRows(t, q, keptIncidentCounts)
		if !slices.Equal(raw, kept) {
			t.Fatalf("%s: incident_counts\n%v\nwant the incidents' counts\n%v", step, kept, raw)
		}
	}
	same(st.r, "after the migration")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for i := range 2000 {
		id := 1 + rng.IntN(next)
		var q string
		var args []any
		switch rng.IntN(7) {
		case 0:
			insert(db)
			continue
		case 1:
			q, args = `UPDATE incidents SET state = ? WHERE id = ?`, []any{states[rng.IntN(len(states))], id}
		case 2:
			q, args = `UPDATE incidents SET priority = ? WHERE id = ?`, []any{1 + rng.IntN(5), id}
		case 3:
			q, args = `UPDATE incidents SET respond_breached_at = ?, resolve_breached_at = ? WHERE id = ?`, []any{breach(), breach(), id}
		case 4:
			// All at once, as the writer's update of a whole row does.
			q, args = `UPDATE incidents SET state = ?, priority = ?, resolve_breached_at = ? WHERE id = ?`,
				[]any{states[rng.IntN(len(states))], 1 + rng.IntN(5), breach(), id}
		case 5:
			q, args = `UPDATE incidents SET title = 'y', updated_at = updated_at + 1 WHERE id = ?`, []any{id}
		case 6:
			q, args = `DELETE FROM incidents WHERE id = ?`, []any{id}
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("step %d: %s: %v", i, q, err)
		}
		same(db, q)
	}
	// A priority counted before and none now has a row of 0, which the
	// reads leave out as the incidents' counts do.
	if _, err := db.ExecContext(ctx, `UPDATE incidents SET state = 'resolved', respond_breached_at = NULL WHERE priority = 5`); err != nil {
		t.Fatal(err)
	}
	same(db, "priority 5 resolved")
	if zeros := readRows(t, db, `SELECT kind FROM incident_counts WHERE priority = 5 AND n = 0`); len(zeros) == 0 {
		t.Fatal("no row of 0 left to leave out")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = OpenFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
