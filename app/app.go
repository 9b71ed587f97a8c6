package app

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/antientropy"
	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/ingest"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/store"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/web"
)

// App is one running daemon.
type App struct {
	o     Options
	log   *slog.Logger
	reg   *prometheus.Registry
	guard *access.Guard
	// webConfig watches --web.config.file: TLS, headers and API users.
	webConfig *access.WebConfigFile
	store     store.Store
	rules     atomic.Pointer[rules.Set]
	pipeline  *pipeline.Pipeline
	// dispatcher delivers the outbox to the sinks.
	dispatcher *sink.Dispatcher
	ln         net.Listener
	srv        *http.Server
	ready      atomic.Bool
	serveErr   chan error
	reloadMu   sync.Mutex
	reloads    reloads
	metrics    *metrics
	retention  *retentionMetrics
	stopOnce   sync.Once
	stopErr    error
	// stops undo what New and Start set up, last in first out (as in
	// Alertmanager's app): Stop runs them, and so does a New that fails
	// half way.
	stops    []stopFunc
	sweeping chan struct{} // closed to stop the sweeper and the pollers
	swept    sync.WaitGroup
	pollers  []*antientropy.Poller
}

// stopFunc is one step of Stop.
type stopFunc struct {
	name string
	f    func(context.Context) error
}

// onStop registers a step for Stop to run, before every step registered
// earlier.
func (a *App) onStop(name string, f func(context.Context) error) {
	a.stops = append(a.stops, stopFunc{name, f})
}

// runStops runs the registered steps last in first out within ctx, and
// forgets them.
func (a *App) runStops(ctx context.Context) error {
	var errs []error
	for i := len(a.stops) - 1; i >= 0; i-- {
		if err := a.stops[i].f(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", a.stops[i].name, err))
		}
	}
	a.stops = nil
	return errors.Join(errs...)
}

