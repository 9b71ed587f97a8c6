package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

const closeAfter = 7 * 24 * time.Hour

// TestClosedIsFinal: a resolved incident closes close_after after it
// resolved, on a sweep, with a timeline entry; from then on a new firing of
// its alert opens a new incident, and every manual action is a conflict.
func TestClosedIsFinal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOpts{closeAfter: closeAfter})
	e.submit(t0.Add(time.Second), firing("web-1", t0))
	e.submit(t0.Add(10*time.Minute), resolved("web-1", t0, t0.Add(5*time.Minute)))
	inc := e.only()
	if inc.State != incident.StateResolved {
		t.Fatalf("state %s, want resolved", inc.State)
	}
	sweep := func(at time.Time) {
		t.Helper()
		e.clock.Set(at)
		if err := e.p.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sweep(inc.ResolvedAt.Add(closeAfter - time.Second))
	if got := e.only(); got.State != incident.StateResolved {
		t.Fatalf("state %s a second before close_after, want resolved", got.State)
	}
	closedAt := inc.ResolvedAt.Add(closeAfter)
	sweep(closedAt)
	closed := e.only()
	if closed.State != incident.StateClosed || !closed.ClosedAt.Equal(closedAt) {
		t.Fatalf("state %s closed at %s, want closed at %s", closed.State, closed.ClosedAt, closedAt)
	}
	if kinds := e.timelineKinds(closed.ID); kinds[len(kinds)-1] != incident.TimelineClosed {
		t.Errorf("timeline %v, want it to end with %s", kinds, incident.TimelineClosed)
	}
	if got := metricValue(t, e.reg, "alertbridge_incidents_closed_total"); got != 1 {
		t.Errorf("closed_total = %v, want 1", got)
	}

	for _, tt := range []struct {
		name string
		cmd  incident.Command
	}{
		{"ErrConflictAcknowledge", incident.Command{Action: incident.ActionAcknowledge}},
		{"ErrConflictResolve", incident.Command{Action: incident.ActionResolve}},
		{"ErrConflictComment", incident.Command{Action: incident.ActionComment, Message: "late note"}},
		{"ErrConflictMerge", incident.Command{Action: incident.ActionMerge, Into: closed.ID + 1}},
		{"ErrConflictUnlink", incident.Command{Action: incident.ActionUnlink, Fingerprint: firing("web-1", t0).Fingerprint}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cmd.IncidentID, tt.cmd.Actor = closed.ID, "alice"
			if _, err := e.p.Execute(ctx, tt.cmd); !errors.Is(err, incident.ErrConflict) {
				t.Errorf("%s on a closed incident: err = %v, want ErrConflict", tt.cmd.Action, err)
			}
		})
	}
	if diff := cmp.Diff(closed, e.only()); diff != "" {
		t.Errorf("the commands changed the closed incident (-before +after):\n%s", diff)
	}

	// Late copies of its alert, with an earlier start or a later end,
	// change nothing of it.
	e.submit(closedAt.Add(time.Second), resolved("web-1", t0.Add(-time.Minute), t0.Add(5*time.Minute)),
		resolved("web-1", t0, t0.Add(20*time.Minute)))
	if diff := cmp.Diff(closed, e.only()); diff != "" {
		t.Errorf("late copies changed the closed incident (-before +after):\n%s", diff)
	}

	// The same alert fires again: a new incident, the closed one untouched.
	e.submit(closedAt.Add(time.Minute), firing("web-1", closedAt))
	list := e.incidents()
	if len(list) != 2 {
		t.Fatalf("%d incidents after a new firing, want 2 (closed is final)", len(list))
	}
	if list[0].State != incident.StateOpen || list[0].ID == closed.ID {
		t.Errorf("newest incident %d is %s, want a new open one", list[0].ID, list[0].State)
	}
	if diff := cmp.Diff(closed, list[1]); diff != "" {
		t.Errorf("the new firing changed the closed incident (-before +after):\n%s", diff)
	}
}

// TestCloseAfterZeroNeverCloses: close_after 0 leaves resolved incidents
// resolved (and reopenable) for ever.
func TestCloseAfterZeroNeverCloses(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.submit(t0.Add(time.Second), firing("web-1", t0))
	e.submit(t0.Add(10*time.Minute), resolved("web-1", t0, t0.Add(5*time.Minute)))
	e.clock.Set(t0.Add(10 * 365 * 24 * time.Hour))
	if err := e.p.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.only(); got.State != incident.StateResolved {
		t.Errorf("state %s after ten years, want resolved", got.State)
	}
}

