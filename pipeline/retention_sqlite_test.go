package pipeline_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver the store uses, to read its page count

	"github.com/alertbridge/alertbridge/incident"
)

// TestRetentionKeepsSQLiteFileFlat: rounds of churn (new alerts, their
// incidents resolved, closed and forgotten by retention) leave the SQLite
// database at the size the first rounds took, give or take the incident
// rows reports keep: the pages retention frees are reused, so the file
// stops growing without VACUUM (auto_vacuum is off; docs/operations.md).
func TestRetentionKeepsSQLiteFileFlat(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const (
		rounds, groups, perGroup = 8, 20, 10
		closeAfter, retention    = time.Hour, 24 * time.Hour
	)
	e := newEnv(t, envOpts{dir: dir, closeAfter: closeAfter, cacheSize: 1000})
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "alertbridge.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pages := func() (total, free int) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT (SELECT page_count FROM pragma_page_count()),
			(SELECT freelist_count FROM pragma_freelist_count())`).Scan(&total, &free); err != nil {
			t.Fatal(err)
		}
		return total, free
	}
	base, _ := pages()
	var sizes []int
	for r := range rounds {
		start := t0.Add(time.Duration(r) * 3 * 24 * time.Hour)
		for g := range groups {
			var fire, res []incident.Event
			for a := range perGroup {
				inst := fmt.Sprintf("r%d-g%d-a%d", r, g, a)
				f, x := firing(inst, start), resolved(inst, start, start.Add(time.Minute))
				f.GroupLabels = map[string]string{"alertname": "HighRequestLatency", "cluster": fmt.Sprintf("r%d-g%d", r, g)}
				x.GroupLabels = f.GroupLabels
				fire, res = append(fire, f), append(res, x)
			}
			e.submit(start.Add(time.Second), fire...)
			e.submit(start.Add(time.Hour), res...)
		}
		e.clock.Set(start.Add(3 * time.Hour))
		if err := e.p.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(start.Add(2 * 24 * time.Hour))
		for {
			h, err := e.p.Retain(ctx, retention, 500)
			if err != nil {
				t.Fatal(err)
			}
			if h.Work() < 500 {
				break
			}
		}
		total, free := pages()
		sizes = append(sizes, total)
		var days int // the per-alert days of the distinct-alert figures go with the history
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM event_alert_days`).Scan(&days); err != nil || days != 0 {
			t.Errorf("round %d: %d rows of event_alert_days left, %v; want the forgotten alerts' days gone", r, days, err)
		}
		t.Logf("round %d: %d pages, %d free", r, total, free)
	}
	// What one round's history took before retention freed it, against
	// what each later round grew the file by: only the incident rows
	// (and per-day figures) reports keep, a few pages.
	footprint := sizes[0] - base
	t.Logf("one round's history: %d pages", footprint)
	for r := 2; r < rounds; r++ {
		if grown := sizes[r] - sizes[r-1]; grown > footprint/8 {
			t.Errorf("round %d grew the file by %d pages, where one round's history takes %d: freed pages are not reused",
				r, grown, footprint)
		}
	}
}