// New loads the config file, opens the store (running migrations), loads
// the rules, and binds the listener. It refuses an invalid config file or
// invalid rules: the error lists every problem as file:line:col (invariant
// 6).
func New(ctx context.Context, o Options) (_ *App, err error) {
	if err := o.applyConfig(); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	a := &App{o: o, log: o.Logger.With("component", "app"), reg: prometheus.NewRegistry(), serveErr: make(chan error, 1)}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = newMetrics(a.reg, o.Version)
	a.retention = newRetentionMetrics(a.reg)

	set, err := loadRules(o.RuleFiles, a.log)
	if err != nil {
		return nil, err
	}
	a.rules.Store(set)
	a.metrics.reloaded(set, o.Now())
	a.reloads.loadedAt = o.Now()

	st, err := store.Open(ctx, store.Config{Path: o.StoragePath, DSN: o.StorageDSN, Password: o.StoragePassword})
	if err != nil {
		return nil, err
	}
	a.store = st
	a.onStop("store", func(context.Context) error { return st.Close() })
	defer func() {
		if err != nil {
			_ = a.runStops(ctx) // undo what was set up; the error says why
		}
	}()
	warnUnindexedSearch(ctx, st, a.log)
	a.reg.MustRegister(newStoreCollector(st))
	if w, ok := st.(walReporter); ok {
		a.reg.MustRegister(newWALCollector(w))
	}
	a.reg.MustRegister(newBacklogCollector(st, o.Now))
	a.reg.MustRegister(newProblemCollector(st))

	sinks, err := buildSinks(o)
	if err != nil {
		return nil, err
	}
	a.dispatcher, err = sink.New(sink.Options{Store: st, Sinks: dispatchConfigs(sinks), Now: o.Now, Logger: o.Logger,
		Registerer: a.reg, Poll: o.SinkPoll, DeadRetention: o.Config.Notifications.DeadLetterRetention,
		IncidentURL: incidentURL(o.ExternalURL)})
	if err != nil {
		return nil, err
	}
	a.reg.MustRegister(sink.NewCollector(st.OutboxStats, a.dispatcher.Sinks(), o.Now, o.Logger))

	a.pipeline, err = pipeline.New(pipeline.Options{
		Store: st, Rules: &a.rules, Logger: o.Logger, Registerer: a.reg, Now: o.Now,
		DedupeCacheSize: o.DedupeCacheSize, CorrelateCacheSize: o.CorrelateCacheSize, QueueSize: o.QueueSize,
		MaxQueuedAlerts: o.MaxQueuedAlerts, MaxWait: o.MaxWait,
		Route: router(o.Config.Notifications, sinks), Outbox: incident.EnqueueOptions{MaxPending: o.Config.Notifications.MaxPending},
		Enqueued: a.dispatcher.Kick, TouchFlushInterval: max(o.TouchFlushInterval, 0), CloseAfter: *o.CloseAfter,
		ExpectTraffic: expectTraffic(o.Config.Sources), ResolveTimeout: resolveTimeouts(o.Config.Sources),
	})
	if err != nil {
		return nil, err
	}
	callbacks := map[string]sink.Callbacks{}
	for _, s := range sinks {
		if s.callback != nil {
			callbacks[s.cfg.Name] = s.callback
		}
		// A sink that finishes a callback's work in the background (Slack
		// edits the pressed message) is waited for once HTTP has stopped.
		if w, ok := s.sink.(interface{ Wait() }); ok {
			a.onStop("sink "+s.cfg.Name, func(ctx context.Context) error {
				done := make(chan struct{})
				go func() { w.Wait(); close(done) }()
				select {
				case <-done:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
		}
	}

	var pollerSources []string
	for _, src := range o.Config.Sources {
		if src.AntiEntropy == nil {
			continue
		}
		p, err := newPoller(src, a.pipeline, st, o, a.reg)
		if err != nil {
			return nil, fmt.Errorf("source %s: anti_entropy: %w", src.Name, err)
		}
		a.pollers = append(a.pollers, p)
		pollerSources = append(pollerSources, src.Name)
	}

	mux := http.NewServeMux()
	bySource := make(map[string]*antientropy.Poller, len(a.pollers))
	for i, src := range pollerSources {
		bySource[src] = a.pollers[i]
	}
	// A store that replicas share also shares the sources' rate limits.
	buckets, _ := st.(ingest.Buckets)
	in, err := ingest.New(ingest.Options{
		Sink: a.pipeline, Logger: o.Logger, Registerer: a.reg, Now: o.Now, Buckets: buckets,
		// A truncated notification's missing alerts are fetched from
		// Alertmanager's API by the source's poller, when it has one.
		Truncated: func(source string, group map[string]string) {
			if p := bySource[source]; p != nil {
				p.Poke(group)
			}
		},
		Limits: ingestLimits(o.Config.Limits, o.MaxBodyBytes), Sources: ingestSources(o.Config.Sources),
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	a.webConfig = access.NewWebConfigFile(o.WebConfigFile)
	a.guard, err = access.New(access.Options{WebConfig: a.webConfig,
		Users: o.Config.API.AccessUsers(), AnonymousReads: o.Config.API.AnonymousReads, AnonymousWrites: o.AnonymousWrites,
		WebConfigFile: o.WebConfigFile, WebConfigRole: o.Config.API.WebConfigRole, Logger: o.Logger, Registerer: a.reg,
	})
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	// Who may call what (docs/config.md, "Security model"): ingest takes
	// source credentials; the API and /-/reload take API identities by
	// role; /metrics and the health endpoints are open unless the web
	// config's users protect them.
	ingestMux := http.NewServeMux()
	in.Register(ingestMux)
	var ingestHandler http.Handler = ingestMux
	if len(o.Config.Sources) == 0 {
		// No source authenticates ingest: as in every Prometheus component,
		// the web config's basic_auth_users (if any) protect it.
		ingestHandler = a.guard.WebUsersOnly(ingestMux)
	}
	// A tool's callback is authenticated by its sink's own secret (its
	// signature or token), never by source or API credentials.
	mux.Handle("/ingest/callbacks/{sink}", sink.NewCallbackHandler(sink.CallbackOptions{Sinks: callbacks,
		Exec: a.pipeline, Tickets: st, Now: o.Now, Logger: o.Logger, Registerer: a.reg}))
	mux.Handle("/ingest/", ingestHandler)
	mux.Handle("/v2/enqueue", ingestHandler)
	heartbeats := pipeline.HeartbeatLister{R: st, P: a.pipeline}
	a.reg.MustRegister(newHeartbeatCollector(heartbeats))
	api.New(api.Options{Reader: st, Executor: a.pipeline, Guard: a.guard, Outbox: a.dispatcher, Logger: o.Logger, Now: o.Now,
		Heartbeats: heartbeats}).Register(mux)
	ui, err := web.New(web.Options{Reader: st, Executor: a.pipeline, Guard: a.guard, Logger: o.Logger, Now: o.Now,
		Version: o.Version, Poll: o.UIPoll, Rules: rulesInfo{a}, Reporter: a.pipeline})
	if err != nil {
		return nil, err
	}
	ui.Register(mux)
	// promhttp's own compression would make a compressor for nearly every
	// scrape under ingest (scrape.go).
	mux.Handle("GET /metrics", a.guard.Public(newGzipScrapes(
		promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg, DisableCompression: true}))))
	mux.Handle("GET /-/healthy", a.guard.Public(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "alertbridge is healthy.\n")
	})))
	mux.Handle("GET /-/ready", a.guard.Public(http.HandlerFunc(a.handleReady)))
	mux.Handle("POST /-/reload", a.guard.Require(access.RoleAdmin, http.HandlerFunc(a.handleReload)))

	a.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout(o.Config.Limits),
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	a.ln, err = net.Listen("tcp", o.ListenAddress)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", o.ListenAddress, err)
	}
	// Until Start serves on it, Stop closes the listener itself.
	a.onStop("listener", func(context.Context) error {
		if err := a.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	return a, nil
}

// Addr is the bound listen address (useful with ":0").
func (a *App) Addr() string { return a.ln.Addr().String() }

// Dispatcher exposes the outbox dispatcher (for tests on a simulated
// clock, with ManualDispatch).
func (a *App) Dispatcher() *sink.Dispatcher { return a.dispatcher }

// Registry exposes the metrics registry (for tests).
func (a *App) Registry() *prometheus.Registry { return a.reg }

// Start starts the writer, the background work and the HTTP server. Each
// registers its stop, so Stop drains them in reverse: HTTP first (in-flight
// requests finish and are answered after their commit), then the sweeper
// and pollers, then the writer's queue, then the store.
func (a *App) Start() {
	a.pipeline.Start()
	a.onStop("pipeline", a.pipeline.Stop)
	a.sweeping = make(chan struct{})
	a.onStop("background", func(context.Context) error {
		close(a.sweeping)
		a.swept.Wait()
		return nil
	})
	// Background work runs on the replica that holds its lease (with
	// SQLite, the only one): sweeps, each anti-entropy poller, the outbox.
	var sweepLease atomic.Bool
	a.swept.Add(2)
	go a.sweep(&sweepLease)
	go a.leased("sweep", func(ctx context.Context) {
		sweepLease.Store(true)
		<-ctx.Done()
		sweepLease.Store(false)
	})
	a.swept.Add(1)
	go a.leased("retention", a.retain)
	if p, ok := a.store.(statsPrimer); ok {
		a.swept.Add(1)
		go a.prime(p)
	}
	for _, p := range a.pollers {
		a.swept.Add(1)
		go a.leased("antientropy/"+p.Source(), p.Run)
	}
	if !a.o.ManualDispatch {
		a.swept.Add(1)
		go a.leased("outbox", func(ctx context.Context) {
			a.dispatcher.Start()
			<-ctx.Done()
			stop, cancel := context.WithTimeout(context.Background(), a.o.ShutdownTimeout)
			defer cancel()
			if err := a.dispatcher.Stop(stop); err != nil {
				a.log.Warn("outbox dispatcher stopped", "err", err)
			}
		})
	}
	go func() {
		if err := a.serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.serveErr <- err
		}
	}()
	a.onStop("http", a.srv.Shutdown)
	a.ready.Store(true)
	a.guard.LogMode()
	a.log.Info("listening", "address", a.Addr(), "storage", a.store.Location(), "rules", a.rules.Load().Len(),
		"sources", len(a.o.Config.Sources), "web_config", a.o.WebConfigFile != "")
}

