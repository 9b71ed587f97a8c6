package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
)

// everySink routes every change to sinks a and b.
var everySink = sink.NewRouter(nil, []string{"a", "b"}).Route

// outbox lists the outbox rows oldest first as "sink #incident kind state".
func (e *env) outbox() []string {
	e.t.Helper()
	rows, err := e.store.OutboxRows(context.Background(), "", 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		out = append(out, fmt.Sprintf("%s #%d %s %s", r.Sink, r.IncidentID, r.Kind, r.State))
	}
	return out
}

func (e *env) exec(at time.Time, cmd incident.Command) incident.Incident {
	e.t.Helper()
	e.clock.Set(at)
	inc, err := e.p.Execute(context.Background(), cmd)
	if err != nil {
		e.t.Fatalf("Execute %s: %v", cmd.Action, err)
	}
	return inc
}

func (e *env) sweep(at time.Time) {
	e.t.Helper()
	e.clock.Set(at)
	if err := e.p.Sweep(context.Background()); err != nil {
		e.t.Fatalf("Sweep: %v", err)
	}
}

// TestOutboxRowPerChangeAndSink: each change a sink hears of is one row per
// sink, written with the change, and tells of its timeline entry.
func TestOutboxRowPerChangeAndSink(t *testing.T) {
	e := newEnv(t, envOpts{route: everySink})
	e.submit(t0, firing("web-1", t0))
	inc := e.only()
	e.submit(t0.Add(time.Second), firing("web-2", t0)) // joins: no change a sink hears of
	e.exec(t0.Add(time.Minute), incident.Command{IncidentID: inc.ID, Action: incident.ActionAcknowledge, Actor: "alice"})
	e.exec(t0.Add(2*time.Minute), incident.Command{IncidentID: inc.ID, Action: incident.ActionComment, Actor: "alice", Message: "on it"})
	e.exec(t0.Add(3*time.Minute), incident.Command{IncidentID: inc.ID, Action: incident.ActionResolve, Actor: "alice"})
	check(t, "rows", []string{
		"a #1 opened pending", "b #1 opened pending",
		"a #1 acknowledged pending", "b #1 acknowledged pending",
		"a #1 comment pending", "b #1 comment pending",
		"a #1 resolved pending", "b #1 resolved pending",
	}, e.outbox())

	// Each row names the entry it tells of.
	ctx := context.Background()
	rows, _ := e.store.OutboxRows(ctx, "", 0, 1)
	entry, err := e.store.TimelineEntry(ctx, rows[0].TimelineID)
	if err != nil {
		t.Fatal(err)
	}
	if entry.Kind != incident.TimelineResolved || entry.Actor != "alice" {
		t.Errorf("newest row tells of %s by %s, want resolved by alice", entry.Kind, entry.Actor)
	}
	if got := metricValue(t, e.reg, "alertbridge_outbox_enqueued_total"); got != 8 {
		t.Errorf("alertbridge_outbox_enqueued_total = %v, want 8", got)
	}
}

// TestOutboxNothingWithoutACommit: a command the state machine refuses
// rolls back: no entry, no row.
func TestOutboxNothingWithoutACommit(t *testing.T) {
	e := newEnv(t, envOpts{route: everySink})
	e.submit(t0, firing("web-1", t0))
	inc := e.only()
	e.exec(t0.Add(time.Minute), incident.Command{IncidentID: inc.ID, Action: incident.ActionResolve, Actor: "alice"})
	before := e.outbox()
	e.clock.Set(t0.Add(2 * time.Minute))
	_, err := e.p.Execute(context.Background(), incident.Command{IncidentID: inc.ID, Action: incident.ActionAcknowledge, Actor: "bob"})
	if !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("acknowledge a resolved incident: %v, want ErrConflict", err)
	}
	check(t, "rows after a refused command", before, e.outbox())
}

// TestOutboxNotBackToOrigin: a change made in a tool (a callback, Origin)
// is not sent back to it; the other sinks hear of it.
func TestOutboxNotBackToOrigin(t *testing.T) {
	e := newEnv(t, envOpts{route: everySink})
	e.submit(t0, firing("web-1", t0))
	inc := e.only()
	e.exec(t0.Add(time.Minute), incident.Command{IncidentID: inc.ID, Action: incident.ActionAcknowledge, Actor: "a:alice", Origin: "a"})
	got := e.outbox()
	check(t, "rows", []string{"a #1 opened pending", "b #1 opened pending", "b #1 acknowledged pending"}, got)
}

