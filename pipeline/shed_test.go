package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// These tests drive admission through a real pipeline whose writer they
// hold (heldStore) and whose wall clock they set, so that what happens to
// each request follows from the steps alone, never from timing.

// heldStore holds each transaction until the test lets it go.
type heldStore struct {
	*sqlite.Store
	entered chan struct{}
	release chan struct{}
	open    sync.Once
	// during, if set, runs inside each transaction once it is let go.
	during func()
}

// letAll lets every transaction through from now on.
func (h *heldStore) letAll() { h.open.Do(func() { close(h.release) }) }

func (h *heldStore) Update(ctx context.Context, fn func(incident.Tx) error) error {
	select {
	case h.entered <- struct{}{}:
	default: // nobody is counting any more
	}
	<-h.release
	return h.Store.Update(ctx, func(tx incident.Tx) error {
		if h.during != nil {
			h.during()
		}
		return fn(tx)
	})
}

// wallClock is a wall clock the tests set.
type wallClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *wallClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *wallClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type shedEnv struct {
	t     *testing.T
	st    *sqlite.Store
	held  *heldStore
	p     *Pipeline
	clock *wallClock
	reg   *prometheus.Registry
}

// newShedEnv starts a pipeline over a held store. Unless o sets a budget,
// it is an hour of the test's clock, so no real timer runs out during a
// test; with one, the clock is the real one.
func newShedEnv(t *testing.T, o Options) *shedEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	e := &shedEnv{t: t, st: st, clock: &wallClock{now: at0}, reg: prometheus.NewRegistry(),
		held: &heldStore{Store: st, entered: make(chan struct{}, 100), release: make(chan struct{})}}
	o.Store, o.Registerer = e.held, e.reg
	fake := o.MaxWait == 0
	if fake {
		o.MaxWait = time.Hour
	}
	if e.p, err = New(o); err != nil {
		t.Fatal(err)
	}
	if fake {
		e.p.clock = e.clock.Now
	}
	e.p.Start()
	t.Cleanup(func() {
		e.held.letAll()
		if err := e.p.Stop(context.Background()); err != nil {
			t.Error(err)
		}
		st.Close()
	})
	return e
}

// event is a firing alert of its own group.
func event(name string) incident.Event {
	labels := map[string]string{"alertname": name}
	return incident.Event{Source: "test", Fingerprint: incident.LabelFingerprint(labels), Status: incident.StatusFiring,
		Labels: labels, StartsAt: at0, GroupLabels: labels}
}

func events(prefix string, n int) []incident.Event {
	evs := make([]incident.Event, n)
	for i := range evs {
		evs[i] = event(fmt.Sprintf("%s-%d", prefix, i))
	}
	return evs
}

// submit submits in the background; the result comes on the channel.
func (e *shedEnv) submit(evs []incident.Event) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- e.p.Submit(context.Background(), evs) }()
	return ch
}

// hold submits a request and waits until the writer holds its transaction.
func (e *shedEnv) hold(evs []incident.Event) <-chan error {
	e.t.Helper()
	ch := e.submit(evs)
	<-e.held.entered
	return ch
}

// queue submits a request and waits until it is queued behind the held one.
func (e *shedEnv) queue(evs []incident.Event) <-chan error {
	e.t.Helper()
	before, _ := e.p.adm.queued()
	ch := e.submit(evs)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if n, _ := e.p.adm.queued(); n == before+len(evs) {
			return ch
		}
		if time.Now().After(deadline) {
			e.t.Fatal("the request was never queued")
		}
	}
}

// letGo releases n held transactions.
func (e *shedEnv) letGo(n int) {
	for range n {
		e.held.release <- struct{}{}
	}
}

func (e *shedEnv) shed(reason string) float64 {
	return testutil.ToFloat64(e.p.metrics.overloaded.WithLabelValues(reason))
}

func (e *shedEnv) alerts() int {
	e.t.Helper()
	n := 0
	list, err := e.st.Incidents(context.Background(), incident.IncidentFilter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, inc := range list {
		n += inc.AlertCount
	}
	return n
}

func wantOverloaded(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrOverloaded) || !errors.Is(err, incident.ErrUnavailable) {
		t.Errorf("%s: err = %v, want ErrOverloaded", what, err)
	}
}

// TestExpiredWhenPickedUp: a request the writer reaches after its wait ran
// out is answered ErrOverloaded, and nothing of it is committed.
func TestExpiredWhenPickedUp(t *testing.T) {
	e := newShedEnv(t, Options{})
	first := e.hold(events("first", 1))
	late := e.queue(events("late", 2))
	e.clock.Add(time.Hour) // past the half hour it may wait
	e.letGo(1)
	if err := <-first; err != nil {
		t.Fatalf("held request: %v", err)
	}
	wantOverloaded(t, "late request", <-late)
	if got := e.shed(shedExpired); got != 1 {
		t.Errorf("shed{expired} = %v, want 1", got)
	}
	if got := e.alerts(); got != 1 {
		t.Errorf("%d alerts committed, want the first request's 1", got)
	}
	if n, _ := e.p.adm.queued(); n != 0 {
		t.Errorf("%d alerts still counted as queued", n)
	}
}

