package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

const watchdogRules = `heartbeats:
  - name: watchdog
    matchers: ['alertname="Watchdog"']
    by: [cluster]
    interval: 1m
    grace: 30s
    impact: high
    urgency: high
    title: 'no Watchdog from cluster {{ .Labels.cluster }} for {{ .Annotations.overdue }}'
  - name: nightly
    interval: 1h
    grace: 10m
`

// beatEnv runs pipelines, one at a time (a restart replaces it), over one
// store on a simulated clock.
type beatEnv struct {
	t      *testing.T
	st     store.Store
	now    time.Time
	rules  atomic.Pointer[rules.Set]
	expect map[string]time.Duration
	// resolve is the sources' resolve_timeout.
	resolve map[string]time.Duration
	p       *pipeline.Pipeline
}

func newBeatEnv(t *testing.T, rulesYAML string, expect map[string]time.Duration) *beatEnv {
	t.Helper()
	e := &beatEnv{t: t, st: storetest.MustOpen(t), now: t0, expect: expect}
	e.reload(rulesYAML)
	e.start()
	t.Cleanup(func() {
		if err := e.p.Stop(context.Background()); err != nil {
			t.Error(err)
		}
		e.st.Close()
	})
	return e
}

func (e *beatEnv) clock() time.Time { return e.now }

// start starts a pipeline as a daemon starting now does.
func (e *beatEnv) start() {
	p, err := pipeline.New(pipeline.Options{Store: e.st, Rules: &e.rules, Now: e.clock, ExpectTraffic: e.expect,
		ResolveTimeout: e.resolve, MaxWait: time.Minute})
	if err != nil {
		e.t.Fatal(err)
	}
	p.Start()
	e.p = p
}

