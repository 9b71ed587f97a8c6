package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// Replayer runs events through a pipeline on a simulated clock, so windows,
// reopen and resolve_after timers can be tested without waiting: `rules test`
// and `rules backtest` use it with a temporary store.
type Replayer struct {
	p     *Pipeline
	mu    sync.Mutex
	now   time.Time
	rules atomic.Pointer[rules.Set]
}

// NewReplayer starts a pipeline over store with the rule set (nil: none),
// its clock at start.
func NewReplayer(store incident.Store, set *rules.Set, start time.Time, log *slog.Logger) (*Replayer, error) {
	r := &Replayer{now: start}
	r.rules.Store(set)
	p, err := New(Options{Store: store, Rules: &r.rules, Logger: log, Now: r.clock})
	if err != nil {
		return nil, err
	}
	r.p = p
	p.Start()
	// A sweep at the start, as the daemon's first one soon after it
	// starts: heartbeats that are expected whether or not they ever beat
	// are armed from the start.
	if err := p.Sweep(context.Background()); err != nil {
		_ = p.Stop(context.Background()) // the error says why
		return nil, err
	}
	return r, nil
}

func (r *Replayer) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

// Now is the simulated time.
func (r *Replayer) Now() time.Time { return r.clock() }

// Advance moves the clock to at and carries out what fell due meanwhile. The
// clock never goes back.
func (r *Replayer) Advance(ctx context.Context, at time.Time) error {
	r.mu.Lock()
	if at.Before(r.now) {
		now := r.now
		r.mu.Unlock()
		return fmt.Errorf("replay: time goes back from %s to %s", now.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	r.now = at
	r.mu.Unlock()
	return r.p.Sweep(ctx)
}

// Submit advances to at and applies events.
func (r *Replayer) Submit(ctx context.Context, at time.Time, events []incident.Event) error {
	if err := r.Advance(ctx, at); err != nil {
		return err
	}
	return r.p.Submit(ctx, events)
}

// SubmitChanges advances to at and records change events.
func (r *Replayer) SubmitChanges(ctx context.Context, at time.Time, changes []incident.Change) error {
	if err := r.Advance(ctx, at); err != nil {
		return err
	}
	return r.p.SubmitChanges(ctx, changes)
}

// Execute advances to at and carries out a manual command.
func (r *Replayer) Execute(ctx context.Context, at time.Time, cmd incident.Command) (incident.Incident, error) {
	if err := r.Advance(ctx, at); err != nil {
		return incident.Incident{}, err
	}
	return r.p.Execute(ctx, cmd)
}

// Close stops the pipeline; the store stays open for the caller to read.
func (r *Replayer) Close(ctx context.Context) error { return r.p.Stop(ctx) }
