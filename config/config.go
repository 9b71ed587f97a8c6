package config

import (
	"os"
	"path/filepath"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/internal/secret"
)

// SourceType is the kind of sender a source is; it selects the endpoint.
type SourceType string

// The source types and the endpoints they authenticate.
const (
	TypeAlertmanager SourceType = "alertmanager" // POST /ingest/alertmanager
	TypeGrafana      SourceType = "grafana"      // POST /ingest/grafana
	TypePagerDuty    SourceType = "pagerduty"    // POST /v2/enqueue
	TypeEvents       SourceType = "events"       // POST /ingest/events
	TypeChanges      SourceType = "changes"      // POST /ingest/changes
	TypeHeartbeats   SourceType = "heartbeats"   // POST /ingest/heartbeats/{name}
)

// SourceTypes lists every source type, in documentation order.
var SourceTypes = []SourceType{TypeAlertmanager, TypeGrafana, TypePagerDuty, TypeEvents, TypeChanges, TypeHeartbeats}

// The defaults of the keys that have one.
const (
	DefaultHMACHeader          = "X-Alertbridge-Signature"
	DefaultHMACTimestampHeader = "X-Alertbridge-Timestamp"
	DefaultHMACMaxSkew         = 5 * time.Minute

	// DefaultMaxBodyBytes is generous because Alertmanager never retries a
	// 4xx: a group over the limit is lost.
	DefaultMaxBodyBytes        = 10 << 20
	DefaultMaxLabelsPerAlert   = 64
	DefaultMaxLabelNameLength  = 256
	DefaultMaxLabelValueLength = 4096
	DefaultMaxAnnotationBytes  = 64 << 10
	DefaultMaxJSONDepth        = 32
	// DefaultMaxFingerprintLength admits every dedup_key PagerDuty does
	// (255 characters, up to 1020 bytes of UTF-8).
	DefaultMaxFingerprintLength = 1024
	// DefaultMaxURLLength is large because a Prometheus generatorURL
	// carries the rule's whole PromQL expression.
	DefaultMaxURLLength = 64 << 10
	// DefaultMaxStringLength is the size of one alert's whole annotations.
	DefaultMaxStringLength = 64 << 10
	// DefaultMaxInflightBodyBytes applies unless 3×(max_body_bytes+1) is
	// more (MinInflightBodyBytes).
	DefaultMaxInflightBodyBytes = 128 << 20
	DefaultBodyReadTimeout      = 30 * time.Second
)

// MinInflightBodyBytes is the least max_inflight_body_bytes that lets one
// compressed body of maxBody bytes through on its own: its bytes as sent
// are kept for a signature while the decoded body grows, and a growing
// buffer is held with the one it replaces.
func MinInflightBodyBytes(maxBody int64) int64 {
	return 3 * (maxBody + 1)
}

// Lower bounds that keep a limit from rejecting every real payload.
const (
	minMaxBodyBytes = 1024
	// minMaxJSONDepth is the depth of the smallest Alertmanager payload:
	// {"alerts":[{"labels":{}}]}.
	minMaxJSONDepth = 4
)

// Config is the daemon config file after defaults and validation. Secrets are
// already read from their files and environment variables.
type Config struct {
	// File is the path the config was loaded from; "" for Default.
	File string
	// Sources are the configured senders, in file order. None means every
	// ingest endpoint is open.
	Sources []Source
	Limits  Limits
	Storage Storage
	// RuleFiles are rule file paths or globs; relative ones are already
	// joined to the config file's directory.
	RuleFiles []string
	// API says who may use the API and with which role.
	API API
	// Sinks are the tools that hear of incidents, in file order.
	Sinks []Sink
	// Notifications says which changes go to which sinks.
	Notifications Notifications
	// Incidents are settings of the incidents' lifecycle.
	Incidents Incidents
}

// Incidents are settings of the incidents' lifecycle.
type Incidents struct {
	// CloseAfter is how long after it resolved an incident is closed, for
	// good (0: never; resolved incidents then stay reopenable).
	CloseAfter time.Duration
}

// DefaultCloseAfter is incidents.close_after unless written: a week in
// which a recurrence may still reopen a resolved incident, if its rule's
// reopen_within allows.
const DefaultCloseAfter = 7 * 24 * time.Hour

