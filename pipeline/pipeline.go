package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/correlate"
	"github.com/alertbridge/alertbridge/dedupe"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// Errors Submit and Execute return besides the store's.
var (
	// ErrOverloaded means the writer cannot take the request on in time
	// (the queue is full, or the wait would exceed the budget) and nothing
	// of it was committed; the caller should retry later.
	ErrOverloaded = fmt.Errorf("pipeline overloaded: %w", incident.ErrUnavailable)
	// ErrStopped means the pipeline is shutting down.
	ErrStopped = fmt.Errorf("pipeline stopped: %w", incident.ErrUnavailable)
)

// DefaultReopenWithin is how long after a resolve a refire reopens the
// incident when no rule says otherwise.
const DefaultReopenWithin = 30 * time.Minute

// nonceSweepLimit bounds the expired nonces one Sweep forgets, so that a
// backlog of them never makes one transaction long.
const nonceSweepLimit = 10_000

// Options configures a Pipeline.
type Options struct {
	Store incident.Store
	// Rules holds the current rule set; nil or an empty pointer means none.
	// Reload swaps the pointer; each commit group reads it once.
	Rules      *atomic.Pointer[rules.Set]
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	// DedupeCacheSize and CorrelateCacheSize bound the LRUs (default 100000 and 50000).
	DedupeCacheSize    int
	CorrelateCacheSize int
	// QueueSize bounds waiting ingest requests (default 1024); beyond it
	// Ingest returns ErrOverloaded at once. Commands and sweeps have a few
	// slots of their own besides.
	QueueSize int
	// MaxQueuedAlerts bounds the alerts (events and changes) of the ingest
	// requests waiting (default DefaultMaxQueuedAlerts); beyond it Ingest
	// returns ErrOverloaded at once, unless nothing else waits.
	MaxQueuedAlerts int
	// MaxWait is the latency budget of an ingest request (default
	// DefaultMaxWait): one that would wait longer, by the writer's measured
	// speed, gets ErrOverloaded at once, and one still waiting when its
	// wait runs out gets it then (see admission).
	MaxWait time.Duration
	// MaxGroup bounds requests per transaction (default 256).
	MaxGroup int
	// CommitTimeout bounds one transaction (default 30s).
	CommitTimeout time.Duration
	// ChangeLookback is how long before an incident's first alert a change
	// may have started and still be linked to it (default 2h).
	ChangeLookback time.Duration
	// Route says which sinks hear of each change: every change a
	// transaction makes writes its outbox rows in it (invariant 5). Nil:
	// no sinks, no rows.
	Route incident.Route
	// Outbox bounds the outbox.
	Outbox incident.EnqueueOptions
	// Enqueued, when set, is called after a commit that wrote outbox
	// rows: the dispatcher's wake-up.
	Enqueued func()
	// TouchFlushInterval, when positive, defers pure repeats
	// (incident.Deferrable): they are acknowledged without a write, and the
	// alerts' last-seen times and counts they add are written in the first
	// transaction at least this long after the last such write (a Sweep
	// makes one when nothing else does), when MaxTouches alerts wait, and
	// at Stop. Zero writes every repeat in the transaction it is
	// acknowledged in.
	TouchFlushInterval time.Duration
	// MaxTouches bounds the alerts whose touches wait (default 100000).
	MaxTouches int
	// CloseAfter is how long after it resolved Sweep closes an incident
	// (see incident.CloseResolved); 0 closes none.
	CloseAfter time.Duration
	// ExpectTraffic is each source's expect_traffic_within: a source
	// silent for that long (no request at all, repeats included) opens an
	// incident. Sources absent or at 0 expect nothing.
	ExpectTraffic map[string]time.Duration
	// ResolveTimeout is each source's resolve_timeout: its firing alerts
	// not repeated for that long resolve (a rule's own resolve_timeout
	// replaces it). Sources absent or at 0 never.
	ResolveTimeout map[string]time.Duration
	// Started is when heartbeats start being judged (default: Now at New):
	// a heartbeat is never missing before a full interval plus grace has
	// passed since, so that a restart raises no false alarm.
	Started time.Time
}

// Pipeline applies events and commands through one writer.
type Pipeline struct {
	o       Options
	log     *slog.Logger
	dedupe  *dedupe.Deduper
	corr    *correlate.Correlator
	metrics *metrics

	mu      sync.RWMutex // guards stopped and sending on queue
	stopped bool
	queue   chan *request
	done    chan struct{}

	adm *admission
	// clock is the wall clock of waits and commit times. It is not o.Now,
	// which a replay runs on simulated time.
	clock func() time.Time
	// storeErr holds the error of the last commit that failed in the
	// store, or nil.
	storeErr atomic.Pointer[error]

	// touches are the committed deferred repeats not yet written, by
	// alert; staged those of the transaction under way. The writer alone
	// uses them.
	touches   map[touchKey]incident.Touch
	staged    []incident.Touch
	lastFlush time.Time
	// since is Options.Started: see incident.Heartbeat.Deadline.
	since time.Time
}

type touchKey struct{ source, fingerprint string }

