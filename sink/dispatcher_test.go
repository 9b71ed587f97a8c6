package sink_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// clock is a simulated clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// tool is a sink's tool in memory: it keeps one ticket per incident and
// records what it was told, and fails as the test says.
type tool struct {
	mu    sync.Mutex
	calls []string // "#incident kind [entries]"
	fail  func(n sink.Notification) error
	// block, when set, makes Deliver wait for it or for ctx, after
	// closing entered (if set) on the first call.
	block   chan struct{}
	entered chan struct{}
	seen    map[int64]*incident.Ticket
}

func newTool() *tool { return &tool{seen: map[int64]*incident.Ticket{}} }

func (f *tool) Deliver(ctx context.Context, n sink.Notification) (*incident.Ticket, error) {
	f.mu.Lock()
	block, fail, entered := f.block, f.fail, f.entered
	f.entered = nil
	f.mu.Unlock()
	if entered != nil {
		close(entered)
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(n); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var kinds []string
	for _, e := range n.Entries {
		kinds = append(kinds, string(e.Kind))
	}
	f.calls = append(f.calls, fmt.Sprintf("#%d %s %v", n.Incident.ID, n.Kind, kinds))
	if n.Ticket != nil && n.Ticket.ExternalID != fmt.Sprintf("T-%d", n.Incident.ID) {
		return nil, sink.Permanent(fmt.Errorf("ticket %q passed back for incident %d", n.Ticket.ExternalID, n.Incident.ID))
	}
	t := &incident.Ticket{ExternalID: fmt.Sprintf("T-%d", n.Incident.ID), Data: map[string]string{"state": string(n.Incident.State)}}
	f.seen[n.Incident.ID] = t
	return t, nil
}

func (f *tool) setFail(fn func(n sink.Notification) error) { f.mu.Lock(); f.fail = fn; f.mu.Unlock() }

func (f *tool) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

type env struct {
	t     *testing.T
	st    *sqlite.Store
	clock *clock
	tool  *tool
	d     *sink.Dispatcher
	reg   *prometheus.Registry
}

func newEnv(t *testing.T, c sink.Config) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, clock: &clock{now: t0}, tool: newTool(), reg: prometheus.NewRegistry()}
	if c.Name == "" {
		c.Name = "tool"
	}
	c.Sink = e.tool
	e.d, err = sink.New(sink.Options{Store: st, Sinks: []sink.Config{c}, Now: e.clock.Now, Registerer: e.reg})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// open records an incident and its opened row, as the pipeline does.
func (e *env) open(title string) int64 {
	e.t.Helper()
	inc := incident.Incident{State: incident.StateOpen, Priority: 3, Title: title, Service: "web", OpenedAt: e.clock.Now(),
		UpdatedAt: e.clock.Now(), LastEventAt: e.clock.Now(), RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1}, CorrelationKey: title}
	e.update(func(ctx context.Context, tx incident.Tx) error {
		if err := tx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		return e.row(ctx, tx, inc.ID, incident.TimelineOpened)
	})
	return inc.ID
}

// change records a change of kind on an incident and its row.
func (e *env) change(id int64, kind incident.TimelineKind) {
	e.t.Helper()
	e.update(func(ctx context.Context, tx incident.Tx) error { return e.row(ctx, tx, id, kind) })
}

func (e *env) row(ctx context.Context, tx incident.Tx, id int64, kind incident.TimelineKind) error {
	entry := incident.TimelineEntry{IncidentID: id, At: e.clock.Now(), Kind: kind, Actor: "system", Message: string(kind)}
	if err := tx.AddTimeline(ctx, &entry); err != nil {
		return err
	}
	nk, _ := incident.NotifyKindOf(kind)
	return tx.AddOutbox(ctx, &incident.OutboxRow{Sink: "tool", IncidentID: id, Kind: nk, TimelineID: entry.ID,
		State: incident.OutboxPending, CreatedAt: e.clock.Now(), NextAttemptAt: e.clock.Now()})
}

func (e *env) update(fn func(ctx context.Context, tx incident.Tx) error) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.st.Update(ctx, func(tx incident.Tx) error { return fn(ctx, tx) }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) run() int {
	e.t.Helper()
	n, err := e.d.RunOnce(context.Background())
	if err != nil {
		e.t.Fatalf("RunOnce: %v", err)
	}
	return n
}

