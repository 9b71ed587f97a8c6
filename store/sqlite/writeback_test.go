package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// writeBackRules group by alertname and namespace with a window and
// min_alerts (pending incidents opening), escalate by severity (priority
// changes), reopen within 5 minutes, and make checkout's incidents
// symptoms of payments' (reads of other incidents mid-request).
const writeBackRules = `
services:
  - name: checkout
    matchers: [namespace="checkout"]
    depends_on: [payments]
  - name: payments
    matchers: [namespace="payments"]
correlations:
  - name: shop
    matchers: [team="shop"]
    by: [alertname, namespace]
    window: 10m
    min_alerts: 2
    reopen_within: 5m
    impact: high
    urgency:
      label: severity
      map: {critical: high, warning: medium}
      default: low
`

// TestWriteBackSameRows replays one generated history of many alerts per
// request (new alerts joining incidents, repeats, resolves, refires,
// escalations, acknowledgements, sweeps) with the incident write-back and
// without it: every row of every table must be the same.
func TestWriteBackSameRows(t *testing.T) {
	set, err := rules.Parse("rules.yml", []byte(writeBackRules))
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			before := sqlite.HeldUpdates()
			with := replayDump(t, set, seed, true)
			if held := sqlite.HeldUpdates() - before; held < 50 {
				t.Fatalf("only %d updates held back: the history does not exercise the write-back", held)
			}
			restore := sqlite.SetHoldIncidents(false)
			without := replayDump(t, set, seed, false)
			restore()
			if !strings.Contains(strings.Join(with["incidents"], "\n"), "acknowledged") {
				t.Fatal("no incident was acknowledged: the history is too small")
			}
			if len(with["incident_changes"]) == 0 {
				t.Fatal("no incident linked a change: the history does not read changes")
			}
			if diff := cmp.Diff(without, with); diff != "" {
				t.Errorf("rows differ with the write-back (-without +with):\n%s", diff)
			}
		})
	}
}

