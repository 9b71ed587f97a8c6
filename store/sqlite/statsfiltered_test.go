package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/sizedlru"
)

// TestFilteredNoiseEqualsProbe replays a random history, as ingest and
// people write it, and after every step counts the noise figures of
// several windows and filters from the days kept across the steps (as
// across a dashboard's polls) and by probing each matching incident's
// events, which keeps nothing: they must be equal. The history has events
// in order and late (on an earlier day), with and without an incident,
// escalations and moves to another service, and retention deleting closed
// incidents' events.
func TestFilteredNoiseEqualsProbe(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			ctx := context.Background()
			st := mustOpenStore(t)
			r := rand.New(rand.NewPCG(seed, 15))
			t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			services := []string{"db", "api"}
			var ids []int64
			err := st.Update(ctx, func(tx incident.Tx) error {
				for i := range 8 {
					inc := incident.Incident{State: incident.StateOpen, Priority: incident.Priority(1 + r.IntN(3)),
						Impact: incident.LevelMedium, Urgency: incident.LevelMedium, Title: fmt.Sprint(i),
						Service: services[r.IntN(2)], CorrelationKey: fmt.Sprint("k", i),
						OpenedAt: t0, UpdatedAt: t0, LastEventAt: t0}
					if err := tx.CreateIncident(ctx, &inc); err != nil {
						return err
					}
					ids = append(ids, inc.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			transitions := []incident.Transition{incident.TransitionNew, incident.TransitionRefired,
				incident.TransitionResolved, incident.TransitionStale, incident.TransitionRepeat}
			filters := []filterKey{{"", 1}, {"", 2}, {"db", 0}, {"api", 3}, {"db", 1}}
			fd := newFilteredDays()
			now, closed := t0.Add(time.Hour), map[int64]bool{}
			for step := range 60 {
				now = now.Add(time.Duration(r.Int64N(int64(6 * time.Hour))))
				addEvents := func(n int) error {
					return st.Update(ctx, func(tx incident.Tx) error {
						for range n {
							at := now.Add(-time.Duration(r.Int64N(int64(time.Hour))))
							if r.IntN(8) == 0 { // late: on an earlier day
								at = t0.Add(time.Duration(r.Int64N(int64(now.Sub(t0)))))
							}
							var id int64
							if r.IntN(6) > 0 {
								id = ids[r.IntN(len(ids))]
							}
							err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: at, Source: "am",
								Fingerprint: fmt.Sprint("fp-", r.IntN(20)), Status: incident.StatusFiring,
								Transition: transitions[r.IntN(len(transitions))], IncidentID: id})
							if err != nil {
								return err
							}
						}
						return nil
					})
				}
				switch k := r.IntN(10); {
				case k == 0:
					id := ids[r.IntN(len(ids))]
					mustUpdateStats(t, st, id, func(inc *incident.Incident) {
						inc.Priority = incident.Priority(1 + r.IntN(3))
						inc.Service = services[r.IntN(2)]
					})
				case k == 1 && len(closed) < 2:
					id := ids[r.IntN(len(ids))]
					if closed[id] {
						break
					}
					closed[id] = true
					mustUpdateStats(t, st, id, func(inc *incident.Incident) {
						inc.State, inc.ResolvedAt, inc.ClosedAt = incident.StateClosed, now.Add(-time.Minute), now
					})
					err = st.Update(ctx, func(tx incident.Tx) error {
						_, err := tx.DeleteHistory(ctx, now.Add(time.Second), 1000, now)
						return err
					})
					if err == nil { // more arrive than retention deleted, before the next read
						err = addEvents(40)
					}
				default:
					err = addEvents(1 + r.IntN(15))
				}
				if err != nil {
					t.Fatal(err)
				}
				windows := [][2]time.Time{
					{t0, now},
					{now.Add(-36 * time.Hour), now},
					{now.Add(-24 * time.Hour).Truncate(24 * time.Hour), now},
				}
				for range 3 {
					a := t0.Add(-24*time.Hour + time.Duration(r.Int64N(int64(now.Sub(t0)+48*time.Hour))))
					windows = append(windows, [2]time.Time{a, a.Add(time.Duration(1 + r.Int64N(int64(72*time.Hour))))})
				}
				for _, w := range windows {
					for _, k := range filters {
						f := incident.StatsFilter{Since: w[0], Until: w[1], Service: k.service, Priority: k.priority}
						wantEvents, wantAlerts, err := noiseByIncident(ctx, st.r, f)
						if err != nil {
							t.Fatal(err)
						}
						var gotEvents, gotAlerts int
						ok := false
						for try := 0; !ok && try < 10; try++ { // a call reads at most maxFilteredDayReads days
							if gotEvents, gotAlerts, ok, err = fd.count(ctx, st.r, f, false); err != nil {
								t.Fatal(err)
							}
						}
						if !ok {
							t.Fatalf("step %d, %+v: never counted from kept days", step, f)
						}
						if gotEvents != wantEvents || gotAlerts != wantAlerts {
							t.Errorf("step %d, %s to %s, %+v: kept days say %d events of %d alerts, the incidents' events %d of %d",
								step, w[0].Format(time.DateTime), w[1].Format(time.DateTime), k, gotEvents, gotAlerts, wantEvents, wantAlerts)
						}
					}
				}
			}
			if fd.read.Load() == 0 || fd.readOn.Load() == 0 || fd.byIncident.Load() == 0 {
				t.Errorf("days read %d, read on from a kept edge %d, several whole days by incident %d: a path went untested",
					fd.read.Load(), fd.readOn.Load(), fd.byIncident.Load())
			}
		})
	}
}

