package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/alertbridge/alertbridge/incident"
)

// Store is what the dispatcher needs of the store: the outbox to read, the
// records a notification carries, and a write transaction to record each
// delivery in.
type Store interface {
	DueOutbox(ctx context.Context, sink string, now time.Time, limit int) ([]incident.OutboxRow, error)
	OutboxAfter(ctx context.Context, sink string, incidentID, id int64) ([]incident.OutboxRow, error)
	Incident(ctx context.Context, id int64) (incident.Incident, error)
	TimelineEntry(ctx context.Context, id int64) (incident.TimelineEntry, error)
	Ticket(ctx context.Context, incidentID int64, sink string) (incident.Ticket, error)
	Alerts(ctx context.Context, incidentID int64) ([]incident.Alert, error)
	Update(ctx context.Context, fn func(incident.Tx) error) error
}

// Defaults of a sink's delivery settings.
const (
	DefaultMaxAge          = 24 * time.Hour
	DefaultTimeout         = 10 * time.Second
	DefaultConcurrency     = 4
	DefaultInitialBackoff  = time.Second
	DefaultMaxBackoff      = 10 * time.Minute
	DefaultBreakerFailures = 5
	DefaultBreakerTimeout  = time.Minute
	DefaultPoll            = time.Second
	DefaultDeadRetention   = 7 * 24 * time.Hour
	// DefaultMaxAlerts is how many of an incident's alerts a notification
	// carries; messages list a few and count the rest.
	DefaultMaxAlerts = 20
	// maxRetryAfter bounds how long a tool's Retry-After may park a sink.
	maxRetryAfter = time.Hour
	// purgeLimit bounds the dead letters one round forgets.
	purgeLimit = 500
)

// Config is one sink and how its notifications are delivered.
type Config struct {
	Name string
	Sink Sink
	// MaxAge is how long a notification is retried before it becomes a dead
	// letter.
	MaxAge time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Concurrency is how many incidents' notifications are delivered at
	// once; one incident's go one at a time, in order.
	Concurrency int
	// InitialBackoff and MaxBackoff bound the exponential backoff between
	// attempts of one notification.
	InitialBackoff, MaxBackoff time.Duration
	// BreakerFailures consecutive failures open the sink's circuit breaker;
	// after BreakerTimeout it lets one probe through.
	BreakerFailures uint32
	BreakerTimeout  time.Duration
}

func (c *Config) defaults() {
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.InitialBackoff <= 0 {
		c.InitialBackoff = DefaultInitialBackoff
	}
	if c.MaxBackoff < c.InitialBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.InitialBackoff)
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = DefaultBreakerFailures
	}
	if c.BreakerTimeout <= 0 {
		c.BreakerTimeout = DefaultBreakerTimeout
	}
}

// Options configures a Dispatcher.
type Options struct {
	Store Store
	Sinks []Config
	// Now is the clock of schedules and ages (a test's simulated clock).
	// The breakers run on the wall clock.
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Poll is how often each sink looks for due notifications when Kick
	// did not wake it.
	Poll time.Duration
	// DeadRetention is how long a dead letter is kept for an admin to
	// replay.
	DeadRetention time.Duration
	// MaxAlerts bounds the alerts a notification carries.
	MaxAlerts int
	// IncidentURL links to an incident in alertbridge; nil: no links.
	IncidentURL func(id int64) string
}

