package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

var t0 = time.Date(2026, 11, 28, 20, 13, 5, 0, time.UTC)

// clock is a simulated clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

type env struct {
	t     *testing.T
	store store.Store
	p     *pipeline.Pipeline
	clock *clock
	reg   *prometheus.Registry
	rules atomic.Pointer[rules.Set]
}

type envOpts struct {
	cacheSize int
	rules     string
	dir       string
	// route and outbox configure the outbox (outbox_test.go).
	route  incident.Route
	outbox incident.EnqueueOptions
	// touchFlush defers pure repeats (touch_test.go).
	touchFlush time.Duration
	// closeAfter closes resolved incidents (retention_test.go).
	closeAfter time.Duration
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	// A directory asks for SQLite (tests that reopen the same file);
	// otherwise the backend is storetest's: SQLite, or PostgreSQL with
	// ALERTBRIDGE_TEST_STORE=postgres.
	var st store.Store
	if o.dir != "" {
		s, err := sqlite.Open(context.Background(), o.dir)
		if err != nil {
			t.Fatal(err)
		}
		st = s
	} else {
		st = storetest.MustOpen(t)
	}
	var err error
	e := &env{t: t, store: st, clock: &clock{now: t0}, reg: prometheus.NewRegistry()}
	if o.rules != "" {
		set, err := rules.Parse("rules.yml", []byte(o.rules))
		if err != nil {
			t.Fatalf("rules: %v", err)
		}
		e.rules.Store(set)
	}
	e.p, err = pipeline.New(pipeline.Options{
		Store: st, Rules: &e.rules, Registerer: e.reg, Now: e.clock.Now,
		DedupeCacheSize: o.cacheSize, CorrelateCacheSize: o.cacheSize,
		// These tests are about outcomes, and some send hundreds of
		// concurrent requests on a machine slowed by the race detector: a
		// budget no test machine misses keeps admission out of them
		// (admission_test.go and overload_test.go test it).
		MaxWait: time.Minute,
		Route:   o.route, Outbox: o.outbox, TouchFlushInterval: o.touchFlush, CloseAfter: o.closeAfter,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.p.Start()
	t.Cleanup(func() {
		if err := e.p.Stop(context.Background()); err != nil {
			t.Error(err)
		}
		st.Close()
	})
	return e
}

func (e *env) submit(at time.Time, evs ...incident.Event) {
	e.t.Helper()
	e.clock.Set(at)
	if err := e.p.Submit(context.Background(), evs); err != nil {
		e.t.Fatalf("Submit: %v", err)
	}
}

func (e *env) incidents() []incident.Incident {
	e.t.Helper()
	list, err := e.store.Incidents(context.Background(), incident.IncidentFilter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *env) only() incident.Incident {
	e.t.Helper()
	list := e.incidents()
	if len(list) != 1 {
		e.t.Fatalf("%d incidents, want 1: %+v", len(list), list)
	}
	return list[0]
}

func (e *env) timelineKinds(id int64) []incident.TimelineKind {
	e.t.Helper()
	tl, err := e.store.Timeline(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	var kinds []incident.TimelineKind
	for _, x := range tl {
		kinds = append(kinds, x.Kind)
	}
	return kinds
}

var groupLabels = map[string]string{"alertname": "HighRequestLatency", "cluster": "eu-west-1"}

// alert builds an Alertmanager-style event of the HighRequestLatency group.
func alert(instance string, status incident.Status, startsAt, endsAt time.Time, severity string) incident.Event {
	labels := map[string]string{"alertname": "HighRequestLatency", "cluster": "eu-west-1", "instance": instance,
		"job": "api-server", "severity": severity}
	return incident.Event{
		Source: "alertmanager", Fingerprint: incident.LabelFingerprint(labels), Status: status, Labels: labels,
		Annotations: map[string]string{"summary": "p99 latency above 500ms"}, StartsAt: startsAt, EndsAt: endsAt,
		GroupLabels: groupLabels, Receiver: "webhook-main",
	}
}

func firing(instance string, startsAt time.Time) incident.Event {
	return alert(instance, incident.StatusFiring, startsAt, time.Time{}, "warning")
}

func resolved(instance string, startsAt, endsAt time.Time) incident.Event {
	return alert(instance, incident.StatusResolved, startsAt, endsAt, "warning")
}

func TestDefaultCorrelationOneIncidentPerGroup(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.submit(t0.Add(time.Second), firing("web-1", t0), firing("web-2", t0), firing("web-3", t0))
	inc := e.only()
	want := incident.Incident{
		ID: inc.ID, State: incident.StateOpen, Priority: 3, Impact: incident.LevelMedium, Urgency: incident.LevelMedium,
		Title: "HighRequestLatency: p99 latency above 500ms", Service: "api-server",
		CorrelationKey: `group{alertname="HighRequestLatency", cluster="eu-west-1"}`, Source: "alertmanager",
		OpenedAt: t0.Add(time.Second), UpdatedAt: t0.Add(time.Second), LastEventAt: t0.Add(time.Second),
		ImpactStartedAt: t0, RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1}, AlertCount: 3, FiringCount: 3,
		Labels: firing("web-1", t0).Labels, Flapping: // the alert that opened it
		incident.Flapping{FlapThreshold: rules.DefaultFlapThreshold, FlapWindow: rules.DefaultFlapWindow},
	}
	if diff := cmp.Diff(want, inc); diff != "" {
		t.Errorf("incident (-want +got):\n%s", diff)
	}
	if got := metricValue(t, e.reg, "alertbridge_incidents_opened_total"); got != 1 {
		t.Errorf("opened_total = %v, want 1", got)
	}
}

func TestRepeatsOnlyBumpCounters(t *testing.T) {
	e := newEnv(t, envOpts{})
	group := []incident.Event{firing("web-1", t0), firing("web-2", t0)}
	e.submit(t0.Add(time.Second), group...)
	before := e.only()
	tlBefore := e.timelineKinds(before.ID)
	// Alertmanager re-sends the group every group_interval; an HA pair sends it twice.
	for i := 2; i <= 5; i++ {
		e.submit(t0.Add(time.Duration(i)*time.Second), group...)
	}
	after := e.only()
	before.UpdatedAt = after.UpdatedAt
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("repeats changed the incident (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(tlBefore, e.timelineKinds(after.ID)); diff != "" {
		t.Errorf("repeats changed the timeline:\n%s", diff)
	}
	alerts, _ := e.store.Alerts(context.Background(), after.ID)
	for _, a := range alerts {
		if a.Count != 5 || !a.LastSeenAt.Equal(t0.Add(5*time.Second)) {
			t.Errorf("alert %s: count %d last_seen %s, want 5 and t0+5s", a.Fingerprint, a.Count, a.LastSeenAt)
		}
	}
}

func TestLifecycle(t *testing.T) {
	tests := []struct {
		name       string
		steps      func(e *env)
		wantStates []incident.State // newest first
		wantKinds  []incident.TimelineKind
	}{
		{
			name: "ResolveAllResolvesIncident",
			steps: func(e *env) {
				e.submit(t0.Add(time.Second), firing("web-1", t0), firing("web-2", t0))
				e.submit(t0.Add(20*time.Second), resolved("web-1", t0, t0.Add(19*time.Second)), firing("web-2", t0))
				e.submit(t0.Add(30*time.Second), resolved("web-2", t0, t0.Add(29*time.Second)))
			},
			wantStates: []incident.State{incident.StateResolved},
			wantKinds: []incident.TimelineKind{"opened", "alert_firing", "alert_firing", "alert_resolved",
				"alert_resolved", "resolved"},
		},
		{
			name: "PartialResolveKeepsOpen",
			steps: func(e *env) {
				e.submit(t0.Add(time.Second), firing("web-1", t0), firing("web-2", t0))
				e.submit(t0.Add(20*time.Second), resolved("web-1", t0, t0.Add(19*time.Second)), firing("web-2", t0))
			},
			wantStates: []incident.State{incident.StateOpen},
			wantKinds:  []incident.TimelineKind{"opened", "alert_firing", "alert_firing", "alert_resolved"},
		},
		{
			name: "RefireWithinWindowReopens",
			steps: func(e *env) {
				e.submit(t0.Add(time.Second), firing("web-1", t0))
				e.submit(t0.Add(time.Minute), resolved("web-1", t0, t0.Add(time.Minute)))
				e.submit(t0.Add(10*time.Minute), firing("web-1", t0.Add(10*time.Minute)))
			},
			wantStates: []incident.State{incident.StateOpen},
			wantKinds: []incident.TimelineKind{"opened", "alert_firing", "alert_resolved", "resolved",
				"reopened", "alert_firing"},
		},
		{
			name: "RefireAfterWindowOpensNew",
			steps: func(e *env) {
				e.submit(t0.Add(time.Second), firing("web-1", t0))
				e.submit(t0.Add(time.Minute), resolved("web-1", t0, t0.Add(time.Minute)))
				e.submit(t0.Add(2*time.Hour), firing("web-1", t0.Add(2*time.Hour)))
			},
			wantStates: []incident.State{incident.StateOpen, incident.StateResolved},
			wantKinds:  []incident.TimelineKind{"opened", "alert_firing"},
		},
		{
			name: "LateDuplicateOfOldFiringDoesNotReopen",
			steps: func(e *env) {
				e.submit(t0.Add(time.Second), firing("web-1", t0))
				e.submit(t0.Add(time.Minute), resolved("web-1", t0, t0.Add(time.Minute)))
				// A retried delivery of the first notification arrives late.
				e.submit(t0.Add(2*time.Minute), firing("web-1", t0))
			},
			wantStates: []incident.State{incident.StateResolved},
			wantKinds:  []incident.TimelineKind{"opened", "alert_firing", "alert_resolved", "resolved"},
		},
		{
			// The outage happened even if its firing came last (or never):
			// the resolve records it, resolved, and the late firing is a
			// copy of what is known.
			name: "ResolveBeforeFiringRecordsTheOutage",
			steps: func(e *env) {
				e.submit(t0.Add(time.Minute), resolved("web-1", t0, t0.Add(time.Minute)))
				e.submit(t0.Add(2*time.Minute), firing("web-1", t0))
			},
			wantStates: []incident.State{incident.StateResolved},
			wantKinds:  []incident.TimelineKind{"opened", "alert_firing", "alert_resolved", "resolved"},
		},
		{
			name: "ResolvedStaysResolvedOnRedelivery",
			steps: func(e *env) {
				e.submit(t0.Add(time.Second), firing("web-1", t0))
				e.submit(t0.Add(time.Minute), resolved("web-1", t0, t0.Add(time.Minute)))
				e.submit(t0.Add(2*time.Minute), resolved("web-1", t0, t0.Add(time.Minute)))
			},
			wantStates: []incident.State{incident.StateResolved},
			wantKinds:  []incident.TimelineKind{"opened", "alert_firing", "alert_resolved", "resolved"},
		},
		{
			name: "MoreSevereAlertEscalates",
			steps: func(e *env) {
				e.submit(t0.Add(time.Second), firing("web-1", t0))
				e.submit(t0.Add(time.Minute), firing("web-1", t0), alert("web-2", incident.StatusFiring, t0, time.Time{}, "critical"))
			},
			wantStates: []incident.State{incident.StateOpen},
			wantKinds:  []incident.TimelineKind{"opened", "alert_firing", "alert_firing", "priority_changed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			tt.steps(e)
			list := e.incidents()
			var states []incident.State
			for _, inc := range list {
				states = append(states, inc.State)
			}
			if diff := cmp.Diff(tt.wantStates, states); diff != "" {
				t.Fatalf("incident states (-want +got):\n%s", diff)
			}
			if len(list) > 0 {
				if diff := cmp.Diff(tt.wantKinds, e.timelineKinds(list[0].ID)); diff != "" {
					t.Errorf("timeline of newest (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestAutoResolveTimeFollowsEndsAt(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.submit(t0.Add(time.Second), firing("web-1", t0))
	// The resolve is delivered 10 minutes after the alert ended.
	e.submit(t0.Add(20*time.Minute), resolved("web-1", t0, t0.Add(10*time.Minute)))
	if got := e.only().ResolvedAt; !got.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("resolved_at = %s, want the alert's endsAt %s", got, t0.Add(10*time.Minute))
	}
}

func TestPriorityFromSeverity(t *testing.T) {
	for sev, want := range map[string]incident.Priority{"critical": 1, "warning": 3, "error": 3, "info": 5, "": 4} {
		t.Run("severity="+sev, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			e.submit(t0, alert("web-1", incident.StatusFiring, t0, time.Time{}, sev))
			if got := e.only().Priority; got != want {
				t.Errorf("priority = %s, want %s", got, want)
			}
		})
	}
}

func TestManualCommands(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	e.submit(t0, firing("web-1", t0))
	id := e.only().ID
	e.clock.Set(t0.Add(3 * time.Minute))
	inc, err := e.p.Execute(ctx, incident.Command{IncidentID: id, Action: incident.ActionAcknowledge, Actor: "alice"})
	if err != nil || inc.State != incident.StateAcknowledged || !inc.AcknowledgedAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("ack = %+v, %v", inc, err)
	}
	if _, err := e.p.Execute(ctx, incident.Command{IncidentID: id, Action: incident.ActionAcknowledge}); !errors.Is(err, incident.ErrConflict) {
		t.Errorf("second ack: err = %v, want ErrConflict", err)
	}
	if _, err := e.p.Execute(ctx, incident.Command{IncidentID: id, Action: incident.ActionComment, Actor: "bob", Message: "restarting pods"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Execute(ctx, incident.Command{IncidentID: id, Action: incident.ActionComment}); !errors.Is(err, incident.ErrInvalid) {
		t.Errorf("empty comment: err = %v, want ErrInvalid", err)
	}
	if _, err := e.p.Execute(ctx, incident.Command{IncidentID: id + 1, Action: incident.ActionResolve}); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("unknown incident: err = %v, want ErrNotFound", err)
	}
	if inc, err = e.p.Execute(ctx, incident.Command{IncidentID: id, Action: incident.ActionResolve, Actor: "alice"}); err != nil || inc.State != incident.StateResolved {
		t.Fatalf("resolve = %+v, %v", inc, err)
	}
	// The alert still fires: its repeats must not undo the manual resolve...
	e.submit(t0.Add(5*time.Minute), firing("web-1", t0))
	if got := e.only().State; got != incident.StateResolved {
		t.Errorf("after repeat: state %s, want resolved", got)
	}
	// ...but a new alert of the group within reopen_within reopens it.
	e.submit(t0.Add(6*time.Minute), firing("web-1", t0), firing("web-2", t0.Add(6*time.Minute)))
	if got := e.only().State; got != incident.StateOpen {
		t.Errorf("after new alert: state %s, want open", got)
	}
	want := []incident.TimelineKind{"opened", "alert_firing", "acknowledged", "comment", "resolved", "reopened", "alert_firing"}
	if diff := cmp.Diff(want, e.timelineKinds(id)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

// TestCachesNeverChangeOutcomes replays one event history with caches of size
// 1 and of a generous size, and with a restart halfway, and demands the same
// records (invariant 3).
func TestCachesNeverChangeOutcomes(t *testing.T) {
	type step struct {
		at  time.Duration
		evs []incident.Event
	}
	var steps []step
	for g := 0; g < 4; g++ {
		other := func(e incident.Event) incident.Event {
			e.Labels = copyMap(e.Labels)
			e.Labels["cluster"] = fmt.Sprintf("c%d", g)
			e.GroupLabels = map[string]string{"alertname": "HighRequestLatency", "cluster": e.Labels["cluster"]}
			e.Fingerprint = incident.LabelFingerprint(e.Labels)
			return e
		}
		base := time.Duration(g) * time.Second
		steps = append(steps,
			step{base + time.Second, []incident.Event{other(firing("a", t0)), other(firing("b", t0))}},
			step{base + 2*time.Second, []incident.Event{other(firing("a", t0)), other(firing("b", t0))}},
			step{base + time.Minute, []incident.Event{other(resolved("a", t0, t0.Add(time.Minute))), other(firing("b", t0))}},
			step{base + 2*time.Minute, []incident.Event{other(resolved("b", t0, t0.Add(2*time.Minute)))}},
			step{base + 3*time.Minute, []incident.Event{other(firing("a", t0))}}, // late duplicate
			step{base + 4*time.Minute, []incident.Event{other(firing("a", t0.Add(4*time.Minute)))}},
			step{base + 3*time.Hour, []incident.Event{other(resolved("a", t0.Add(4*time.Minute), t0.Add(3*time.Hour)))}},
			step{base + 5*time.Hour, []incident.Event{other(firing("b", t0.Add(5*time.Hour)))}},
		)
	}
	type record struct {
		Inc    incident.Incident
		Alerts []incident.Alert
		Kinds  []incident.TimelineKind
	}
	run := func(t *testing.T, cacheSize int, restartAt int) []record {
		dir := t.TempDir()
		e := newEnv(t, envOpts{cacheSize: cacheSize, dir: dir})
		for i, s := range steps {
			if i == restartAt {
				// A restart: a fresh pipeline with cold caches on the same file.
				if err := e.p.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				e.store.Close()
				e = newEnv(t, envOpts{cacheSize: cacheSize, dir: dir})
			}
			e.submit(t0.Add(s.at), s.evs...)
		}
		var out []record
		for _, inc := range e.incidents() {
			alerts, _ := e.store.Alerts(context.Background(), inc.ID)
			out = append(out, record{inc, alerts, e.timelineKinds(inc.ID)})
		}
		return out
	}
	want := run(t, 100000, -1)
	if len(want) < 8 {
		t.Fatalf("history made only %d incidents; the scenario is not exercising reopen/new", len(want))
	}
	for _, c := range []struct {
		name      string
		size, cut int
	}{{"Size1", 1, -1}, {"Size3", 3, -1}, {"RestartHalfway", 100000, len(steps) / 2}, {"Size1Restart", 1, 5}} {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(want, run(t, c.size, c.cut)); diff != "" {
				t.Errorf("outcome differs from the large-cache run (-want +got):\n%s", diff)
			}
		})
	}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestConcurrentSubmitsOneIncidentPerKey(t *testing.T) {
	e := newEnv(t, envOpts{})
	const senders = 40
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Every sender posts the same group (an HA pair, retries) plus a
			// group of its own.
			own := firing("web-1", t0)
			own.Labels = copyMap(own.Labels)
			own.Labels["cluster"] = fmt.Sprintf("own-%d", i)
			own.GroupLabels = map[string]string{"cluster": own.Labels["cluster"]}
			own.Fingerprint = incident.LabelFingerprint(own.Labels)
			errs <- e.p.Submit(context.Background(), []incident.Event{firing("web-1", t0), firing("web-2", t0), own})
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list := e.incidents()
	if len(list) != senders+1 {
		t.Fatalf("%d incidents, want %d", len(list), senders+1)
	}
	keys := map[string]int{}
	for _, inc := range list {
		keys[inc.CorrelationKey]++
	}
	for k, n := range keys {
		if n != 1 {
			t.Errorf("key %s has %d incidents", k, n)
		}
	}
}

// blockingStore holds every transaction until released, to fill the queue.
type blockingStore struct {
	*sqlite.Store
	release chan struct{}
	entered chan struct{}
}

func (b *blockingStore) Update(ctx context.Context, fn func(incident.Tx) error) error {
	b.entered <- struct{}{}
	<-b.release
	return b.Store.Update(ctx, fn)
}

func TestOverloadAnswersAtOnce(t *testing.T) {
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bs := &blockingStore{Store: st, release: make(chan struct{}), entered: make(chan struct{}, 10)}
	reg := prometheus.NewRegistry()
	p, err := pipeline.New(pipeline.Options{Store: bs, QueueSize: 1, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	ctx := context.Background()
	results := make(chan error, 2)
	go func() { results <- p.Submit(ctx, []incident.Event{firing("web-1", t0)}) }()
	<-bs.entered // the writer holds request 1
	go func() { results <- p.Submit(ctx, []incident.Event{firing("web-2", t0)}) }()
	// Request 2 sits in the queue (size 1); wait until it is there.
	for deadline := time.Now().Add(5 * time.Second); metricValue(t, reg, "alertbridge_pipeline_queue_length") < 1; {
		if time.Now().After(deadline) {
			t.Fatal("second request never queued")
		}
		time.Sleep(time.Millisecond)
	}
	err = p.Submit(ctx, []incident.Event{firing("web-3", t0)})
	if !errors.Is(err, pipeline.ErrOverloaded) || !errors.Is(err, incident.ErrUnavailable) {
		t.Fatalf("third submit: err = %v, want ErrOverloaded", err)
	}
	close(bs.release)
	for i := 0; i < 2; i++ {
		if err := <-results; err != nil {
			t.Errorf("queued submit: %v", err)
		}
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Submit(ctx, []incident.Event{firing("web-4", t0)}); !errors.Is(err, pipeline.ErrStopped) {
		t.Errorf("submit after stop: err = %v, want ErrStopped", err)
	}
	list, _ := st.Incidents(ctx, incident.IncidentFilter{Limit: 10})
	if len(list) != 1 || list[0].AlertCount != 2 {
		t.Errorf("incidents = %+v, want one with the 2 accepted alerts", list)
	}
}

// failingStore fails any transaction that touches a poisoned fingerprint.
type failingStore struct {
	*sqlite.Store
}

type poisonTx struct{ incident.Tx }

func (p poisonTx) PutAlertState(ctx context.Context, s incident.AlertState) error {
	if s.Fingerprint == "poison" {
		return errors.New("disk I/O error")
	}
	return p.Tx.PutAlertState(ctx, s)
}

func (f failingStore) Update(ctx context.Context, fn func(incident.Tx) error) error {
	return f.Store.Update(ctx, func(tx incident.Tx) error { return fn(poisonTx{tx}) })
}

func TestFailedGroupRetriesEachRequestAlone(t *testing.T) {
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := pipeline.New(pipeline.Options{Store: failingStore{st}})
	if err != nil {
		t.Fatal(err)
	}
	// Queue both before the writer starts so they form one group.
	ctx := context.Background()
	results := make(chan error, 2)
	bad := firing("web-9", t0)
	bad.Fingerprint = "poison"
	go func() { results <- p.Submit(ctx, []incident.Event{bad}) }()
	go func() { results <- p.Submit(ctx, []incident.Event{firing("web-1", t0)}) }()
	time.Sleep(50 * time.Millisecond) // let both enqueue; correctness does not depend on it
	p.Start()
	defer func() {
		if err := p.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	var failed, ok int
	for i := 0; i < 2; i++ {
		if err := <-results; err != nil {
			failed++
		} else {
			ok++
		}
	}
	if failed != 1 || ok != 1 {
		t.Fatalf("failed %d ok %d, want 1 and 1", failed, ok)
	}
	list, _ := st.Incidents(ctx, incident.IncidentFilter{Limit: 10})
	if len(list) != 1 || list[0].AlertCount != 1 {
		t.Errorf("incidents = %+v, want only the good request's", list)
	}
}

// metricValue sums one metric family's counter and gauge values.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return v
}

// TestExecuteCallerGivesUpWhileWriterHasIt: a command whose caller's
// context ends while the writer holds it answers ctx.Err() at once with no
// incident, and never reads the result the writer writes afterwards (under
// -race, reading it was a data race).
func TestExecuteCallerGivesUpWhileWriterHasIt(t *testing.T) {
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bs := &blockingStore{Store: st, release: make(chan struct{}), entered: make(chan struct{}, 10)}
	p, err := pipeline.New(pipeline.Options{Store: bs})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	bg := context.Background()
	done := make(chan error, 1)
	go func() { done <- p.Submit(bg, []incident.Event{firing("web-1", t0)}) }()
	<-bs.entered
	bs.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(bg)
	type outcome struct {
		inc incident.Incident
		err error
	}
	got := make(chan outcome, 1)
	go func() {
		inc, err := p.Execute(ctx, incident.Command{IncidentID: 1, Action: incident.ActionAcknowledge, Actor: "alice"})
		got <- outcome{inc, err}
	}()
	<-bs.entered // the writer has the command
	cancel()
	// The writer goes on and commits it while Execute returns: nothing
	// orders the two, as in the daemon.
	bs.release <- struct{}{}
	o := <-got
	if !errors.Is(o.err, context.Canceled) || o.inc.ID != 0 {
		t.Errorf("Execute = incident %d, %v; want no incident and context.Canceled", o.inc.ID, o.err)
	}
	if err := p.Stop(bg); err != nil {
		t.Fatal(err)
	}
	inc, err := st.Incident(bg, 1)
	if err != nil || inc.State != incident.StateAcknowledged {
		t.Errorf("incident 1: %s, %v; want acknowledged (the command committed after its caller left)", inc.State, err)
	}
}
