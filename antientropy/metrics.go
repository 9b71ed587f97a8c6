package antientropy

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/internal/promreg"
)

// The values of the result label of alertbridge_antientropy_polls_total.
const (
	resultOK    = "ok"
	resultError = "error"
)

// The values of the kind label of alertbridge_antientropy_repaired_total.
const (
	kindFiring   = "firing"
	kindResolved = "resolved"
)

type metrics struct {
	polls       *prometheus.CounterVec
	repaired    *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
}

// newMetrics creates the anti-entropy metrics and registers them with reg,
// unless reg is nil. Pollers of several sources on one registry share the
// collectors.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_antientropy_polls_total",
			Help: "Anti-entropy polls by source and result: ok, or error when the store or any Alertmanager URL of the source could not be read or the repairs could not be submitted.",
		}, []string{"source", "result"}),
		repaired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_antientropy_repaired_total",
			Help: "Events the anti-entropy poller submitted because a webhook was lost, by source and kind (firing, resolved).",
		}, []string{"source", "kind"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "alertbridge_antientropy_last_success_timestamp_seconds",
			Help: "When the last anti-entropy poll of the source succeeded, as a Unix timestamp; 0 if none has yet.",
		}, []string{"source"}),
	}
	if reg != nil {
		m.polls = promreg.Register(reg, m.polls)
		m.repaired = promreg.Register(reg, m.repaired)
		m.lastSuccess = promreg.Register(reg, m.lastSuccess)
	}
	return m
}

// initSource creates the series of source, so that they are exported as 0
// before the first poll.
func (m *metrics) initSource(source string) {
	for _, r := range []string{resultOK, resultError} {
		m.polls.WithLabelValues(source, r)
	}
	for _, k := range []string{kindFiring, kindResolved} {
		m.repaired.WithLabelValues(source, k)
	}
	m.lastSuccess.WithLabelValues(source)
}