// Stop undoes New and Start, last in first out, within ctx. It is safe
// before Start (it then closes the listener and the store) and safe to call
// twice; it returns every step's error joined.
func (a *App) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() {
		a.ready.Store(false)
		a.stopErr = a.runStops(ctx)
		a.log.Info("stopped")
	})
	return a.stopErr
}

// sweep carries out scheduled resolves (resolve_after) as they fall due,
// while this replica holds the sweep's lease, and writes the store's
// heartbeat either way (see pipeline.Sweep and Heartbeat).
func (a *App) sweep(held *atomic.Bool) {
	defer a.swept.Done()
	t := time.NewTicker(a.o.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-a.sweeping:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), a.o.SweepInterval)
			what, run := "sweep", a.pipeline.Sweep
			if !held.Load() {
				what, run = "heartbeat", a.pipeline.Heartbeat
			}
			if err := run(ctx); err != nil {
				a.log.Warn("periodic write failed", "what", what, "err", err)
			}
			cancel()
		}
	}
}

// statsPrimer is a store that keeps parts of the stats between calls
// (both stores): priming reads the usual windows' parts once, at start.
type statsPrimer interface {
	PrimeStats(ctx context.Context, now time.Time) error
}

// prime primes the store's stats in the background after a start, so that
// the first dashboard to ask does not wait for them; Stop cancels it.
func (a *App) prime(p statsPrimer) {
	defer a.swept.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-a.sweeping:
			cancel()
		case <-ctx.Done():
		}
	}()
	start := time.Now()
	if err := p.PrimeStats(ctx, a.o.Now()); err != nil {
		if ctx.Err() == nil {
			a.log.Warn("priming the stats failed: the first call reads them", "err", err)
		}
		return
	}
	a.log.Debug("stats primed", "took", time.Since(start))
}

