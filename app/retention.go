package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
)

// retentionMetrics tell an operator that retention runs and what it
// deletes.
type retentionMetrics struct {
	deleted   *prometheus.CounterVec
	forgotten prometheus.Counter
	lastRun   prometheus.Gauge
}

func newRetentionMetrics(reg prometheus.Registerer) *retentionMetrics {
	m := &retentionMetrics{
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_retention_deleted_rows_total",
			Help: "Rows of closed incidents' history (and events of no incident) deleted by storage.retention, by table.",
		}, []string{"table"}),
		forgotten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alertbridge_retention_incidents_total",
			Help: "Closed incidents whose history storage.retention deleted; their rows stay for reports.",
		}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alertbridge_retention_last_run_timestamp_seconds",
			Help: "When retention last finished a run on this replica with nothing left due; 0 before the first.",
		}),
	}
	for _, t := range retentionTables {
		m.deleted.WithLabelValues(t.name)
	}
	reg.MustRegister(m.deleted, m.forgotten, m.lastRun)
	return m
}

// retentionTables name the counts of incident.HistoryDeleted as tables.
var retentionTables = []struct {
	name string
	n    func(incident.HistoryDeleted) int
}{
	{"events", func(h incident.HistoryDeleted) int { return h.Events }},
	{"timeline", func(h incident.HistoryDeleted) int { return h.Timeline }},
	{"alerts", func(h incident.HistoryDeleted) int { return h.Alerts }},
	{"alert_states", func(h incident.HistoryDeleted) int { return h.AlertStates }},
	{"alert_episodes", func(h incident.HistoryDeleted) int { return h.Episodes }},
	{"event_alert_days", func(h incident.HistoryDeleted) int { return h.AlertDays }},
}

// retain runs retention every RetentionInterval while this replica holds
// its lease (with PostgreSQL, one replica deletes), until ctx ends.
func (a *App) retain(ctx context.Context) {
	t := time.NewTicker(a.o.RetentionInterval)
	defer t.Stop()
	for {
		if _, err := a.Retain(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("retention failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Retain deletes the history storage.retention forgets now (see
// incident.Tx.DeleteHistory), RetentionBatch rows per transaction, until
// a batch finds less than that, and returns what it deleted. Each batch
// goes through the writer's queue like a command, behind the ingest
// requests that came meanwhile, so that ingest waits for one short batch
// at most. Retention 0 deletes nothing.
func (a *App) Retain(ctx context.Context) (incident.HistoryDeleted, error) {
	var total incident.HistoryDeleted
	if *a.o.Retention <= 0 {
		return total, nil
	}
	for {
		h, err := a.pipeline.Retain(ctx, *a.o.Retention, a.o.RetentionBatch)
		if err != nil {
			return total, err
		}
		total.Add(h)
		for _, t := range retentionTables {
			a.retention.deleted.WithLabelValues(t.name).Add(float64(t.n(h)))
		}
		a.retention.forgotten.Add(float64(h.Incidents))
		if h.Work() < a.o.RetentionBatch {
			a.retention.lastRun.Set(float64(a.o.Now().UnixNano()) / 1e9)
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