// replayDump replays the history of seed on a fresh store and returns
// every table's rows, sorted, but the counter of incident writes (fewer
// with the write-back, by design).
func replayDump(t *testing.T, set *rules.Set, seed uint64, _ bool) map[string][]string {
	t.Helper()
	ctx := context.Background()
	dir := sqlite.MigratedDir(t)
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	r, err := pipeline.NewReplayer(st, set, start, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	type alert struct {
		labels   map[string]string
		starts   time.Time
		resolved bool
	}
	alerts := map[string]*alert{}
	now := start
	for step := range 120 {
		switch rng.IntN(20) {
		case 0:
			now = now.Add(20 * time.Minute) // past window and reopen_within
		case 1, 2:
			now = now.Add(3 * time.Minute)
		default:
			now = now.Add(time.Duration(5+rng.IntN(50)) * time.Second)
		}
		if step%15 == 14 {
			if err := r.Advance(ctx, now); err != nil {
				t.Fatal(err)
			}
			ack(t, st, r, now, rng)
			continue
		}
		if step%10 == 3 {
			// A deploy of a service: the incidents opened after it link it
			// as a suspect (reads of changes while updates are held).
			svc := []string{"checkout", "payments"}[rng.IntN(2)]
			ch := incident.Change{Source: "deploys", ExternalID: fmt.Sprint("d", step), Service: svc,
				Summary: "deploy " + svc, StartedAt: now.Add(-time.Minute), ReceivedAt: now}
			if err := r.SubmitChanges(ctx, now, []incident.Change{ch}); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		var evs []incident.Event
		for range 1 + rng.IntN(20) {
			labels := map[string]string{
				"alertname": fmt.Sprintf("A%d", rng.IntN(3)),
				"namespace": []string{"checkout", "payments", "other"}[rng.IntN(3)],
				"instance":  fmt.Sprintf("i%d", rng.IntN(12)),
				"team":      []string{"shop", "shop", "ops"}[rng.IntN(3)],
				"severity":  []string{"warning", "critical", "info"}[rng.IntN(3)],
			}
			id := labels["alertname"] + labels["namespace"] + labels["instance"] + labels["team"] + labels["severity"]
			a := alerts[id]
			if a == nil {
				a = &alert{labels: labels, starts: now.Add(-time.Duration(rng.IntN(60)) * time.Second), resolved: true}
				alerts[id] = a
			}
			ev := incident.Event{Source: "am", Fingerprint: incident.LabelFingerprint(a.labels), Labels: a.labels,
				Annotations: map[string]string{"summary": "step " + fmt.Sprint(step%3)},
				GroupLabels: map[string]string{"alertname": a.labels["alertname"]}}
			if !a.resolved && rng.IntN(4) == 0 {
				a.resolved = true
				ev.Status, ev.StartsAt, ev.EndsAt = incident.StatusResolved, a.starts, now
			} else {
				if a.resolved {
					a.resolved, a.starts = false, now.Add(-time.Second)
				}
				ev.Status, ev.StartsAt = incident.StatusFiring, a.starts
			}
			if slices.ContainsFunc(evs, func(e incident.Event) bool { return e.Fingerprint == ev.Fingerprint }) {
				continue
			}
			evs = append(evs, ev)
		}
		if err := r.Submit(ctx, now, evs); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dumpTables(t, filepath.Join(dir, sqlite.FileName))
}

// ack acknowledges one open incident, if there is one.
func ack(t *testing.T, st *sqlite.Store, r *pipeline.Replayer, now time.Time, rng *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	open, err := st.Incidents(ctx, incident.IncidentFilter{States: []incident.State{incident.StateOpen}, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) == 0 {
		return
	}
	inc := open[rng.IntN(len(open))]
	if _, err := r.Execute(ctx, now, incident.Command{IncidentID: inc.ID, Action: incident.ActionAcknowledge, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
}

// dumpTables reads every table of the database file, each row as text.
func dumpTables(t *testing.T, path string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		AND name NOT LIKE 'incident_search%' AND name NOT IN ('incidents_version', 'incident_stats_days', 'stats_history_deleted', 'schema_migrations')`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		out[table] = sqlite.RowTexts(t, rows)
		slices.Sort(out[table])
	}
	sqlite.MustIntact(t, db)
	return out
}

// regroupRules group by alertname and namespace without a window, so every
// resolve may regroup its incident, and reopen within 5 minutes: the
// generated history's pauses of 3 and 20 minutes fall on both sides.
const regroupRules = `
correlations:
  - name: by-name
    matchers: [team=~"shop|ops"]
    by: [alertname, namespace]
    reopen_within: 5m
    impact: high
    urgency:
      label: severity
      map: {critical: high, warning: medium}
      default: low
`

// TestRegroupSkipsSameRows replays generated histories with the resolves'
// regroup skip (incident.SetRegroupSkips) and without it, under rules
// with and without windows: every row of every table must be the same.
func TestRegroupSkipsSameRows(t *testing.T) {
	for _, tc := range []struct {
		name, rules string
		skips       int64 // at least, per seed
	}{{"window", writeBackRules, 5}, {"no-window", regroupRules, 100}} {
		set, err := rules.Parse("rules.yml", []byte(tc.rules))
		if err != nil {
			t.Fatal(err)
		}
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprint(tc.name, "/seed", seed), func(t *testing.T) {
				before := incident.SkippedRegroups()
				with := replayDump(t, set, seed, true)
				skipped := incident.SkippedRegroups() - before
				t.Logf("%d skips", skipped)
				if skipped < tc.skips {
					t.Fatalf("only %d resolves skipped regrouping: the history does not exercise the skip", skipped)
				}
				restore := incident.SetRegroupSkips(false)
				without := replayDump(t, set, seed, false)
				restore()
				if diff := cmp.Diff(without, with); diff != "" {
					t.Errorf("rows differ with the regroup skip (-without +with):\n%s", diff)
				}
			})
		}
	}
}