type request struct {
	ctx     context.Context
	events  []incident.Event
	cmd     *incident.Command
	changes []incident.Change
	sweep   bool
	// beatOnly: a sweep that only writes the heartbeat (a replica that
	// does not hold the sweep's lease).
	beatOnly bool
	// sweptFull: the sweep carried out a full incident.SweepBatch of due
	// incidents, so more may be due.
	sweptFull bool
	// close is a batch of closes (incident.CloseResolved); closedFull says
	// it closed a full incident.CloseBatch, so more may be closable.
	close, closedFull bool
	result            incident.Incident
	err               chan error

	// problemCmd is a manual problem command; problem its result.
	problemCmd *incident.ProblemCommand
	problem    incident.Problem
	// report is an incident reported by hand; result the incident opened.
	report *incident.Report
	// retain is a batch of retention; deleted what it deleted.
	retain  *retainBatch
	deleted incident.HistoryDeleted

	// nonce is used up in the transaction of events and changes.
	nonce *incident.Nonce
	// work is the number of alerts of an ingest request, at least 1; 0 for
	// commands and sweeps, which admission lets through.
	work int
	// expireAt is when an ingest request's wait runs out.
	expireAt time.Time
	// state says whether the request waits, the writer took it, or its
	// caller gave up: whoever moves it from waiting decides its fate.
	state atomic.Int32
	// answered: the writer answered the request before its transaction
	// committed (settled), and owes it no other answer; early are its
	// deferred repeats, kept whether that transaction commits or not.
	answered bool
	early    []incident.Touch
}

// The states of a request.
const (
	waiting int32 = iota
	taken
	abandoned
)

// New returns a pipeline; call Start to run its writer.
func New(o Options) (*Pipeline, error) {
	if o.Store == nil {
		return nil, errors.New("pipeline: no store")
	}
	if o.Rules == nil {
		o.Rules = new(atomic.Pointer[rules.Set])
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.DedupeCacheSize = cmpOr(o.DedupeCacheSize, 100_000)
	o.CorrelateCacheSize = cmpOr(o.CorrelateCacheSize, 50_000)
	o.QueueSize = cmpOr(o.QueueSize, 1024)
	o.MaxGroup = cmpOr(o.MaxGroup, 256)
	o.MaxQueuedAlerts = cmpOr(o.MaxQueuedAlerts, DefaultMaxQueuedAlerts)
	o.MaxTouches = cmpOr(o.MaxTouches, 100_000)
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = 30 * time.Second
	}
	if o.ChangeLookback <= 0 {
		o.ChangeLookback = incident.DefaultChangeLookback
	}
	d, err := dedupe.New(o.DedupeCacheSize, o.Registerer)
	if err != nil {
		return nil, err
	}
	c, err := correlate.New(o.CorrelateCacheSize, o.Registerer)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{
		o: o, log: o.Logger.With("component", "pipeline"), dedupe: d, corr: c,
		queue: make(chan *request, o.QueueSize+reservedSlots), done: make(chan struct{}),
		adm: newAdmission(o.MaxWait, o.QueueSize, o.MaxQueuedAlerts), clock: time.Now, since: o.Started,
		touches: map[touchKey]incident.Touch{},
	}
	if p.since.IsZero() {
		p.since = o.Now()
	}
	p.metrics = newMetrics(o.Registerer, func() float64 { return float64(len(p.queue)) }, p.adm)
	return p, nil
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Start runs the writer goroutine until Stop.
func (p *Pipeline) Start() { go p.run() }

// Stop refuses new requests, lets the writer finish every queued one, and
// waits for it up to ctx's deadline.
func (p *Pipeline) Stop(ctx context.Context) error {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		close(p.queue)
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain pipeline: %w", ctx.Err())
	}
}

// Ingest commits a submission, its events, its changes and its nonce, in
// one transaction, and returns once it is committed. Any error means
// nothing of it was committed, so the sender must retry; that includes
// incident.ErrReplay for a nonce used before, which a retry will not cure.
// It returns ErrOverloaded when the writer cannot take the submission on
// within MaxWait, ErrStopped once stopping, and the store's errors.
func (p *Pipeline) Ingest(ctx context.Context, s incident.Submission) error {
	if s.Len() == 0 && s.Nonce == nil {
		return nil
	}
	return p.do(ctx, &request{ctx: ctx, events: s.Events, changes: s.Changes, nonce: s.Nonce,
		work: max(s.Len(), 1), err: make(chan error, 1)})
}

// Submit applies a batch of events, as Ingest does.
func (p *Pipeline) Submit(ctx context.Context, events []incident.Event) error {
	return p.Ingest(ctx, incident.Submission{Events: events})
}

// Execute carries out a manual command and returns the incident after it. It
// returns incident.ErrNotFound, incident.ErrConflict and incident.ErrInvalid
// from the domain.
func (p *Pipeline) Execute(ctx context.Context, cmd incident.Command) (incident.Incident, error) {
	r := &request{ctx: ctx, cmd: &cmd, err: make(chan error, 1)}
	return r.outcome(ctx, p.do(ctx, r))
}