// leased runs work while this replica holds the lease name, and tries to
// take it every LeaseRetry while another replica holds it. work's context
// ends when the lease is lost or the daemon stops; work must return then.
func (a *App) leased(name string, work func(ctx context.Context)) {
	defer a.swept.Done()
	log := a.log.With("lease", name)
	gauge := a.metrics.leaseHeld.WithLabelValues(name)
	for {
		l, ok, err := a.store.AcquireLease(context.Background(), name)
		switch {
		case err != nil:
			log.Warn("cannot take the lease", "err", err)
		case ok:
			log.Info("lease taken: running its work here")
			gauge.Set(1)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-l.Lost():
					log.Warn("lease lost: stopping its work here")
				case <-a.sweeping:
				case <-ctx.Done():
				}
				cancel()
			}()
			work(ctx)
			cancel()
			if err := l.Release(); err != nil {
				log.Warn("release the lease", "err", err)
			}
			gauge.Set(0)
		}
		select {
		case <-a.sweeping:
			return
		case <-time.After(a.o.LeaseRetry):
		}
	}
}

// Reload re-reads the rule files and swaps them in only if every file is
// valid; otherwise the running set stays (invariant 6). The config file is
// not re-read: sources, credentials and limits change with a restart.
func (a *App) Reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	set, err := loadRules(a.o.RuleFiles, a.log)
	if err != nil {
		a.metrics.reloadFailed()
		a.reloads.record(a.o.Now(), err)
		a.log.Error("rules reload failed, keeping the running rules", "err", err)
		return err
	}
	a.rules.Store(set)
	a.metrics.reloaded(set, a.o.Now())
	a.reloads.record(a.o.Now(), nil)
	a.log.Info("rules reloaded", "rules", set.Len())
	return nil
}