// DefaultRetention is storage.retention unless written, as Prometheus's
// --storage.tsdb.retention.time: a quarter's history of closed incidents.
const DefaultRetention = 90 * 24 * time.Hour

// Source is one configured sender.
type Source struct {
	// Name identifies the source: it becomes the source of the incidents
	// its events open, and the source label of the ingest metrics.
	Name string
	Type SourceType
	// Auth holds the credentials the sender must present; zero only for a
	// pagerduty source, which its RoutingKey identifies.
	Auth Auth
	// RoutingKey is the routing_key a pagerduty source's events carry.
	RoutingKey secret.Value
	// RateLimit is nil when the source is not rate limited.
	RateLimit *RateLimit
	// AntiEntropy is nil unless this alertmanager source also polls
	// Alertmanager's API to repair lost webhooks.
	AntiEntropy *AntiEntropy
	// ExpectTrafficWithin, when not 0, opens an incident once the source
	// has sent nothing at all (repeats count as traffic) for that long.
	ExpectTrafficWithin time.Duration
	// ResolveTimeout resolves a firing alert of the source that has not
	// been repeated for that long (Alertmanager's resolve_timeout); 0
	// never. It defaults by type (DefaultResolveTimeout).
	ResolveTimeout time.Duration
}

// DefaultEventsResolveTimeout is the resolve_timeout of events and
// pagerduty sources that set none: scripts and PagerDuty-style senders
// often never send a resolve, and an alert not repeated for a day is
// taken to be over.
const DefaultEventsResolveTimeout = 24 * time.Hour

// DefaultResolveTimeout is the resolve_timeout of a source of type t that
// sets none: DefaultEventsResolveTimeout for events and pagerduty, 0 (off)
// for the rest. Alertmanager and Grafana resolve their own alerts (and
// anti-entropy repairs a lost resolve); changes and heartbeats send no
// alerts.
func DefaultResolveTimeout(t SourceType) time.Duration {
	if t == TypeEvents || t == TypePagerDuty {
		return DefaultEventsResolveTimeout
	}
	return 0
}

// Defaults of an anti_entropy block.
const (
	DefaultAntiEntropyInterval = time.Minute
	DefaultAntiEntropyGrace    = 5 * time.Minute
)

// AntiEntropy polls Alertmanager's /api/v2/alerts to pick up firing alerts
// whose webhook never arrived and resolve those Alertmanager no longer has.
type AntiEntropy struct {
	URLs            []string
	Interval, Grace time.Duration
	// GroupBy mirrors the route's group_by, so a repaired alert correlates
	// like its webhook would have; empty: each repaired alert by itself.
	GroupBy []string
	// Receivers, when set, limits repairs to alerts routed to these receivers.
	Receivers []string
	Bearer    *BearerAuth
	Basic     *BasicAuth
}

// Auth is a source's credentials: exactly one of the fields is set, or none.
type Auth struct {
	Bearer *BearerAuth
	Basic  *BasicAuth
	HMAC   *HMACAuth
}

// IsZero reports whether no credentials are configured.
func (a Auth) IsZero() bool { return a.Bearer == nil && a.Basic == nil && a.HMAC == nil }

// BearerAuth is `Authorization: Bearer <token>`.
type BearerAuth struct {
	Token secret.Value
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	Username string
	Password secret.Value
}

// HMACAuth is an HMAC-SHA256 signature over the timestamp and the body.
type HMACAuth struct {
	Secret secret.Value
	// Header carries the hex signature; TimestampHeader the Unix time in
	// seconds it was made at.
	Header, TimestampHeader string
	// MaxSkew is how far the timestamp may be from the daemon's clock, in
	// either direction; it is also how long a signature is remembered to
	// refuse a replay.
	MaxSkew time.Duration
}

// RateLimit is a token bucket: RequestsPerSecond refill, Burst capacity.
type RateLimit struct {
	RequestsPerSecond float64
	Burst             int
}

