package pipeline

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	opened, resolved, reopened, dropped prometheus.Counter
	overloaded, commitErrors            prometheus.Counter
	groupSize, commitDuration           prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, queueLen func() float64) *metrics {
	m := &metrics{
		opened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_incidents_opened_total", Help: "Incidents opened.",
		}),
		resolved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_incidents_resolved_total", Help: "Incidents resolved, automatically or by hand.",
		}),
		reopened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_incidents_reopened_total", Help: "Resolved incidents reopened by a refire within reopen_within.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_pipeline_dropped_alerts_total", Help: "Firing alerts discarded by an action: drop rule.",
		}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_pipeline_overloaded_total", Help: "Requests refused because the write queue was full.",
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_pipeline_commit_errors_total", Help: "Transactions that failed and were rolled back.",
		}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "alertbridge_pipeline_group_requests", Help: "Requests committed together in one transaction (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "alertbridge_pipeline_commit_duration_seconds", Help: "Time to apply and commit one transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.opened, m.resolved, m.reopened, m.dropped, m.overloaded, m.commitErrors,
			m.groupSize, m.commitDuration,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "alertbridge_pipeline_queue_length", Help: "Requests waiting for the writer.",
			}, queueLen))
	}
	return m
}

// groupStats counts one transaction's effects; they reach the metrics only
// once it commits.
type groupStats struct {
	opened, resolved, reopened, dropped int
}

func (s *groupStats) count(resolved, opened, reopened bool) {
	if resolved {
		s.resolved++
	}
	if opened {
		s.opened++
	}
	if reopened {
		s.reopened++
	}
}

func (s groupStats) publish(m *metrics) {
	m.opened.Add(float64(s.opened))
	m.resolved.Add(float64(s.resolved))
	m.reopened.Add(float64(s.reopened))
	m.dropped.Add(float64(s.dropped))
}
