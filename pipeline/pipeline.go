package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// ErrOverloaded means the queue is full; the caller should retry later.
	ErrOverloaded = fmt.Errorf("pipeline overloaded: %w", incident.ErrUnavailable)
	// ErrStopped means the pipeline is shutting down.
	ErrStopped = fmt.Errorf("pipeline stopped: %w", incident.ErrUnavailable)
)

// DefaultReopenWithin is how long after a resolve a refire reopens the
// incident when no rule says otherwise.
const DefaultReopenWithin = 30 * time.Minute

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
	// QueueSize bounds waiting requests (default 1024); beyond it Submit
	// returns ErrOverloaded at once.
	QueueSize int
	// MaxGroup bounds requests per transaction (default 256).
	MaxGroup int
	// CommitTimeout bounds one transaction (default 30s).
	CommitTimeout time.Duration
	// ChangeLookback is how long before an incident's first alert a change
	// may have started and still be linked to it (default 2h).
	ChangeLookback time.Duration
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
}

type request struct {
	ctx     context.Context
	events  []incident.Event
	cmd     *incident.Command
	changes []incident.Change
	sweep   bool
	result  incident.Incident
	err     chan error

	// problemCmd is a manual problem command; problem its result.
	problemCmd *incident.ProblemCommand
	problem    incident.Problem
}

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
		queue: make(chan *request, o.QueueSize), done: make(chan struct{}),
	}
	p.metrics = newMetrics(o.Registerer, func() float64 { return float64(len(p.queue)) })
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

// Submit applies a batch of events and returns once they are committed. Any
// error means nothing of the batch was committed, so the sender must retry.
func (p *Pipeline) Submit(ctx context.Context, events []incident.Event) error {
	if len(events) == 0 {
		return nil
	}
	r := &request{ctx: ctx, events: events, err: make(chan error, 1)}
	return p.do(ctx, r)
}

// Execute carries out a manual command and returns the incident after it. It
// returns incident.ErrNotFound, incident.ErrConflict and incident.ErrInvalid
// from the domain.
func (p *Pipeline) Execute(ctx context.Context, cmd incident.Command) (incident.Incident, error) {
	r := &request{ctx: ctx, cmd: &cmd, err: make(chan error, 1)}
	err := p.do(ctx, r)
	return r.result, err
}

// SubmitChanges records change events and returns once they are committed;
// a redelivered change (same source and external ID) updates its record.
func (p *Pipeline) SubmitChanges(ctx context.Context, changes []incident.Change) error {
	if len(changes) == 0 {
		return nil
	}
	return p.do(ctx, &request{ctx: ctx, changes: changes, err: make(chan error, 1)})
}

// Sweep carries out the scheduled resolves (resolve_after) that are due.
// The daemon calls it on a ticker; a replay calls it as its clock advances.
func (p *Pipeline) Sweep(ctx context.Context) error {
	return p.do(ctx, &request{ctx: ctx, sweep: true, err: make(chan error, 1)})
}

func (p *Pipeline) do(ctx context.Context, r *request) error {
	p.mu.RLock()
	if p.stopped {
		p.mu.RUnlock()
		return ErrStopped
	}
	select {
	case p.queue <- r:
	default:
		p.mu.RUnlock()
		p.metrics.overloaded.Inc()
		return ErrOverloaded
	}
	p.mu.RUnlock()
	select {
	case err := <-r.err:
		return err
	case <-ctx.Done():
		// The request may still commit; the sender retries and the retry is
		// a repeat, which changes nothing.
		return ctx.Err()
	}
}

func (p *Pipeline) run() {
	defer close(p.done)
	group := make([]*request, 0, p.o.MaxGroup)
	for r := range p.queue {
		group = append(group[:0], r)
	fill:
		for len(group) < p.o.MaxGroup {
			select {
			case r, ok := <-p.queue:
				if !ok {
					break fill
				}
				group = append(group, r)
			default:
				break fill
			}
		}
		p.process(group)
	}
}