// TestOutboxPolicies: the first matching policy decides unless it
// continues; kinds filter; the priority as it ends the transaction is what
// matches.
func TestOutboxPolicies(t *testing.T) {
	m, err := labels.NewMatcher(labels.MatchRegexp, "priority", "P1|P2")
	if err != nil {
		t.Fatal(err)
	}
	p1 := labels.Matchers{m}
	route := sink.NewRouter([]sink.Policy{
		{Sinks: []string{"pager"}, Matchers: p1, Kinds: []incident.NotifyKind{incident.NotifyOpened, incident.NotifyResolved}, Continue: true},
		{Sinks: []string{"chat"}},
	}, []string{"pager", "chat"}).Route
	e := newEnv(t, envOpts{route: route})
	e.submit(t0, alert("web-1", incident.StatusFiring, t0, time.Time{}, "critical"))             // P1
	e.submit(t0.Add(time.Minute), alert("db-1", incident.StatusFiring, t0, time.Time{}, "info")) // joins the group
	inc := e.only()
	e.exec(t0.Add(2*time.Minute), incident.Command{IncidentID: inc.ID, Action: incident.ActionComment, Actor: "alice", Message: "x"})
	check(t, "rows", []string{"pager #1 opened pending", "chat #1 opened pending", "chat #1 comment pending"}, e.outbox())
}

// TestOutboxHeldWhileFlapping: a flapping incident's changes are held; when
// it is stable again one release, or its resolve, replaces them.
func TestOutboxHeldWhileFlapping(t *testing.T) {
	e := newEnv(t, envOpts{route: sink.NewRouter(nil, []string{"a"}).Route, rules: `correlations:
  - name: flappy
    by: [alertname]
    reopen_within: 1m
    flap_threshold: 1
    flap_window: 30m
`})
	a := lab("alertname", "Flappy")
	ev := func(at time.Duration) incident.Event { return fire(at, a) }
	end := func(start, at time.Duration) incident.Event { return clear(start, at, a) }
	e.submit(t0, ev(0))
	e.submit(t0.Add(time.Minute), end(0, time.Minute))
	e.submit(t0.Add(90*time.Second), ev(90*time.Second))
	e.submit(t0.Add(2*time.Minute), end(90*time.Second, 2*time.Minute)) // the second resolve: flapping
	e.submit(t0.Add(20*time.Minute), ev(20*time.Minute))
	e.submit(t0.Add(21*time.Minute), end(20*time.Minute, 21*time.Minute))
	if inc := e.only(); inc.FlappingSince.IsZero() {
		t.Fatal("not flapping")
	}
	check(t, "held while flapping", []string{
		"a #1 opened pending", "a #1 resolved pending", "a #1 reopened pending",
		"a #1 resolved held", "a #1 reopened held", "a #1 resolved held",
	}, e.outbox())

	e.sweep(t0.Add(21*time.Minute + 31*time.Minute)) // quiet for the flap window: stable
	if inc := e.only(); !inc.FlappingSince.IsZero() {
		t.Fatal("still flapping after a quiet flap window")
	}
	check(t, "one resolve replaces what was held", []string{
		"a #1 opened pending", "a #1 resolved pending", "a #1 reopened pending", "a #1 resolved pending",
	}, e.outbox())
}

