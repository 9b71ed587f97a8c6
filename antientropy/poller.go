package antientropy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
)

// Defaults of Options.
const (
	DefaultInterval         = time.Minute
	DefaultGrace            = 5 * time.Minute
	DefaultMaxResponseBytes = 64 << 20
	// defaultTimeout bounds one listing request when Options.Client is nil.
	defaultTimeout = 30 * time.Second
	// maxBatch bounds the events of one Submit, so that a first poll against
	// a busy Alertmanager does not become one huge transaction.
	maxBatch = 500
)

// Firing is the read side of the store the poller compares Alertmanager with.
type Firing interface {
	// FiringAlerts returns the states of the alerts whose status is firing
	// and whose Source is source: an alert is (source, fingerprint), so the
	// poller only ever repairs its own source's alerts. Only Fingerprint,
	// StartsAt and IncidentID are read. It
	// returns the store's error wrapped; nothing is repaired then.
	FiringAlerts(ctx context.Context, source string) ([]incident.AlertState, error)
	// Alerts returns an incident's alerts. The poller reads the labels,
	// annotations and generator URL of an alert it resolves from there, so
	// that the resolve event carries what a webhook's would (the timeline
	// names the alert; the alert keeps its annotations). It returns the
	// store's error wrapped.
	Alerts(ctx context.Context, incidentID int64) ([]incident.Alert, error)
}

// Sink commits events; *pipeline.Pipeline satisfies it. An error means
// nothing of the batch was committed.
type Sink interface {
	Submit(ctx context.Context, events []incident.Event) error
}

// Options configures a Poller.
type Options struct {
	// Source is the name of the configured source Alertmanager's webhooks
	// come in through ("alertmanager" without a config). Repaired events
	// carry it, and only alerts whose state has this source are resolved.
	Source string
	// URLs are the base URLs of the Alertmanagers of Source (for example
	// http://alertmanager:9093, plus the --web.route-prefix if one is set).
	// With several (an HA cluster), an alert is missing only when it is
	// missing from all of them, and a poll succeeds only when all answer.
	URLs []string
	// Interval between polls (default 1m).
	Interval time.Duration
	// Grace is how long an alert must stay missing (from Alertmanager, for
	// a resolve; from alertbridge, for a firing) over consecutive successful
	// polls before it is repaired (default 5m). It lets a webhook in flight
	// or in Alertmanager's retries win, and it must exceed the time a
	// restarted Alertmanager needs to hear again from Prometheus (its
	// resend delay plus an evaluation interval, about 1m by default).
	Grace time.Duration
	// BearerToken, or BasicUser and BasicPassword, authenticate the
	// requests (to a proxy in front of Alertmanager, or Alertmanager's own
	// --web.config.file). At most one of the two; never logged.
	BearerToken              string
	BasicUser, BasicPassword string
	// Receivers, when set, limits the repair of lost firings to alerts that
	// Alertmanager routes to one of these receivers, the ones whose
	// webhook_configs point at alertbridge; Alertmanager's listing holds
	// every alert, routed to alertbridge or not. Resolves are not limited:
	// any listed alert counts as present.
	Receivers []string
	// GroupBy mirrors the group_by of the route that sends to alertbridge,
	// and gives the GroupLabels of repaired firings, which form the default
	// correlation key when no rule matches (the listing does not carry the
	// route's grouping). "..." means every label, as in Alertmanager. Empty
	// leaves GroupLabels nil: each repaired alert that no rule matches gets
	// an incident of its own instead of joining its group's.
	GroupBy []string
	// Client makes the requests (default: http.DefaultTransport with a 30s
	// timeout). Set it for TLS settings.
	Client *http.Client
	// MaxResponseBytes bounds one listing (default 64 MiB); a larger one
	// fails the poll.
	MaxResponseBytes int64
	Firing           Firing
	Sink             Sink
	Logger           *slog.Logger
	Registerer       prometheus.Registerer
	// Now is the clock (default time.Now); Grace and the timestamps of
	// repaired events follow it.
	Now func() time.Time
}