// Dispatcher delivers the outbox: one loop per sink, each incident's
// notifications in order, failures retried with backoff and jitter behind a
// circuit breaker, so that a dead sink is probed rather than hammered and
// never holds up ingest or another sink.
type Dispatcher struct {
	o       Options
	log     *slog.Logger
	sinks   []*sinkRun
	metrics *metrics

	// quit ends the loops after their current round; cancel cuts off the
	// attempts in flight.
	quit   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type sinkRun struct {
	Config
	breaker *gobreaker.CircuitBreaker[*incident.Ticket]
	kick    chan struct{}
	log     *slog.Logger

	mu sync.Mutex
	// pausedUntil is when the tool's Retry-After lets the sink send again.
	pausedUntil time.Time
}

// New returns a dispatcher; Start runs it.
func New(o Options) (*Dispatcher, error) {
	if o.Store == nil {
		return nil, errors.New("sink: no store")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.DeadRetention <= 0 {
		o.DeadRetention = DefaultDeadRetention
	}
	if o.MaxAlerts <= 0 {
		o.MaxAlerts = DefaultMaxAlerts
	}
	d := &Dispatcher{o: o, log: o.Logger.With("component", "dispatcher")}
	d.metrics = newMetrics(o.Registerer)
	seen := map[string]bool{}
	for _, c := range o.Sinks {
		if c.Name == "" || c.Sink == nil {
			return nil, fmt.Errorf("sink: %q: a name and a sink are required", c.Name)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("sink: %q configured twice", c.Name)
		}
		seen[c.Name] = true
		c.defaults()
		s := &sinkRun{Config: c, kick: make(chan struct{}, 1), log: d.log.With("sink", c.Name)}
		s.breaker = gobreaker.NewCircuitBreaker[*incident.Ticket](gobreaker.Settings{
			Name:        c.Name,
			MaxRequests: 1,
			Timeout:     c.BreakerTimeout,
			ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= c.BreakerFailures },
			// A tool that answers "never" is up: a bad ticket must not cut
			// the others off.
			IsSuccessful: func(err error) bool { return err == nil || errors.Is(err, ErrPermanent) },
			IsExcluded:   func(err error) bool { return errors.Is(err, errStopping) },
			OnStateChange: func(name string, from, to gobreaker.State) {
				d.metrics.breakerChanged(name, to, true)
				s.log.Info("circuit breaker", "from", from.String(), "to", to.String())
			},
		})
		d.metrics.breakerChanged(c.Name, gobreaker.StateClosed, false)
		for _, outcome := range []string{"delivered", "failed", "dead", "skipped"} {
			// Every series exists from the start, so that rate() and
			// alerts on them work before the first of each outcome.
			d.metrics.deliveries.WithLabelValues(c.Name, outcome)
		}
		d.sinks = append(d.sinks, s)
	}
	return d, nil
}

// Sinks returns the names of the sinks, in config order.
func (d *Dispatcher) Sinks() []string {
	out := make([]string, len(d.sinks))
	for i, s := range d.sinks {
		out[i] = s.Name
	}
	return out
}

// Start runs one delivery loop per sink until Stop.
func (d *Dispatcher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.quit = cancel, make(chan struct{})
	for _, s := range d.sinks {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.loop(ctx, s)
		}()
	}
}

// Stop ends the loops: each finishes the round it is in (its attempts are
// answered and recorded) and starts no other. If ctx ends first, attempts
// still in flight are abandoned and their rows stay as they were, to be
// delivered again after a restart.
func (d *Dispatcher) Stop(ctx context.Context) error {
	if d.cancel == nil {
		return nil
	}
	close(d.quit)
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return fmt.Errorf("stop dispatcher: attempts in flight abandoned: %w", ctx.Err())
	}
}