func (e *env) rows(state incident.OutboxState) []incident.OutboxRow {
	e.t.Helper()
	rows, err := e.st.OutboxRows(context.Background(), state, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func (e *env) counter(name string, labels ...string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return 0
}

func check[T any](t *testing.T, what string, want, got T) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// TestDeliversInOrderAndKeepsTheTicket: rows go out oldest first per
// incident, are deleted once delivered, and the ticket the tool made is
// kept and passed back.
func TestDeliversInOrderAndKeepsTheTicket(t *testing.T) {
	e := newEnv(t, sink.Config{})
	a := e.open("a")
	e.change(a, incident.TimelineAcknowledged)
	e.change(a, incident.TimelineComment)
	e.change(a, incident.TimelineResolved)
	for e.run() > 0 {
	}
	check(t, "deliveries", []string{
		"#1 opened [opened]", "#1 acknowledged [acknowledged]", "#1 comment [comment]", "#1 resolved [resolved]",
	}, e.tool.got())
	if rows := e.rows(""); len(rows) != 0 {
		t.Errorf("%d rows left after delivery", len(rows))
	}
	tk, err := e.st.Ticket(context.Background(), a, "tool")
	if err != nil {
		t.Fatal(err)
	}
	if tk.ExternalID != "T-1" || tk.Data["state"] != "open" || !tk.UpdatedAt.Equal(t0) {
		t.Errorf("ticket = %+v", tk)
	}
	check(t, "delivered", 4.0, e.counter("alertbridge_sink_deliveries_total", "sink", "tool", "outcome", "delivered"))
}

// TestHeadOfLinePerIncident: a failing row holds back its incident's later
// rows, not other incidents'.
func TestHeadOfLinePerIncident(t *testing.T) {
	e := newEnv(t, sink.Config{})
	a := e.open("a")
	e.change(a, incident.TimelineResolved)
	b := e.open("b")
	e.tool.setFail(func(n sink.Notification) error {
		if n.Incident.ID == a {
			return errors.New("connection refused")
		}
		return nil
	})
	e.run()
	check(t, "only b's row went out", []string{fmt.Sprintf("#%d opened [opened]", b)}, e.tool.got())
	pending := e.rows(incident.OutboxPending)
	if len(pending) != 2 || pending[0].Attempts != 0 || pending[1].Attempts != 1 {
		t.Fatalf("pending rows: %+v", pending)
	}
	e.tool.setFail(nil)
	e.clock.Add(time.Hour)
	for e.run() > 0 {
	}
	check(t, "a's rows in order after it recovered", []string{
		fmt.Sprintf("#%d opened [opened]", b), fmt.Sprintf("#%d opened [opened]", a), fmt.Sprintf("#%d resolved [resolved]", a),
	}, e.tool.got())
}

// TestBackoffGrowsWithJitter: each failure waits about twice as long as
// the last, between half and all of the step, up to the maximum.
func TestBackoffGrowsWithJitter(t *testing.T) {
	e := newEnv(t, sink.Config{InitialBackoff: time.Second, MaxBackoff: 8 * time.Second, BreakerFailures: 100})
	e.open("a")
	e.tool.setFail(func(sink.Notification) error { return errors.New("503") })
	steps := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, step := range steps {
		now := e.clock.Now()
		if n := e.run(); n != 1 {
			t.Fatalf("attempt %d: %d attempted", i+1, n)
		}
		r := e.rows(incident.OutboxPending)[0]
		wait := r.NextAttemptAt.Sub(now)
		if wait < step/2 || wait > step {
			t.Errorf("attempt %d: next in %s, want within [%s, %s]", i+1, wait, step/2, step)
		}
		if r.Attempts != i+1 || r.LastError != "503" {
			t.Errorf("attempt %d: attempts=%d last_error=%q", i+1, r.Attempts, r.LastError)
		}
		if n := e.run(); n != 0 {
			t.Errorf("attempt %d: tried again before its time", i+1)
		}
		e.clock.Set(r.NextAttemptAt)
	}
}

// TestRetryAfterPausesTheSink: a 429 with Retry-After is honoured for the
// whole sink: no other incident's row goes out before it.
func TestRetryAfterPausesTheSink(t *testing.T) {
	e := newEnv(t, sink.Config{Concurrency: 1})
	a := e.open("a")
	e.tool.setFail(func(n sink.Notification) error {
		if n.Incident.ID == a {
			return &sink.RetryAfterError{After: 30 * time.Second, Err: errors.New("429")}
		}
		return nil
	})
	e.run()
	e.open("b")
	e.clock.Add(29 * time.Second)
	if n := e.run(); n != 0 {
		t.Fatalf("%d attempted while the tool asked to wait", n)
	}
	e.tool.setFail(nil)
	e.clock.Add(time.Second)
	for e.run() > 0 {
	}
	if got := len(e.tool.got()); got != 2 {
		t.Errorf("%d delivered after the wait, want 2", got)
	}
}

// TestDeadLetters: a permanent failure dies at once, a retried one after
// max_age; an admin's replay puts it back in line and it is delivered.
func TestDeadLetters(t *testing.T) {
	e := newEnv(t, sink.Config{MaxAge: time.Hour, MaxBackoff: time.Minute, BreakerFailures: 1000})
	a := e.open("a")
	b := e.open("b")
	e.tool.setFail(func(n sink.Notification) error {
		if n.Incident.ID == a {
			return sink.Permanent(errors.New("400 field summary is required"))
		}
		return errors.New("502 bad gateway")
	})
	e.run()
	dead := e.rows(incident.OutboxDead)
	if len(dead) != 1 || dead[0].IncidentID != a || dead[0].LastError != "permanent failure: 400 field summary is required" {
		t.Fatalf("dead after a permanent failure: %+v", dead)
	}
	for i := 0; i < 100 && len(e.rows(incident.OutboxDead)) < 2; i++ {
		e.clock.Add(time.Minute)
		e.run()
	}
	dead = e.rows(incident.OutboxDead)
	if len(dead) != 2 || dead[0].IncidentID != b {
		t.Fatalf("dead after max_age: %+v", dead)
	}
	if age := dead[0].NextAttemptAt.Sub(t0); age < time.Hour || age > time.Hour+time.Minute {
		t.Errorf("b died %s after it was written, want just past max_age 1h", age)
	}
	check(t, "dead", 2.0, e.counter("alertbridge_sink_deliveries_total", "outcome", "dead"))

	e.tool.setFail(nil)
	if n := e.run(); n != 0 {
		t.Fatal("a dead letter was tried again without a replay")
	}
	e.update(func(ctx context.Context, tx incident.Tx) error {
		_, err := tx.ReplayOutbox(ctx, dead[0].ID, e.clock.Now())
		return err
	})
	e.run()
	check(t, "the replayed row went out", []string{fmt.Sprintf("#%d opened [opened]", b)}, e.tool.got())
	err := e.st.Update(context.Background(), func(tx incident.Tx) error {
		_, err := tx.ReplayOutbox(context.Background(), dead[0].ID, e.clock.Now())
		return err
	})
	if !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("replay of a delivered row: %v, want ErrNotFound", err)
	}
}

// TestUpdatesFoldWhileTheSinkLags: while a sink lags, changes that only
// say the incident changed fold into the notification before them; a
// comment or a resolve is never folded away.
func TestUpdatesFoldWhileTheSinkLags(t *testing.T) {
	e := newEnv(t, sink.Config{BreakerFailures: 100})
	a := e.open("a")
	e.tool.setFail(func(sink.Notification) error { return errors.New("timeout") })
	e.run()
	e.change(a, incident.TimelinePriorityChanged)
	e.change(a, incident.TimelineSLABreached)
	e.change(a, incident.TimelineComment)
	e.change(a, incident.TimelinePriorityChanged)
	e.change(a, incident.TimelineResolved)
	e.tool.setFail(nil)
	e.clock.Add(time.Hour)
	for e.run() > 0 {
	}
	check(t, "deliveries", []string{
		"#1 opened [opened priority_changed sla_breached]",
		"#1 comment [comment priority_changed]",
		"#1 resolved [resolved]",
	}, e.tool.got())
	check(t, "coalesced", 3.0, e.counter("alertbridge_sink_coalesced_total", "sink", "tool"))
}

// TestBreakerOpensAndProbes: consecutive failures open the breaker; while
// open nothing is attempted; after its timeout one probe goes through and
// a success closes it.
func TestBreakerOpensAndProbes(t *testing.T) {
	e := newEnv(t, sink.Config{BreakerFailures: 3, BreakerTimeout: 50 * time.Millisecond, InitialBackoff: time.Second,
		MaxBackoff: time.Second, Concurrency: 1})
	for i := 0; i < 5; i++ {
		e.open(fmt.Sprintf("i%d", i))
	}
	e.tool.setFail(func(sink.Notification) error { return errors.New("connection refused") })
	attempted := 0
	for i := 0; i < 5; i++ {
		attempted += e.run()
		e.clock.Add(time.Second)
	}
	if attempted != 3 {
		t.Errorf("%d attempts, want 3: the breaker opens after 3 failures and lets nothing through", attempted)
	}
	check(t, "circuit open", 1.0, e.counter("alertbridge_sink_circuit_open", "sink", "tool"))
	check(t, "opened once", 1.0, e.counter("alertbridge_sink_circuit_transitions_total", "to", "open"))

	e.tool.setFail(nil)
	deadline := time.Now().Add(10 * time.Second)
	for e.counter("alertbridge_sink_circuit_open", "sink", "tool") == 1 && time.Now().Before(deadline) {
		e.run() // the breaker's timeout runs on the wall clock
		time.Sleep(10 * time.Millisecond)
	}
	for e.run() > 0 {
	}
	check(t, "closed again", 0.0, e.counter("alertbridge_sink_circuit_open", "sink", "tool"))
	check(t, "half-open once", 1.0, e.counter("alertbridge_sink_circuit_transitions_total", "to", "half-open"))
	check(t, "closed once", 1.0, e.counter("alertbridge_sink_circuit_transitions_total", "to", "closed"))
	if got := len(e.tool.got()); got != 5 {
		t.Errorf("%d delivered after recovery, want 5", got)
	}
}

// TestStopFinishesTheRound: Stop lets the attempts in flight finish and
// records them; it starts nothing new.
func TestStopFinishesTheRound(t *testing.T) {
	e := newEnv(t, sink.Config{})
	e.open("a")
	entered, block := make(chan struct{}), make(chan struct{})
	e.tool.mu.Lock()
	e.tool.block, e.tool.entered = block, entered
	e.tool.mu.Unlock()
	e.d.Start()
	<-entered // the attempt is in flight
	stopped := make(chan error, 1)
	go func() { stopped <- e.d.Stop(context.Background()) }()
	e.open("b") // written while stopping: left for after the restart
	close(block)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	check(t, "the attempt in flight was delivered", []string{"#1 opened [opened]"}, e.tool.got())
	rows := e.rows(incident.OutboxPending)
	if len(rows) != 1 || rows[0].IncidentID != 2 || rows[0].Attempts != 0 {
		t.Errorf("rows after Stop: %+v, want b's untouched", rows)
	}
}

// TestStopAbandonsAttemptsUnrecorded: an attempt still hanging when Stop's
// time is up is cut off and leaves its row as it was, to be delivered after
// a restart.
func TestStopAbandonsAttemptsUnrecorded(t *testing.T) {
	e := newEnv(t, sink.Config{})
	e.open("a")
	entered := make(chan struct{})
	e.tool.mu.Lock()
	e.tool.block, e.tool.entered = make(chan struct{}), entered
	e.tool.mu.Unlock()
	e.d.Start()
	<-entered // the attempt is in flight, and the tool never answers
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.d.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want the deadline", err)
	}
	rows := e.rows(incident.OutboxPending)
	if len(rows) != 1 || rows[0].Attempts != 0 || rows[0].LastError != "" {
		t.Errorf("row after Stop: %+v, want untouched", rows)
	}
	check(t, "no failure counted", 0.0, e.counter("alertbridge_sink_deliveries_total", "outcome", "failed"))
}

