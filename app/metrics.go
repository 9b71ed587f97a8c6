package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/rules"
)

type metrics struct {
	reloadOK      prometheus.Gauge
	reloadSuccess prometheus.Gauge
	configHash    prometheus.Gauge
	// leaseHeld says which background work this replica runs.
	leaseHeld *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, version string) *metrics {
	m := &metrics{
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alertbridge_rules_last_reload_successful", Help: "Whether the last rules reload succeeded (1) or kept the old rules (0).",
		}),
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alertbridge_rules_last_reload_success_timestamp_seconds", Help: "When the rules were last loaded successfully.",
		}),
		configHash: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alertbridge_rules_config_hash", Help: "Hash of the loaded rule files' contents.",
		}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "alertbridge_build_info", Help: "Build information.", ConstLabels: prometheus.Labels{"version": version},
	})
	info.Set(1)
	m.leaseHeld = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "alertbridge_lease_held",
		Help: "Whether this replica holds the lease of a kind of background work (1) and so runs it; with several replicas on one database exactly one holds each.",
	}, []string{"lease"})
	reg.MustRegister(m.reloadOK, m.reloadSuccess, m.configHash, info, m.leaseHeld)
	return m
}

func (m *metrics) reloaded(set *rules.Set, now time.Time) {
	m.reloadOK.Set(1)
	m.reloadSuccess.Set(float64(now.Unix()))
	m.configHash.Set(hashValue(set.Hash()))
}

func (m *metrics) reloadFailed() { m.reloadOK.Set(0) }
