package app

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/pipeline"
)

// DefaultTouchFlushInterval is how often deferred repeats are written: what
// a crash may lose of alerts' last-seen times and counts.
const DefaultTouchFlushInterval = time.Second

// Options are the daemon's settings, filled from Prometheus-style flags.
//
// Where a flag and the config file both set something (the storage path,
// the rule files, the body limit), the flag wins: a zero Option means "not
// given", and takes the config file's value, then the built-in default.
type Options struct {
	// ListenAddress is --web.listen-address (default ":9097"); ":0" picks a port.
	ListenAddress string
	// ConfigFile is --config.file, the daemon config (sources and their
	// credentials, limits, storage, rule files). "" runs on
	// config.Default(): no sources, so every ingest endpoint is open.
	ConfigFile string
	// Config is the loaded config file. When nil, New loads ConfigFile;
	// tests may set it directly.
	Config *config.Config
	// WebConfigFile is --web.config.file, the Prometheus exporter-toolkit
	// web config: TLS and basic auth for the whole HTTP server. It is read
	// again on every request and TLS handshake, as in every Prometheus
	// component.
	WebConfigFile string
	// AnonymousWrites is --web.api.anonymous-writes: who may write through
	// the API without credentials while no identity is configured
	// (default loopback clients only).
	AnonymousWrites access.AnonymousWrites
	// StoragePath is --storage.path, the SQLite directory (default
	// storage.path of the config file, then "./data").
	StoragePath string
	// StorageDSN is --storage.dsn, a PostgreSQL URL that replicas share
	// (default storage.dsn of the config file); it replaces StoragePath.
	// StoragePassword is its password (storage.password*).
	StorageDSN      string
	StoragePassword secret.Value
	// RuleFiles are --rules.file values: paths or globs (default rule_files
	// of the config file).
	RuleFiles []string
	// MaxBodyBytes bounds an ingest request (default limits.max_body_bytes
	// of the config file, 10 MiB unless set there).
	MaxBodyBytes int64
	// DedupeCacheSize and CorrelateCacheSize bound the LRUs.
	DedupeCacheSize, CorrelateCacheSize int
	// QueueSize bounds requests waiting for the writer.
	QueueSize int
	// MaxQueuedAlerts is --ingest.max-queued-alerts: the alerts (events,
	// changes) that may wait for the writer before ingest answers 503
	// (default pipeline.DefaultMaxQueuedAlerts).
	MaxQueuedAlerts int
	// MaxWait is --ingest.max-wait, the latency budget of an ingest request
	// (default pipeline.DefaultMaxWait): one that would wait longer for the
	// writer is answered 503 at once, and one still waiting when its wait
	// runs out is answered 503 then (docs/operations.md, "Overload").
	MaxWait time.Duration
	// CloseAfter is --incidents.close-after: how long after it resolved an
	// incident is closed for good; 0 never. nil takes incidents.close_after
	// of the config file (default config.DefaultCloseAfter).
	CloseAfter *time.Duration
	// Retention is --storage.retention: how long after it closed an
	// incident's history (events, timeline, alerts) is kept; 0 for ever.
	// nil takes storage.retention of the config file (default
	// config.DefaultRetention).
	Retention *time.Duration
	// RetentionInterval is how often retention looks for history to
	// delete (default 1m), and RetentionBatch the rows one of its
	// transactions deletes at most (default 500).
	RetentionInterval time.Duration
	RetentionBatch    int
	// SweepInterval is how often scheduled resolves (resolve_after) are
	// carried out (default 5s): a resolve happens at most this late.
	SweepInterval time.Duration
	// TouchFlushInterval is --storage.touch-flush-interval (default
	// DefaultTouchFlushInterval): repeats that change nothing but an
	// alert's last-seen time and count are acknowledged without a write,
	// and those are written in batches this often (while idle, at the next
	// sweep) and at shutdown. Negative writes every repeat before its
	// acknowledgement (docs/operations.md, "What a 2xx guarantees").
	TouchFlushInterval time.Duration
	// ExternalURL is --web.external-url: where users reach alertbridge,
	// for the links in what sinks send ("" sends none).
	ExternalURL string
	// SinkPoll is how often each sink looks for due notifications besides
	// being woken by a commit (default 1s).
	SinkPoll time.Duration
	// UIPoll is how often the web UI's live list asks for changes
	// (default 5s).
	UIPoll time.Duration
	// ManualDispatch leaves the dispatcher stopped: a test drives it with
	// Dispatcher().RunOnce on its simulated clock.
	ManualDispatch bool
	// LeaseRetry is how often a replica tries to take the lease of
	// background work another replica holds (default 2s).
	LeaseRetry time.Duration
	// ShutdownTimeout bounds the graceful drain (default 30s).
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Now is the clock (default time.Now); tests pass a simulated one.
	Now func() time.Time
	// Version is reported by alertbridge_build_info.
	Version string
}