// ExecuteOnce carries out a command, as Execute does, and uses up nonce in
// the same transaction: a replayed callback (the same signed request sent
// again) fails with incident.ErrReplay and changes nothing. A nil nonce
// makes it Execute.
func (p *Pipeline) ExecuteOnce(ctx context.Context, cmd incident.Command, nonce *incident.Nonce) (incident.Incident, error) {
	r := &request{ctx: ctx, cmd: &cmd, nonce: nonce, err: make(chan error, 1)}
	return r.outcome(ctx, p.do(ctx, r))
}

// outcome is a command's result and error from do. When the caller's
// context ended while the writer had the command, do answers without
// waiting for it, and the writer may still be writing r.result: it is not
// read then (as Retain does not read r.deleted).
func (r *request) outcome(ctx context.Context, err error) (incident.Incident, error) {
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return incident.Incident{}, err
	}
	return r.result, err
}

// SubmitChanges records change events, as Ingest does; a redelivered
// change (same source and external ID) updates its record.
func (p *Pipeline) SubmitChanges(ctx context.Context, changes []incident.Change) error {
	return p.Ingest(ctx, incident.Submission{Changes: changes})
}

// Sweep carries out the scheduled resolves (resolve_after) that are due,
// resolves and closes the problems their rules say are due
// (resolve_when_quiet, close_after), forgets expired nonces, and writes the store's heartbeat, so that a store
// that cannot commit is noticed (StoreErr) while no request comes in. The
// daemon calls it on a ticker; a replay calls it as its clock advances.
//
// The incidents due are carried out incident.SweepBatch per transaction,
// so that ingest waits behind one batch at most, not behind thousands come
// due at once; up to maxSweepBatches of them per call, the rest at the
// next. The incidents to close follow, incident.CloseBatch per
// transaction, up to maxCloseBatches per call.
func (p *Pipeline) Sweep(ctx context.Context) error {
	for range maxSweepBatches {
		r := &request{ctx: ctx, sweep: true, err: make(chan error, 1)}
		if err := p.do(ctx, r); err != nil {
			return err
		}
		if !r.sweptFull {
			break
		}
	}
	if p.o.CloseAfter <= 0 {
		return nil
	}
	for range maxCloseBatches {
		r := &request{ctx: ctx, close: true, err: make(chan error, 1)}
		if err := p.do(ctx, r); err != nil || !r.closedFull {
			return err
		}
	}
	return nil
}

// maxSweepBatches bounds the transactions of one Sweep: 64 batches of 256
// incidents. A variable so that tests can lower it.
var maxSweepBatches = 64

// maxCloseBatches bounds the close transactions of one Sweep: 8 of
// incident.CloseBatch (32), each queued behind the requests that came
// meanwhile, so that catching up on a long history holds ingest for one
// small batch at a time, 256 closes per sweep.
const maxCloseBatches = 8

// retainBatch is one batch of retention: the history of incidents closed
// more than retention ago, at most limit rows of it.
type retainBatch struct {
	retention time.Duration
	limit     int
}

// Retain deletes at most limit rows of the history that retention
// forgets (see incident.Tx.DeleteHistory): of incidents closed more than
// retention before now, and the events no incident holds received as long
// ago. It is one short transaction in the writer's order, like a command,
// so that ingest waits for one batch at most; the caller loops while a
// batch deletes its limit, yielding between batches.
func (p *Pipeline) Retain(ctx context.Context, retention time.Duration, limit int) (incident.HistoryDeleted, error) {
	r := &request{ctx: ctx, retain: &retainBatch{retention: retention, limit: limit}, err: make(chan error, 1)}
	if err := p.do(ctx, r); err != nil {
		// The writer may still be at it (ctx ended while it waited):
		// r.deleted is its to write until it answers.
		return incident.HistoryDeleted{}, err
	}
	return r.deleted, nil
}

// Heartbeat only writes the store's heartbeat: what a replica does in
// place of Sweep while another replica holds the sweep's lease, so that a
// store that cannot commit is still noticed (StoreErr).
func (p *Pipeline) Heartbeat(ctx context.Context) error {
	return p.do(ctx, &request{ctx: ctx, sweep: true, beatOnly: true, err: make(chan error, 1)})
}

// Overloaded returns ErrOverloaded when an ingest request would be shed now
// whatever it carries: QueueSize requests are waiting, or the alerts
// waiting would take longer than the wait allowed. The ingest handler asks
// before it reads a request's body, so that refusing hostile load costs
// next to nothing and leaves the CPU to the writer. Ingest checks again,
// with the request's size.
func (p *Pipeline) Overloaded() error {
	if reason := p.adm.check(); reason != "" {
		return p.shed(reason)
	}
	return nil
}

// StoreErr returns the error of the last commit if it failed in the store
// (disk full, read-only, I/O), or nil: a later successful commit, the
// periodic Sweep's included, clears it. A domain error (not found, a
// conflict, a replay) is the request's, not the store's, and counts as
// neither.
func (p *Pipeline) StoreErr() error {
	if err := p.storeErr.Load(); err != nil {
		return *err
	}
	return nil
}