// TestExpiredWhileWaiting: a request still waiting when its wait runs out
// is answered then, while the writer is stuck in a transaction, and is not
// committed afterwards.
func TestExpiredWhileWaiting(t *testing.T) {
	e := newShedEnv(t, Options{MaxWait: 40 * time.Millisecond})
	first := e.hold(events("first", 1))
	wantOverloaded(t, "waiting request", <-e.submit(events("late", 1)))
	if got := e.shed(shedExpired); got != 1 {
		t.Errorf("shed{expired} = %v, want 1", got)
	}
	e.letGo(1)
	if err := <-first; err != nil {
		t.Fatalf("held request: %v", err)
	}
	if err := e.p.Stop(context.Background()); err != nil { // drains the queue
		t.Fatal(err)
	}
	if got := e.alerts(); got != 1 {
		t.Errorf("%d alerts committed, want the held request's 1", got)
	}
}

// TestWaitBudgetShedsAtOnce: with the writer measured, a request that would
// wait longer than allowed is refused before it queues.
func TestWaitBudgetShedsAtOnce(t *testing.T) {
	e := newShedEnv(t, Options{})
	// A writer measured at 0.1 alerts/s: a wait of half the hour's
	// budget is the time 180 alerts take.
	e.p.adm.observe(1, 10*time.Second)
	first := e.hold(events("first", 1))
	a := e.queue(events("a", 150)) // nothing ahead of it
	b := e.queue(events("b", 40))  // 150 ahead: 1,500s
	wantOverloaded(t, "190 alerts ahead", e.p.Submit(context.Background(), events("c", 1)))
	if got := e.shed(shedWaitBudget); got != 1 {
		t.Errorf("shed{wait_budget} = %v, want 1", got)
	}
	// An eighth of the budget's worth is 45 alerts: the writer commits a
	// and b apart, a whole although it is larger.
	e.letGo(3)
	for what, ch := range map[string]<-chan error{"first": first, "a": a, "b": b} {
		if err := <-ch; err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	if got := e.alerts(); got != 191 {
		t.Errorf("%d alerts committed, want 191", got)
	}
}

// TestCommandsPassWhileShedding fills both bounds with ingest requests:
// they are refused, but a manual command and a sweep still go through.
func TestCommandsPassWhileShedding(t *testing.T) {
	e := newShedEnv(t, Options{QueueSize: 2, MaxQueuedAlerts: 10})
	first := e.hold(events("first", 1))
	a := e.queue(events("a", 6))
	wantOverloaded(t, "over the alert bound", e.p.Submit(context.Background(), events("b", 5)))
	b := e.queue(events("b", 4))
	wantOverloaded(t, "over the request bound", e.p.Submit(context.Background(), events("c", 1)))
	got := map[string]float64{}
	for _, r := range shedReasons {
		got[r] = e.shed(r)
	}
	if diff := cmp.Diff(map[string]float64{shedQueueFull: 1, shedWorkFull: 1, shedWaitBudget: 0, shedExpired: 0}, got); diff != "" {
		t.Errorf("shed (-want +got):\n%s", diff)
	}

	cmd := make(chan error, 1)
	go func() {
		_, err := e.p.Execute(context.Background(), incident.Command{IncidentID: 1, Action: incident.ActionComment,
			Actor: "alice", Message: "looking"})
		cmd <- err
	}()
	sweep := make(chan error, 1)
	go func() { sweep <- e.p.Sweep(context.Background()) }()
	e.held.letAll()
	for what, ch := range map[string]<-chan error{"first": first, "a": a, "b": b, "command": cmd, "sweep": sweep} {
		if err := <-ch; err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
}

// TestSlowTransactionStopsTakingRequests slows the writer down within its
// transactions, each taking 11 minutes of the hour's budget: past an
// eighth of it (7.5 minutes), a transaction applies no further request and
// commits, and the rest wait again, to expire when their half hour is up.
func TestSlowTransactionStopsTakingRequests(t *testing.T) {
	e := newShedEnv(t, Options{})
	e.held.during = func() { e.clock.Add(11 * time.Minute) }
	first := e.hold(events("first", 1))
	var rest []<-chan error
	for _, name := range []string{"a", "b", "c"} {
		rest = append(rest, e.queue(events(name, 1)))
	}
	e.held.letAll()
	if err := <-first; err != nil { // at 11 minutes
		t.Fatal(err)
	}
	// At 11 minutes a, b and c form a group; the transaction applies a and
	// is 11 minutes old when it gets to b: it commits a at 22. b goes
	// first in the next, which commits it at 33; c, put back again, is
	// then past its half hour.
	var got []string
	for _, ch := range rest {
		switch err := <-ch; {
		case err == nil:
			got = append(got, "committed")
		case errors.Is(err, ErrOverloaded):
			got = append(got, "expired")
		default:
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"committed", "committed", "expired"}, got); diff != "" {
		t.Errorf("outcomes of a, b, c (-want +got):\n%s", diff)
	}
	if got := e.alerts(); got != 3 {
		t.Errorf("%d alerts committed, want 3", got)
	}
	if n, _ := e.p.adm.queued(); n != 0 {
		t.Errorf("%d alerts still counted as queued", n)
	}
}
