package app

import (
	"context"
	"github.com/alertbridge/alertbridge/incident"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/store"
)

// backlogCollector reports the open backlog by age at scrape time, straight
// from the store, with the buckets of GET /api/v1/stats.
type backlogCollector struct {
	st      store.StatsReader
	now     func() time.Time
	backlog *prometheus.Desc
	oldest  *prometheus.Desc
}

func newBacklogCollector(st store.StatsReader, now func() time.Time) *backlogCollector {
	return &backlogCollector{
		st:  st,
		now: now,
		backlog: prometheus.NewDesc("alertbridge_incidents_backlog",
			"Open or acknowledged incidents by age since opening.", []string{"age"}, nil),
		oldest: prometheus.NewDesc("alertbridge_incidents_oldest_open_age_seconds",
			"Age of the oldest open or acknowledged incident; 0 when there is none.", nil, nil),
	}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.backlog
	ch <- c.oldest
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := c.st.Backlog(ctx, incident.StatsFilter{}, c.now())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.backlog, err)
		ch <- prometheus.NewInvalidMetric(c.oldest, err)
		return
	}
	for i, age := range incident.BacklogAges {
		ch <- prometheus.MustNewConstMetric(c.backlog, prometheus.GaugeValue, float64(b.Counts[i]), age.Label)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, b.Oldest.Seconds())
}