// TestOneSinkNeverHoldsUpAnother: while one tool hangs, the other sink's
// loop delivers.
func TestOneSinkNeverHoldsUpAnother(t *testing.T) {
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slow, fast := newTool(), newTool()
	entered, block := make(chan struct{}), make(chan struct{})
	slow.block, slow.entered = block, entered
	d, err := sink.New(sink.Options{Store: st, Poll: 10 * time.Millisecond, Sinks: []sink.Config{
		{Name: "slow", Sink: slow}, {Name: "fast", Sink: fast}}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, clock: &clock{now: time.Now()}}
	id := e.open("a") // a row for "tool": not these sinks
	e.update(func(ctx context.Context, tx incident.Tx) error {
		for _, s := range []string{"slow", "fast"} {
			r := incident.OutboxRow{Sink: s, IncidentID: id, Kind: incident.NotifyOpened, State: incident.OutboxPending,
				CreatedAt: time.Now(), NextAttemptAt: time.Now()}
			if err := tx.AddOutbox(ctx, &r); err != nil {
				return err
			}
		}
		return nil
	})
	d.Start()
	<-entered // slow hangs in its delivery
	deadline := time.Now().Add(10 * time.Second)
	for len(fast.got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(fast.got()) != 1 {
		t.Error("the fast sink delivered nothing while the slow one hung")
	}
	close(block)
	if err := d.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestCollector: the outbox figures by sink, at scrape time.
func TestCollector(t *testing.T) {
	e := newEnv(t, sink.Config{})
	a := e.open("a")
	e.clock.Add(90 * time.Second)
	e.change(a, incident.TimelineComment)
	e.update(func(ctx context.Context, tx incident.Tx) error {
		r := incident.OutboxRow{Sink: "tool", IncidentID: a, Kind: incident.NotifyResolved, State: incident.OutboxHeld,
			CreatedAt: t0.Add(-time.Hour), NextAttemptAt: t0}
		d := incident.OutboxRow{Sink: "gone", IncidentID: a, Kind: incident.NotifyOpened, State: incident.OutboxDead,
			CreatedAt: t0, NextAttemptAt: t0}
		if err := tx.AddOutbox(ctx, &r); err != nil {
			return err
		}
		return tx.AddOutbox(ctx, &d)
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(sink.NewCollector(e.st.OutboxStats, []string{"tool", "quiet"}, e.clock.Now, nil))
	e.reg = reg
	for _, c := range []struct {
		metric, sink string
		want         float64
	}{
		{"alertbridge_outbox_pending", "tool", 2},
		{"alertbridge_outbox_held", "tool", 1},
		{"alertbridge_outbox_oldest_age_seconds", "tool", 90}, // held rows wait for their hold, not the sink
		{"alertbridge_outbox_pending", "quiet", 0},
		{"alertbridge_outbox_oldest_age_seconds", "quiet", 0},
		{"alertbridge_outbox_dead_letters", "gone", 1}, // a sink no longer configured, with rows left
	} {
		if got := e.counter(c.metric, "sink", c.sink); got != c.want {
			t.Errorf("%s{sink=%q} = %v, want %v", c.metric, c.sink, got, c.want)
		}
	}
	if got := e.counter("alertbridge_outbox_stats_up"); got != 1 {
		t.Errorf("stats_up = %v", got)
	}
}

// TestTicketKeptWhenALaterStepFails: a record made before a later step
// failed is kept, and the retry is given it.
func TestTicketKeptWhenALaterStepFails(t *testing.T) {
	e := newEnv(t, sink.Config{})
	a := e.open("a")
	var retried *incident.Ticket
	calls := 0
	e.d, _ = sink.New(sink.Options{Store: e.st, Now: e.clock.Now, Sinks: []sink.Config{{Name: "tool",
		Sink: deliverFunc(func(_ context.Context, n sink.Notification) (*incident.Ticket, error) {
			calls++
			if calls == 1 {
				return &incident.Ticket{ExternalID: "OPS-1"}, errors.New("comment: 503")
			}
			retried = n.Ticket
			return nil, nil
		})}}})
	e.run()
	e.clock.Add(time.Minute)
	e.run()
	if retried == nil || retried.ExternalID != "OPS-1" || retried.IncidentID != a {
		t.Fatalf("the retry was given %+v, want the record made on the first attempt", retried)
	}
}

type deliverFunc func(context.Context, sink.Notification) (*incident.Ticket, error)

func (f deliverFunc) Deliver(ctx context.Context, n sink.Notification) (*incident.Ticket, error) {
	return f(ctx, n)
}