// TestOutboxHeldDuringMaintenance: an incident that opens in a maintenance
// window of its service is held until the window ends; a resolve inside it
// is what goes out then.
func TestOutboxHeldDuringMaintenance(t *testing.T) {
	e := newEnv(t, envOpts{route: sink.NewRouter(nil, []string{"a"}).Route, rules: catalog})
	m := change("m1", "db", "db failover drill", -10*time.Minute)
	m.Maintenance, m.FinishedAt = true, t0.Add(30*time.Minute)
	ctx := context.Background()
	if err := e.p.SubmitChanges(ctx, []incident.Change{m}); err != nil {
		t.Fatal(err)
	}
	crit := lab("alertname", "DBDown", "job", "db", "severity", "critical")
	api := lab("alertname", "SearchDown", "job", "search", "severity", "critical")
	e.submit(t0, fire(0, crit), fire(0, api))
	e.submit(t0.Add(5*time.Minute), clear(0, 5*time.Minute, crit))
	var db, other incident.Incident
	for _, inc := range e.incidents() {
		if inc.Service == "db" {
			db = inc
		} else {
			other = inc
		}
	}
	if !db.DuringMaintenance || other.DuringMaintenance {
		t.Fatalf("maintenance: db %v, search %v; want true, false", db.DuringMaintenance, other.DuringMaintenance)
	}
	want := []string{
		fmt.Sprintf("a #%d opened held", db.ID), fmt.Sprintf("a #%d opened pending", other.ID),
		fmt.Sprintf("a #%d resolved held", db.ID),
	}
	slices.Sort(want)
	got := e.outbox()
	slices.Sort(got)
	check(t, "held in the window", want, got)

	e.sweep(t0.Add(29 * time.Minute))
	got = e.outbox()
	slices.Sort(got)
	check(t, "still held before the window ends", want, got)

	e.sweep(t0.Add(31 * time.Minute))
	want = []string{fmt.Sprintf("a #%d opened pending", other.ID), fmt.Sprintf("a #%d resolved pending", db.ID)}
	slices.Sort(want)
	got = e.outbox()
	slices.Sort(got)
	check(t, "the window ended: its resolve goes out", want, got)
}

// TestOutboxMaxPendingFoldsUpdates: over max_pending, a change that only
// says the incident changed is not written while the incident has a row
// waiting; creations, acknowledgements, comments and resolves always are.
func TestOutboxMaxPendingFoldsUpdates(t *testing.T) {
	e := newEnv(t, envOpts{route: sink.NewRouter(nil, []string{"a"}).Route, outbox: incident.EnqueueOptions{MaxPending: 1}})
	e.submit(t0, alert("web-1", incident.StatusFiring, t0, time.Time{}, "warning"))
	inc := e.only()
	e.submit(t0.Add(time.Minute), alert("web-2", incident.StatusFiring, t0, time.Time{}, "critical")) // priority rises
	if got := e.only().Priority; got == inc.Priority {
		t.Fatalf("priority did not change (%s)", got)
	}
	e.exec(t0.Add(2*time.Minute), incident.Command{IncidentID: inc.ID, Action: incident.ActionComment, Actor: "alice", Message: "x"})
	check(t, "rows", []string{"a #1 opened pending", "a #1 comment pending"}, e.outbox())
	if got := metricValue(t, e.reg, "alertbridge_outbox_coalesced_at_enqueue_total"); got != 1 {
		t.Errorf("coalesced = %v, want 1", got)
	}
}

// TestOutboxKnownErrorReachesOpenIncidents: a workaround recorded on a
// problem is sent for each of its incidents still open, not for resolved
// ones.
func TestOutboxKnownErrorReachesOpenIncidents(t *testing.T) {
	e := newEnv(t, envOpts{route: sink.NewRouter(nil, []string{"a"}).Route, rules: problemRules})
	for i, c := range []string{"a", "b", "c"} {
		at := time.Duration(i) * time.Minute
		e.submit(t0.Add(at), disk(at, c))
	}
	list := e.incidents()
	if len(list) != 3 || list[0].ProblemID == 0 {
		t.Fatalf("incidents: %+v", list)
	}
	first := list[2]
	e.exec(t0.Add(5*time.Minute), incident.Command{IncidentID: first.ID, Action: incident.ActionResolve, Actor: "alice"})
	e.clock.Set(t0.Add(10 * time.Minute))
	if _, err := e.p.ExecuteProblem(context.Background(), incident.ProblemCommand{ProblemID: list[0].ProblemID,
		Action: incident.ProblemActionKnownError, Actor: "bob", Workaround: "restart vector"}); err != nil {
		t.Fatal(err)
	}
	var known []string
	for _, r := range e.outbox() {
		if slices.Contains([]string{"known_error"}, kindOf(r)) {
			known = append(known, r)
		}
	}
	check(t, "known_error rows", []string{
		fmt.Sprintf("a #%d known_error pending", list[1].ID), fmt.Sprintf("a #%d known_error pending", list[0].ID),
	}, known)
}

// kindOf is the kind in an outbox() line.
func kindOf(line string) string {
	if f := strings.Fields(line); len(f) == 4 {
		return f[2]
	}
	return ""
}
