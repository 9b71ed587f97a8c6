package sink

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
)

// StatsFunc reads each sink's outbox figures from the store.
type StatsFunc func(ctx context.Context) (map[string]incident.OutboxStats, error)

// Collector exports the outbox as it stands at each scrape: pending, held
// and dead rows and the age of the oldest pending one, by sink. Every
// configured sink has its series, zero when it has nothing waiting.
type Collector struct {
	stats   StatsFunc
	sinks   []string
	now     func() time.Time
	log     *slog.Logger
	timeout time.Duration

	pending, held, dead, oldest, up *prometheus.Desc
}

// NewCollector returns a collector over the sinks' outbox.
func NewCollector(stats StatsFunc, sinks []string, now func() time.Time, log *slog.Logger) *Collector {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Collector{
		stats: stats, sinks: sinks, now: now, log: log, timeout: 5 * time.Second,
		pending: prometheus.NewDesc("alertbridge_outbox_pending",
			"Notifications waiting for delivery, by sink.", []string{"sink"}, nil),
		held: prometheus.NewDesc("alertbridge_outbox_held",
			"Notifications held back (flapping incident, maintenance window), by sink.", []string{"sink"}, nil),
		dead: prometheus.NewDesc("alertbridge_outbox_dead_letters",
			"Notifications that failed for longer than the sink's max_age, or for good, and wait for an admin's replay.", []string{"sink"}, nil),
		oldest: prometheus.NewDesc("alertbridge_outbox_oldest_age_seconds",
			"Age of the oldest notification waiting for delivery, by sink; 0 when none waits. Alert on it.", []string{"sink"}, nil),
		up: prometheus.NewDesc("alertbridge_outbox_stats_up",
			"Whether the outbox figures could be read at this scrape.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.held, c.dead, c.oldest, c.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.stats(ctx)
	if err != nil {
		c.log.Warn("read outbox figures failed", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	now := c.now()
	names := append([]string(nil), c.sinks...)
	for s := range st {
		if !slices.Contains(names, s) {
			names = append(names, s) // a sink removed from the config with rows left
		}
	}
	for _, s := range names {
		x := st[s]
		age := 0.0
		if !x.Oldest.IsZero() {
			age = max(now.Sub(x.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(x.Pending), s)
		ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(x.Held), s)
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(x.Dead), s)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, s)
	}
}