// restart stops the pipeline and starts another on the same store.
func (e *beatEnv) restart() {
	if err := e.p.Stop(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.start()
}

func (e *beatEnv) reload(y string) {
	e.t.Helper()
	if y == "" {
		e.rules.Store(nil)
		return
	}
	set, err := rules.Parse("rules.yml", []byte(y))
	if err != nil {
		e.t.Fatalf("rules: %v", err)
	}
	e.rules.Store(set)
}

func (e *beatEnv) sweep() {
	e.t.Helper()
	if err := e.p.Sweep(context.Background()); err != nil {
		e.t.Fatalf("Sweep: %v", err)
	}
}

// heartbeats summarises the monitors: "key state" and the incident, if any.
func (e *beatEnv) heartbeats() []string {
	e.t.Helper()
	hbs, err := e.st.HeartbeatRecords(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, hb := range hbs {
		s := hb.Key + " " + string(hb.State)
		if hb.IncidentID != 0 {
			s += fmt.Sprintf(" #%d", hb.IncidentID)
		}
		out = append(out, s)
	}
	return out
}

// incidents summarises the incidents, oldest first: "#id state priority title".
func (e *beatEnv) incidents() []string {
	e.t.Helper()
	list, err := e.st.Incidents(context.Background(), incident.IncidentFilter{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		inc := list[i]
		out = append(out, fmt.Sprintf("#%d %s %s %s", inc.ID, inc.State, inc.Priority, inc.Title))
	}
	return out
}

// lastEntry is the message of the last timeline entry of incident id.
func (e *beatEnv) lastEntry(id int64) string {
	e.t.Helper()
	tl, err := e.st.Timeline(context.Background(), id)
	if err != nil || len(tl) == 0 {
		e.t.Fatalf("timeline of #%d: %v (%d entries)", id, err, len(tl))
	}
	return string(tl[len(tl)-1].Kind) + ": " + tl[len(tl)-1].Message
}

func watchdog(cluster string) incident.Event {
	return incident.Event{Source: "am", Fingerprint: "wd-" + cluster, Status: incident.StatusFiring,
		Labels: lab("alertname", "Watchdog", "cluster", cluster, "severity", "none"), StartsAt: t0}
}

// step is one moment of a heartbeat scenario: what happens at At, then
// a sweep (the daemon sweeps every few seconds), then what must hold.
type step struct {
	at      time.Duration
	restart bool
	rules   *string
	events  []incident.Event
	// wantErr is the error Submit must return (its effects roll back).
	wantErr error
	hbs     []string
	incs    []string
	// entry is the last timeline entry of incident #1, when set.
	entry string
}

func runSteps(t *testing.T, e *beatEnv, steps []step) {
	t.Helper()
	for _, s := range steps {
		e.now = t0.Add(s.at)
		if s.restart {
			e.restart()
		}
		if s.rules != nil {
			e.reload(*s.rules)
		}
		if len(s.events) > 0 {
			err := e.p.Submit(context.Background(), s.events)
			if !errors.Is(err, s.wantErr) || (err != nil) != (s.wantErr != nil) {
				t.Fatalf("at %s: Submit: %v, want %v", s.at, err, s.wantErr)
			}
		}
		e.sweep()
		check(t, fmt.Sprintf("heartbeats at %s", s.at), s.hbs, e.heartbeats())
		check(t, fmt.Sprintf("incidents at %s", s.at), s.incs, e.incidents())
		if s.entry != "" {
			check(t, fmt.Sprintf("last entry of #1 at %s", s.at), s.entry, e.lastEntry(1))
		}
	}
}

func ptr[T any](v T) *T { return &v }

const nightlyWaiting = "nightly{} waiting"

func TestHeartbeatTransitions(t *testing.T) {
	eu1 := `watchdog{cluster="eu-1"}`
	missing := "#1 open P1 no Watchdog from cluster eu-1 for 1m30s"
	tests := []struct {
		name  string
		steps []step
	}{
		{"BeatMissedRecovered", []step{
			{at: 0, events: []incident.Event{watchdog("eu-1")}, hbs: []string{nightlyWaiting, eu1 + " up"}},
			{at: time.Minute + 29*time.Second, hbs: []string{nightlyWaiting, eu1 + " up"}},
			{at: time.Minute + 30*time.Second, hbs: []string{nightlyWaiting, eu1 + " missing #1"}, incs: []string{missing},
				entry: "opened: heartbeat " + eu1 + " missed: last beat at 2026-11-28T20:13:05Z; expected every 1m0s with 30s grace, due by 2026-11-28T20:14:35Z"},
			// Still missing: no second incident.
			{at: 5 * time.Minute, hbs: []string{nightlyWaiting, eu1 + " missing #1"}, incs: []string{missing}},
			{at: 6 * time.Minute, events: []incident.Event{watchdog("eu-1")}, hbs: []string{nightlyWaiting, eu1 + " up"},
				incs:  []string{"#1 resolved P1 no Watchdog from cluster eu-1 for 1m30s"},
				entry: "resolved: heartbeat " + eu1 + " beat again after 6m0s without a beat"},
			// A second miss opens a new incident.
			{at: 7*time.Minute + 30*time.Second, hbs: []string{nightlyWaiting, eu1 + " missing #2"},
				incs: []string{"#1 resolved P1 no Watchdog from cluster eu-1 for 1m30s", "#2 open P1 no Watchdog from cluster eu-1 for 1m30s"}},
		}},
		{"EachClusterItsOwn", []step{
			{at: 0, events: []incident.Event{watchdog("eu-1"), watchdog("us-1")}, hbs: []string{nightlyWaiting, eu1 + " up", `watchdog{cluster="us-1"} up`}},
			{at: time.Minute, events: []incident.Event{watchdog("us-1")}, hbs: []string{nightlyWaiting, eu1 + " up", `watchdog{cluster="us-1"} up`}},
			{at: 2 * time.Minute, events: []incident.Event{watchdog("us-1")}, hbs: []string{nightlyWaiting, eu1 + " missing #1", `watchdog{cluster="us-1"} up`},
				incs: []string{"#1 open P1 no Watchdog from cluster eu-1 for 2m"}},
		}},
		{"NoBeatYetWaitsAFullIntervalAndGrace", []step{
			{at: 0, hbs: []string{nightlyWaiting}},
			{at: time.Hour + 9*time.Minute, hbs: []string{nightlyWaiting}},
			{at: time.Hour + 10*time.Minute, hbs: []string{"nightly{} missing #1"}, incs: []string{"#1 open P2 no heartbeat from nightly{} for 1h10m"},
				entry: "opened: heartbeat nightly{} missed: no beat received yet; expected every 1h0m0s with 10m0s grace, due by 2026-11-28T21:23:05Z"},
		}},
		{"RestartInBetweenWaitsAFullIntervalAndGrace", []step{
			{at: 0, events: []incident.Event{watchdog("eu-1")}, hbs: []string{nightlyWaiting, eu1 + " up"}},
			// Down from 10s to 5m: the sender could not reach us, so its
			// beat is not late until 1m30s after the restart.
			{at: 5 * time.Minute, restart: true, hbs: []string{nightlyWaiting, eu1 + " up"}},
			{at: 6*time.Minute + 29*time.Second, hbs: []string{nightlyWaiting, eu1 + " up"}},
			{at: 6*time.Minute + 30*time.Second, hbs: []string{nightlyWaiting, eu1 + " missing #1"}, incs: []string{"#1 open P1 no Watchdog from cluster eu-1 for 6m30s"}},
		}},
		{"RestartWhileMissingKeepsTheIncident", []step{
			{at: 0, events: []incident.Event{watchdog("eu-1")}, hbs: []string{nightlyWaiting, eu1 + " up"}},
			{at: 2 * time.Minute, hbs: []string{nightlyWaiting, eu1 + " missing #1"}, incs: []string{"#1 open P1 no Watchdog from cluster eu-1 for 2m"}},
			{at: 3 * time.Minute, restart: true, hbs: []string{nightlyWaiting, eu1 + " missing #1"}, incs: []string{"#1 open P1 no Watchdog from cluster eu-1 for 2m"}},
			{at: 4 * time.Minute, events: []incident.Event{watchdog("eu-1")}, hbs: []string{nightlyWaiting, eu1 + " up"},
				incs: []string{"#1 resolved P1 no Watchdog from cluster eu-1 for 2m"}},
		}},
		{"ReloadChangesTheInterval", []step{
			{at: 0, events: []incident.Event{watchdog("eu-1")}, hbs: []string{nightlyWaiting, eu1 + " up"}},
			{at: time.Minute, rules: ptr(`heartbeats:
  - name: watchdog
    matchers: ['alertname="Watchdog"']
    by: [cluster]
    interval: 10m
`), hbs: []string{eu1 + " up"}},
			// The old 1m30s has passed: the new interval applies at once.
			{at: 9*time.Minute + 59*time.Second, hbs: []string{eu1 + " up"}},
			{at: 10 * time.Minute, hbs: []string{eu1 + " missing #1"}, incs: []string{"#1 open P2 no heartbeat from " + eu1 + " for 10m"}},
			// Shortened again: judged by the new one at the next sweep.
			{at: 11 * time.Minute, events: []incident.Event{watchdog("eu-1")}, rules: ptr(watchdogRules), hbs: []string{nightlyWaiting, eu1 + " up"},
				incs: []string{"#1 resolved P2 no heartbeat from " + eu1 + " for 10m"}},
			{at: 12*time.Minute + 30*time.Second, hbs: []string{nightlyWaiting, eu1 + " missing #2"},
				incs: []string{"#1 resolved P2 no heartbeat from " + eu1 + " for 10m", "#2 open P1 no Watchdog from cluster eu-1 for 1m30s"}},
		}},
		{"RuleRemovedWhileItsIncidentIsOpen", []step{
			{at: 0, events: []incident.Event{watchdog("eu-1")}, hbs: []string{nightlyWaiting, eu1 + " up"}},
			{at: 2 * time.Minute, hbs: []string{nightlyWaiting, eu1 + " missing #1"}, incs: []string{"#1 open P1 no Watchdog from cluster eu-1 for 2m"}},
			{at: 3 * time.Minute, rules: ptr(""), incs: []string{"#1 resolved P1 no Watchdog from cluster eu-1 for 2m"},
				entry: "resolved: heartbeat rule watchdog was removed or its by labels changed: nothing watches " + eu1 + " any more"},
			// A Watchdog now is an ordinary alert again.
			{at: 4 * time.Minute, events: []incident.Event{watchdog("eu-1")}, incs: []string{"#1 resolved P1 no Watchdog from cluster eu-1 for 2m",
				"#2 open P4 Watchdog"}},
		}},
		{"RegroupedRuleForgetsItsOldInstances", []step{
			{at: 0, events: []incident.Event{watchdog("eu-1")}, hbs: []string{nightlyWaiting, eu1 + " up"}},
			{at: 2 * time.Minute, hbs: []string{nightlyWaiting, eu1 + " missing #1"}, incs: []string{"#1 open P1 no Watchdog from cluster eu-1 for 2m"}},
			// by [cluster] becomes by [cluster, prometheus]: the old
			// instance will never beat again.
			{at: 3 * time.Minute, rules: ptr(strings.Replace(watchdogRules, "by: [cluster]", "by: [cluster, prometheus]", 1)),
				hbs: []string{nightlyWaiting}, incs: []string{"#1 resolved P1 no Watchdog from cluster eu-1 for 2m"},
				entry: "resolved: heartbeat rule watchdog was removed or its by labels changed: nothing watches " + eu1 + " any more"},
			{at: 4 * time.Minute, events: []incident.Event{watchdog("eu-1")}, hbs: []string{nightlyWaiting, `watchdog{cluster="eu-1", prometheus=""} up`},
				incs: []string{"#1 resolved P1 no Watchdog from cluster eu-1 for 2m"}},
		}},
		{"ABeatIsNeverAnIncidentNorNoise", []step{
			{at: 0, events: []incident.Event{watchdog("eu-1"), {Source: "am", Fingerprint: "wd-eu-1", Status: incident.StatusResolved,
				Labels: lab("alertname", "Watchdog", "cluster", "eu-1"), StartsAt: t0, EndsAt: t0}}, hbs: []string{nightlyWaiting, eu1 + " up"}},
		}},
		{"EndpointBeatsAndFailures", []step{
			{at: time.Minute, events: []incident.Event{{Source: "cron", Heartbeat: "nightly"}}, hbs: []string{"nightly{} up"}},
			{at: 2 * time.Minute, events: []incident.Event{{Source: "cron", Heartbeat: "nightly", HeartbeatFailed: true}}, hbs: []string{"nightly{} failed #1"},
				incs:  []string{"#1 open P2 heartbeat nightly{} reported a failure"},
				entry: "opened: source cron reported a failure of heartbeat nightly{}"},
			// A second failure report changes nothing.
			{at: 3 * time.Minute, events: []incident.Event{{Source: "cron", Heartbeat: "nightly", HeartbeatFailed: true}}, hbs: []string{"nightly{} failed #1"},
				incs: []string{"#1 open P2 heartbeat nightly{} reported a failure"}},
			{at: 4 * time.Minute, events: []incident.Event{{Source: "cron", Heartbeat: "nightly"}}, hbs: []string{"nightly{} up"},
				incs:  []string{"#1 resolved P2 heartbeat nightly{} reported a failure"},
				entry: "resolved: heartbeat nightly{} beat again after reporting a failure"},
			{at: 5 * time.Minute, events: []incident.Event{{Source: "cron", Heartbeat: "nosuch"}}, wantErr: incident.ErrNotFound,
				hbs: []string{"nightly{} up"}, incs: []string{"#1 resolved P2 heartbeat nightly{} reported a failure"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newBeatEnv(t, watchdogRules, nil)
			runSteps(t, e, tt.steps)
		})
	}
}

func TestSourceExpectTraffic(t *testing.T) {
	e := newBeatEnv(t, "", map[string]time.Duration{"am": 5 * time.Minute})
	ev := func(status incident.Status) incident.Event {
		return incident.Event{Source: "am", Fingerprint: "x", Status: status, Labels: lab("alertname", "X"), StartsAt: t0}
	}
	runSteps(t, e, []step{
		{at: 0, hbs: []string{"source:am waiting"}},
		{at: 4 * time.Minute, events: []incident.Event{ev(incident.StatusFiring)}, hbs: []string{"source:am up"}, incs: []string{"#1 open P4 X"}},
		// A repeat is traffic too.
		{at: 8 * time.Minute, events: []incident.Event{ev(incident.StatusFiring)}, hbs: []string{"source:am up"}, incs: []string{"#1 open P4 X"}},
		{at: 13 * time.Minute, hbs: []string{"source:am missing #2"}, incs: []string{"#1 open P4 X", "#2 open P2 no traffic from source am for 5m"}},
		{at: 14 * time.Minute, events: []incident.Event{ev(incident.StatusResolved)}, hbs: []string{"source:am up"},
			incs: []string{"#1 resolved P4 X", "#2 resolved P2 no traffic from source am for 5m"}},
	})
	// Configured no longer: its monitor goes, and its incident would be
	// resolved saying so.
	e.expect = nil
	e.restart()
	e.sweep()
	check(t, "after expect_traffic_within is removed", []string(nil), e.heartbeats())
}

// TestBeatDebounce: beats of a heartbeat that is up less than a second
// apart write its row once.
func TestBeatDebounce(t *testing.T) {
	e := newBeatEnv(t, watchdogRules, nil)
	e.now = t0
	for _, d := range []time.Duration{0, 500 * time.Millisecond, 999 * time.Millisecond, time.Second} {
		e.now = t0.Add(d)
		if err := e.p.Submit(context.Background(), []incident.Event{watchdog("eu-1")}); err != nil {
			t.Fatal(err)
		}
		hbs, err := e.st.HeartbeatRecords(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := t0
		if d == time.Second {
			want = t0.Add(time.Second)
		}
		check(t, fmt.Sprintf("last beat after a beat at %s", d), want, hbs[0].LastBeatAt)
	}
}

// TestTwoReplicasOneIncident: two daemons on one store both judge the
// missed heartbeat; it opens one incident.
func TestTwoReplicasOneIncident(t *testing.T) {
	e := newBeatEnv(t, watchdogRules, nil)
	other, err := pipeline.New(pipeline.Options{Store: e.st, Rules: &e.rules, Now: e.clock, MaxWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	other.Start()
	defer other.Stop(context.Background()) //nolint:errcheck // the test is over
	if err := e.p.Submit(context.Background(), []incident.Event{watchdog("eu-1")}); err != nil {
		t.Fatal(err)
	}
	e.now = t0.Add(2 * time.Minute)
	for _, p := range []*pipeline.Pipeline{e.p, other, e.p} {
		if err := p.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	check(t, "incidents", []string{"#1 open P1 no Watchdog from cluster eu-1 for 2m"}, e.incidents())
}

// TestLastBeatSurvivesReopen: a beat acknowledged (Submit returned) is on
// disk; a daemon that reopens the database (after a crash, say) finds it,
// and still waits a full interval and grace from its own start.
func TestLastBeatSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var rs atomic.Pointer[rules.Set]
	set, err := rules.Parse("rules.yml", []byte(watchdogRules))
	if err != nil {
		t.Fatal(err)
	}
	rs.Store(set)
	now := t0
	clock := func() time.Time { return now }
	open := func() (*sqlite.Store, *pipeline.Pipeline) {
		st, err := sqlite.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pipeline.New(pipeline.Options{Store: st, Rules: &rs, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		p.Start()
		return st, p
	}
	st, p := open()
	if err := p.Submit(ctx, []incident.Event{watchdog("eu-1")}); err != nil {
		t.Fatal(err)
	}
	// No Stop and no Sweep: the process is gone. The file lock must go for
	// the next open, so the store is closed.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(10 * time.Minute)
	st2, p2 := open()
	defer func() {
		_ = p2.Stop(ctx) // the test is over
		st2.Close()
	}()
	hbs, err := st2.HeartbeatRecords(ctx)
	if err != nil || len(hbs) != 1 || !hbs[0].LastBeatAt.Equal(t0) || hbs[0].State != incident.HeartbeatUp {
		t.Fatalf("after reopen: %+v, %v; want the beat of t0, up", hbs, err)
	}
	for _, tc := range []struct {
		at   time.Duration
		want incident.HeartbeatState
	}{{11*time.Minute + 29*time.Second, incident.HeartbeatUp}, {11*time.Minute + 30*time.Second, incident.HeartbeatMissing}} {
		now = t0.Add(tc.at)
		if err := p2.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		hbs, _ := st2.HeartbeatRecords(ctx)
		var got incident.HeartbeatState
		for _, hb := range hbs {
			if hb.Name == "watchdog" {
				got = hb.State
			}
		}
		check(t, fmt.Sprintf("state at %s", tc.at), tc.want, got)
	}
	_ = p.Stop(ctx) // the first pipeline's writer, whose store is closed
}