// process commits a group in one transaction; if that fails, each request is
// tried alone so that the failure lands only on the request that caused it.
func (p *Pipeline) process(group []*request) {
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err <- err // the caller gave up before we started: do no work
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	p.metrics.groupSize.Observe(float64(len(live)))
	if err := p.commit(live); err == nil || len(live) == 1 {
		for _, r := range live {
			r.err <- err
		}
		return
	}
	for _, r := range live {
		r.err <- p.commit([]*request{r})
	}
}

func (p *Pipeline) commit(group []*request) error {
	set := p.o.Rules.Load() // one rule set for the whole group: never a mix
	ctx, cancel := context.WithTimeout(context.Background(), p.o.CommitTimeout)
	defer cancel()
	now := p.o.Now()
	start := time.Now()
	var db *dedupe.Batch
	var cb *correlate.Batch
	var stats groupStats
	err := p.o.Store.Update(ctx, func(tx incident.Tx) error {
		db, cb = p.dedupe.Begin(tx), p.corr.Begin(tx)
		stats = groupStats{}
		for _, r := range group {
			if r.sweep {
				changed, resolved, err := incident.Sweep(ctx, tx, now)
				if err != nil {
					return fmt.Errorf("sweep: %w", err)
				}
				for _, inc := range changed {
					if err := cb.Record(ctx, inc); err != nil {
						return err
					}
				}
				for _, inc := range resolved {
					stats.finished(inc, false)
				}
				continue
			}
			for i := range r.changes {
				if err := tx.PutChange(ctx, &r.changes[i]); err != nil {
					return fmt.Errorf("change %s/%s: %w", r.changes[i].Source, r.changes[i].ExternalID, err)
				}
			}
			if r.problemCmd != nil {
				if err := p.executeProblem(ctx, tx, r, now); err != nil {
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
			notes := map[int64]*incident.GroupNote{}
			for _, ev := range r.events {
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
		}
		return nil
	})
	p.metrics.commitDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		if len(group) == 1 && (group[0].cmd != nil || group[0].problemCmd != nil) && isDomainErr(err) {
			return err
		}
		p.log.Warn("commit failed", "err", err, "requests", len(group))
		p.metrics.commitErrors.Inc()
		return err
	}
	// Caches learn only what is committed (invariant 3).
	db.Commit()
	cb.Commit()
	stats.publish(p.metrics)
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
	deps := func(service string) []string {
		if s := set.ServiceByName(service); s != nil {
			return s.DependsOn
		}
		return nil
	}
	if firing := t == incident.TransitionNew || t == incident.TransitionRefired; firing && !d.Drop {
		if d.Current, err = cb.Current(ctx, d.Key); err != nil {
			return false, err
		}
		if incident.Place(d.Current, d, now) == incident.PlaceOpen {
			// Topology: rather than open its own incident, a symptom joins
			// the open incident of a service its service depends on.
			up, why, err := incident.SymptomOf(ctx, tx, d.Service, deps, d.Window, now)
			if err != nil {
				return false, err
			}
			if up != nil {
				d.Current, d.SymptomOf = up, why
			}
		}
		if d.Service != "" {
			m, err := tx.ActiveMaintenance(ctx, d.Service, now)
			switch {
			case err == nil:
				d.Maintenance, d.Urgency = &m, incident.LevelLow
			case !errors.Is(err, incident.ErrNotFound):
				return false, err
			}
		}
	}
	out, err := incident.Apply(ctx, tx, d, now)
	if err != nil {
		return false, err
	}
	if out.Opened && out.Incident != nil {
		if _, err := incident.LinkChanges(ctx, tx, *out.Incident, deps, ev.StartsAt, now, p.o.ChangeLookback); err != nil {
			return false, err
		}
		if err := linkProblems(ctx, tx, set, out.Incident, ev.Labels, now); err != nil {
			return false, err
		}
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
	if g := ev.Group; g != nil && out.State.IncidentID != 0 {
		// What the notification says of its group is noted once per
		// request, after all its alerts; only a truncated group, or an
		// incident still waiting for unseen alerts, needs it.
		cur, err := cb.Current(ctx, d.Key)
		if err != nil {
			return false, err
		}
		if g.UnseenFiring() > 0 || cur != nil && cur.UnseenFiring > 0 {
			notes[out.State.IncidentID] = g
		}
	}
	return out.Regrouped, nil
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