// applyConfig loads the config file unless Config is set, and fills the
// options the command line left zero from it. Its error is the config
// file's, one problem a line as file:line:col: message.
func (o *Options) applyConfig() error {
	if o.Config == nil {
		o.Config = config.Default()
		if o.ConfigFile != "" {
			cfg, err := config.Load(o.ConfigFile)
			if err != nil {
				return err
			}
			o.Config = cfg
		}
	}
	if o.StoragePath == "" {
		o.StoragePath = o.Config.Storage.Path
	}
	if o.StorageDSN == "" {
		o.StorageDSN, o.StoragePassword = o.Config.Storage.DSN, o.Config.Storage.Password
	}
	if len(o.RuleFiles) == 0 {
		o.RuleFiles = o.Config.RuleFiles
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = o.Config.Limits.MaxBodyBytes
	}
	if o.CloseAfter == nil {
		o.CloseAfter = &o.Config.Incidents.CloseAfter
	}
	if o.Retention == nil {
		o.Retention = &o.Config.Storage.Retention
	}
	return nil
}

// Validate applies defaults and checks the options.
func (o *Options) Validate() error {
	if o.ListenAddress == "" {
		o.ListenAddress = ":9097"
	}
	if o.StoragePath == "" {
		o.StoragePath = "./data"
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 10 << 20
	}
	if o.MaxQueuedAlerts == 0 {
		o.MaxQueuedAlerts = pipeline.DefaultMaxQueuedAlerts
	}
	if o.MaxWait == 0 {
		o.MaxWait = pipeline.DefaultMaxWait
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = 5 * time.Second
	}
	if o.TouchFlushInterval == 0 {
		o.TouchFlushInterval = DefaultTouchFlushInterval
	}
	if o.LeaseRetry == 0 {
		o.LeaseRetry = 2 * time.Second
	}
	if o.RetentionInterval == 0 {
		o.RetentionInterval = time.Minute
	}
	if o.RetentionBatch == 0 {
		o.RetentionBatch = 500
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.AnonymousWrites == "" {
		o.AnonymousWrites = access.WritesLoopback
	}
	var errs []error
	if o.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max body bytes %d: want at least 1024", o.MaxBodyBytes))
	}
	if o.DedupeCacheSize < 0 || o.CorrelateCacheSize < 0 || o.QueueSize < 0 || o.MaxQueuedAlerts < 0 {
		errs = append(errs, errors.New("cache and queue sizes must not be negative"))
	}
	if o.MaxWait < 0 {
		errs = append(errs, errors.New("max wait must not be negative"))
	}
	if o.SweepInterval < 0 || o.RetentionInterval < 0 {
		errs = append(errs, errors.New("sweep and retention intervals must not be negative"))
	}
	if o.RetentionBatch < 0 {
		errs = append(errs, errors.New("retention batch must not be negative"))
	}
	if (o.CloseAfter != nil && *o.CloseAfter < 0) || (o.Retention != nil && *o.Retention < 0) {
		errs = append(errs, errors.New("close after and retention must not be negative"))
	}
	if _, err := access.ParseAnonymousWrites(string(o.AnonymousWrites)); err != nil {
		errs = append(errs, err)
	}
	if err := validExternalURL(o.ExternalURL); err != nil {
		errs = append(errs, err)
	}
	if o.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("shutdown timeout must not be negative"))
	}
	// The web config is read again on every request; checking it here
	// makes a broken one stop the start instead of failing every request.
	if err := web.Validate(o.WebConfigFile); err != nil {
		errs = append(errs, fmt.Errorf("web config file %s: %w", o.WebConfigFile, err))
	}
	return errors.Join(errs...)
}