func (p *Pipeline) do(ctx context.Context, r *request) error {
	p.mu.RLock()
	if p.stopped {
		p.mu.RUnlock()
		return ErrStopped
	}
	if r.work > 0 {
		expireAt, reason := p.adm.admit(p.clock(), r.work)
		if reason != "" {
			p.mu.RUnlock()
			return p.shed(reason)
		}
		r.expireAt = expireAt
	}
	select {
	case p.queue <- r:
	default:
		// Only commands and sweeps can find it full: admission keeps
		// ingest within QueueSize of its QueueSize+reservedSlots.
		if r.work > 0 {
			p.adm.leave(r.work)
		}
		p.mu.RUnlock()
		return p.shed(shedQueueFull)
	}
	p.mu.RUnlock()
	var expired <-chan time.Time
	if r.work > 0 {
		t := time.NewTimer(r.expireAt.Sub(p.clock()))
		defer t.Stop()
		expired = t.C
	}
	select {
	case err := <-r.err:
		return err
	case <-expired:
		if r.state.CompareAndSwap(waiting, abandoned) {
			p.adm.leave(r.work)
			return p.shed(shedExpired)
		}
		// The writer has it: its outcome is due within CommitTimeout, and
		// answering before it would say "not committed" of what may be.
		return <-r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(waiting, abandoned) {
			p.adm.leave(r.work)
			return ctx.Err()
		}
		// The request may still commit; the sender retries and the retry is
		// a repeat, which changes nothing.
		return ctx.Err()
	}
}

// shed counts a request refused for reason and returns its error.
func (p *Pipeline) shed(reason string) error {
	p.metrics.overloaded.WithLabelValues(reason).Inc()
	return fmt.Errorf("%s: %w", shedMessages[reason], ErrOverloaded)
}

// run is the writer. It commits the waiting requests in groups of at most
// MaxGroup requests and, beyond the first, admission's groupLimit alerts; a
// request that does not fit waits in next for the following group, and the
// requests a transaction had no time for (see commit) go first in it.
func (p *Pipeline) run() {
	defer close(p.done)
	defer p.flushTouches()
	var head []*request // put back by the last transaction
	var next *request   // pulled from the queue, left for the next group
	for {
		// busy: requests were waiting as the writer became free, so this
		// group's speed is the speed of draining a queue.
		busy := len(head) > 0 || next != nil
		if !busy {
			select {
			case r, ok := <-p.queue:
				if !ok {
					return
				}
				next, busy = r, true
			default:
				r, ok := <-p.queue
				if !ok {
					return
				}
				next = r
			}
		}
		now, limit := p.clock(), p.adm.groupLimit()
		group, work := make([]*request, 0, len(head)+1), 0
		full := func() bool { return len(group) >= p.o.MaxGroup || (limit > 0 && work >= limit) }
		for _, r := range head {
			if p.take(r, now) {
				group, work = append(group, r), work+r.work
			}
		}
		r := next
		next = nil
		if r == nil {
			select {
			case r = <-p.queue: // nil once closed
			default:
			}
		}
		for r != nil {
			if full() || (limit > 0 && len(group) > 0 && work+r.work > limit) {
				next = r
				break
			}
			if p.take(r, now) {
				group, work = append(group, r), work+r.work
			}
			r = nil
			if !full() {
				select {
				case r = <-p.queue: // nil once closed: the loop above returns
				default:
				}
			}
		}
		if len(group) == 0 {
			head = nil
			continue
		}
		start := p.clock()
		var committed int
		head, committed = p.process(group)
		for _, r := range head {
			p.putBack(r)
		}
		if busy && committed > 0 {
			p.adm.observe(committed, p.clock().Sub(start))
		}
	}
}

// take claims r for the writer's next group and reports whether to process
// it. A request whose caller gave up is dropped, and one whose wait ran out
// by now is answered ErrOverloaded without any work.
//
// A request the writer took but had no time for is put back (putBack): it
// is waiting again, at the head of the queue, and its caller may give up on
// it again.
func (p *Pipeline) take(r *request, now time.Time) bool {
	if !r.state.CompareAndSwap(waiting, taken) {
		return false // its caller gave up and counted it out
	}
	if r.work == 0 {
		return true
	}
	p.adm.leave(r.work)
	if now.After(r.expireAt) {
		r.err <- p.shed(shedExpired)
		return false
	}
	return true
}

// putBack makes r, which the writer took but did not commit, wait again.
func (p *Pipeline) putBack(r *request) {
	if r.work > 0 {
		p.adm.rejoin(r.work)
	}
	r.state.Store(waiting)
}

// process commits a group in one transaction; if that fails, each request is
// tried alone so that the failure lands only on the request that caused it.
// It returns the requests the transaction had no time for, to go first in
// the next, and the alerts it committed if it committed as one.
func (p *Pipeline) process(group []*request) (rest []*request, committed int) {
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err <- err // the caller gave up before we started: do no work
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return nil, 0
	}
	n, err := p.commit(live)
	if err == nil || len(live) == 1 {
		if err != nil {
			n = len(live)
		}
		p.metrics.groupSize.Observe(float64(n))
		for _, r := range live[:n] {
			if !r.answered {
				r.err <- err
			}
			committed += r.work
		}
		if err != nil || len(live) < len(group) {
			committed = 0 // not one transaction of the whole group
		}
		// A request answered in an attempt of the transaction that got
		// further (a store may run it again) is settled: not put back.
		return slices.DeleteFunc(live[n:], func(r *request) bool { return r.answered }), committed
	}
	p.metrics.groupSize.Observe(float64(len(live)))
	for _, r := range live {
		if r.answered {
			continue // settled: nothing of it waited for the commit
		}
		_, err := p.commit([]*request{r})
		r.err <- err
	}
	return nil, 0
}