// TestFilteredNoiseReadsOnlyWhatChanged checks which changes make the kept
// days be read again: nothing, when nothing changed; today's new events
// alone, from the last one read; the days of an escalated incident's
// events, whole.
func TestFilteredNoiseReadsOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	st, d, p1, p3 := mustP1P3Day(t)
	add := func(fp string, at time.Duration, id int64) {
		t.Helper()
		mustAddEvent(t, st, fp, d.Add(at), id)
	}
	add("a", 14*time.Hour, p1) // the window's first, partial day
	add("b", 30*time.Hour, p3) // a whole day
	add("c", 50*time.Hour, p1) // today
	f := incident.StatsFilter{Since: d.Add(12 * time.Hour), Until: d.Add(60 * time.Hour), Priority: 1}
	check := func(name string, events, alerts int, read, readOn int64) {
		t.Helper()
		checkFiltered(t, st, f, name, events, alerts, read, readOn)
	}
	check("first", 2, 2, 3, 0)
	check("kept", 2, 2, 0, 0)
	add("d", 55*time.Hour, p1)
	check("a new event today", 3, 3, 1, 1)
	add("n", 51*time.Hour, 0)
	check("an event of no incident", 3, 3, 1, 1)
	// Its whole day is read again; the edges read on: the incidents
	// changed since, whether they hold one of its events or not.
	mustUpdateStats(t, st, p3, func(inc *incident.Incident) { inc.Priority = 1 })
	check("escalated: its whole day read again", 4, 4, 3, 2)
	mustUpdateStats(t, st, p3, func(inc *incident.Incident) { inc.Title = "renamed" })
	check("a change the filters do not read", 4, 4, 0, 0)
	mustUpdateStats(t, st, p1, func(inc *incident.Incident) { inc.Service = "api" })
	check("another service: the edges read on", 4, 4, 2, 2)
	mustUpdateStats(t, st, p1, func(inc *incident.Incident) { inc.Priority = 2 })
	check("p1 lowered", 1, 1, 2, 2)
	// More changes than the log keeps: the edges are read whole.
	err := st.Update(ctx, func(tx incident.Tx) error {
		for i := range 4100 {
			inc, err := tx.Incident(ctx, p1)
			if err != nil {
				return err
			}
			inc.Priority = incident.Priority(1 + i%2) // 1, 2, ..., 2
			if err := tx.UpdateIncident(ctx, inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("more changes than logged", 1, 1, 2, 0)
	// No writer deletes incidents; one deleted by hand takes its events
	// out of every filter, its whole day read again, the edges read on.
	if _, err := st.wc.ExecContext(context.Background(), `DELETE FROM incidents WHERE id = ?`, p3); err != nil {
		t.Fatal(err)
	}
	check("an incident deleted", 0, 0, 3, 2)
}

// TestPriorityDayReadOnceForAll checks that a whole day read for one
// priority keeps every priority's part of it: a dashboard's panels of P1
// to P5 read each day once, and count what probing counts, also after an
// escalation moves an incident's events from one priority to another.
func TestPriorityDayReadOnceForAll(t *testing.T) {
	st, d, p1, p3 := mustP1P3Day(t)
	for _, e := range []struct {
		fp string
		at time.Duration
		id int64
	}{{"a", 14 * time.Hour, p1}, {"b", 30 * time.Hour, p3}, {"c", 31 * time.Hour, p1}, {"b", 32 * time.Hour, p3}, {"e", 50 * time.Hour, p3}} {
		mustAddEvent(t, st, e.fp, d.Add(e.at), e.id)
	}
	window := func(p incident.Priority) incident.StatsFilter {
		return incident.StatsFilter{Since: d.Add(12 * time.Hour), Until: d.Add(60 * time.Hour), Priority: p}
	}
	// The first call reads the first (partial) day, the whole day and
	// today; the others read nothing: the edges are every filter's.
	checkFiltered(t, st, window(1), "P1 first", 2, 2, 3, 0)
	checkFiltered(t, st, window(3), "P3 after P1", 3, 2, 0, 0)
	checkFiltered(t, st, window(2), "P2, of no event", 0, 0, 0, 0)
	mustUpdateStats(t, st, p3, func(inc *incident.Incident) { inc.Priority = 1 })
	checkFiltered(t, st, window(3), "P3 after its escalation", 0, 0, 3, 2)
	checkFiltered(t, st, window(1), "P1 after P3 read the day again", 5, 4, 0, 0)
}

// TestFilteredNoiseOlderSnapshot checks a read that began before another
// kept a newer edge of the day (two polls at once): it fails with
// errKeptAhead, for Stats to begin again, rather than read the day whole;
// told to, it reads the day whole at its own snapshot and counts what that
// snapshot holds; and the kept newer edge stays.
func TestFilteredNoiseOlderSnapshot(t *testing.T) {
	ctx := context.Background()
	noFollow(t)
	st := mustOpenStore(t)
	d := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var id int64
	err := st.Update(ctx, func(tx incident.Tx) error {
		inc := incident.Incident{State: incident.StateOpen, Priority: 1, Impact: incident.LevelMedium,
			Urgency: incident.LevelMedium, Title: "t", CorrelationKey: "k", OpenedAt: d, UpdatedAt: d, LastEventAt: d}
		err := tx.CreateIncident(ctx, &inc)
		id = inc.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	add := func(fp string, at time.Duration) {
		t.Helper()
		mustAddEvent(t, st, fp, d.Add(at), id)
	}
	add("a", 10*time.Hour)
	f := incident.StatsFilter{Since: d.Add(time.Hour), Until: d.Add(20 * time.Hour), Priority: 1}
	old, err := st.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback() //nolint:errcheck // read only
	var n int
	if err := old.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n); err != nil || n != 1 { // the snapshot begins
		t.Fatalf("events in the old snapshot: %d, %v", n, err)
	}
	add("b", 11*time.Hour)
	if got, err := st.Stats(ctx, f, f.Until); err != nil || got.Events != 2 {
		t.Fatalf("stats now: %d events, %v; want 2", got.Events, err)
	}
	fd := st.kept.filtered
	if _, _, _, err := fd.count(ctx, old, f, false); !errors.Is(err, errKeptAhead) {
		t.Errorf("a read older than the kept edge: %v, want errKeptAhead", err)
	}
	events, alerts, ok, err := fd.count(ctx, old, f, true)
	if err != nil || !ok || events != 1 || alerts != 1 {
		t.Errorf("the older read, told to read the day whole: %d events of %d alerts (%t, %v), want 1 of 1", events, alerts, ok, err)
	}
	before := fd.read.Load()
	if got, err := st.Stats(ctx, f, f.Until); err != nil || got.Events != 2 || fd.read.Load() != before {
		t.Errorf("stats now, after the older read: %d events (%v), %d days read; want 2 from the kept edge", got.Events, err, fd.read.Load()-before)
	}
}

// TestFilteredNoiseDayTooBigToKeep checks that a window holding a day of
// more events than the caches would keep is counted by the probe, right,
// and reads and keeps no day.
func TestFilteredNoiseDayTooBigToKeep(t *testing.T) {
	ctx := context.Background()
	noFollow(t)
	st := mustOpenStore(t)
	d := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	err := st.Update(ctx, func(tx incident.Tx) error {
		inc := incident.Incident{State: incident.StateOpen, Priority: 1, Impact: incident.LevelMedium,
			Urgency: incident.LevelMedium, Title: "t", CorrelationKey: "k", OpenedAt: d, UpdatedAt: d, LastEventAt: d}
		if err := tx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		for i := range 5 {
			err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: d.Add(time.Duration(10+i) * time.Hour), Source: "am",
				Fingerprint: fmt.Sprint("fp-", i%3), Status: incident.StatusFiring, Transition: incident.TransitionNew, IncidentID: inc.ID})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int64) { maxKeptDayEvents = n }(maxKeptDayEvents)
	maxKeptDayEvents = 4
	f := incident.StatsFilter{Since: d.Add(time.Hour), Until: d.Add(20 * time.Hour), Priority: 1}
	got, err := st.Stats(ctx, f, f.Until)
	if err != nil || got.Events != 5 || got.Alerts != 3 {
		t.Errorf("a day too big to keep: %d events of %d alerts (%v), want 5 of 3", got.Events, got.Alerts, err)
	}
	if n := st.kept.filtered.read.Load(); n != 0 {
		t.Errorf("read %d days for a window it cannot keep", n)
	}
	maxKeptDayEvents = 5
	if got, err = st.Stats(ctx, f, f.Until); err != nil || got.Events != 5 || got.Alerts != 3 || st.kept.filtered.read.Load() != 1 {
		t.Errorf("a day it can keep: %d events of %d alerts (%v), %d days read; want 5 of 3, 1", got.Events, got.Alerts, err,
			st.kept.filtered.read.Load())
	}
}

// mustAddEvent records a new alert's event of incident id (0: none).
func mustAddEvent(t *testing.T, st *Store, fp string, at time.Time, id int64) {
	t.Helper()
	ctx := context.Background()
	err := st.Update(ctx, func(tx incident.Tx) error {
		return tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: at, Source: "am", Fingerprint: fp,
			Status: incident.StatusFiring, Transition: incident.TransitionNew, IncidentID: id})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRetryKeptAhead checks that a stats read failing with errKeptAhead
// begins again, and that its third try reads a newer kept edge's day
// whole instead of failing; other errors are not tried again.
func TestRetryKeptAhead(t *testing.T) {
	other := errors.New("disk")
	for _, tc := range []struct {
		name    string
		fails   []error // each try's error until one succeeds
		tries   int
		wantErr error
	}{
		{"first try", nil, 1, nil},
		{"second try", []error{errKeptAhead}, 2, nil},
		{"the third reads whole", []error{errKeptAhead, errKeptAhead}, 3, nil},
		{"another error", []error{other}, 1, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wholes []bool
			_, err := retryKeptAhead(keptStats{}, func(k keptStats) (incident.StatsFigures, error) {
				wholes = append(wholes, k.whole)
				if i := len(wholes) - 1; i < len(tc.fails) {
					if k.whole {
						return incident.StatsFigures{}, nil // reading whole, it cannot be ahead
					}
					return incident.StatsFigures{}, tc.fails[i]
				}
				return incident.StatsFigures{}, nil
			})
			if !errors.Is(err, tc.wantErr) || len(wholes) != tc.tries {
				t.Fatalf("%d tries, error %v; want %d, %v", len(wholes), err, tc.tries, tc.wantErr)
			}
			for i, w := range wholes {
				if w != (i == 2) {
					t.Errorf("try %d read whole: %t", i+1, w)
				}
			}
		})
	}
}

// mustP1P3Day opens a store that does not follow its edges (noFollow),
// with a P1 and a P3 of service db opened at d, 2026-11-20's midnight.
func mustP1P3Day(t *testing.T) (st *Store, d time.Time, p1, p3 int64) {
	t.Helper()
	noFollow(t)
	st = mustOpenStore(t)
	d = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	p1, p3 = mustCreateP1P3(t, st, d)
	return st, d, p1, p3
}

// mustCreateP1P3 creates two open incidents of service db, a P1 and a P3.
func mustCreateP1P3(t *testing.T, st *Store, at time.Time) (p1, p3 int64) {
	t.Helper()
	ctx := context.Background()
	err := st.Update(ctx, func(tx incident.Tx) error {
		for i, id := range []*int64{&p1, &p3} {
			inc := incident.Incident{State: incident.StateOpen, Priority: incident.Priority(1 + 2*i), Impact: incident.LevelMedium,
				Urgency: incident.LevelMedium, Title: "t", Service: "db", CorrelationKey: fmt.Sprint("k", i),
				OpenedAt: at, UpdatedAt: at, LastEventAt: at}
			if err := tx.CreateIncident(ctx, &inc); err != nil {
				return err
			}
			*id = inc.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p1, p3
}

// checkFiltered checks st's stats of f: its events and alerts, which
// probing the incidents' events must count too, and the days the call
// read (readOn of them on from a kept edge).
func checkFiltered(t *testing.T, st *Store, f incident.StatsFilter, name string, events, alerts int, read, readOn int64) {
	t.Helper()
	ctx := context.Background()
	before, beforeOn := st.kept.filtered.read.Load(), st.kept.filtered.readOn.Load()
	got, err := st.Stats(ctx, f, f.Until)
	if err != nil {
		t.Fatal(err)
	}
	wantEvents, wantAlerts, err := noiseByIncident(ctx, st.r, f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Events != events || got.Alerts != alerts || wantEvents != events || wantAlerts != alerts {
		t.Errorf("%s: events, alerts = %d, %d (probing the incidents' events: %d, %d); want %d, %d",
			name, got.Events, got.Alerts, wantEvents, wantAlerts, events, alerts)
	}
	if r, ro := st.kept.filtered.read.Load()-before, st.kept.filtered.readOn.Load()-beforeOn; r != read || ro != readOn {
		t.Errorf("%s: read %d days (%d of them on from a kept one), want %d (%d)", name, r, ro, read, readOn)
	}
}

// noFollow keeps the stores opened after it from following their kept
// edges in the background (followEdges) for the rest of the test, whose
// counts of the days read would otherwise depend on the clock.
func noFollow(t *testing.T) {
	t.Helper()
	defer func(d time.Duration) { t.Cleanup(func() { followEvery = d }) }(followEvery)
	followEvery = 24 * time.Hour
}

// TestFollowKeepsEdgesCurrent checks that following reads the kept edges
// on, so that the next call reads nothing and counts what the probe
// counts: today's new events, and an escalation; that it reads nothing
// when nothing changed, when nothing is kept, or when no call asked for
// filtered figures within followFor.
func TestFollowKeepsEdgesCurrent(t *testing.T) {
	ctx := context.Background()
	noFollow(t)
	st := mustOpenStore(t)
	now := time.Now().UTC()
	p1, p3 := mustCreateP1P3(t, st, now)
	follow := func(name string, at time.Time, want int) {
		t.Helper()
		if n, err := st.followOnce(ctx, at); err != nil || n != want {
			t.Errorf("%s: follow read %d days (%v), want %d", name, n, err, want)
		}
	}
	follow("nothing kept", now, 0)
	mustAddEvent(t, st, "a", now, p1)
	// Today's edge, the one a window ending now has.
	f := incident.StatsFilter{Since: now.Add(-time.Minute), Until: now.Add(time.Minute), Priority: 1}
	check := func(name string, events, alerts int) { // following kept every day current: the call reads none
		t.Helper()
		checkFiltered(t, st, f, name, events, alerts, 0, 0)
	}
	if _, err := st.Stats(ctx, f, f.Until); err != nil { // keeps the edge
		t.Fatal(err)
	}
	follow("nothing changed", now, 0)
	mustAddEvent(t, st, "b", now, p1)
	mustAddEvent(t, st, "c", now, p3)
	readOn := st.kept.filtered.readOn.Load()
	follow("new events", now, 1)
	if st.kept.filtered.readOn.Load() != readOn+1 {
		t.Error("following read today whole, not on from the kept edge")
	}
	check("after new events", 2, 2)
	mustUpdateStats(t, st, p3, func(inc *incident.Incident) { inc.Priority = 1 })
	follow("escalated", now, 1)
	check("after the escalation", 3, 3)
	mustAddEvent(t, st, "d", now, p1)
	follow("asked for too long ago", now.Add(followFor+time.Minute), 0)
	follow("asked for lately", now, 1)
	check("after another event", 4, 4)
}

// TestFollowRunsInBackground checks that an open store follows by itself,
// every followEvery, and stops when closed.
func TestFollowRunsInBackground(t *testing.T) {
	ctx := context.Background()
	defer func(d time.Duration) { t.Cleanup(func() { followEvery = d }) }(followEvery)
	followEvery = 5 * time.Millisecond
	st := mustOpenStore(t)
	now := time.Now().UTC()
	mustAddEvent(t, st, "a", now, 0)
	var id int64
	err := st.Update(ctx, func(tx incident.Tx) error {
		inc := incident.Incident{State: incident.StateOpen, Priority: 2, Impact: incident.LevelMedium,
			Urgency: incident.LevelMedium, Title: "t", Service: "db", CorrelationKey: "k", OpenedAt: now, UpdatedAt: now, LastEventAt: now}
		err := tx.CreateIncident(ctx, &inc)
		id = inc.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f := incident.StatsFilter{Since: now.Add(-time.Minute), Until: now.Add(time.Minute), Service: "db"}
	if _, err := st.Stats(ctx, f, f.Until); err != nil {
		t.Fatal(err)
	}
	readOn := st.kept.filtered.readOn.Load()
	mustAddEvent(t, st, "b", now, id)
	deadline := time.Now().Add(10 * time.Second)
	for st.kept.filtered.readOn.Load() == readOn {
		if time.Now().After(deadline) {
			t.Fatal("the store did not read the new event on by itself within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
	got, err := st.Stats(ctx, f, f.Until)
	if err != nil || got.Events != 1 || got.Alerts != 1 {
		t.Errorf("stats after following: %d events of %d alerts (%v), want 1 of 1", got.Events, got.Alerts, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-st.followDone:
	default:
		t.Error("Close returned with the follower still running")
	}
	if err := st.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// TestFilteredNoiseBigDay checks the rule for a partial day of many
// alerts (a storm of new alerts today): an edge over a quarter of the
// cache's bytes but within what one day may take is kept, so that every
// filter reads the day once; one over that is read once, then counted by
// the probe, also once more events arrived; all counting what the probe
// counts.
func TestFilteredNoiseBigDay(t *testing.T) {
	for _, tc := range []struct {
		name string
		// the cache's budget, as a multiple of the day's edge size; one
		// day may take the share of it the store's cache gives one day
		budget float64
		reads  [4]int64 // the days each call reads
	}{
		{"over a quarter, kept", 3, [4]int64{1, 0, 0, 1}},
		{"too big to keep", 1.8, [4]int64{1, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, d, p1, p3 := mustP1P3Day(t)
			for i := range 40 {
				mustAddEvent(t, st, fmt.Sprint("fp-", i), d.Add(10*time.Hour+time.Duration(i)*time.Minute), []int64{p1, p3}[i%4/3])
			}
			e := newEdgeDay(&noiseDay{})
			if err := e.readEvents(ctx, st.r, d.Unix()/86400, 1<<62); err != nil {
				t.Fatal(err)
			}
			budget := tc.budget * float64(e.size())
			st.kept.filtered.edges = sizedlru.NewMax[int64, *edgeDay](edgeDaysCached, int(budget), int(budget*share(st.kept.filtered.edges)))
			f := incident.StatsFilter{Since: d.Add(time.Hour), Until: d.Add(20 * time.Hour), Priority: 1}
			checkFiltered(t, st, f, "P1", 30, 30, tc.reads[0], 0)
			f.Priority = 3
			checkFiltered(t, st, f, "P3", 10, 10, tc.reads[1], 0)
			f.Priority, f.Service = 0, "db"
			checkFiltered(t, st, f, "service db", 40, 40, tc.reads[2], 0)
			mustAddEvent(t, st, "fp-late", d.Add(15*time.Hour), p3)
			checkFiltered(t, st, f, "service db, an alert later", 41, 41, tc.reads[3], tc.reads[3])
		})
	}
}

// TestEdgeAlertEntries checks that an edge gives each distinct alert one
// entry, in order of first sight.
func TestEdgeAlertEntries(t *testing.T) {
	e := newEdgeDay(&noiseDay{})
	for _, tc := range []struct {
		no   int64
		want int32
	}{{7, 0}, {9, 1}, {7, 0}, {9, 1}, {0, 2}, {3, 3}, {9, 1}, {0, 2}} {
		if got := e.alertAt(tc.no); got != tc.want {
			t.Errorf("alertAt(%d) = %d, want %d", tc.no, got, tc.want)
		}
	}
	if want := []int64{7, 9, 0, 3}; !slices.Equal(e.alerts, want) {
		t.Errorf("alerts %v, want %v", e.alerts, want)
	}
}

// TestEdgeReadStopsPastItsLimit checks that reading a day into an edge
// stops soon after the edge passes its limit, rather than hold the whole
// day in memory to learn it is too big, and reads all of it within one.
func TestEdgeReadStopsPastItsLimit(t *testing.T) {
	ctx := context.Background()
	st, d, p1, _ := mustP1P3Day(t)
	err := st.Update(ctx, func(tx incident.Tx) error {
		for i := range 10_000 {
			err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: d.Add(time.Duration(i) * time.Second), Source: "am",
				Fingerprint: fmt.Sprint("fp-", i), Status: incident.StatusFiring, Transition: incident.TransitionNew, IncidentID: p1})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		limit int
		err   error
		total int64
	}{
		{"within", 1 << 62, nil, 10_000},
		{"past it at once", 1, errEdgeTooBig, 4096},
		{"past it at the end", 0, errEdgeTooBig, 10_000}, // set below: the whole day's size less one
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.limit == 0 {
				whole := newEdgeDay(&noiseDay{})
				if err := whole.readEvents(ctx, st.r, d.Unix()/86400, 1<<62); err != nil {
					t.Fatal(err)
				}
				tc.limit = whole.size() - 1
			}
			e := newEdgeDay(&noiseDay{})
			err := e.readEvents(ctx, st.r, d.Unix()/86400, tc.limit)
			if !errors.Is(err, tc.err) || e.total != tc.total {
				t.Errorf("read %d events (%v), want %d (%v)", e.total, err, tc.total, tc.err)
			}
		})
	}
}

// TestFilteredNoiseBigWholeDay checks the rule for a whole day of many
// alerts of one filter (the day after a storm): its part, and the union
// of the window's whole days, are kept when over a quarter of their
// caches but within the most one entry may take, so the next call reads
// nothing; over it they are read and combined again by every call; all
// counting what the probe counts.
func TestFilteredNoiseBigWholeDay(t *testing.T) {
	for _, tc := range []struct {
		name string
		// the caches' budgets, as multiples of the P1 part's and the
		// range's sizes; one entry may take the share of it the store's
		// caches give one
		budget float64
		reads  [3]int64 // the days each call reads
		ranges int      // ranges kept after them
	}{
		{"over a quarter, kept", 3, [3]int64{1, 0, 0}, 2},
		{"too big to keep", 1.8, [3]int64{1, 1, 1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, d, p1, p3 := mustP1P3Day(t)
			for i := range 40 {
				mustAddEvent(t, st, fmt.Sprint("fp-", i), d.Add(10*time.Hour+time.Duration(i)*time.Minute), []int64{p1, p3}[i%4/3])
			}
			parts, err := readPriorityParts(ctx, st.r, d.Unix()/86400)
			if err != nil {
				t.Fatal(err)
			}
			fd := st.kept.filtered
			part := tc.budget * float64(parts[1].size())
			rng := tc.budget * float64(combine([]noiseDay{{part: parts[1]}}).size())
			fd.parts = sizedlru.NewMax[filteredDayKey, *filteredPart](filteredPartsCached, int(part), int(part*share(fd.parts)))
			fd.ranges = sizedlru.NewMax[rangeKey, *wholeRange](wholeRangesCached, int(rng), int(rng*share(fd.ranges)))
			f := incident.StatsFilter{Since: d.Add(-12 * time.Hour), Until: d.Add(36 * time.Hour), Priority: 1}
			checkFiltered(t, st, f, "P1", 30, 30, tc.reads[0], 0)
			checkFiltered(t, st, f, "P1 again", 30, 30, tc.reads[1], 0)
			f.Since = f.Since.Add(-24 * time.Hour) // another range of the same day
			checkFiltered(t, st, f, "P1, a day earlier", 30, 30, tc.reads[2], 0)
			if n := len(fd.ranges.Keys()); n != tc.ranges {
				t.Errorf("%d ranges kept, want %d", n, tc.ranges)
			}
		})
	}
}

// share is the part of c's budget one entry may take.
func share[K comparable, V any](c *sizedlru.LRU[K, V]) float64 {
	return float64(c.MaxEntry()) / float64(c.Budget())
}