// handleReady answers 503 until the daemon has started and while it stops,
// and while the store cannot commit (disk full, read-only): the writer's
// last commit failed in the store, and the periodic sweep's heartbeat has
// not committed since.
func (a *App) handleReady(w http.ResponseWriter, _ *http.Request) {
	if !a.ready.Load() {
		http.Error(w, "alertbridge is not ready.", http.StatusServiceUnavailable)
		return
	}
	if err := a.pipeline.StoreErr(); err != nil {
		http.Error(w, fmt.Sprintf("alertbridge is not ready: the store cannot commit: %v", err), http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "alertbridge is ready.\n")
}

func (a *App) handleReload(w http.ResponseWriter, _ *http.Request) {
	if err := a.Reload(); err != nil {
		http.Error(w, fmt.Sprintf("failed to reload rules: %v", err), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Run starts the daemon and serves until ctx ends or the server fails.
// Each value on reload (main sends one per SIGHUP) reloads the rules, as
// POST /-/reload does.
func Run(ctx context.Context, o Options, reload <-chan struct{}) error {
	a, err := New(ctx, o)
	if err != nil {
		return err
	}
	a.Start()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-reload:
			_ = a.Reload() // logged and counted; the old rules stay
		case runErr = <-a.serveErr:
			break loop
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.o.ShutdownTimeout)
	defer cancel()
	return errors.Join(runErr, a.Stop(sctx))
}

// ingestSources turns the config file's sources into ingest's.
func ingestSources(srcs []config.Source) []ingest.Source {
	out := make([]ingest.Source, 0, len(srcs))
	for _, s := range srcs {
		is := ingest.Source{Name: s.Name, Type: string(s.Type), RoutingKey: s.RoutingKey}
		if b := s.Auth.Bearer; b != nil {
			is.Bearer = b.Token
		}
		if b := s.Auth.Basic; b != nil {
			is.BasicUsername, is.BasicPassword = b.Username, b.Password
		}
		if h := s.Auth.HMAC; h != nil {
			is.HMACSecret, is.HMACHeader, is.HMACTimestampHeader, is.HMACMaxSkew = h.Secret, h.Header, h.TimestampHeader, h.MaxSkew
		}
		if r := s.RateLimit; r != nil {
			is.RateLimit = ingest.RateLimit{RequestsPerSecond: r.RequestsPerSecond, Burst: r.Burst}
		}
		out = append(out, is)
	}
	return out
}

// expectTraffic is each source's expect_traffic_within, for those that
// have one.
func expectTraffic(srcs []config.Source) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, s := range srcs {
		if s.ExpectTrafficWithin > 0 {
			out[s.Name] = s.ExpectTrafficWithin
		}
	}
	return out
}

// resolveTimeouts is each source's resolve_timeout. With no sources, the
// open endpoints' events carry their type as their source, and take the
// type's default.
func resolveTimeouts(srcs []config.Source) map[string]time.Duration {
	out := map[string]time.Duration{}
	if len(srcs) == 0 {
		for _, t := range config.SourceTypes {
			if d := config.DefaultResolveTimeout(t); d > 0 {
				out[string(t)] = d
			}
		}
	}
	for _, s := range srcs {
		if s.ResolveTimeout > 0 {
			out[s.Name] = s.ResolveTimeout
		}
	}
	return out
}

// ingestLimits turns the config file's limits into ingest's; maxBody is the
// effective body limit (the flag's, or else the file's). What the file left
// to be derived from it (max_alerts_per_request, max_inflight_body_bytes)
// is 0, and ingest derives it.
func ingestLimits(l config.Limits, maxBody int64) ingest.Limits {
	return ingest.Limits{
		MaxBodyBytes:         maxBody,
		MaxAlertsPerRequest:  l.MaxAlertsPerRequest,
		MaxLabelsPerAlert:    l.MaxLabelsPerAlert,
		MaxLabelNameLength:   l.MaxLabelNameLength,
		MaxLabelValueLength:  l.MaxLabelValueLength,
		MaxAnnotationBytes:   l.MaxAnnotationBytes,
		MaxJSONDepth:         l.MaxJSONDepth,
		MaxFingerprintLength: l.MaxFingerprintLength,
		MaxURLLength:         l.MaxURLLength,
		MaxStringLength:      l.MaxStringLength,
		MaxInflightBodyBytes: l.MaxInflightBodyBytes,
		BodyReadTimeout:      l.BodyReadTimeout,
	}
}

// readHeaderTimeout bounds how long a request's headers take to arrive.
const readHeaderTimeout = 10 * time.Second

// readTimeout is the server's ReadTimeout: the headers' time and then the
// body's, so that it never cuts a body before the ingest handler's own
// deadline (limits.body_read_timeout) answers it with 408. The ingest
// handler replaces it with that deadline for each body; it still bounds the
// bodies of the API's requests.
func readTimeout(l config.Limits) time.Duration {
	body := l.BodyReadTimeout
	if body <= 0 {
		body = ingest.DefaultBodyReadTimeout
	}
	return readHeaderTimeout + body
}

// loadRules loads the configured rule files. A glob that matches no file
// is not an error (a fresh install's empty rules directory must not become
// a restart loop under a supervisor): the daemon runs without rules from it
// and says so at every load, naming the glob. A missing plain file is an
// error.
func loadRules(files []string, log *slog.Logger) (*rules.Set, error) {
	if len(files) == 0 {
		return nil, nil
	}
	set, unmatched, err := rules.LoadFilesAllowEmpty(files)
	for _, p := range unmatched {
		log.Warn("rule file pattern matches no files, loading no rules from it", "pattern", p)
	}
	return set, err
}

// hashValue turns a rule set's hash into a gauge value, as Prometheus does
// for its config hash.
func hashValue(h string) float64 {
	sum := sha256.Sum256([]byte(h))
	return float64(binary.BigEndian.Uint64(sum[:8]) >> 11)
}

// storeCollector reports open incidents by priority at scrape time, straight
// from the store, so the gauge can never drift from the records.
type storeCollector struct {
	st             store.Store
	desc, breaches *prometheus.Desc
}

func newStoreCollector(st store.Store) *storeCollector {
	return &storeCollector{st: st, desc: prometheus.NewDesc("alertbridge_incidents_open",
		"Open or acknowledged incidents by priority.", []string{"priority"}, nil),
		breaches: prometheus.NewDesc("alertbridge_sla_breaches_total",
			"Missed SLA targets by target (respond, resolve) and priority.", []string{"target", "priority"}, nil)}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.breaches }

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.st.ActiveByPriority(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for p := incident.Priority(1); p <= 5; p++ {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[p]), p.String())
	}
	breaches, err := c.st.SLABreaches(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.breaches, err)
		return
	}
	for _, target := range []string{"respond", "resolve"} {
		for p := incident.Priority(1); p <= 5; p++ {
			ch <- prometheus.MustNewConstMetric(c.breaches, prometheus.CounterValue,
				float64(breaches[[2]string{target, p.String()}]), target, p.String())
		}
	}
}

