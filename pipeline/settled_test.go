package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// gatedStore holds each transaction, once the writer has applied its
// requests and before it commits, while gate is set; the fingerprint
// "poison" fails the transaction that puts its state (poisonTx).
type gatedStore struct {
	*sqlite.Store
	gate    atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func (g *gatedStore) Update(ctx context.Context, fn func(incident.Tx) error) error {
	return g.Store.Update(ctx, func(tx incident.Tx) error {
		err := fn(poisonTx{tx})
		if g.gate.Load() {
			g.held <- struct{}{}
			<-g.release
		}
		return err
	})
}

// settledEnv is a writer over a gatedStore with pure repeats deferred
// until Stop.
type settledEnv struct {
	t   *testing.T
	st  *sqlite.Store
	gs  *gatedStore
	p   *pipeline.Pipeline
	reg *prometheus.Registry
	// blockers is how many transactions held the writer (group).
	blockers int
}

func newSettledEnv(t *testing.T, opts ...func(*pipeline.Options)) *settledEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &settledEnv{t: t, st: st, gs: &gatedStore{Store: st, held: make(chan struct{}), release: make(chan struct{})},
		reg: prometheus.NewRegistry()}
	o := pipeline.Options{Store: e.gs, Registerer: e.reg, MaxWait: time.Minute, TouchFlushInterval: time.Hour}
	for _, f := range opts {
		f(&o)
	}
	e.p, err = pipeline.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.p.Start()
	return e
}

// submit sends evs as one request in the background; its answer comes on
// the channel returned.
func (e *settledEnv) submit(evs ...incident.Event) <-chan error {
	return e.ingest(incident.Submission{Events: evs})
}

func (e *settledEnv) ingest(s incident.Submission) <-chan error {
	out := make(chan error, 1)
	go func() { out <- e.p.Ingest(context.Background(), s) }()
	return out
}

