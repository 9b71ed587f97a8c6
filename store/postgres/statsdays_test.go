package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/statsdays"
	"github.com/alertbridge/alertbridge/store/postgres"
)

// pgDayVersion reads the stats version of the UTC day of at (0 without a
// row).
func pgDayVersion(t *testing.T, db *sql.DB, at time.Time) int64 {
	t.Helper()
	var v int64
	err := db.QueryRow(`SELECT COALESCE((SELECT version FROM incident_stats_days WHERE day = $1), 0)`,
		statsdays.FloorDay(at.UnixNano())).Scan(&v)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mustInsertEvent inserts an event from source "am" by plain SQL, as any
// other writer (an import, another replica) could; db is a *sql.DB or a
// *sql.Tx.
func mustInsertEvent(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, at time.Time, fingerprint, transition string) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), `INSERT INTO events (received_at, source, fingerprint, status, labels, transition)
		VALUES ($1, 'am', $2, 'firing', '{}', $3)`, at.UnixNano(), fingerprint, transition); err != nil {
		t.Fatal(err)
	}
}

// mustCreate writes incidents through the store and returns their IDs, in
// order.
func mustCreate(t *testing.T, st *postgres.Store, incs ...incident.Incident) []int64 {
	t.Helper()
	var ids []int64
	err := st.Update(context.Background(), func(tx incident.Tx) error {
		ids = ids[:0]
		for _, inc := range incs {
			if err := tx.CreateIncident(context.Background(), &inc); err != nil {
				return err
			}
			ids = append(ids, inc.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestStatsDayVersionFollowsEveryColumnStatsRead changes each column of an
// incident on its own, by plain SQL as any writer could (another daemon on
// the same database), and checks that a change of a column the stats'
// day parts read bumps the version of the incident's day (migration 0010),
// so that no kept part outlives it, and that a change of another does not,
// so that ingest does not pay for it. The columns the day parts read are
// found in the statements they run (statsdays.Queries, with a service and
// a priority): a column added to them without a case here fails the test.
// So do an insert and a delete, which bump the day too.
func TestStatsDayVersionFollowsEveryColumnStatsRead(t *testing.T) {
	t.Parallel()
	dsn, schema := mustSchema(t)
	st := mustOpen(t, dsn)
	db := mustDB(t, dsn)
	ctx := context.Background()
	opened := t0.Add(-48 * time.Hour)
	a, b := newIncident("a"), newIncident("b")
	a.OpenedAt, a.UpdatedAt, a.LastEventAt = opened, opened, opened
	a.State, a.AcknowledgedAt, a.ResolvedAt = incident.StateResolved, opened.Add(time.Minute), opened.Add(time.Hour)
	a.Service, a.Rule = "db", "disk"
	b.State, b.ResolvedAt = incident.StateResolved, t0.Add(time.Hour)
	ids := mustCreate(t, st, a, b)
	id := ids[0]

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
		"merged_into":         "$1", // another incident
	}
	notRead := map[string]string{
		"alert_count":   "alert_count + 1",
		"firing_count":  "firing_count + 1",
		"last_event_at": "last_event_at + 1",
		"updated_at":    "updated_at + 1",
		"title":         "title || '-x'",
		"owner":         "owner || '-x'",
	}

	// The columns the day parts read: every column of incidents named in
	// their statements.
	qs, _ := postgres.StatsDayQueries(incident.StatsFilter{Service: "db", Priority: 1})
	text := strings.Join(qs[:], "\n")
	rows, err := db.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'incidents'`)
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`\b` + c + `\b`).MatchString(text) {
			named = append(named, c)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(named) < 10 {
		t.Fatalf("the day parts' statements name only %v: the test cannot find the columns", named)
	}
	for _, c := range named {
		if _, ok := read[c]; !ok {
			t.Errorf("the stats read column %s; add it here and to the trigger incident_stats_days_update", c)
		}
	}

	change := func(col, expr string) {
		t.Helper()
		q, args := `UPDATE incidents SET `+col+` = `+expr+` WHERE id = $1`, []any{id}
		if expr == "$1" {
			q, args = `UPDATE incidents SET `+col+` = $1 WHERE id = $2`, []any{ids[1], id}
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
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
		before := pgDayVersion(t, db, opened)
		change(col, read[col])
		if after := pgDayVersion(t, db, opened); after <= before {
			t.Errorf("changing %s left the day's version at %d", col, after)
		}
	}
	for col, expr := range notRead {
		before := pgDayVersion(t, db, opened)
		change(col, expr)
		if after := pgDayVersion(t, db, opened); after != before {
			t.Errorf("changing %s, which the stats do not read, bumped the day's version %d → %d", col, before, after)
		}
	}

	// Moving the opening to another day bumps both days.
	from, to := pgDayVersion(t, db, opened), pgDayVersion(t, db, opened.Add(-24*time.Hour))
	if _, err := db.ExecContext(ctx, `UPDATE incidents SET opened_at = opened_at - $1 WHERE id = $2`, int64(24*time.Hour), id); err != nil {
		t.Fatal(err)
	}
	if pgDayVersion(t, db, opened) <= from || pgDayVersion(t, db, opened.Add(-24*time.Hour)) <= to {
		t.Error("moving an opening to the day before did not bump both days")
	}

	// An insert and a delete bump their day; a pending incident (no
	// opening) belongs to none. The delete comes from a session whose
	// search_path is another schema's, as an admin's psql: the triggers
	// write their own schema's tables.
	before := pgDayVersion(t, db, t0)
	c := newIncident("c")
	cid := mustCreate(t, st, c)[0]
	if after := pgDayVersion(t, db, t0); after <= before {
		t.Errorf("an insert left its day's version at %d", after)
	}
	before = pgDayVersion(t, db, t0)
	if _, err := mustAdmin(t).ExecContext(ctx, `DELETE FROM `+pgx.Identifier{schema, "incidents"}.Sanitize()+` WHERE id = $1`, cid); err != nil {
		t.Fatal(err)
	}
	if after := pgDayVersion(t, db, t0); after <= before {
		t.Errorf("a delete left its day's version at %d", after)
	}
	var days int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM incident_stats_days`).Scan(&days); err != nil {
		t.Fatal(err)
	}
	p := newIncident("p")
	p.State, p.OpenedAt = incident.StatePending, time.Time{}
	mustCreate(t, st, p)
	var after int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM incident_stats_days`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != days {
		t.Errorf("a pending incident added a day: %d days, was %d", after, days)
	}

	// Ingest's incidents, opened within two minutes, bump nothing when
	// they open or change: no kept day can hold them (a day is kept four
	// minutes after it ended). One opened two hours ago does.
	now := time.Now()
	before = pgDayVersion(t, db, now)
	r := newIncident("recent")
	r.OpenedAt, r.UpdatedAt, r.LastEventAt = now, now, now
	rid := mustCreate(t, st, r)[0]
	if _, err := db.ExecContext(ctx, `UPDATE incidents SET state = 'acknowledged', acknowledged_at = $1 WHERE id = $2`,
		now.Add(time.Minute).UnixNano(), rid); err != nil {
		t.Fatal(err)
	}
	if v := pgDayVersion(t, db, now); v != before {
		t.Errorf("an incident opened now bumped its day's version: %d → %d", before, v)
	}
	older := newIncident("older")
	older.OpenedAt = now.Add(-2 * time.Hour)
	before = pgDayVersion(t, db, older.OpenedAt)
	mustCreate(t, st, older)
	if v := pgDayVersion(t, db, older.OpenedAt); v <= before {
		t.Errorf("an incident opened two hours ago left its day's version at %d", v)
	}
}

// TestStatsKeptDaysFollowAnotherDaemon: two stores on one database, as two
// daemons. The first keeps whole days' parts between calls (it reads only
// the window's partial days again), and a change the second writes to a
// kept day shows in the first's next answer: the day's version moved in the
// second's transaction. Every answer equals that of a store that has kept
// nothing yet.
func TestStatsKeptDaysFollowAnotherDaemon(t *testing.T) {
	t.Parallel()
	dsn, _ := mustSchema(t)
	first, second := mustOpen(t, dsn), mustOpen(t, dsn)
	ctx := context.Background()
	var incs []incident.Incident
	for i := range 60 { // two a day over 30 days, half of them acknowledged
		inc := newIncident("k-" + string(rune('A'+i%26)) + string(rune('a'+i/26)))
		inc.OpenedAt = t0.Add(-time.Duration(i) * 12 * time.Hour)
		inc.UpdatedAt, inc.LastEventAt, inc.Priority = inc.OpenedAt, inc.OpenedAt, incident.Priority(1+i%5)
		inc.State, inc.ResolvedAt, inc.SealedAt = incident.StateResolved, inc.OpenedAt.Add(time.Hour), inc.OpenedAt.Add(time.Hour)
		if i%2 == 0 {
			inc.AcknowledgedAt = inc.OpenedAt.Add(time.Duration(i+1) * time.Minute)
		}
		incs = append(incs, inc)
	}
	ids := mustCreate(t, first, incs...)

	f := incident.StatsFilter{Since: t0.Add(-20 * 24 * time.Hour), Until: t0}
	sorted := cmpopts.SortSlices(func(a, b time.Duration) bool { return a < b })
	check := func(what string, wantRead func(int64) bool) {
		t.Helper()
		before := postgres.StatsDaysRead(first)
		got, err := first.Stats(ctx, f, t0)
		if err != nil {
			t.Fatal(err)
		}
		if read := postgres.StatsDaysRead(first) - before; !wantRead(read) {
			t.Errorf("%s: read %d day parts", what, read)
		}
		want, err := mustOpen(t, dsn).Stats(ctx, f, t0) // keeps nothing yet
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, sorted, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: figures differ from a store that kept nothing (-fresh +kept):\n%s", what, diff)
		}
	}
	check("first call", func(n int64) bool { return n == 21 }) // 19 whole days and two parts
	check("again", func(n int64) bool { return n == 2 })       // the two partial days only

	// The second daemon acknowledges an incident opened ten days ago
	// (i = 20), whole in the window, and resolves it later.
	err := second.Update(ctx, func(tx incident.Tx) error {
		inc, err := tx.Incident(ctx, ids[21])
		if err != nil {
			return err
		}
		inc.AcknowledgedAt = inc.OpenedAt.Add(42 * time.Minute)
		inc.ResolvedAt = inc.ResolvedAt.Add(time.Hour)
		return tx.UpdateIncident(ctx, inc)
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after the other daemon's change", func(n int64) bool { return n == 3 }) // the changed day and the two parts
	check("again after it", func(n int64) bool { return n == 2 })
}

// TestStatsNoiseKeptDays: the noise figures of whole days that ended four
// minutes before the database's clock are kept between calls, and every
// answer equals the events' own count, whatever changes them: retention
// deleting a kept day's events (by plain SQL, as another daemon could),
// deleting only events older than every kept day (which leaves them
// kept), and an insert stamped inside a kept day. An event ingest writes
// now changes no counter, so ingest leaves kept days alone.
func TestStatsNoiseKeptDays(t *testing.T) {
	t.Parallel()
	dsn, schema := mustSchema(t)
	st := mustOpen(t, dsn)
	db := mustDB(t, dsn)
	ctx := context.Background()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	day := func(n int) time.Time { return today.AddDate(0, 0, n) }
	insert := func(at time.Time, fingerprint, transition string) {
		mustInsertEvent(t, db, at, fingerprint, transition)
	}
	// Twelve days ago to three days ago, 30 events a day, over 40 alerts
	// shared across days, a third of them not counted.
	for d := -12; d <= -3; d++ {
		for i := range 30 {
			insert(day(d).Add(time.Duration(i)*47*time.Minute), fmt.Sprintf("fp-%d", (d*7+i)%40+40),
				[]string{"new", "resolved", "repeat", "refired", "stale", "history"}[i%6])
		}
	}
	f := incident.StatsFilter{Since: day(-11).Add(5 * time.Hour), Until: day(-2)} // whole days -10..-3
	raw := func() (events, alerts int) {
		t.Helper()
		err := db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT (source, fingerprint)) FROM events
			WHERE received_at >= $1 AND received_at < $2 AND transition IN ('new', 'refired', 'resolved', 'stale')`,
			f.Since.UnixNano(), f.Until.UnixNano()).Scan(&events, &alerts)
		if err != nil {
			t.Fatal(err)
		}
		return events, alerts
	}
	check := func(what string, wantRead int64) {
		t.Helper()
		before := postgres.NoiseDaysRead(st)
		got, err := st.Stats(ctx, f, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		events, alerts := raw()
		if got.Events != events || got.Alerts != alerts {
			t.Errorf("%s: %d events of %d alerts, the events hold %d of %d", what, got.Events, got.Alerts, events, alerts)
		}
		if read := postgres.NoiseDaysRead(st) - before; read != wantRead {
			t.Errorf("%s: read %d whole days, want %d", what, read, wantRead)
		}
	}
	check("first call", 8) // days -10..-3; day -11 is read in part each time
	check("again", 0)

	late := func() (n int64) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT late FROM stats_event_changes`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := late()
	insert(time.Now(), "fp-now", "new")
	if after := late(); after != before {
		t.Errorf("an event received now counted as late: %d → %d", before, after)
	}
	check("after an event received now", 0)

	// Retention deletes the oldest events first: what it deletes before
	// every kept day leaves them kept.
	if _, err := db.ExecContext(ctx, `DELETE FROM events WHERE received_at < $1`, day(-11).UnixNano()); err != nil {
		t.Fatal(err)
	}
	check("after deleting only older events", 0)
	if _, err := db.ExecContext(ctx, `DELETE FROM events WHERE received_at >= $1 AND received_at < $2 AND fingerprint <> 'fp-41'`,
		day(-6).UnixNano(), day(-5).UnixNano()); err != nil {
		t.Fatal(err)
	}
	check("after deleting most of a kept day", 5) // days -10..-6: up to the newest event deleted
	check("again after it", 0)

	// An import, say, from a session whose search_path is another
	// schema's.
	if _, err := mustAdmin(t).ExecContext(ctx, `INSERT INTO `+pgx.Identifier{schema, "events"}.Sanitize()+`
		(received_at, source, fingerprint, status, labels, transition) VALUES ($1, 'am', 'fp-late', 'firing', '{}', 'new')`,
		day(-4).Add(time.Hour).UnixNano()); err != nil {
		t.Fatal(err)
	}
	check("after a late insert", 8)

	// Two late inserts in one transaction count once.
	before = late()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		mustInsertEvent(t, tx, day(-5).Add(time.Duration(i)*time.Hour), "fp-late", "new")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if after := late(); after != before+1 {
		t.Errorf("two late inserts in one transaction: late %d → %d, want one more", before, after)
	}
	check("after two late inserts", 8)
	check("again after the late insert", 0)
}

// TestStatsNoiseForgetsPastItsBound: past noiseMaxIDs alert identities,
// the kept days are dropped with the identities and read again, and the
// answers stay the events' own. Not parallel: it lowers a package bound.
func TestStatsNoiseForgetsPastItsBound(t *testing.T) {
	dsn, _ := mustSchema(t)
	st := mustOpen(t, dsn)
	db := mustDB(t, dsn)
	ctx := context.Background()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for d := -6; d <= -3; d++ {
		for i := range 10 {
			// Days share half their alerts with the next.
			mustInsertEvent(t, db, today.AddDate(0, 0, d).Add(time.Duration(i)*time.Hour), fmt.Sprintf("fp-%d", (d+6)*5+i), "new")
		}
	}
	// Until 20 s past a step of day -2: every call reads those seconds,
	// and then finds the identities past their bound.
	f := incident.StatsFilter{Since: today.AddDate(0, 0, -6), Until: today.AddDate(0, 0, -2).Add(3*time.Hour + 20*time.Second)}
	restore := postgres.SetNoiseMaxIDs(12) // fewer than the window's 25 alerts
	defer restore()
	for call := range 3 {
		before := postgres.NoiseDaysRead(st)
		got, err := st.Stats(ctx, f, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got.Events != 40 || got.Alerts != 25 {
			t.Errorf("call %d: %d events of %d alerts, want 40 of 25", call, got.Events, got.Alerts)
		}
		// Days -6..-3 and day -2 up to 03:00, the first call too.
		if read := postgres.NoiseDaysRead(st) - before; read != 5 {
			t.Errorf("call %d: read %d day parts, want all 5 again (the bound is below one window's alerts)", call, read)
		}
	}
}

// TestPrimeStatsKeepsTheUsualWindows: after PrimeStats, the first calls
// for the last 7, 30 and 90 days read only what every call reads (the
// parts of days not kept), as the same calls do once kept; without it,
// the first calls read more.
func TestPrimeStatsKeepsTheUsualWindows(t *testing.T) {
	t.Parallel()
	dsn, _ := mustSchema(t)
	db := mustDB(t, dsn)
	ctx := context.Background()
	now := time.Now()
	seed := mustOpen(t, dsn)
	var incs []incident.Incident
	for i := range 40 {
		inc := newIncident(fmt.Sprintf("k-%d", i))
		inc.OpenedAt = now.Add(-time.Duration(i) * 55 * time.Hour)
		inc.UpdatedAt, inc.LastEventAt = inc.OpenedAt, inc.OpenedAt
		inc.State, inc.ResolvedAt, inc.SealedAt = incident.StateResolved, inc.OpenedAt.Add(time.Hour), inc.OpenedAt.Add(time.Hour)
		incs = append(incs, inc)
		mustInsertEvent(t, db, inc.OpenedAt, fmt.Sprintf("fp-%d", i%7), "new")
	}
	mustCreate(t, seed, incs...)
	var windows []incident.StatsFilter
	for _, days := range []int{7, 30, 90} {
		windows = append(windows, incident.StatsFilter{Since: now.AddDate(0, 0, -days), Until: now})
	}
	pass := func(st *postgres.Store) (read int64) {
		t.Helper()
		for _, f := range windows {
			before := postgres.StatsDaysRead(st) + postgres.NoiseDaysRead(st)
			if _, err := st.Stats(ctx, f, now); err != nil {
				t.Fatal(err)
			}
			read += postgres.StatsDaysRead(st) + postgres.NoiseDaysRead(st) - before
		}
		return read
	}
	unprimed := mustOpen(t, dsn)
	cold, kept := pass(unprimed), pass(unprimed)
	if cold <= kept {
		t.Fatalf("unprimed: the first calls read %d, the same calls again %d: the test cannot tell priming worked", cold, kept)
	}
	primed := mustOpen(t, dsn)
	if err := primed.PrimeStats(ctx, now); err != nil {
		t.Fatal(err)
	}
	if read := pass(primed); read != kept {
		t.Errorf("primed: the first calls read %d day parts, want %d, as once kept (%d unprimed)", read, kept, cold)
	}
}

// TestStatsKeptUnderConcurrentReadsAndWrites: two stores on one database
// answer stats calls from several goroutines while a third writes what
// the kept days count (priorities of old incidents, late events, deletions
// of events); afterwards each answers what a store that kept nothing
// answers.
func TestStatsKeptUnderConcurrentReadsAndWrites(t *testing.T) {
	t.Parallel()
	dsn, _ := mustSchema(t)
	a, b, writer := mustOpen(t, dsn), mustOpen(t, dsn), mustOpen(t, dsn)
	db := mustDB(t, dsn)
	ctx := context.Background()
	now := time.Now()
	var incs []incident.Incident
	for i := range 60 {
		inc := newIncident(fmt.Sprintf("k-%d", i))
		inc.OpenedAt = now.Add(-time.Duration(i) * 13 * time.Hour)
		inc.UpdatedAt, inc.LastEventAt, inc.Priority = inc.OpenedAt, inc.OpenedAt, incident.Priority(1+i%5)
		inc.State, inc.ResolvedAt, inc.SealedAt = incident.StateResolved, inc.OpenedAt.Add(time.Hour), inc.OpenedAt.Add(time.Hour)
		incs = append(incs, inc)
	}
	ids := mustCreate(t, writer, incs...)
	event := func(at time.Time, fp string) { mustInsertEvent(t, db, at, fp, "new") }
	for i := range 120 {
		event(now.Add(-time.Duration(i)*6*time.Hour), fmt.Sprintf("fp-%d", i%17))
	}
	filters := []incident.StatsFilter{
		{Since: now.AddDate(0, 0, -7), Until: now},
		{Since: now.AddDate(0, 0, -30), Until: now},
		{Since: now.AddDate(0, 0, -30), Until: now, Priority: 1},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 6 {
		st := []*postgres.Store{a, b}[g%2]
		wg.Go(func() {
			for i := range 15 {
				if _, err := st.Stats(ctx, filters[(g+i)%len(filters)], now); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 10 {
		id := ids[10+i*4]
		err := writer.Update(ctx, func(tx incident.Tx) error {
			inc, err := tx.Incident(ctx, id)
			if err != nil {
				return err
			}
			inc.Priority = incident.Priority(1 + int(inc.Priority)%5)
			return tx.UpdateIncident(ctx, inc)
		})
		if err != nil {
			t.Fatal(err)
		}
		event(now.AddDate(0, 0, -3-i), fmt.Sprintf("late-%d", i))
		if _, err := db.ExecContext(ctx, `DELETE FROM events WHERE fingerprint = $1`, fmt.Sprintf("fp-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sorted := cmpopts.SortSlices(func(a, b time.Duration) bool { return a < b })
	fresh := mustOpen(t, dsn)
	for _, f := range filters {
		want, err := fresh.Stats(ctx, f, now)
		if err != nil {
			t.Fatal(err)
		}
		for name, st := range map[string]*postgres.Store{"a": a, "b": b} {
			got, err := st.Stats(ctx, f, now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, sorted, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("store %s, %+v: kept figures differ from a store that kept nothing (-fresh +kept):\n%s", name, f, diff)
			}
		}
	}
}

// TestStatsNoiseKeepsADaysPrefix: of a day the window ends in (today's,
// for a dashboard), the part up to a step is kept, and a call reads only
// the events after it; the part is read again when the window's end has
// moved a step on, or when something changed it. The window here ends in
// a day long past, so that the test does not depend on the time of day.
func TestStatsNoiseKeepsADaysPrefix(t *testing.T) {
	t.Parallel()
	dsn, _ := mustSchema(t)
	st := mustOpen(t, dsn)
	db := mustDB(t, dsn)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	insert := func(at time.Time, fp string) { mustInsertEvent(t, db, at, fp, "new") }
	for m := range 24 * 6 { // every ten minutes, a minute past, over 12 alerts
		insert(day.Add(time.Duration(m)*10*time.Minute+time.Minute), fmt.Sprintf("fp-%d", m%12))
	}
	insert(day.Add(-time.Hour), "fp-before") // the day before: the window's whole day
	check := func(what string, until time.Time, wantRead int64) {
		t.Helper()
		f := incident.StatsFilter{Since: day.Add(-24 * time.Hour), Until: until}
		before := postgres.NoiseDaysRead(st)
		got, err := st.Stats(ctx, f, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var events, alerts int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT (source, fingerprint)) FROM events
			WHERE received_at >= $1 AND received_at < $2 AND transition IN ('new', 'refired', 'resolved', 'stale')`,
			f.Since.UnixNano(), f.Until.UnixNano()).Scan(&events, &alerts); err != nil {
			t.Fatal(err)
		}
		if got.Events != events || got.Alerts != alerts {
			t.Errorf("%s: %d events of %d alerts, the events hold %d of %d", what, got.Events, got.Alerts, events, alerts)
		}
		if read := postgres.NoiseDaysRead(st) - before; read != wantRead {
			t.Errorf("%s: read %d day parts, want %d", what, read, wantRead)
		}
	}
	noon := day.Add(12 * time.Hour)
	check("to noon", noon.Add(3*time.Minute+10*time.Second), 2)              // the day before, and the day to 12:03
	check("seconds on", noon.Add(3*time.Minute+40*time.Second), 0)           // 12:03 to 12:03:40 read as it is
	check("two steps on", noon.Add(5*time.Minute+10*time.Second), 1)         // the day to 12:05 read again
	check("back within the step", noon.Add(5*time.Minute+30*time.Second), 0) // the same part
	insert(noon.Add(-5*time.Hour), "fp-late")                                // into the kept part: late
	check("after a late insert", noon.Add(5*time.Minute+30*time.Second), 2)
	check("to the day's end", day.Add(24*time.Hour), 1) // the whole day
}
