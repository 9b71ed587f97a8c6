package correlate

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	hits      prometheus.Counter
	misses    prometheus.Counter
	evictions prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_correlate_cache_hits_total",
			Help: "Correlation key lookups answered by the cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_correlate_cache_misses_total",
			Help: "Correlation key lookups that went to the store.",
		}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_correlate_cache_evictions_total",
			Help: "Correlation keys evicted from the bounded cache.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.hits, m.misses, m.evictions)
	}
	return m
}
