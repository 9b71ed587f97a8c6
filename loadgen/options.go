package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults used for zero-valued Options fields.
const (
	DefaultGroups         = 200
	DefaultAlertsPerGroup = 10
	DefaultConcurrency    = 8
	DefaultDuration       = 60 * time.Second
)

// DefaultMix is the action mix used when Options.Mix is zero.
var DefaultMix = Mix{Repeat: 70, AddAlert: 15, ResolveRefire: 15}

// The formats Options.Format takes.
const (
	FormatWebhook = "webhook"
	FormatAPI     = "api"
)

// ErrNotLoopback is returned for a URL whose host is not a loopback address.
var ErrNotLoopback = errors.New("not a loopback address")

// Mix holds the relative weights of the actions a worker draws for each
// notification. Only the ratios matter: {70, 15, 15} and {14, 3, 3} are the
// same mix.
type Mix struct {
	// Repeat re-sends a firing group unchanged.
	Repeat int
	// AddAlert adds one alert to a firing group.
	AddAlert int
	// ResolveRefire resolves a firing group or refires a resolved one.
	ResolveRefire int
	// New sends a group never seen before: AlertsPerGroup alerts with new
	// fingerprints, a "first notification". The group is not kept.
	New int
	// Churn resolves a firing group, or replaces a resolved one by a group
	// never seen before, which fires: the set of alerts moves on while the
	// number firing stays about the same.
	Churn int
}

func (m Mix) total() int { return m.Repeat + m.AddAlert + m.ResolveRefire + m.New + m.Churn }

// Options configures a Run. Zero-valued counts take the Default constants.
type Options struct {
	// URL is the Alertmanager webhook endpoint, e.g.
	// http://127.0.0.1:9097/ingest/alertmanager. Its host must be a loopback
	// address (127.0.0.0/8, ::1 or localhost).
	URL string
	// Groups is the number of alert groups.
	Groups int
	// AlertsPerGroup is the number of alerts a group starts each episode with.
	AlertsPerGroup int
	// Concurrency is the number of workers, each with its own groups; it may
	// not exceed Groups. Zero means DefaultConcurrency, or Groups if smaller.
	Concurrency int
	// Requests is the number of notifications the timed run sends; zero means
	// no count limit, so Duration alone ends the run.
	Requests int
	// Duration bounds the whole run, warm-up included, so that it always ends
	// by itself: no notification is sent after it, and those in flight get a
	// few seconds more to be acknowledged. Zero means DefaultDuration.
	Duration time.Duration
	// Seed makes the traffic deterministic.
	Seed int64
	// Mix weighs the actions; zero means DefaultMix.
	Mix Mix
	// NoWarmup skips the first notification of every group before the timed run.
	NoWarmup bool
	// BearerToken, if set, is sent as "Authorization: Bearer <token>".
	BearerToken string
	// MetricsURL is the server's Prometheus endpoint, read after the run for
	// process_resident_memory_bytes. Empty means URL's scheme and host with
	// path /metrics. It must be a loopback address too.
	MetricsURL string
	// Senders is how many senders post each notification at the same
	// time, as the peers of an Alertmanager HA cluster do; zero means 1.
	// Every copy is a request of its own in the Report.
	Senders int
	// Rate, when positive, paces the senders to this many notifications per
	// second in all (an open loop, for overload); zero means each worker
	// sends its next notification as soon as the last is answered.
	Rate float64
	// Format is what is posted: FormatWebhook (the default), Alertmanager's
	// webhook notification, or FormatAPI, the same alerts as Alertmanager's
	// own POST /api/v2/alerts takes them, to load an Alertmanager.
	Format string
	// RunID goes into the labels of the groups Mix.New and Mix.Churn make,
	// so that their alerts are new to a server that saw an earlier run with
	// the same Seed; empty leaves them to the seed alone.
	RunID string
	// Client sends the requests; nil means a client that dials loopback
	// addresses only. A supplied client is used as is, except that redirects
	// are never followed.
	Client *http.Client
}

// withDefaults returns o with zero-valued fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Groups == 0 {
		o.Groups = DefaultGroups
	}
	if o.AlertsPerGroup == 0 {
		o.AlertsPerGroup = DefaultAlertsPerGroup
	}
	if o.Concurrency == 0 {
		o.Concurrency = min(DefaultConcurrency, max(o.Groups, 1))
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Mix == (Mix{}) {
		o.Mix = DefaultMix
	}
	if o.Senders == 0 {
		o.Senders = 1
	}
	if o.Format == "" {
		o.Format = FormatWebhook
	}
	return o
}

// Validate reports every problem with o, after defaults are applied, joined
// into one error. A non-loopback URL or MetricsURL matches ErrNotLoopback.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if _, err := parseLoopbackURL(o.URL); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	if o.MetricsURL != "" {
		if _, err := parseLoopbackURL(o.MetricsURL); err != nil {
			errs = append(errs, fmt.Errorf("metrics url: %w", err))
		}
	}
	if o.Groups < 0 {
		errs = append(errs, fmt.Errorf("groups %d: must be positive", o.Groups))
	}
	if o.AlertsPerGroup < 0 {
		errs = append(errs, fmt.Errorf("alerts per group %d: must be positive", o.AlertsPerGroup))
	}
	if o.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d: must be positive", o.Concurrency))
	} else if o.Concurrency > o.Groups && o.Groups > 0 {
		// A group's notifications are sent one at a time, as Alertmanager does,
		// so a worker without a group of its own would have nothing to send.
		errs = append(errs, fmt.Errorf("concurrency %d: exceeds groups %d, and each worker needs a group of its own", o.Concurrency, o.Groups))
	}
	if o.Requests < 0 {
		errs = append(errs, fmt.Errorf("requests %d: must not be negative", o.Requests))
	}
	if o.Duration < 0 {
		errs = append(errs, fmt.Errorf("duration %s: must be positive", o.Duration))
	}
	if o.Senders < 0 {
		errs = append(errs, fmt.Errorf("senders %d: must be positive", o.Senders))
	}
	if o.Rate < 0 {
		errs = append(errs, fmt.Errorf("rate %g: must not be negative", o.Rate))
	}
	if o.Format != FormatWebhook && o.Format != FormatAPI {
		errs = append(errs, fmt.Errorf("format %q: must be %s or %s", o.Format, FormatWebhook, FormatAPI))
	}
	if o.Mix.Repeat < 0 || o.Mix.AddAlert < 0 || o.Mix.ResolveRefire < 0 || o.Mix.New < 0 || o.Mix.Churn < 0 {
		errs = append(errs, fmt.Errorf("mix %+v: weights must not be negative", o.Mix))
	}
	return errors.Join(errs...)
}

// metricsURL returns the URL to read the server's RSS from.
func (o Options) metricsURL() string {
	if o.MetricsURL != "" {
		return o.MetricsURL
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/metrics"}).String()
}

// parseLoopbackURL parses raw and checks that it is an http(s) URL whose host
// is a loopback address. Names other than localhost are refused rather than
// resolved, because what a name resolves to can change under a running test.
func parseLoopbackURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("missing")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if !isLoopbackHost(host) {
		return nil, fmt.Errorf("%q: host %q: %w (127.0.0.0/8, ::1 or localhost)", raw, host, ErrNotLoopback)
	}
	return u, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
