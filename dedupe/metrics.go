package dedupe

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	decisions *prometheus.CounterVec
	hits      prometheus.Counter
	misses    prometheus.Counter
	evictions prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_dedupe_decisions_total",
			Help: "Events by dedupe verdict (new, repeat, resolved, refired, stale).",
		}, []string{"transition"}),
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_dedupe_cache_hits_total",
			Help: "Fingerprint state lookups answered by the cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_dedupe_cache_misses_total",
			Help: "Fingerprint state lookups that went to the store.",
		}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_dedupe_cache_evictions_total",
			Help: "Fingerprint states evicted from the bounded cache.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.decisions, m.hits, m.misses, m.evictions)
	}
	return m
}