// Kick wakes every sink's loop: the outbox has new rows.
func (d *Dispatcher) Kick() {
	for _, s := range d.sinks {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

func (d *Dispatcher) loop(ctx context.Context, s *sinkRun) {
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	lastPurge := time.Time{}
	for {
		select {
		case <-d.quit:
			return
		default:
		}
		n, err := d.round(ctx, s)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("delivery round failed", "err", err)
		}
		if now := d.o.Now(); now.Sub(lastPurge) > time.Hour {
			lastPurge = now
			d.purge(ctx, now)
		}
		if n > 0 && err == nil {
			continue // more may be due: drain before sleeping
		}
		select {
		case <-d.quit:
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// RunOnce makes one round of every sink, in turn, and returns how many
// notifications it attempted. Tests on a simulated clock drive the
// dispatcher with it instead of Start.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	total := 0
	var errs []error
	for _, s := range d.sinks {
		n, err := d.round(ctx, s)
		total += n
		errs = append(errs, err)
	}
	d.purge(ctx, d.o.Now())
	return total, errors.Join(errs...)
}

func (d *Dispatcher) purge(ctx context.Context, now time.Time) {
	err := d.o.Store.Update(ctx, func(tx incident.Tx) error {
		n, err := tx.PurgeDeadOutbox(ctx, now.Add(-d.o.DeadRetention), purgeLimit)
		d.metrics.purged.Add(float64(n))
		return err
	})
	if err != nil && ctx.Err() == nil {
		d.log.Warn("purge dead letters failed", "err", err)
	}
}

// errStopping marks an attempt abandoned because the dispatcher stops.
var errStopping = errors.New("dispatcher stopping")

// attempt is the outcome of one delivery.
type attempt struct {
	row incident.OutboxRow
	// folded are the rows after row that this delivery covered.
	folded []int64
	ticket *incident.Ticket
	err    error
	// skipped: the breaker let nothing through, or the sink is paused; the
	// row stays as it was.
	skipped bool
}

// round delivers the due head rows of one sink and records the outcomes in
// one transaction. It returns how many it attempted.
func (d *Dispatcher) round(ctx context.Context, s *sinkRun) (int, error) {
	now := d.o.Now()
	s.mu.Lock()
	paused := now.Before(s.pausedUntil)
	s.mu.Unlock()
	if paused || s.breaker.State() == gobreaker.StateOpen {
		return 0, nil
	}
	rows, err := d.o.Store.DueOutbox(ctx, s.Name, now, s.Concurrency*4)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	results := make([]attempt, len(rows))
	sem := make(chan struct{}, s.Concurrency)
	var wg sync.WaitGroup
	for i, r := range rows {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = d.deliver(ctx, s, r)
		}()
	}
	wg.Wait()
	attempted := 0
	for _, a := range results {
		if !a.skipped {
			attempted++
		}
	}
	if ctx.Err() != nil {
		return attempted, ctx.Err() // stopping: nothing recorded, all redelivered
	}
	return attempted, d.record(ctx, s, results)
}

// deliver makes one attempt at row and the coalescable rows after it.
func (d *Dispatcher) deliver(ctx context.Context, s *sinkRun, row incident.OutboxRow) attempt {
	a := attempt{row: row}
	n, folded, err := d.notification(ctx, s, row)
	if err != nil {
		a.err = fmt.Errorf("read notification: %w", err)
		if errors.Is(err, incident.ErrNotFound) {
			a.err = Permanent(a.err)
		}
		return a
	}
	a.folded = folded
	s.mu.Lock()
	paused := d.o.Now().Before(s.pausedUntil)
	s.mu.Unlock()
	if paused {
		a.skipped = true
		return a
	}
	start := time.Now()
	a.ticket, a.err = s.breaker.Execute(func() (*incident.Ticket, error) {
		actx, cancel := context.WithTimeout(ctx, s.Timeout)
		defer cancel()
		t, err := s.Sink.Deliver(actx, n)
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", errStopping, err)
		}
		return t, err
	})
	if errors.Is(a.err, gobreaker.ErrOpenState) || errors.Is(a.err, gobreaker.ErrTooManyRequests) {
		a.skipped, a.err = true, nil
		return a
	}
	d.metrics.duration.WithLabelValues(s.Name).Observe(time.Since(start).Seconds())
	return a
}

// notification builds what the sink is told for row: the incident as it
// is now, the row's entry and those of the rows folded into it.
func (d *Dispatcher) notification(ctx context.Context, s *sinkRun, row incident.OutboxRow) (Notification, []int64, error) {
	n := Notification{ID: row.ID, Kind: row.Kind}
	inc, err := d.o.Store.Incident(ctx, row.IncidentID)
	if err != nil {
		return n, nil, err
	}
	n.Incident = inc
	if row.TimelineID != 0 {
		e, err := d.o.Store.TimelineEntry(ctx, row.TimelineID)
		if err != nil {
			return n, nil, err
		}
		n.Entry = e
		n.Entries = append(n.Entries, e)
	}
	after, err := d.o.Store.OutboxAfter(ctx, s.Name, row.IncidentID, row.ID)
	if err != nil {
		return n, nil, err
	}
	var folded []int64
	for _, r := range after {
		if !r.Kind.Coalesces() {
			break
		}
		folded = append(folded, r.ID)
		if r.TimelineID != 0 {
			e, err := d.o.Store.TimelineEntry(ctx, r.TimelineID)
			if err != nil {
				return n, nil, err
			}
			n.Entries = append(n.Entries, e)
		}
	}
	alerts, err := d.o.Store.Alerts(ctx, row.IncidentID)
	if err != nil {
		return n, nil, err
	}
	n.AlertCount = len(alerts)
	if len(alerts) > d.o.MaxAlerts {
		alerts = alerts[:d.o.MaxAlerts]
	}
	n.Alerts = alerts
	switch t, err := d.o.Store.Ticket(ctx, row.IncidentID, s.Name); {
	case err == nil:
		n.Ticket = &t
	case !errors.Is(err, incident.ErrNotFound):
		return n, nil, err
	}
	if inc.MergedInto != 0 {
		into, err := d.o.Store.Incident(ctx, inc.MergedInto)
		if err != nil {
			return n, nil, err
		}
		n.MergedInto = &into
	}
	if d.o.IncidentURL != nil {
		n.URL = d.o.IncidentURL(inc.ID)
		if n.MergedInto != nil {
			n.MergedIntoURL = d.o.IncidentURL(n.MergedInto.ID)
		}
	}
	return n, folded, nil
}

// record writes the outcomes of a round in one transaction: delivered rows
// go (with the rows folded into them) and their tickets are kept; failed
// ones are tried again later, or die.
func (d *Dispatcher) record(ctx context.Context, s *sinkRun, results []attempt) error {
	now := d.o.Now()
	type outcome struct {
		kind   string
		folded int
	}
	var outcomes []outcome
	err := d.o.Store.Update(ctx, func(tx incident.Tx) error {
		outcomes = outcomes[:0]
		for _, a := range results {
			switch {
			case a.skipped:
				outcomes = append(outcomes, outcome{kind: "skipped"})
			case a.err == nil:
				if err := s.putTicket(ctx, tx, a, now); err != nil {
					return err
				}
				if err := tx.DeleteOutbox(ctx, append([]int64{a.row.ID}, a.folded...)); err != nil {
					return err
				}
				outcomes = append(outcomes, outcome{kind: "delivered", folded: len(a.folded)})
			default:
				// A record made before a later step failed is kept, so
				// the retry updates it instead of making another.
				if err := s.putTicket(ctx, tx, a, now); err != nil {
					return err
				}
				attempts := a.row.Attempts + 1
				dead := errors.Is(a.err, ErrPermanent) || now.Sub(a.row.CreatedAt) >= s.MaxAge
				next := now
				if !dead {
					next = now.Add(s.backoff(attempts, a.err))
				}
				msg := a.err.Error()
				if len(msg) > 1024 {
					msg = msg[:1024]
				}
				err := tx.RescheduleOutbox(ctx, a.row.ID, attempts, next, msg, dead)
				if errors.Is(err, incident.ErrNotFound) {
					continue // replayed or purged meanwhile
				}
				if err != nil {
					return err
				}
				kind := "failed"
				if dead {
					kind = "dead"
				}
				outcomes = append(outcomes, outcome{kind: kind})
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record deliveries: %w", err)
	}
	for i, o := range outcomes {
		d.metrics.deliveries.WithLabelValues(s.Name, o.kind).Inc()
		d.metrics.coalesced.WithLabelValues(s.Name).Add(float64(o.folded))
		a := results[i]
		switch o.kind {
		case "failed":
			s.log.Warn("delivery failed", "incident_id", a.row.IncidentID, "kind", a.row.Kind, "attempts", a.row.Attempts+1, "err", a.err)
		case "dead":
			s.log.Error("notification is a dead letter", "incident_id", a.row.IncidentID, "kind", a.row.Kind,
				"outbox_id", a.row.ID, "err", a.err)
		}
		var ra *RetryAfterError
		if errors.As(a.err, &ra) {
			// The tool rate-limits the sink, not the row: wait as told.
			s.mu.Lock()
			s.pausedUntil = now.Add(min(ra.After, maxRetryAfter))
			s.mu.Unlock()
		}
	}
	return nil
}

// putTicket keeps the ticket an attempt returned, if any.
func (s *sinkRun) putTicket(ctx context.Context, tx incident.Tx, a attempt, now time.Time) error {
	if a.ticket == nil {
		return nil
	}
	t := *a.ticket
	t.IncidentID, t.Sink, t.UpdatedAt = a.row.IncidentID, s.Name, now
	return tx.PutTicket(ctx, t)
}

// backoff is how long to wait before attempt number attempts+1: the tool's
// Retry-After when it gave one, else exponential from InitialBackoff to
// MaxBackoff with jitter (half the step, plus a random part of the other
// half), so that rows that failed together do not come back together.
func (s *sinkRun) backoff(attempts int, err error) time.Duration {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return max(min(ra.After, maxRetryAfter), time.Second)
	}
	step := s.InitialBackoff
	for i := 1; i < attempts && step < s.MaxBackoff; i++ {
		step *= 2
	}
	step = min(step, s.MaxBackoff)
	half := step / 2
	return half + rand.N(half+1)
}

type metrics struct {
	deliveries   *prometheus.CounterVec
	coalesced    *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	circuitOpen  *prometheus.GaugeVec
	circuitState *prometheus.GaugeVec
	transitions  *prometheus.CounterVec
	purged       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_sink_deliveries_total",
			Help: "Delivery attempts by sink and outcome: delivered, failed (retried later), dead (a dead letter), skipped (circuit open or paused by Retry-After).",
		}, []string{"sink", "outcome"}),
		coalesced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_sink_coalesced_total",
			Help: "Notifications folded into an earlier one of the same incident while the sink lagged behind.",
		}, []string{"sink"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "alertbridge_sink_delivery_duration_seconds", Help: "Time of one delivery attempt, by sink.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"sink"}),
		circuitOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "alertbridge_sink_circuit_open", Help: "Whether the sink's circuit breaker is open (1): deliveries wait for a probe to succeed.",
		}, []string{"sink"}),
		circuitState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "alertbridge_sink_circuit_state", Help: "The sink's circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{"sink"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_sink_circuit_transitions_total", Help: "Circuit breaker state changes, by sink and the state entered.",
		}, []string{"sink", "to"}),
		purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_outbox_dead_letters_purged_total", Help: "Dead letters forgotten after the retention.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.coalesced, m.duration, m.circuitOpen, m.circuitState, m.transitions, m.purged)
	}
	return m
}

func (m *metrics) breakerChanged(sink string, to gobreaker.State, count bool) {
	open := 0.0
	if to == gobreaker.StateOpen {
		open = 1
	}
	m.circuitOpen.WithLabelValues(sink).Set(open)
	m.circuitState.WithLabelValues(sink).Set(float64(to))
	for _, st := range []gobreaker.State{gobreaker.StateClosed, gobreaker.StateHalfOpen, gobreaker.StateOpen} {
		m.transitions.WithLabelValues(sink, st.String()) // every series from the start
	}
	if count {
		m.transitions.WithLabelValues(sink, to.String()).Inc()
	}
}

// Replay puts a dead letter back in line, due now, and wakes its sink. It
// returns incident.ErrNotFound for an unknown row and incident.ErrConflict
// for a row that is not dead.
func (d *Dispatcher) Replay(ctx context.Context, id int64) (incident.OutboxRow, error) {
	var row incident.OutboxRow
	err := d.o.Store.Update(ctx, func(tx incident.Tx) error {
		var err error
		row, err = tx.ReplayOutbox(ctx, id, d.o.Now())
		return err
	})
	if err != nil {
		return row, err
	}
	d.Kick()
	return row, nil
}
