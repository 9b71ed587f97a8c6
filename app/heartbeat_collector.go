package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/incident"
)

// heartbeatCollector reports the heartbeat monitors at scrape time, from
// the store and the running rules. Its labels are the monitor's kind
// (rule, source) and name (the heartbeat rule's or the source's), never
// the values of a rule's by labels: those come from alerts, and the
// series per rule stay bounded by the rule files. A rule with by labels
// is up only while every instance is, and its last beat is the oldest of
// its instances' (the one closest to missing); GET /api/v1/heartbeats
// lists the instances.
type heartbeatCollector struct {
	list     api.Heartbeats
	up, last *prometheus.Desc
}

func newHeartbeatCollector(list api.Heartbeats) *heartbeatCollector {
	return &heartbeatCollector{list: list,
		up: prometheus.NewDesc("alertbridge_heartbeat_up",
			"1 while every instance of the heartbeat beats in time (or has not been due yet), 0 while one is missing or failed.",
			[]string{"kind", "name"}, nil),
		last: prometheus.NewDesc("alertbridge_heartbeat_last_beat_timestamp_seconds",
			"When the heartbeat's instance that beat longest ago last beat, in Unix seconds; absent before its first beat.",
			[]string{"kind", "name"}, nil),
	}
}

func (c *heartbeatCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.up; ch <- c.last }

func (c *heartbeatCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hbs, err := c.list.Heartbeats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.up, err)
		return
	}
	type agg struct {
		kind, name string
		up         bool
		oldest     time.Time
	}
	var order []*agg
	byName := map[[2]string]*agg{}
	for _, hb := range hbs {
		k := [2]string{string(hb.Kind), hb.Name}
		a := byName[k]
		if a == nil {
			a = &agg{kind: k[0], name: k[1], up: true}
			byName[k] = a
			order = append(order, a)
		}
		if hb.State == incident.HeartbeatMissing || hb.State == incident.HeartbeatFailed {
			a.up = false
		}
		if !hb.LastBeatAt.IsZero() && (a.oldest.IsZero() || hb.LastBeatAt.Before(a.oldest)) {
			a.oldest = hb.LastBeatAt
		}
	}
	for _, a := range order {
		up := 0.0
		if a.up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, a.kind, a.name)
		if !a.oldest.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.last, prometheus.GaugeValue, float64(a.oldest.UnixNano())/1e9, a.kind, a.name)
		}
	}
}