// commit applies the requests of group in one transaction, in order, and
// commits it. It returns how many it applied: all of them, unless the
// transaction has run for admission's txLimit, an eighth of MaxWait, before
// it got to one. Then it commits what it has, and leaves the rest to the
// next transaction, so that a writer slowed down mid-transaction (a
// CPU starved by hostile load, a slow disk) does not make a whole group
// late. The first request is always applied.
func (p *Pipeline) commit(group []*request) (applied int, err error) {
	set := p.o.Rules.Load() // one rule set for the whole group: never a mix
	ctx, cancel := context.WithTimeout(context.Background(), p.o.CommitTimeout)
	defer cancel()
	now := p.o.Now()
	start := time.Now()
	began, limit := p.clock(), p.adm.txLimit()
	var db *dedupe.Batch
	var cb *correlate.Batch
	var stats groupStats
	var outbox incident.EnqueueStats
	flush := p.flushDue()
	err = p.o.Store.Update(ctx, func(stx incident.Tx) error {
		nt := &notingTx{Tx: stx}
		var tx incident.Tx = nt
		db, cb = p.dedupe.Begin(tx), p.corr.Begin(tx)
		stats = groupStats{}
		p.staged = p.staged[:0]
		if flush {
			// A transaction that writes anyway carries them: no fsync of
			// their own.
			if err := tx.TouchAlerts(ctx, p.pendingTouches()); err != nil {
				return fmt.Errorf("write deferred repeats: %w", err)
			}
		}
		applied = len(group)
		for i, r := range group {
			if i > 0 && p.clock().Sub(began) > limit {
				applied = i
				break
			}
			nt.origin = ""
			if r.cmd != nil {
				nt.origin = r.cmd.Origin
			}
			if r.sweep {
				if p.o.Route != nil && !r.beatOnly {
					if _, err := incident.ReleaseHolds(ctx, tx, now); err != nil {
						return fmt.Errorf("release held notifications: %w", err)
					}
				}
				if err := tx.Heartbeat(ctx, now); err != nil {
					return err
				}
				if r.beatOnly {
					continue
				}
				if _, err := tx.DeleteExpiredNonces(ctx, now, nonceSweepLimit); err != nil {
					return err
				}
				changed, resolved, err := incident.Sweep(ctx, tx, now)
				if err != nil {
					return fmt.Errorf("sweep: %w", err)
				}
				r.sweptFull = len(changed) >= incident.SweepBatch
				for _, inc := range changed {
					if err := cb.Record(ctx, inc); err != nil {
						return err
					}
				}
				for _, inc := range resolved {
					stats.finished(inc, false)
				}
				if rg, err := p.resolveStale(ctx, tx, set, db, cb, now, &stats); err != nil {
					return fmt.Errorf("resolve stale alerts: %w", err)
				} else if rg {
					p.dedupe.Purge()
					p.corr.Purge()
					db, cb = p.dedupe.Begin(tx), p.corr.Begin(tx)
				}
				if err := p.sweepHeartbeats(ctx, tx, set, cb, now, &stats); err != nil {
					return fmt.Errorf("sweep heartbeats: %w", err)
				}
				// After the incidents: an incident resolved just now is
				// activity, and keeps its problem from being quiet.
				if _, err := incident.SweepProblems(ctx, tx, set.ProblemRules(), now); err != nil {
					return fmt.Errorf("sweep problems: %w", err)
				}
				continue
			}
			if r.close {
				closed, err := incident.CloseResolved(ctx, tx, p.o.CloseAfter, now)
				if err != nil {
					return fmt.Errorf("close resolved incidents: %w", err)
				}
				for _, inc := range closed {
					if err := cb.Record(ctx, inc); err != nil {
						return err
					}
				}
				stats.closed += len(closed)
				r.closedFull = len(closed) >= incident.CloseBatch
				continue
			}
			if b := r.retain; b != nil {
				if r.deleted, err = tx.DeleteHistory(ctx, now.Add(-b.retention), b.limit, now); err != nil {
					return fmt.Errorf("delete history: %w", err)
				}
				if r.deleted.AlertStates > 0 {
					// Forgotten alert states must not live on in the cache
					// (invariant 3): start it afresh, as after a merge.
					p.dedupe.Purge()
					db = p.dedupe.Begin(tx)
				}
				continue
			}
			if n := r.nonce; n != nil {
				if err := tx.UseNonce(ctx, n.Source, n.Value, n.Expires, now); err != nil {
					return err
				}
			}
			for i := range r.changes {
				if err := incident.RecordChange(ctx, tx, &r.changes[i]); err != nil {
					return fmt.Errorf("change %s/%s: %w", r.changes[i].Source, r.changes[i].ExternalID, err)
				}
			}
			if r.problemCmd != nil {
				if err := p.executeProblem(ctx, tx, r, now); err != nil {
					return err
				}
				continue
			}
			if r.report != nil {
				if err := p.openReport(ctx, tx, set, cb, r, now, &stats); err != nil {
					return err
				}
				continue
			}
			if r.cmd != nil {
				if r.cmd.Action == incident.ActionUnlink {
					r.cmd.Decide = func(ev incident.Event) incident.Decision { return decide(set, ev, p.log) }
				}
				inc, err := incident.Execute(ctx, tx, *r.cmd, now)
				if err != nil {
					return err
				}
				if r.cmd.Action == incident.ActionMerge || r.cmd.Action == incident.ActionUnlink {
					// They repoint alerts in bulk, behind the caches and
					// behind what this group staged so far: start both
					// afresh. Purging is safe even if the group rolls back.
					p.dedupe.Purge()
					p.corr.Purge()
					db, cb = p.dedupe.Begin(tx), p.corr.Begin(tx)
				}
				if err := cb.Record(ctx, inc); err != nil {
					return err
				}
				r.result = inc
				switch r.cmd.Action {
				case incident.ActionAcknowledge:
					stats.finished(inc, true)
				case incident.ActionResolve:
					stats.finished(inc, false)
				}
				continue
			}
			if err := p.trafficBeats(ctx, tx, cb, r.events, now, &stats); err != nil {
				return err
			}
			if rd, ok := stx.(incident.AlertStatesReader); ok {
				if err := db.Prefetch(ctx, rd, r.events); err != nil {
					return err
				}
			}
			notes := map[int64]*incident.GroupNote{}
			mark := len(p.staged)
			r.early = r.early[:0]
			for _, ev := range r.events {
				if handled, err := p.beat(ctx, tx, set, cb, ev, now, &stats); handled || err != nil {
					if err != nil {
						return err
					}
					continue
				}
				regrouped, err := p.apply(ctx, tx, set, db, cb, ev, now, &stats, notes)
				if err != nil {
					return fmt.Errorf("event %s: %w", ev.Fingerprint, err)
				}
				if regrouped {
					// A late delivery moved alerts between incidents behind
					// the caches: start both afresh, as after a merge.
					p.dedupe.Purge()
					p.corr.Purge()
					db, cb = p.dedupe.Begin(tx), p.corr.Begin(tx)
				}
			}
			if err := p.noteGroups(ctx, tx, cb, notes, now, &stats); err != nil {
				return err
			}
			if p.settled(r, db, p.staged[mark:], len(notes)) {
				r.early = append(r.early, p.staged[mark:]...)
				p.staged = p.staged[:mark]
				if !r.answered {
					r.answered = true
					r.err <- nil
				}
			}
		}
		var err error
		outbox, err = incident.Enqueue(ctx, stx, p.o.Route, nt.noted, now, p.o.Outbox)
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		return nil
	})
	p.metrics.commitDuration.Observe(time.Since(start).Seconds())
	if err == nil && flush {
		// Written in this transaction: what waits now came after.
		clear(p.touches)
		p.lastFlush = p.clock()
	}
	p.keepEarly(group)
	if err != nil {
		if !isDomainErr(err) {
			failed := err
			p.storeErr.Store(&failed)
			p.metrics.lastCommitOK.Set(0)
		}
		if len(group) == 1 && isDomainErr(err) {
			return 0, err // the request's own: not found, a conflict, a replay
		}
		p.log.Warn("commit failed", "err", err, "requests", len(group))
		p.metrics.commitErrors.Inc()
		return 0, err
	}
	p.storeErr.Store(nil)
	p.metrics.lastCommitOK.Set(1)
	// Caches learn only what is committed (invariant 3), and so do the
	// touches waiting to be written.
	db.Commit()
	cb.Commit()
	p.stageTouches()
	stats.publish(p.metrics)
	p.metrics.publishOutbox(outbox)
	if p.o.Enqueued != nil && (len(outbox.Written) > 0 || outbox.Released > 0) {
		p.o.Enqueued()
	}
	return applied, nil
}