// TestRetentionKeepsReportFigures: retention deletes the history of the
// incidents closed more than its period ago, in batches of at most its
// limit, and keeps their rows, so that the stats of a window before it
// (every figure read from incidents) are what they were; history of an
// incident closed since, and of an active one, stays. An alert whose
// state was forgotten is new when it fires again: the dedupe cache forgot
// it too.
func TestRetentionKeepsReportFigures(t *testing.T) {
	ctx := context.Background()
	const retention, batch = 90 * 24 * time.Hour, 7
	e := newEnv(t, envOpts{closeAfter: closeAfter, cacheSize: 100})
	day := 24 * time.Hour
	// Five days with an incident each (one alert group per instance), each
	// resolved an hour after it started, and acknowledged on odd days.
	for d := range 5 {
		start := t0.Add(time.Duration(d) * day)
		inst := []string{"web-a", "web-b", "web-c", "web-d", "web-e"}[d]
		ev := firing(inst, start)
		ev.GroupLabels = map[string]string{"alertname": "HighRequestLatency", "cluster": inst}
		e.submit(start.Add(time.Second), ev)
		inc := e.incidents()[0]
		if d%2 == 1 {
			if _, err := e.p.Execute(ctx, incident.Command{IncidentID: inc.ID, Action: incident.ActionAcknowledge, Actor: "alice"}); err != nil {
				t.Fatal(err)
			}
		}
		res := resolved(inst, start, start.Add(time.Hour))
		res.GroupLabels = ev.GroupLabels
		e.submit(start.Add(time.Hour+time.Second), res)
	}
	window := incident.StatsFilter{Since: t0.Truncate(day), Until: t0.Truncate(day).Add(5 * day)}
	// Closed a week after each resolve; the last incident is kept open
	// far longer by a new firing of its own.
	e.clock.Set(t0.Add(20 * day))
	if err := e.p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	active := firing("web-z", t0.Add(20*day))
	e.submit(t0.Add(20*day), active)
	figures := func() incident.StatsFigures {
		t.Helper()
		f, err := e.store.Stats(ctx, window, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		f.Backlog = incident.Backlog{} // now's, not the window's
		if _, perDay := e.store.(*sqlite.Store); !perDay {
			// PostgreSQL counts events from the events themselves, so
			// its event figures of windows before retention shrink
			// (docs/operations.md).
			f.Events, f.Alerts = 0, 0
		}
		return f
	}
	before := figures()
	if _, perDay := e.store.(*sqlite.Store); before.Opened != 5 || before.Resolved != 5 || (perDay && before.Alerts != 5) {
		t.Fatalf("before retention: %d opened, %d resolved, %d alerts; want 5 of each", before.Opened, before.Resolved, before.Alerts)
	}

	e.clock.Set(t0.Add(20*day + retention + time.Second))
	var total incident.HistoryDeleted
	for i := 0; ; i++ {
		h, err := e.p.Retain(ctx, retention, batch)
		if err != nil {
			t.Fatal(err)
		}
		if h.Work() > batch {
			t.Fatalf("batch %d did %d rows and marks, more than its limit %d", i, h.Work(), batch)
		}
		total.Add(h)
		if h.Work() < batch {
			break
		}
	}
	if total.Incidents != 5 || total.Timeline == 0 || total.Alerts != 5 || total.Events == 0 {
		t.Errorf("retention deleted %+v; want the history of the 5 closed incidents", total)
	}
	for _, inc := range e.incidents() {
		alerts, err := e.store.Alerts(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		tl, err := e.store.Timeline(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		forgotten := inc.State == incident.StateClosed
		if forgotten != !inc.HistoryDeletedAt.IsZero() || forgotten != (len(alerts) == 0) || forgotten != (len(tl) == 0) {
			t.Errorf("incident %d (%s): history deleted at %s, %d alerts, %d timeline entries", inc.ID, inc.State,
				inc.HistoryDeletedAt, len(alerts), len(tl))
		}
	}
	if diff := cmp.Diff(before, figures()); diff != "" {
		t.Errorf("stats of a window before retention changed (-before +after):\n%s", diff)
	}
	// web-a's state went with its incident's history: as the store has
	// no state of it, its next firing is new, cache or not (invariant 3).
	now := e.clock.Now()
	e.submit(now, firing("web-a", now))
	err := e.store.Events(ctx, now, now.Add(time.Nanosecond), func(r incident.EventRecord) error {
		if r.Transition != incident.TransitionNew {
			t.Errorf("web-a firing again after retention: %s, want %s", r.Transition, incident.TransitionNew)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := e.p.Retain(ctx, retention, batch); err != nil || h.Rows() != 0 {
		t.Errorf("retention again: %+v, %v; want nothing left", h, err)
	}
}

// TestClosedIgnoresItsAlertsLateResolve: an incident resolved by hand while
// its alert still fired, and closed since, records that alert's resolve on
// the alert alone; the incident, its counts and timeline stay as closed.
func TestClosedIgnoresItsAlertsLateResolve(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOpts{closeAfter: closeAfter})
	e.submit(t0.Add(time.Second), firing("web-1", t0))
	inc := e.only()
	if _, err := e.p.Execute(ctx, incident.Command{IncidentID: inc.ID, Action: incident.ActionResolve, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(closeAfter + time.Hour))
	if err := e.p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	closed := e.only()
	kinds := e.timelineKinds(closed.ID)
	e.submit(t0.Add(closeAfter+2*time.Hour), resolved("web-1", t0, t0.Add(closeAfter+time.Hour)))
	if diff := cmp.Diff(closed, e.only()); diff != "" {
		t.Errorf("the late resolve changed the closed incident (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(kinds, e.timelineKinds(closed.ID)); diff != "" {
		t.Errorf("the late resolve added to the closed incident's timeline (-before +after):\n%s", diff)
	}
	alerts, err := e.store.Alerts(ctx, closed.ID)
	if err != nil || len(alerts) != 1 || alerts[0].Status != incident.StatusResolved {
		t.Errorf("alerts %+v, %v; want its alert resolved", alerts, err)
	}
}

// TestCloseInBatches: incidents that resolved close_after ago all at once
// (a first sweep after an upgrade or a downtime) close in transactions of
// incident.CloseBatch, a few per sweep, so that ingest waits behind one
// small batch at most; the rest wait for the next sweeps (closing is
// bookkeeping), which close them all.
func TestCloseInBatches(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOpts{closeAfter: closeAfter})
	const n = 2*incident.SweepBatch + 10
	err := e.store.Update(ctx, func(tx incident.Tx) error {
		for i := range n {
			inc := incident.Incident{State: incident.StateResolved, Priority: 3, Impact: incident.LevelMedium,
				Urgency: incident.LevelMedium, Title: "t", CorrelationKey: fmt.Sprint("k", i),
				OpenedAt: t0, UpdatedAt: t0, LastEventAt: t0, ResolvedAt: t0.Add(time.Minute),
				RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1}}
			if err := tx.CreateIncident(ctx, &inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(time.Minute + closeAfter))
	perSweep := pipeline.MaxCloseBatches * incident.CloseBatch
	if perSweep >= n/2 {
		t.Fatalf("%d closes per sweep: the test needs more incidents", perSweep)
	}
	for i, want := range []int{perSweep, 2 * perSweep, n, n} {
		commits := commitCount(t, e.reg)
		if err := e.p.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got := metricValue(t, e.reg, "alertbridge_incidents_closed_total"); got != float64(want) {
			t.Fatalf("after sweep %d: %v closed, want %v", i+1, got, want)
		}
		// The sweep's own transaction, and one per batch of closes.
		if i == 0 {
			if got := commitCount(t, e.reg) - commits; got < 1+pipeline.MaxCloseBatches {
				t.Fatalf("the first sweep committed %d transactions, want a sweep and %d batches of closes", got, pipeline.MaxCloseBatches)
			}
		}
	}
}

// commitCount is how many transactions the pipeline committed.
func commitCount(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "alertbridge_pipeline_commit_duration_seconds" {
			n := 0
			for _, m := range mf.GetMetric() {
				n += int(m.GetHistogram().GetSampleCount())
			}
			return n
		}
	}
	t.Fatal("no alertbridge_pipeline_commit_duration_seconds")
	return 0
}