// waitQueued waits until n requests wait for the writer.
func (e *settledEnv) waitQueued(n float64) {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); metricValue(e.t, e.reg, "alertbridge_pipeline_queue_length") < n; {
		if time.Now().After(deadline) {
			e.t.Fatalf("%v requests never queued", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// group makes the writer apply reqs (each a request's events) in one
// transaction and hold it before its commit: a first request, held
// alone, keeps the writer busy while they queue. It returns their
// answers' channels.
func (e *settledEnv) group(reqs ...[]incident.Event) []<-chan error {
	e.t.Helper()
	subs := make([]incident.Submission, len(reqs))
	for i, evs := range reqs {
		subs[i] = incident.Submission{Events: evs}
	}
	return e.groupOf(subs...)
}

func (e *settledEnv) groupOf(reqs ...incident.Submission) []<-chan error {
	e.t.Helper()
	e.gs.gate.Store(true)
	e.blockers++ // a new alert each time: a repeat would be settled
	blocker := e.submit(firing(fmt.Sprint("blocker-", e.blockers), t0))
	<-e.gs.held
	answers := make([]<-chan error, len(reqs))
	for i, s := range reqs {
		answers[i] = e.ingest(s)
		e.waitQueued(float64(i + 1))
	}
	e.gs.release <- struct{}{} // the blocker commits; the group is applied
	if err := <-blocker; err != nil {
		e.t.Fatalf("blocker: %v", err)
	}
	<-e.gs.held // the group's transaction, applied, not committed
	return answers
}

// commit lets the held transaction end.
func (e *settledEnv) commit() {
	e.gs.gate.Store(false)
	e.gs.release <- struct{}{}
}

func answered(ch <-chan error, within time.Duration) (error, bool) {
	select {
	case err := <-ch:
		return err, true
	case <-time.After(within):
		return nil, false
	}
}

// count is how many notifications carried instance's alert, as its
// record says.
func (e *settledEnv) count(instance string) int64 {
	e.t.Helper()
	fp := firing(instance, t0).Fingerprint
	ctx := context.Background()
	list, err := e.st.Incidents(ctx, incident.IncidentFilter{Limit: 10})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, inc := range list {
		alerts, err := e.st.Alerts(ctx, inc.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, a := range alerts {
			if a.Fingerprint == fp {
				return a.Count
			}
		}
	}
	e.t.Fatalf("no alert of %s", instance)
	return 0
}

// TestSettledRepeatsAnsweredBeforeCommit: a request of deferred repeats of
// committed states is answered as soon as the writer has applied it, not
// after the commit of the requests it shares a transaction with; one
// repeating a state that very transaction recorded waits for its commit.
func TestSettledRepeatsAnsweredBeforeCommit(t *testing.T) {
	e := newSettledEnv(t)
	if err := e.p.Submit(context.Background(), []incident.Event{firing("web-1", t0)}); err != nil {
		t.Fatal(err)
	}

	// A new alert, then a repeat of the committed web-1.
	answers := e.group([]incident.Event{firing("web-2", t0)}, []incident.Event{firing("web-1", t0)})
	if err, ok := answered(answers[1], 10*time.Second); !ok || err != nil {
		t.Fatalf("repeat of a committed state: answered %v, err %v; want nil before the commit", ok, err)
	}
	if _, ok := answered(answers[0], 50*time.Millisecond); ok {
		t.Fatal("the new alert was answered before its transaction committed")
	}
	e.commit()
	if err := <-answers[0]; err != nil {
		t.Fatalf("new alert: %v", err)
	}

	// A new alert, and in the same transaction a repeat of it.
	answers = e.group([]incident.Event{firing("web-3", t0)}, []incident.Event{firing("web-3", t0)})
	for i, a := range answers {
		if _, ok := answered(a, 50*time.Millisecond); ok {
			t.Fatalf("request %d was answered before its transaction committed", i)
		}
	}
	e.commit()
	for i, a := range answers {
		if err := <-a; err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}

	if got := metricValue(t, e.reg, "alertbridge_pipeline_repeats_deferred_total"); got != 2 {
		t.Errorf("repeats_deferred_total = %v, want 2", got)
	}
	if err := e.p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for fp, want := range map[string]int64{"web-1": 2, "web-2": 1, "web-3": 2} {
		if got := e.count(fp); got != want {
			t.Errorf("%s count = %d, want %d", fp, got, want)
		}
	}
}

// TestSettledRepeatKeptWhenItsTransactionFails: a repeat answered before
// its transaction committed is kept when the transaction fails, and not
// applied again when the writer retries the other requests alone.
func TestSettledRepeatKeptWhenItsTransactionFails(t *testing.T) {
	e := newSettledEnv(t)
	if err := e.p.Submit(context.Background(), []incident.Event{firing("web-1", t0)}); err != nil {
		t.Fatal(err)
	}
	bad := firing("web-9", t0)
	bad.Fingerprint = "poison"
	// The repeat first: the failure ends the transaction's requests.
	answers := e.group([]incident.Event{firing("web-1", t0)}, []incident.Event{bad})
	if err, ok := answered(answers[0], 10*time.Second); !ok || err != nil {
		t.Fatalf("repeat: answered %v, err %v; want nil before the commit", ok, err)
	}
	e.commit()
	if err := <-answers[1]; err == nil {
		t.Fatal("the poisoned request succeeded")
	}
	if err := e.p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.count("web-1"); got != 2 {
		t.Errorf("web-1 count = %d, want 2: the first notification and the settled repeat, once", got)
	}
}

// TestRepeatsThatWriteWaitForTheCommit: repeats of committed states wait
// for their transaction's commit when their request writes something of
// its own: a signature's nonce, a change, a truncated group's note, a
// source's traffic heartbeat.
func TestRepeatsThatWriteWaitForTheCommit(t *testing.T) {
	truncated := firing("web-1", t0)
	truncated.Group = &incident.GroupNote{Status: incident.StatusFiring, Truncated: 3, AsOf: t0}
	for _, c := range []struct {
		name string
		opts func(*pipeline.Options)
		req  incident.Submission
	}{
		{"nonce", nil, incident.Submission{Events: []incident.Event{firing("web-1", t0)},
			Nonce: &incident.Nonce{Source: "alertmanager", Value: "n-1", Expires: time.Now().Add(time.Hour)}}},
		{"change", nil, incident.Submission{Events: []incident.Event{firing("web-1", t0)},
			Changes: []incident.Change{change("deploy-1", "api-server", "rollout", 0)}}},
		{"truncated group", nil, incident.Submission{Events: []incident.Event{truncated}}},
		{"traffic heartbeat", func(o *pipeline.Options) { o.ExpectTraffic = map[string]time.Duration{"alertmanager": time.Hour} },
			incident.Submission{Events: []incident.Event{firing("web-1", t0)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts []func(*pipeline.Options)
			if c.opts != nil {
				opts = append(opts, c.opts)
			}
			e := newSettledEnv(t, opts...)
			if err := e.p.Submit(context.Background(), []incident.Event{firing("web-1", t0)}); err != nil {
				t.Fatal(err)
			}
			answers := e.groupOf(c.req)
			if _, ok := answered(answers[0], 50*time.Millisecond); ok {
				t.Fatal("answered before its transaction committed")
			}
			e.commit()
			if err := <-answers[0]; err != nil {
				t.Fatal(err)
			}
			if err := e.p.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// rerunStore runs each transaction's work twice, the first time rolled
// back, as the PostgreSQL store does after a serialization failure; with
// fail set, the second run fails too.
type rerunStore struct {
	*sqlite.Store
	fail atomic.Bool
}

var errRerun = errors.New("rerun")

func (s *rerunStore) Update(ctx context.Context, fn func(incident.Tx) error) error {
	again := func(tx incident.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRerun
	}
	err := s.Store.Update(ctx, again)
	if !errors.Is(err, errRerun) {
		return err
	}
	if s.fail.Load() {
		return s.Store.Update(ctx, again)
	}
	return s.Store.Update(ctx, fn)
}

// TestSettledRepeatOnceWhenTheStoreRunsItAgain: a repeat answered in a
// first run of its transaction is answered once, and counted once, when
// the store runs the transaction again, even if that run fails.
func TestSettledRepeatOnceWhenTheStoreRunsItAgain(t *testing.T) {
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs := &rerunStore{Store: st}
	p, err := pipeline.New(pipeline.Options{Store: rs, MaxWait: time.Minute, TouchFlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	ctx := context.Background()
	if err := p.Submit(ctx, []incident.Event{firing("web-1", t0)}); err != nil {
		t.Fatal(err)
	}
	rs.fail.Store(true)
	if err := p.Submit(ctx, []incident.Event{firing("web-1", t0)}); err != nil {
		t.Fatalf("repeat: %v; want its answer from the first run", err)
	}
	rs.fail.Store(false)
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	e := &settledEnv{t: t, st: st}
	if got := e.count("web-1"); got != 2 {
		t.Errorf("web-1 count = %d, want 2: the first notification and the repeat, once", got)
	}
}