// notingTx notes the timeline entries a transaction writes, and where the
// change came from, for the outbox rows written at its end.
type notingTx struct {
	incident.Tx
	origin string
	noted  []incident.Noted
}

func (t *notingTx) AddTimeline(ctx context.Context, e *incident.TimelineEntry) error {
	if err := t.Tx.AddTimeline(ctx, e); err != nil {
		return err
	}
	t.noted = append(t.noted, incident.Noted{Entry: *e, Origin: t.origin})
	return nil
}

func isDomainErr(err error) bool {
	return errors.Is(err, incident.ErrNotFound) || errors.Is(err, incident.ErrConflict) || errors.Is(err, incident.ErrInvalid)
}

// apply carries out one event. regrouped says a late delivery moved alerts
// between incidents (incident.Outcome.Regrouped): the caches must start
// afresh.
func (p *Pipeline) apply(ctx context.Context, tx incident.Tx, set *rules.Set, db *dedupe.Batch, cb *correlate.Batch,
	ev incident.Event, now time.Time, stats *groupStats, notes map[int64]*incident.GroupNote) (regrouped bool, err error) {
	if ev.Acknowledge {
		return false, p.acknowledge(ctx, tx, db, cb, ev, now, stats)
	}
	ev.ClampFuture(now)
	t, prior, err := db.Decide(ctx, ev)
	if err != nil {
		return false, err
	}
	var d incident.Decision
	if t == incident.TransitionNew || t == incident.TransitionRefired || t == incident.TransitionHistory {
		d = decide(set, ev, p.log)
	} else {
		d, _, _ = route(set, ev)
	}
	d.Transition = t
	if prior != nil {
		d.Prior = *prior
	}
	var annotations uint64
	if p.o.TouchFlushInterval > 0 {
		annotations = incident.AnnotationsHash(ev.Annotations)
		if touch, ok := incident.Deferrable(d, annotations, now); ok {
			p.staged = append(p.staged, touch)
			return false, p.noteGroup(ctx, cb, ev, d.Key, touch.IncidentID, notes)
		}
	}
	topo := topology(set)
	if firing := t == incident.TransitionNew || t == incident.TransitionRefired; firing && !d.Drop {
		if d.Current, err = cb.Current(ctx, d.Key); err != nil {
			return false, err
		}
		// A miss of the cache read this transaction: none owns the key.
		d.NoOwner = d.Current == nil
		placing, err := incident.PlaceFiring(ctx, tx, d, topo, now)
		if err != nil {
			return false, err
		}
		d.Placing = &placing
	}
	out, err := incident.Apply(ctx, tx, d, now)
	if err != nil {
		return false, err
	}
	if out.Opened && out.Incident != nil {
		if _, err := incident.LinkChanges(ctx, tx, *out.Incident, topo.DependsOn, ev.StartsAt, now, p.o.ChangeLookback); err != nil {
			return false, err
		}
		if err := linkProblems(ctx, tx, set, out.Incident, ev.Labels, now); err != nil {
			return false, err
		}
		// Topology in any order: incidents of services depending on this
		// one that opened first are its symptoms, and join it now.
		merged, err := incident.RehomeSymptoms(ctx, tx, out.Incident, ev.Labels, topo, d.Window, now)
		if err != nil {
			return false, err
		}
		if len(merged) > 0 {
			out.Regrouped = true
		}
	}
	out.State.Annotations = 0
	if annotations != 0 && annotationsWritten(d, out) {
		out.State.Annotations = annotations
	}
	db.Record(out.State)
	if out.Incident != nil {
		if err := cb.Record(ctx, *out.Incident); err != nil {
			return false, err
		}
	}
	if d.Drop && (t == incident.TransitionNew || t == incident.TransitionRefired) {
		stats.dropped++
	}
	stats.count(out.Opened, out.Reopened)
	if out.Resolved && out.Incident != nil {
		stats.finished(*out.Incident, false)
	}
	return out.Regrouped, p.noteGroup(ctx, cb, ev, d.Key, out.State.IncidentID, notes)
}