// Limits bound what one ingest request may carry.
type Limits struct {
	MaxBodyBytes int64
	// MaxAlertsPerRequest is 0 when the file does not set it: it is then
	// derived from the effective body limit, so that it admits every
	// notification a real Alertmanager can send within it.
	MaxAlertsPerRequest int
	MaxLabelsPerAlert   int
	MaxLabelNameLength  int
	MaxLabelValueLength int
	// MaxAnnotationBytes bounds the annotations of one alert: the sum of
	// the lengths of their names and values.
	MaxAnnotationBytes   int
	MaxJSONDepth         int
	MaxFingerprintLength int
	MaxURLLength         int
	// MaxStringLength bounds every other string a payload carries.
	MaxStringLength int
	// MaxInflightBodyBytes bounds the memory of all request bodies in
	// flight together; 0 when the file does not set it: it is then
	// DefaultMaxInflightBodyBytes, or MinInflightBodyBytes of the
	// effective body limit when that is more.
	MaxInflightBodyBytes int64
	// BodyReadTimeout bounds how long a request body takes to arrive.
	BodyReadTimeout time.Duration
}

// Storage is where the records live: a SQLite database in a directory
// (the default), or a PostgreSQL server shared by replicas.
type Storage struct {
	// Path is the SQLite database directory; "" leaves it to
	// --storage.path and its default.
	Path string
	// DSN is the PostgreSQL connection URL (postgres://…); "" means SQLite.
	// Password, when set, is the password for it, kept out of the DSN so
	// the DSN can be logged.
	DSN      string
	Password secret.Value
	// Retention is how long after it closed an incident's history (events,
	// timeline, alerts) is kept; the incident's row stays. 0 keeps it for
	// ever.
	Retention time.Duration
}

// DefaultLimits returns the limits in force when the config file sets none.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes:         DefaultMaxBodyBytes,
		MaxLabelsPerAlert:    DefaultMaxLabelsPerAlert,
		MaxLabelNameLength:   DefaultMaxLabelNameLength,
		MaxLabelValueLength:  DefaultMaxLabelValueLength,
		MaxAnnotationBytes:   DefaultMaxAnnotationBytes,
		MaxJSONDepth:         DefaultMaxJSONDepth,
		MaxFingerprintLength: DefaultMaxFingerprintLength,
		MaxURLLength:         DefaultMaxURLLength,
		MaxStringLength:      DefaultMaxStringLength,
		BodyReadTimeout:      DefaultBodyReadTimeout,
	}
}

// Default returns the config the daemon runs on without --config.file: no
// sources (every ingest endpoint open) and the default limits.
func Default() *Config {
	return &Config{Limits: DefaultLimits(), API: API{WebConfigRole: access.RoleAdmin},
		Storage: Storage{Retention: DefaultRetention}, Incidents: Incidents{CloseAfter: DefaultCloseAfter},
		Notifications: Notifications{MaxPending: DefaultMaxPending, DeadLetterRetention: DefaultDeadLetterRetention}}
}

// Load reads, decodes and validates the config file at path. Relative paths
// in the file (rule_files, storage.path, *_file) are taken relative to the
// file's directory, and *_env keys are read from the process environment.
// The error lists every problem as file:line:col: message (a
// yamlfile.Errors); it never contains a secret.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, ParseOptions{Dir: filepath.Dir(path)})
}

// ParseOptions say where Parse finds what the file refers to.
type ParseOptions struct {
	// Dir is what relative paths in the file are relative to; "" means the
	// working directory.
	Dir string
	// ReadFile reads *_file secrets; nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// LookupEnv reads *_env secrets; nil means os.LookupEnv.
	LookupEnv func(key string) (string, bool)
}

// Parse decodes and validates data, the contents of the config file named
// name in error positions. It is Load without the file system, for tests.
func Parse(name string, data []byte, o ParseOptions) (*Config, error) {
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	f, errs := decode(name, data)
	f.applyDefaults()
	cfg, verrs := f.validate(o, errs)
	errs = append(errs, verrs...)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	cfg.File = name
	return cfg, nil
}

// SourcesOf returns the sources of type t, in file order.
func (c *Config) SourcesOf(t SourceType) []Source {
	var out []Source
	for _, s := range c.Sources {
		if s.Type == t {
			out = append(out, s)
		}
	}
	return out
}
