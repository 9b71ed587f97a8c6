package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/internal/promreg"
)

// The values of the outcome label of alertbridge_ingest_events_total.
const (
	outcomeAccepted = "accepted" // committed by the Sink
	outcomeRejected = "rejected" // in a payload that failed validation
	outcomeFailed   = "failed"   // decoded, but the Sink did not commit them
)

// The values of the reason label of alertbridge_ingest_rejected_total.
const (
	reasonTooLarge             = "too_large"
	reasonUnsupportedMediaType = "unsupported_media_type"
	reasonInvalid              = "invalid"
	reasonLimitAlerts          = "limit_alerts"
	reasonLimitLabels          = "limit_labels"
	reasonLimitLabelLength     = "limit_label_length"
	reasonLimitAnnotations     = "limit_annotations"
	reasonLimitDepth           = "limit_depth"
	reasonUnauthorized         = "unauthorized"
	reasonForbidden            = "forbidden"
	reasonRateLimited          = "rate_limited"
	reasonOverloaded           = "overloaded"
	reasonUnsupportedEncoding  = "unsupported_encoding"
	reasonInvalidUTF8          = "invalid_utf8"
	reasonInvalidTime          = "invalid_time"
	reasonLimitFingerprint     = "limit_fingerprint_length"
	reasonLimitURL             = "limit_url_length"
	reasonLimitString          = "limit_string_length"
	reasonMemoryBudget         = "memory_budget"
	reasonTimeout              = "timeout"
	reasonNotFound             = "not_found"
)

// reasons are all the reasons, exported as 0 before the first rejection.
var reasons = []string{
	reasonTooLarge, reasonUnsupportedMediaType, reasonInvalid, reasonLimitAlerts,
	reasonLimitLabels, reasonLimitLabelLength, reasonLimitAnnotations, reasonLimitDepth,
	reasonUnauthorized, reasonForbidden, reasonRateLimited, reasonOverloaded,
	reasonUnsupportedEncoding, reasonInvalidUTF8, reasonInvalidTime, reasonLimitFingerprint,
	reasonLimitURL, reasonLimitString, reasonMemoryBudget, reasonTimeout,
	reasonNotFound,
}

type metrics struct {
	requests *prometheus.CounterVec
	events   *prometheus.CounterVec
	rejected *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

// newMetrics creates the ingest metrics and registers them with reg, unless
// reg is nil. A second Handler on the same registry shares the collectors
// already registered instead of failing.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_ingest_requests_total",
			Help: "Ingest HTTP requests by source (the configured source's name, or the endpoint's type before one is identified) and response status code.",
		}, []string{"source", "code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_ingest_events_total",
			Help: "Alerts received by source and outcome: accepted (committed), rejected (invalid payload) or failed (not committed).",
		}, []string{"source", "outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_ingest_rejected_total",
			Help: "Ingest requests rejected without any effect, by source and reason (too_large, unsupported_media_type, unsupported_encoding, invalid, invalid_utf8, invalid_time, limit_*, unauthorized, forbidden, rate_limited, overloaded, memory_budget, timeout).",
		}, []string{"source", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "alertbridge_ingest_duration_seconds",
			Help: "Time from receiving an ingest request to answering it, including the commit (the sender's ack latency).",
			// Down to 1ms: an SQLite commit of a small batch takes about that.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"source"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alertbridge_ingest_inflight_body_bytes",
			Help: "Memory the bodies of the ingest requests in flight hold, out of limits.max_inflight_body_bytes.",
		}),
	}
	if reg != nil {
		m.requests = promreg.Register(reg, m.requests)
		m.events = promreg.Register(reg, m.events)
		m.rejected = promreg.Register(reg, m.rejected)
		m.duration = promreg.Register(reg, m.duration)
		m.inflight = promreg.Register(reg, m.inflight)
	}
	return m
}

// initSource creates the label combinations of source that are known in
// advance, so that they are exported as 0 before the first request.
func (m *metrics) initSource(source string) {
	for _, o := range []string{outcomeAccepted, outcomeRejected, outcomeFailed} {
		m.events.WithLabelValues(source, o)
	}
	for _, r := range reasons {
		m.rejected.WithLabelValues(source, r)
	}
	m.duration.WithLabelValues(source)
}