// noteGroup notes what ev's notification says of its group, once per
// request, after all its alerts; only a truncated group, or an incident
// still waiting for unseen alerts, needs it.
func (p *Pipeline) noteGroup(ctx context.Context, cb *correlate.Batch, ev incident.Event, key string, incidentID int64,
	notes map[int64]*incident.GroupNote) error {
	g := ev.Group
	if g == nil || incidentID == 0 {
		return nil
	}
	cur, found, err := cb.Owner(ctx, key)
	if err != nil {
		return err
	}
	if g.UnseenFiring() > 0 || found && cur.UnseenFiring > 0 {
		notes[incidentID] = g
	}
	return nil
}

// annotationsWritten reports whether applying d wrote the event's
// annotations to the record of the alert on out.State.IncidentID: a
// repeat of the known firing (TouchAlert), or a new or refired firing
// placed on an incident. Only then may the state's annotations hash say
// what the record holds.
func annotationsWritten(d incident.Decision, out incident.Outcome) bool {
	ev, st := d.Event, out.State
	if st.IncidentID == 0 || st.Status != incident.StatusFiring || ev.Status != incident.StatusFiring {
		return false
	}
	switch d.Transition {
	case incident.TransitionRepeat:
		return d.Prior.Status == incident.StatusFiring && !ev.StartsAt.Before(d.Prior.StartsAt)
	case incident.TransitionNew, incident.TransitionRefired:
		return !d.Drop && out.Incident != nil && out.Incident.ID == st.IncidentID
	}
	return false
}

// flushDue says whether the next transaction writes the deferred repeats.
func (p *Pipeline) flushDue() bool {
	n := len(p.touches)
	return n > 0 && (n >= p.o.MaxTouches || p.clock().Sub(p.lastFlush) >= p.o.TouchFlushInterval)
}

// pendingTouches returns the committed deferred repeats, by alert.
func (p *Pipeline) pendingTouches() []incident.Touch {
	out := make([]incident.Touch, 0, len(p.touches))
	for _, t := range p.touches {
		out = append(out, t)
	}
	return out
}

