package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
)

// ttBuckets span a minute to a week: respond and resolve targets live there.
var ttBuckets = []float64{60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}

type metrics struct {
	opened, resolved, reopened, dropped prometheus.Counter
	closed                              prometheus.Counter
	timeToAck, timeToResolve            *prometheus.HistogramVec
	commitErrors                        prometheus.Counter
	overloaded                          *prometheus.CounterVec
	groupSize, commitDuration           prometheus.Histogram
	lastCommitOK                        prometheus.Gauge
	outboxWritten                       *prometheus.CounterVec
	outboxCoalesced                     *prometheus.CounterVec
	repeatsDeferred                     prometheus.Counter
	touchesPending                      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, queueLen func() float64, adm *admission) *metrics {
	m := &metrics{
		opened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_incidents_opened_total", Help: "Incidents opened.",
		}),
		resolved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_incidents_resolved_total", Help: "Incidents resolved, automatically or by hand.",
		}),
		closed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_incidents_closed_total", Help: "Resolved incidents closed (final) by the sweep, close_after after they resolved.",
		}),
		reopened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_incidents_reopened_total", Help: "Resolved incidents reopened by a refire within reopen_within.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_pipeline_dropped_alerts_total", Help: "Firing alerts discarded by an action: drop rule.",
		}),
		overloaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_pipeline_overloaded_total",
			Help: "Requests refused with ErrOverloaded (503, 429 on /v2/enqueue), by reason: queue_full, work_full, wait_budget, expired.",
		}, []string{"reason"}),
		outboxWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_outbox_enqueued_total",
			Help: "Notifications written to the outbox, by sink and state: pending, or held (flapping, maintenance).",
		}, []string{"sink", "state"}),
		outboxCoalesced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_outbox_coalesced_at_enqueue_total",
			Help: "Changes not written because their sink's outbox was over notifications.max_pending and the incident had a notification waiting.",
		}, []string{"sink"}),
		repeatsDeferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_pipeline_repeats_deferred_total",
			Help: "Repeats acknowledged without a write: their last-seen time and count are written in batches (touch_flush_interval).",
		}),
		touchesPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alertbridge_pipeline_touches_pending",
			Help: "Alerts whose deferred repeats are not yet written: what a crash now would lose of last-seen times and counts.",
		}),
		lastCommitOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alertbridge_store_last_commit_successful",
			Help: "Whether the writer's last commit succeeded (1) or failed in the store (0): disk full, read-only, I/O error.",
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_pipeline_commit_errors_total", Help: "Transactions that failed and were rolled back.",
		}),
		timeToAck: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "alertbridge_incident_time_to_acknowledge_seconds", Help: "From opened to acknowledged, by priority.",
			Buckets: ttBuckets,
		}, []string{"priority"}),
		timeToResolve: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "alertbridge_incident_time_to_resolve_seconds", Help: "From opened to resolved, by priority.",
			Buckets: ttBuckets,
		}, []string{"priority"}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "alertbridge_pipeline_group_requests", Help: "Requests committed together in one transaction (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "alertbridge_pipeline_commit_duration_seconds", Help: "Time to apply and commit one transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	for _, r := range shedReasons {
		m.overloaded.WithLabelValues(r)
	}
	m.lastCommitOK.Set(1)
	if reg != nil {
		reg.MustRegister(m.opened, m.resolved, m.closed, m.reopened, m.dropped, m.overloaded, m.commitErrors, m.timeToAck, m.timeToResolve,
			m.groupSize, m.commitDuration, m.lastCommitOK, m.outboxWritten, m.outboxCoalesced, m.repeatsDeferred, m.touchesPending,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "alertbridge_pipeline_queue_length", Help: "Requests waiting for the writer.",
			}, queueLen),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "alertbridge_pipeline_queued_alerts", Help: "Alerts (events and changes) of the ingest requests waiting for the writer.",
			}, func() float64 { n, _ := adm.queued(); return float64(n) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "alertbridge_pipeline_throughput_alerts_per_second",
				Help: "The writer's smoothed speed while busy, in alerts per second of commit time: what admission divides the waiting alerts by. 0 until measured.",
			}, func() float64 { _, r := adm.queued(); return r }))
	}
	return m
}

// groupStats counts one transaction's effects; they reach the metrics only
// once it commits.
type groupStats struct {
	opened, reopened, dropped, closed int
	acknowledged, resolved            []incident.Incident
}

func (s *groupStats) count(opened, reopened bool) {
	if opened {
		s.opened++
	}
	if reopened {
		s.reopened++
	}
}

// finished records an incident a command or event acknowledged or resolved.
func (s *groupStats) finished(inc incident.Incident, acknowledged bool) {
	switch {
	case acknowledged:
		s.acknowledged = append(s.acknowledged, inc)
	case inc.State == incident.StateResolved && !inc.OpenedAt.IsZero() && inc.MergedInto == 0:
		// A pending incident discarded before it opened is not a resolve,
		// nor is one merged into another.
		s.resolved = append(s.resolved, inc)
	}
}

func (s groupStats) publish(m *metrics) {
	m.opened.Add(float64(s.opened))
	m.resolved.Add(float64(len(s.resolved)))
	m.reopened.Add(float64(s.reopened))
	m.closed.Add(float64(s.closed))
	m.dropped.Add(float64(s.dropped))
	for _, inc := range s.acknowledged {
		m.timeToAck.WithLabelValues(inc.Priority.String()).Observe(inc.AcknowledgedAt.Sub(inc.OpenedAt).Seconds())
	}
	for _, inc := range s.resolved {
		// From when the impact started, as GET /api/v1/stats counts MTTR.
		start := inc.ImpactStartedAt
		if start.IsZero() {
			start = inc.OpenedAt
		}
		m.timeToResolve.WithLabelValues(inc.Priority.String()).Observe(max(inc.ResolvedAt.Sub(start), 0).Seconds())
	}
}

func (m *metrics) publishOutbox(st incident.EnqueueStats) {
	for s, n := range st.Written {
		held := st.Held[s]
		if n > held {
			m.outboxWritten.WithLabelValues(s, string(incident.OutboxPending)).Add(float64(n - held))
		}
		if held > 0 {
			m.outboxWritten.WithLabelValues(s, string(incident.OutboxHeld)).Add(float64(held))
		}
	}
	for s, n := range st.Coalesced {
		m.outboxCoalesced.WithLabelValues(s).Add(float64(n))
	}
}