// walReporter is a store with a write-ahead log of its own to report: the
// SQLite store.
type walReporter interface{ WAL() sqlite.WALStats }

// walCollector reports the SQLite WAL at scrape time: its size, its
// length since it last restarted, the checkpoints that copy it back into
// the database, beside the writer or by it, and the pages the writer
// appended.
type walCollector struct {
	st                                walReporter
	bytes, frames, checkpoints, pages *prometheus.Desc
}

func newWALCollector(st walReporter) *walCollector {
	return &walCollector{st: st,
		bytes: prometheus.NewDesc("alertbridge_store_wal_bytes",
			"Size of the SQLite write-ahead log file (alertbridge.db-wal).", nil, nil),
		frames: prometheus.NewDesc("alertbridge_store_wal_frames",
			"Pages in the write-ahead log since it last restarted, as of the last background checkpoint.", nil, nil),
		checkpoints: prometheus.NewDesc("alertbridge_store_wal_checkpoints_total",
			"WAL checkpoints by who ran them: background (the goroutine beside the writer) or writer (the tail it copies so that the WAL restarts).",
			[]string{"by"}, nil),
		pages: prometheus.NewDesc("alertbridge_store_wal_pages_written_total",
			"Pages the writer's commits appended to the write-ahead log since the start (each a page of the database, 4 KiB).", nil, nil),
	}
}

func (c *walCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.bytes
	ch <- c.frames
	ch <- c.checkpoints
	ch <- c.pages
}

func (c *walCollector) Collect(ch chan<- prometheus.Metric) {
	w := c.st.WAL()
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(w.Bytes))
	ch <- prometheus.MustNewConstMetric(c.frames, prometheus.GaugeValue, float64(w.Frames))
	ch <- prometheus.MustNewConstMetric(c.checkpoints, prometheus.CounterValue, float64(w.Checkpoints), "background")
	ch <- prometheus.MustNewConstMetric(c.checkpoints, prometheus.CounterValue, float64(w.Tails), "writer")
	ch <- prometheus.MustNewConstMetric(c.pages, prometheus.CounterValue, float64(w.PagesWritten))
}

// newPoller builds the anti-entropy poller of an alertmanager source. It
// submits under the source's name, so it repairs exactly the alerts that
// source's webhooks deliver.
func newPoller(src config.Source, sink antientropy.Sink, firing antientropy.Firing, o Options, reg prometheus.Registerer) (*antientropy.Poller, error) {
	ae := src.AntiEntropy
	po := antientropy.Options{
		Source: src.Name, URLs: ae.URLs, Interval: ae.Interval, Grace: ae.Grace, GroupBy: ae.GroupBy,
		Receivers: ae.Receivers, Firing: firing, Sink: sink, Logger: o.Logger, Registerer: reg, Now: o.Now,
	}
	if ae.Bearer != nil {
		po.BearerToken = ae.Bearer.Token.Reveal()
	}
	if ae.Basic != nil {
		po.BasicUser, po.BasicPassword = ae.Basic.Username, ae.Basic.Password.Reveal()
	}
	return antientropy.New(po)
}

// searchIndexer is a store whose incident search may lack its index: the
// PostgreSQL store, when pg_trgm could not be had (migration 0005).
type searchIndexer interface {
	SearchUnindexed(ctx context.Context) (string, error)
}

// warnUnindexedSearch warns, once at start, when the store's incident
// search scans every incident for want of its index. The daemon runs on
// regardless: the search is right, only slower on a large table.
func warnUnindexedSearch(ctx context.Context, st any, log *slog.Logger) {
	si, ok := st.(searchIndexer)
	if !ok {
		return
	}
	reason, err := si.SearchUnindexed(ctx)
	switch {
	case err != nil:
		log.Warn("cannot check the incident search index", "err", err)
	case reason != "":
		log.Warn("incident search not indexed: it scans every incident", "reason", reason, "see", "docs/operations.md")
	}
}