// stageTouches adds the deferred repeats of the transaction just committed
// to those waiting to be written.
func (p *Pipeline) stageTouches() {
	for _, t := range p.staged {
		p.addTouch(t)
	}
	p.metrics.repeatsDeferred.Add(float64(len(p.staged)))
	p.staged = p.staged[:0]
	p.metrics.touchesPending.Set(float64(len(p.touches)))
}

// settled reports whether r, a notification the writer has just applied,
// may be answered before its transaction commits: it changed nothing that
// a 2xx makes durable, so the commit (and its fsync) holds nothing for it.
// That is so when every one of its alerts is a deferred repeat (staged:
// its touches, one per event) of a state already committed, not one this
// transaction recorded, which a rollback would take back; and it used up no
// nonce, carried no change, noted no group (noted: how many), and counted
// as no traffic heartbeat, each of which the transaction writes. Its
// repeats are then kept whatever the transaction's fate (keepEarly), as a
// crash could lose them in any case ("What a 2xx guarantees").
func (p *Pipeline) settled(r *request, db *dedupe.Batch, staged []incident.Touch, noted int) bool {
	if r.nonce != nil || len(r.changes) > 0 || noted > 0 || len(r.events) == 0 || len(staged) != len(r.events) {
		return false
	}
	for _, ev := range r.events {
		if p.o.ExpectTraffic[ev.Source] > 0 {
			return false
		}
	}
	for _, t := range staged {
		if db.Uncommitted(t.Source, t.Fingerprint) {
			return false
		}
	}
	return true
}

// keepEarly adds the deferred repeats of the requests of group answered
// before their transaction ended (settled) to those waiting to be written,
// whether it committed or not: their answer is given.
func (p *Pipeline) keepEarly(group []*request) {
	kept := 0
	for _, r := range group {
		for _, t := range r.early {
			p.addTouch(t)
		}
		kept += len(r.early)
		r.early = r.early[:0]
	}
	if kept > 0 {
		p.metrics.repeatsDeferred.Add(float64(kept))
		p.metrics.touchesPending.Set(float64(len(p.touches)))
	}
}

// addTouch adds t to the touches waiting to be written, merged with its
// alert's.
func (p *Pipeline) addTouch(t incident.Touch) {
	k := touchKey{t.Source, t.Fingerprint}
	if cur, ok := p.touches[k]; ok {
		cur.Merge(t)
		t = cur
	}
	p.touches[k] = t
}

// flushTouches writes every deferred repeat: the writer's last transaction
// at Stop.
func (p *Pipeline) flushTouches() {
	if len(p.touches) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.o.CommitTimeout)
	defer cancel()
	err := p.o.Store.Update(ctx, func(tx incident.Tx) error { return tx.TouchAlerts(ctx, p.pendingTouches()) })
	if err != nil {
		p.log.Warn("write deferred repeats", "err", err, "alerts", len(p.touches))
		return
	}
	clear(p.touches)
	p.metrics.touchesPending.Set(0)
}

// topology is what placement needs of set's service catalog.
func topology(set *rules.Set) incident.Topology {
	return incident.Topology{
		DependsOn: func(service string) []string {
			if s := set.ServiceByName(service); s != nil {
				return s.DependsOn
			}
			return nil
		},
		Dependents: set.Dependents,
		Scope: func(service string) []string {
			if s := set.ServiceByName(service); s != nil {
				return s.Scope
			}
			return rules.DefaultScope
		},
	}
}

// noteGroups applies what a request's notification said of its groups
// (incident.NoteGroup).
func (p *Pipeline) noteGroups(ctx context.Context, tx incident.Tx, cb *correlate.Batch, notes map[int64]*incident.GroupNote,
	now time.Time, stats *groupStats) error {
	for id, g := range notes {
		inc, resolved, err := incident.NoteGroup(ctx, tx, id, *g, now)
		if err != nil || inc == nil {
			return err
		}
		if err := cb.Record(ctx, *inc); err != nil {
			return err
		}
		if resolved {
			stats.finished(*inc, false)
		}
	}
	return nil
}

// acknowledge carries out a sender's acknowledgement (PagerDuty's
// event_action acknowledge) on the incident holding the alert. An alert we do
// not know, or an incident that is not open, makes it a no-op: the sender
// cannot know our state, and its retry must not fail. The alert is the
// sender's own: another source's alert with the same fingerprint is unknown
// to it.
func (p *Pipeline) acknowledge(ctx context.Context, tx incident.Tx, db *dedupe.Batch, cb *correlate.Batch,
	ev incident.Event, now time.Time, stats *groupStats) error {
	st, err := db.State(ctx, ev.Source, ev.Fingerprint)
	if err != nil || st == nil || st.IncidentID == 0 {
		return err
	}
	cur, err := tx.Incident(ctx, st.IncidentID)
	if err != nil {
		return err
	}
	if !incident.CanTransition(cur.State, incident.StateAcknowledged) {
		return nil
	}
	inc, err := incident.Execute(ctx, tx, incident.Command{IncidentID: cur.ID, Action: incident.ActionAcknowledge,
		Actor: ev.Source, Message: "acknowledged by the sender for " + ev.Fingerprint}, now)
	if err != nil {
		return err
	}
	stats.finished(inc, true)
	return cb.Record(ctx, inc)
}
