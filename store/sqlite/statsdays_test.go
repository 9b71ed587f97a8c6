package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/alertbridge/alertbridge/incident"
)

// dayVersion reads the stats version of the UTC day of t (0 without a row).
func dayVersion(t *testing.T, st *Store, at time.Time) int64 {
	t.Helper()
	var v int64
	err := st.r.QueryRow(`SELECT COALESCE((SELECT version FROM incident_stats_days WHERE day = ?), 0)`,
		floorDay(at.UnixNano())).Scan(&v)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestStatsDayVersionFollowsEveryColumnStatsRead changes each column of an
// incident on its own, by plain SQL as any writer could, and checks that a
// change of a column the stats read bumps the version of the incident's
// day (so no kept part outlives it) and that a change of another does not
// (so ingest does not pay for it). The columns the stats read are those of
// the index they read from, incidents_opened_stats, and merged_into: a
// column added to the index without a case here fails the test.
func TestStatsDayVersionFollowsEveryColumnStatsRead(t *testing.T) {
	st, ids := mustStatsStore(t)
	id := ids["A"] // opened 48h before statsNow, acknowledged and resolved
	opened := statsNow.Add(-48 * time.Hour)
	read := map[string]string{ // column → an expression that changes it
		"opened_at":           "opened_at + 1",
		"priority":            "priority % 5 + 1",
		"service":             "service || '-x'",
		"state":               "CASE state WHEN 'resolved' THEN 'closed' ELSE 'resolved' END",
		"acknowledged_at":     "acknowledged_at + 1",
		"resolved_at":         "resolved_at + 1",
		"impact_started_at":   "COALESCE(impact_started_at, opened_at) - 1",
		"respond_by":          "COALESCE(respond_by, opened_at) + 1",
		"respond_breached_at": "COALESCE(respond_breached_at, opened_at) + 1",
		"resolve_by":          "COALESCE(resolve_by, opened_at) + 1",
		"resolve_breached_at": "COALESCE(resolve_breached_at, opened_at) + 1",
		"rule":                "rule || '-x'",
		"correlation_key":     "correlation_key || '-x'",
		"merged_into":         "?", // another incident
	}
	notRead := map[string]string{
		"alert_count":   "alert_count + 1",
		"firing_count":  "firing_count + 1",
		"last_event_at": "last_event_at + 1",
		"updated_at":    "updated_at + 1",
		"title":         "title || '-x'",
		"owner":         "owner || '-x'",
	}
	rows, err := st.r.Query(`SELECT name FROM pragma_index_info('incidents_opened_stats')`)
	if err != nil {
		t.Fatal(err)
	}
	var indexed []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexed = append(indexed, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(indexed) == 0 {
		t.Fatal("incidents_opened_stats has no columns")
	}
	for _, c := range indexed {
		if _, ok := read[c]; !ok {
			t.Errorf("the stats read column %s (incidents_opened_stats); add it here and to the trigger incident_stats_days_update", c)
		}
	}

	change := func(col, expr string) {
		t.Helper()
		var args []any
		if expr == "?" {
			args = append(args, ids["B"])
		}
		if _, err := st.w.Exec(`UPDATE incidents SET `+col+` = `+expr+` WHERE id = ?`, append(args, id)...); err != nil {
			t.Fatalf("change %s: %v", col, err)
		}
	}
	for _, col := range slices.Sorted(func(yield func(string) bool) {
		for c := range read {
			if !yield(c) {
				return
			}
		}
	}) {
		before := dayVersion(t, st, opened)
		change(col, read[col])
		if after := dayVersion(t, st, opened); after <= before {
			t.Errorf("changing %s left the day's version at %d", col, after)
		}
	}
	for col, expr := range notRead {
		before := dayVersion(t, st, opened)
		change(col, expr)
		if after := dayVersion(t, st, opened); after != before {
			t.Errorf("changing %s, which the stats do not read, bumped the day's version %d → %d", col, before, after)
		}
	}

	// Moving the opening to another day bumps both days.
	from, to := dayVersion(t, st, opened), dayVersion(t, st, opened.Add(-24*time.Hour))
	if _, err := st.w.Exec(`UPDATE incidents SET opened_at = opened_at - ? WHERE id = ?`, int64(24*time.Hour), id); err != nil {
		t.Fatal(err)
	}
	if dayVersion(t, st, opened) <= from || dayVersion(t, st, opened.Add(-24*time.Hour)) <= to {
		t.Error("moving an opening to the day before did not bump both days")
	}
}

// TestStatsKeepsWholeDays checks that the figures of whole days are read
// once and then kept until something they count changes, and that a kept
// day never changes a figure: every answer equals a store that keeps
// nothing (OpenReadOnly) reading the same file.
func TestStatsKeepsWholeDays(t *testing.T) {
	ctx := context.Background()
	st, ids := mustStatsStore(t)
	raw, err := OpenReadOnly(ctx, filepath.Join(filepath.Dir(st.path), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	midnight := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	whole := incident.StatsFilter{Since: midnight.Add(-5 * 24 * time.Hour), Until: midnight} // 5 whole days
	edges := incident.StatsFilter{Since: midnight.Add(-5*24*time.Hour + time.Hour), Until: statsNow}

	check := func(name string, f incident.StatsFilter, wantRead int64) {
		t.Helper()
		before := st.days.read.Load()
		got, err := st.Stats(ctx, f, statsNow)
		if err != nil {
			t.Fatal(err)
		}
		if read := st.days.read.Load() - before; read != wantRead {
			t.Errorf("%s: read %d day parts, want %d", name, read, wantRead)
		}
		want, err := raw.Stats(ctx, f, statsNow)
		if err != nil {
			t.Fatal(err)
		}
		sorted := cmpopts.SortSlices(func(a, b time.Duration) bool { return a < b })
		if diff := cmp.Diff(want, got, sorted, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: kept figures differ from a raw read (-raw +kept):\n%s", name, diff)
		}
	}
	check("first read", whole, 5)
	check("again", whole, 0)
	// The edges are read each time: the day since falls in (partial) and
	// the one until falls in; the four whole days between are kept.
	check("edges", edges, 2)
	check("edges again", edges, 2)
	check("priority filter", incident.StatsFilter{Since: whole.Since, Until: whole.Until, Priority: 1}, 5)
	check("priority filter again", incident.StatsFilter{Since: whole.Since, Until: whole.Until, Priority: 1}, 0)

	// An alert joining (counts, times) changes nothing the stats read.
	mustUpdateStats(t, st, ids["C"], func(inc *incident.Incident) {
		inc.AlertCount++
		inc.LastEventAt = inc.LastEventAt.Add(time.Second)
	})
	check("after an alert joined", whole, 0)
	// Acknowledging C (opened 30h before statsNow, on the 27th) changes
	// that day's part only, for every filter.
	mustUpdateStats(t, st, ids["C"], func(inc *incident.Incident) {
		inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, inc.OpenedAt.Add(time.Minute)
	})
	check("after a change of one day", whole, 1)
	check("after a change, again", whole, 0)
	check("priority filter after the change", incident.StatsFilter{Since: whole.Since, Until: whole.Until, Priority: 1}, 1)
}

func mustUpdateStats(t *testing.T, st *Store, id int64, fn func(*incident.Incident)) {
	t.Helper()
	ctx := context.Background()
	err := st.Update(ctx, func(tx incident.Tx) error {
		inc, err := tx.Incident(ctx, id)
		if err != nil {
			return err
		}
		fn(&inc)
		return tx.UpdateIncident(ctx, inc)
	})
	if err != nil {
		t.Fatal(err)
	}
}
