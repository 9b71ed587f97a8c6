package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/sizedlru"
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
		if _, err := st.wc.ExecContext(context.Background(), `UPDATE incidents SET `+col+` = `+expr+` WHERE id = ?`, append(args, id)...); err != nil {
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
	if _, err := st.wc.ExecContext(context.Background(), `UPDATE incidents SET opened_at = opened_at - ? WHERE id = ?`, int64(24*time.Hour), id); err != nil {
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
	raw := mustRawStore(t, st)
	midnight := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	whole := incident.StatsFilter{Since: midnight.Add(-5 * 24 * time.Hour), Until: midnight} // 5 whole days
	edges := incident.StatsFilter{Since: midnight.Add(-5*24*time.Hour + time.Hour), Until: statsNow}

	check := func(name string, f incident.StatsFilter, wantRead int64) {
		t.Helper()
		before := st.kept.days.Read()
		got, err := st.Stats(ctx, f, statsNow)
		if err != nil {
			t.Fatal(err)
		}
		if read := st.kept.days.Read() - before; read != wantRead {
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
	// The edges: the day since falls in (partial) and the one until falls
	// in; the four whole days between are kept. The first day's
	// incidents are kept too (statsedge.go): only the last is read again.
	check("edges", edges, 2)
	check("edges again", edges, 1)
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

	// A window whose first day holds incidents (A and K at 12:00, B at
	// 20:00 on the 26th), as a dashboard's moving window meets it: the
	// day's incidents are read once, and each start within the day is
	// counted from them, until something the day counts changes.
	onEdge := incident.StatsFilter{Since: time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC), Until: statsNow}
	check("first day with incidents", onEdge, 2)
	onEdge.Since = onEdge.Since.Add(8 * time.Hour) // past A and K, before B
	check("first day, a later start", onEdge, 1)
	mustUpdateStats(t, st, ids["B"], func(inc *incident.Incident) {
		inc.AcknowledgedAt = inc.AcknowledgedAt.Add(time.Minute)
	})
	check("first day after a change of it", onEdge, 2)
	check("first day, after the change, again", onEdge, 1)
	// A day of more incidents than edgeRowsMax is read each time.
	defer func(n int) { edgeRowsMax = n }(edgeRowsMax)
	edgeRowsMax = 1
	onEdge.Since = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	mustUpdateStats(t, st, ids["B"], func(inc *incident.Incident) { // a new version: nothing kept fits
		inc.AcknowledgedAt = inc.AcknowledgedAt.Add(time.Minute)
	})
	check("first day too large to keep", onEdge, 2)
	edgeReads := st.kept.days.edgeReads.Load()
	check("first day too large to keep, again", onEdge, 2)
	if n := st.kept.days.edgeReads.Load() - edgeReads; n != 0 {
		t.Errorf("the day too large to keep had its incidents read again (%d times): want only its part read", n)
	}
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

// TestNoiseKeptLeadingDayFollowsLaterDays checks that the kept part of the
// day a window starts in is read again when one of its alerts is seen on a
// later day, which changes none of that day's events.
func TestNoiseKeptLeadingDayFollowsLaterDays(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	d := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	add := func(fp string, at time.Time) {
		t.Helper()
		err := st.Update(ctx, func(tx incident.Tx) error {
			return tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: at, Source: "am", Fingerprint: fp,
				Status: incident.StatusFiring, Transition: incident.TransitionNew})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("a", d.Add(10*time.Hour)) // before the window
	add("b", d.Add(14*time.Hour)) // in the window's first, partial day
	add("c", d.Add(30*time.Hour)) // a whole day
	// The leading day is over a quarter of the cache here, and kept all
	// the same, within the share the store's cache gives one day.
	var ld leadingDay
	if err := readLeadingDay(ctx, st.r, d.UnixNano()/nanosPerDay, &ld); err != nil {
		t.Fatal(err)
	}
	budget := 3 * float64(ld.size())
	st.kept.lead.kept = sizedlru.NewMax[int64, *leadingDay](leadingDaysCached, int(budget), int(budget*share(st.kept.lead.kept)))
	check := noiseChecker(t, st, incident.StatsFilter{Since: d.Add(12 * time.Hour), Until: d.Add(60 * time.Hour)})
	check("first", 2, 2, 1)
	check("kept", 2, 2, 0)
	add("b", d.Add(50*time.Hour)) // b again, today: among the whole days now
	check("b seen later", 3, 2, 1)
	add("e", d.Add(55*time.Hour))
	check("another alert today", 4, 3, 0)
}

// noiseChecker returns a check that st's noise figures of f at f.Until are
// events and alerts, as a store that keeps nothing reading the same file
// says too, and that st read its leading day read times for them.
func noiseChecker(t *testing.T, st *Store, f incident.StatsFilter) func(name string, events, alerts int, read int64) {
	ctx := context.Background()
	raw := mustRawStore(t, st)
	return func(name string, events, alerts int, read int64) {
		t.Helper()
		before := st.kept.lead.read.Load()
		got, err := st.Stats(ctx, f, f.Until)
		if err != nil {
			t.Fatal(err)
		}
		want, err := raw.Stats(ctx, f, f.Until)
		if err != nil {
			t.Fatal(err)
		}
		if got.Events != events || got.Alerts != alerts || want.Events != events || want.Alerts != alerts {
			t.Errorf("%s: events, alerts = %d, %d (a store keeping nothing: %d, %d); want %d, %d",
				name, got.Events, got.Alerts, want.Events, want.Alerts, events, alerts)
		}
		if r := st.kept.lead.read.Load() - before; r != read {
			t.Errorf("%s: read the leading day %d times, want %d", name, r, read)
		}
	}
}

// TestNoiseKeptLeadingDayFollowsRetention checks that the kept part of the
// day a window starts in is read again when retention deleted events of it,
// and that it then agrees with a store that keeps nothing.
func TestNoiseKeptLeadingDayFollowsRetention(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	d := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	now := d.Add(60 * time.Hour)
	err := st.Update(ctx, func(tx incident.Tx) error {
		inc := incident.Incident{State: incident.StateClosed, Priority: 3, Impact: incident.LevelMedium,
			Urgency: incident.LevelMedium, Title: "gone", CorrelationKey: "k", OpenedAt: d.Add(13 * time.Hour),
			ResolvedAt: d.Add(15 * time.Hour), SealedAt: d.Add(16 * time.Hour),
			UpdatedAt: d.Add(16 * time.Hour), LastEventAt: d.Add(15 * time.Hour)}
		inc.ClosedAt = d.Add(16 * time.Hour)
		if err := tx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		for _, e := range []struct {
			fp string
			at time.Duration
			id int64
		}{{"b", 14 * time.Hour, inc.ID}, {"x", 15 * time.Hour, 0}, {"c", 30 * time.Hour, 0}} {
			err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: d.Add(e.at), Source: "am", Fingerprint: e.fp,
				Status: incident.StatusFiring, Transition: incident.TransitionNew, IncidentID: e.id})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := noiseChecker(t, st, incident.StatsFilter{Since: d.Add(12 * time.Hour), Until: now})
	check("first", 3, 3, 1)
	check("kept", 3, 3, 0)
	err = st.Update(ctx, func(tx incident.Tx) error {
		h, err := tx.DeleteHistory(ctx, d.Add(20*time.Hour), 100, now)
		// b's, of the closed incident, and x, which no incident held.
		if err == nil && h.Events != 2 {
			t.Errorf("retention deleted %d events, want 2", h.Events)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after retention", 1, 1, 1)
}

// TestStatsKeptUnderConcurrentReadsAndWrites reads stats from several
// goroutines while incidents change (run with -race: kept parts are shared
// and must never be written once kept), then checks that the figures agree
// with a store that keeps nothing.
func TestStatsKeptUnderConcurrentReadsAndWrites(t *testing.T) {
	ctx := context.Background()
	st, ids := mustStatsStore(t)
	raw := mustRawStore(t, st)
	filters := []incident.StatsFilter{
		{Since: statsNow.Add(-7 * 24 * time.Hour), Until: statsNow},
		{Since: statsNow.Add(-30 * 24 * time.Hour), Until: statsNow, Priority: 1},
		{Since: statsNow.Add(-3 * 24 * time.Hour), Until: statsNow.Add(-time.Hour), Service: "checkout"},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 6 {
		wg.Go(func() {
			for i := range 20 {
				if _, err := st.Stats(ctx, filters[(g+i)%len(filters)], statsNow); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 10 {
		name := []string{"A", "B", "C", "H"}[i%4]
		mustUpdateStats(t, st, ids[name], func(inc *incident.Incident) {
			inc.Priority = incident.Priority(1 + (int(inc.Priority))%5)
		})
		// Events today, which the readers' kept edges read on to (and
		// a reader older than the kept edge begins again).
		err := st.Update(ctx, func(tx incident.Tx) error {
			return tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: statsNow.Add(-time.Duration(i+1) * time.Minute),
				Source: "am", Fingerprint: fmt.Sprint("c-", i), Status: incident.StatusFiring,
				Transition: incident.TransitionNew, IncidentID: ids[name]})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sorted := cmpopts.SortSlices(func(a, b time.Duration) bool { return a < b })
	for _, f := range filters {
		got, err := st.Stats(ctx, f, statsNow)
		if err != nil {
			t.Fatal(err)
		}
		want, err := raw.Stats(ctx, f, statsNow)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, sorted, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%+v: kept figures differ from a raw read (-raw +kept):\n%s", f, diff)
		}
	}
}

// TestNoiseEventsAfterTheWindow checks the events received after a window
// that ends today (committed between the request's now and its read):
// they are not counted, nor their alerts unless seen in the window, from
// any source.
func TestNoiseEventsAfterTheWindow(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	d := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	add := func(source, fp string, at time.Duration) {
		t.Helper()
		err := st.Update(ctx, func(tx incident.Tx) error {
			return tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: d.Add(at), Source: source, Fingerprint: fp,
				Status: incident.StatusFiring, Transition: incident.TransitionNew})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("am", "a", 14*time.Hour)      // the window's first, partial day
	add("am", "b", 30*time.Hour)      // a whole day
	add("grafana", "c", 50*time.Hour) // today, in the window
	check := noiseChecker(t, st, incident.StatsFilter{Since: d.Add(12 * time.Hour), Until: d.Add(60 * time.Hour)})
	check("nothing after", 3, 3, 1)
	add("am", "c", 61*time.Hour) // c again, from another source, after until
	check("seen in the window from another source", 3, 3, 0)
	add("am", "a", 62*time.Hour) // a again, after until: seen on a later day now
	add("am", "n", 62*time.Hour) // a new alert after until
	check("after until", 3, 3, 1)
}

// mustRawStore opens st's file as a store that keeps nothing between
// calls (OpenReadOnly): what the kept figures must equal.
func mustRawStore(t *testing.T, st *Store) *Store {
	t.Helper()
	raw, err := OpenReadOnly(context.Background(), filepath.Join(filepath.Dir(st.path), FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// TestPrimeStatsKeepsTheUsualWindows checks that after PrimeStats the
// first calls for the last 7, 30 and 90 days, and for each priority over
// the last 7 and 30, read only what every call reads (the parts of a day
// at the window's edges), as the same calls do once kept, and answer what
// a store that keeps nothing answers; and that without it, the first
// calls read more.
func TestPrimeStatsKeepsTheUsualWindows(t *testing.T) {
	ctx := context.Background()
	noFollow(t)
	var filters []incident.StatsFilter
	for _, days := range []int{7, 30, 90} {
		filters = append(filters, incident.StatsFilter{Since: statsNow.Add(-time.Duration(days) * 24 * time.Hour), Until: statsNow})
	}
	for _, days := range []int{7, 30} {
		for p := incident.Priority(1); p <= 5; p++ {
			filters = append(filters, incident.StatsFilter{Since: statsNow.Add(-time.Duration(days) * 24 * time.Hour),
				Until: statsNow, Priority: p})
		}
	}
	// pass calls the windows and returns the day parts, leading days and
	// filtered days the calls read.
	pass := func(t *testing.T, st *Store) int64 {
		t.Helper()
		raw := mustRawStore(t, st)
		counted := func() int64 {
			return st.kept.days.Read() + st.kept.lead.read.Load() + st.kept.filtered.read.Load()
		}
		var read int64
		for _, f := range filters {
			before := counted()
			got, err := st.Stats(ctx, f, statsNow)
			if err != nil {
				t.Fatal(err)
			}
			read += counted() - before
			want, err := raw.Stats(ctx, f, statsNow)
			if err != nil {
				t.Fatal(err)
			}
			sorted := cmpopts.SortSlices(func(a, b time.Duration) bool { return a < b })
			if diff := cmp.Diff(want, got, sorted, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s to %s, priority %d: figures differ from a raw read (-raw +kept):\n%s", f.Since, f.Until, f.Priority, diff)
			}
		}
		return read
	}
	unprimed, _ := mustStatsStore(t)
	cold, kept := pass(t, unprimed), pass(t, unprimed)
	if cold <= kept {
		t.Fatalf("unprimed: the first calls read %d, the same calls again %d: the test cannot tell priming worked", cold, kept)
	}
	primed, _ := mustStatsStore(t)
	if err := primed.PrimeStats(ctx, statsNow); err != nil {
		t.Fatal(err)
	}
	if read := pass(t, primed); read != kept {
		t.Errorf("primed: the first calls read %d day parts and leading days, want %d, as once kept (%d unprimed)", read, kept, cold)
	}
}