// Poller repairs lost Alertmanager webhooks. Create it with New.
type Poller struct {
	o         Options
	endpoints []endpoint
	receivers map[string]bool
	log       *slog.Logger
	metrics   *metrics

	mu sync.Mutex // serialises polls; guards the fields below
	// missing tracks alerts alertbridge holds as firing that Alertmanager
	// did not list, by fingerprint.
	missing map[string]missingAlert
	// unknown tracks alerts firing in Alertmanager that alertbridge does not
	// hold as firing: when they were first seen so.
	unknown map[string]time.Time
	// tried remembers the firings submitted, by fingerprint, so that one
	// that did not take (see plan) is not submitted on every poll.
	tried map[string]triedFiring

	// poked holds the groups Poke asked about since the last poll; wake
	// starts a poll at once.
	pokeMu sync.Mutex
	poked  []map[string]string
	wake   chan struct{}
}

// maxPoked bounds the groups remembered between two polls.
const maxPoked = 256

// Poke asks for a poll at once, in which the alerts firing in Alertmanager
// that carry every label of group are repaired without waiting out Grace: a
// truncated notification (max_alerts) left them out, so no webhook of
// theirs is on its way. It never blocks.
func (p *Poller) Poke(group map[string]string) {
	p.pokeMu.Lock()
	if len(p.poked) < maxPoked {
		p.poked = append(p.poked, maps.Clone(group))
	}
	p.pokeMu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// takePoked returns the groups poked since the last poll and forgets them.
func (p *Poller) takePoked() []map[string]string {
	p.pokeMu.Lock()
	defer p.pokeMu.Unlock()
	out := p.poked
	p.poked = nil
	return out
}

// poked reports whether labels carry every label of one of groups.
func poked(groups []map[string]string, labels map[string]string) bool {
	for _, g := range groups {
		match := true
		for k, v := range g {
			if labels[k] != v {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

type triedFiring struct {
	startsAt time.Time
	warned   bool
}

type missingAlert struct {
	startsAt time.Time // of the firing episode alertbridge holds
	since    time.Time // the first poll that did not list it
}

// New validates o, fills in its defaults and returns a Poller.
func New(o Options) (*Poller, error) {
	var errs []error
	if o.Source == "" {
		errs = append(errs, errors.New("no source"))
	}
	if len(o.URLs) == 0 {
		errs = append(errs, errors.New("no alertmanager url"))
	}
	endpoints := make([]endpoint, 0, len(o.URLs))
	seen := make(map[string]bool)
	for i, raw := range o.URLs {
		ep, err := parseEndpoint(raw)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("urls[%d]: %w", i, err))
		case seen[ep.url]:
			errs = append(errs, fmt.Errorf("urls[%d]: duplicate of %s", i, ep.display))
		default:
			seen[ep.url] = true
			endpoints = append(endpoints, ep)
		}
	}
	if o.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval %s: must not be negative", o.Interval))
	}
	if o.Grace < 0 {
		errs = append(errs, fmt.Errorf("grace %s: must not be negative", o.Grace))
	}
	if o.MaxResponseBytes < 0 {
		errs = append(errs, fmt.Errorf("max response bytes %d: must not be negative", o.MaxResponseBytes))
	}
	if o.BearerToken != "" && (o.BasicUser != "" || o.BasicPassword != "") {
		errs = append(errs, errors.New("both bearer token and basic auth: choose one"))
	}
	if o.BasicUser == "" && o.BasicPassword != "" {
		errs = append(errs, errors.New("basic auth password without a user"))
	}
	for i, r := range o.Receivers {
		if r == "" {
			errs = append(errs, fmt.Errorf("receivers[%d]: empty", i))
		}
	}
	for i, l := range o.GroupBy {
		if l == "" {
			errs = append(errs, fmt.Errorf("group_by[%d]: empty", i))
		}
	}
	if o.Firing == nil {
		errs = append(errs, errors.New("no firing-alert lookup"))
	}
	if o.Sink == nil {
		errs = append(errs, errors.New("no sink"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("antientropy options: %w", err)
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: defaultTimeout}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.URLs, o.Receivers, o.GroupBy = slices.Clone(o.URLs), slices.Clone(o.Receivers), slices.Clone(o.GroupBy)
	p := &Poller{
		o: o, endpoints: endpoints,
		log:     o.Logger.With("component", "antientropy", "source", o.Source),
		metrics: newMetrics(o.Registerer),
		missing: make(map[string]missingAlert), unknown: make(map[string]time.Time), tried: make(map[string]triedFiring),
		wake: make(chan struct{}, 1),
	}
	if len(o.Receivers) > 0 {
		p.receivers = make(map[string]bool, len(o.Receivers))
		for _, r := range o.Receivers {
			p.receivers[r] = true
		}
	}
	p.metrics.initSource(o.Source)
	return p, nil
}

// Source is the configured source the poller repairs.
func (p *Poller) Source() string { return p.o.Source }

// Run polls at once and then every Interval until ctx is done. A failed
// poll is logged and retried at the next tick.
func (p *Poller) Run(ctx context.Context) {
	p.log.Info("started", "urls", len(p.endpoints), "interval", p.o.Interval, "grace", p.o.Grace)
	t := time.NewTicker(p.o.Interval)
	defer t.Stop()
	for {
		if err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			p.log.Info("stopped")
			return
		case <-t.C:
		case <-p.wake:
		}
	}
}

// Poll runs one round: it reads the alerts alertbridge holds as firing for
// Source, lists every Alertmanager, and submits the repairs that are due.
// When the store or any Alertmanager cannot be read, it changes nothing,
// restarts the grace count of every alert and returns the error. An error
// from the Sink is returned too; the repairs are then tried again next poll.
func (p *Poller) Poll(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.o.Now()
	err := p.poll(ctx, now)
	if err != nil {
		if ctx.Err() == nil { // a shutdown is not a failed poll
			p.metrics.polls.WithLabelValues(p.o.Source, resultError).Inc()
		}
		return err
	}
	p.metrics.polls.WithLabelValues(p.o.Source, resultOK).Inc()
	p.metrics.lastSuccess.WithLabelValues(p.o.Source).Set(float64(now.UnixNano()) / 1e9)
	return nil
}

func (p *Poller) poll(ctx context.Context, now time.Time) error {
	// alertbridge first, Alertmanager second: an alert reaches us only after
	// Alertmanager has it, so whatever we hold as firing at this point is
	// in a listing taken afterwards unless it has really gone.
	known, err := p.o.Firing.FiringAlerts(ctx, p.o.Source)
	if err != nil {
		p.restart()
		return fmt.Errorf("list firing alerts of %s: %w", p.o.Source, err)
	}
	listed, err := p.list(ctx)
	if err != nil {
		p.restart()
		return err
	}
	firing, resolved, err := p.plan(ctx, now, known, listed, p.takePoked())
	if err != nil {
		return err
	}
	if err := p.submit(ctx, firing, resolved); err != nil {
		return err
	}
	for _, ev := range firing {
		p.tried[ev.Fingerprint] = triedFiring{startsAt: ev.StartsAt}
	}
	return nil
}

// restart forgets every grace count: a failed poll proves nothing, and the
// next listing may come from an Alertmanager that just restarted empty.
func (p *Poller) restart() {
	clear(p.missing)
	clear(p.unknown)
}

// list fetches every Alertmanager at once and merges the listings by
// fingerprint. It fails if any of them fails: an alert is missing only if
// it is missing from all.
func (p *Poller) list(ctx context.Context) (map[string]*amAlert, error) {
	results := make([][]amAlert, len(p.endpoints))
	errs := make([]error, len(p.endpoints))
	var wg sync.WaitGroup
	for i, ep := range p.endpoints {
		wg.Go(func() { results[i], errs[i] = p.fetch(ctx, ep) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	listed := make(map[string]*amAlert)
	for _, alerts := range results {
		for i := range alerts {
			a := &alerts[i]
			// Prefer the listing that says active: suppression is per
			// Alertmanager, and one that would notify is enough.
			if prev, ok := listed[a.Fingerprint]; !ok || prev.Status.State != stateActive && a.Status.State == stateActive {
				listed[a.Fingerprint] = a
			}
		}
	}
	return listed, nil
}

// plan updates the grace counts from one successful round and returns the
// repairs that are due.
func (p *Poller) plan(ctx context.Context, now time.Time, known []incident.AlertState,
	listed map[string]*amAlert, groups []map[string]string) (firing, resolved []incident.Event, err error) {
	knownFP := make(map[string]bool, len(known))
	for _, st := range known {
		knownFP[st.Fingerprint] = true
	}

	// Lost firings: alerts Alertmanager would notify that we do not hold
	// as firing.
	unknown := make(map[string]time.Time)
	tried := make(map[string]triedFiring)
	for _, fp := range slices.Sorted(maps.Keys(listed)) {
		a := listed[fp]
		if knownFP[fp] || !p.wantFiring(a) {
			continue
		}
		since, seen := p.unknown[fp]
		if !seen {
			since = now
		}
		unknown[fp] = since
		// Submitted before, and it did not take: alertbridge holds this very
		// episode as resolved (say, the poller resolved it while the alert
		// came back within the same startsAt), and dedupe rightly calls the
		// firing stale. Say so once; do not write it again on every poll.
		t, ok := p.tried[fp]
		stuck := ok && t.startsAt.Equal(a.StartsAt)
		if stuck {
			tried[fp] = t
		}
		if now.Sub(since) < p.o.Grace && !poked(groups, a.Labels) {
			continue
		}
		if stuck {
			if !t.warned {
				p.log.Warn("alert firing in alertmanager stays resolved in alertbridge",
					"fingerprint", fp, "starts_at", a.StartsAt)
				t.warned = true
				tried[fp] = t
			}
			continue
		}
		firing = append(firing, p.firingEvent(a))
	}
	p.unknown, p.tried = unknown, tried

	// Lost resolves: alerts we hold as firing that no Alertmanager lists.
	missing := make(map[string]missingAlert)
	alerts := make(map[int64][]incident.Alert) // by incident, read once per poll
	for _, st := range known {
		if listed[st.Fingerprint] != nil {
			continue
		}
		m, ok := p.missing[st.Fingerprint]
		if !ok || !m.startsAt.Equal(st.StartsAt) {
			m = missingAlert{startsAt: st.StartsAt, since: now}
		}
		missing[st.Fingerprint] = m
		if now.Sub(m.since) < p.o.Grace {
			continue
		}
		ev, err := p.resolvedEvent(ctx, st, m.since, alerts)
		if err != nil {
			return nil, nil, err
		}
		resolved = append(resolved, ev)
	}
	p.missing = missing
	return firing, resolved, nil
}

// wantFiring reports whether a listed alert is one Alertmanager would have
// notified alertbridge of: active (suppressed alerts are silenced or
// inhibited, and Alertmanager sends no webhook for them; unprocessed ones
// are decided on the next poll), routed to one of Receivers, and valid.
func (p *Poller) wantFiring(a *amAlert) bool {
	if a.Status.State != stateActive {
		if a.Status.State != stateSuppressed && a.Status.State != stateUnprocessed {
			p.log.Debug("unknown alert state; counted as present", "fingerprint", a.Fingerprint, "state", a.Status.State)
		}
		return false
	}
	if _, ok := a.routedTo(p.receivers); !ok {
		return false
	}
	if why := a.invalid(); why != "" {
		p.log.Warn("invalid alert in alertmanager listing; counted as present", "fingerprint", a.Fingerprint, "reason", why)
		return false
	}
	return true
}

func (p *Poller) firingEvent(a *amAlert) incident.Event {
	receiver, _ := a.routedTo(p.receivers)
	return incident.Event{
		Source:       p.o.Source,
		Fingerprint:  a.Fingerprint,
		Status:       incident.StatusFiring,
		Labels:       maps.Clone(a.Labels),
		Annotations:  nonNil(maps.Clone(a.Annotations)),
		StartsAt:     a.StartsAt,
		GeneratorURL: a.GeneratorURL,
		GroupLabels:  groupLabels(p.o.GroupBy, a.Labels),
		Receiver:     receiver,
	}
}

// groupLabels computes an alert's group labels under a route's group_by the
// way Alertmanager's dispatcher does: the listed labels the alert has, or
// all of them for "...". It returns nil when groupBy is empty.
func groupLabels(groupBy []string, labels map[string]string) map[string]string {
	if len(groupBy) == 0 {
		return nil
	}
	if slices.Contains(groupBy, "...") {
		return maps.Clone(labels)
	}
	g := make(map[string]string, len(groupBy))
	for _, name := range groupBy {
		if v, ok := labels[name]; ok {
			g[name] = v
		}
	}
	return g
}

// resolvedEvent builds the resolve of an alert first found missing at since.
// It ends at since, the earliest time the poller knows it had gone (it went
// between the poll before and that one), but not before it started. The
// labels and annotations come from the incident's alert, as a webhook's
// resolve would carry them.
func (p *Poller) resolvedEvent(ctx context.Context, st incident.AlertState, since time.Time,
	cache map[int64][]incident.Alert) (incident.Event, error) {
	ev := incident.Event{
		Source: p.o.Source, Fingerprint: st.Fingerprint, Status: incident.StatusResolved,
		StartsAt: st.StartsAt, EndsAt: since,
		Labels: map[string]string{}, Annotations: map[string]string{},
	}
	if ev.EndsAt.Before(st.StartsAt) {
		ev.EndsAt = st.StartsAt
	}
	if st.IncidentID == 0 {
		return ev, nil
	}
	alerts, ok := cache[st.IncidentID]
	if !ok {
		var err error
		if alerts, err = p.o.Firing.Alerts(ctx, st.IncidentID); err != nil {
			return ev, fmt.Errorf("alerts of incident %d: %w", st.IncidentID, err)
		}
		cache[st.IncidentID] = alerts
	}
	for _, a := range alerts {
		if a.Source == st.Source && a.Fingerprint == st.Fingerprint {
			ev.Labels, ev.Annotations = maps.Clone(a.Labels), nonNil(maps.Clone(a.Annotations))
			ev.GeneratorURL = a.GeneratorURL
			break
		}
	}
	return ev, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// submit commits the repairs in bounded batches and counts what committed.
func (p *Poller) submit(ctx context.Context, firing, resolved []incident.Event) error {
	for _, batch := range []struct {
		kind   string
		events []incident.Event
	}{{kindResolved, resolved}, {kindFiring, firing}} {
		for chunk := range slices.Chunk(batch.events, maxBatch) {
			if err := p.o.Sink.Submit(ctx, chunk); err != nil {
				return fmt.Errorf("submit %d %s repairs: %w", len(chunk), batch.kind, err)
			}
			p.metrics.repaired.WithLabelValues(p.o.Source, batch.kind).Add(float64(len(chunk)))
			for _, ev := range chunk {
				p.log.Debug("repaired", "kind", batch.kind, "fingerprint", ev.Fingerprint)
			}
		}
		if n := len(batch.events); n > 0 {
			p.log.Info("repaired lost webhooks", "kind", batch.kind, "alerts", n)
		}
	}
	return nil
}
