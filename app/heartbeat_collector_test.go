package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/incident"
)

// fixedHeartbeats is a heartbeat list of values (the collector's input).
type fixedHeartbeats struct {
	hbs []incident.HeartbeatStatus
	err error
}

func (f fixedHeartbeats) Heartbeats(context.Context) ([]incident.HeartbeatStatus, error) {
	return f.hbs, f.err
}

func TestHeartbeatCollector(t *testing.T) {
	at := time.Unix(1_800_000_000, 0).UTC()
	hb := func(kind incident.HeartbeatKind, name, cluster string, state incident.HeartbeatState, last time.Time) incident.HeartbeatStatus {
		s := incident.HeartbeatStatus{Heartbeat: incident.Heartbeat{Kind: kind, Name: name, State: state, LastBeatAt: last}}
		if cluster != "" {
			s.Labels = map[string]string{"cluster": cluster}
		}
		return s
	}
	const head = `
# HELP alertbridge_heartbeat_last_beat_timestamp_seconds When the heartbeat's instance that beat longest ago last beat, in Unix seconds; absent before its first beat.
# TYPE alertbridge_heartbeat_last_beat_timestamp_seconds gauge
`
	const upHead = `# HELP alertbridge_heartbeat_up 1 while every instance of the heartbeat beats in time (or has not been due yet), 0 while one is missing or failed.
# TYPE alertbridge_heartbeat_up gauge
`
	tests := []struct {
		name string
		hbs  []incident.HeartbeatStatus
		want string
	}{
		{"None", nil, ""},
		{"OneSeriesPerRuleNeverPerLabelValue", []incident.HeartbeatStatus{
			hb(incident.HeartbeatRule, "watchdog", "eu-1", incident.HeartbeatUp, at),
			hb(incident.HeartbeatRule, "watchdog", "us-1", incident.HeartbeatUp, at.Add(-time.Minute)),
			hb(incident.HeartbeatRule, "nightly", "", incident.HeartbeatWaiting, time.Time{}),
			hb(incident.HeartbeatSource, "am", "", incident.HeartbeatMissing, at.Add(-time.Hour)),
		}, head + `alertbridge_heartbeat_last_beat_timestamp_seconds{kind="rule",name="watchdog"} 1.79999994e+09
alertbridge_heartbeat_last_beat_timestamp_seconds{kind="source",name="am"} 1.7999964e+09
` + upHead + `alertbridge_heartbeat_up{kind="rule",name="nightly"} 1
alertbridge_heartbeat_up{kind="rule",name="watchdog"} 1
alertbridge_heartbeat_up{kind="source",name="am"} 0
`},
		{"OneInstanceMissingIsTheRuleDown", []incident.HeartbeatStatus{
			hb(incident.HeartbeatRule, "watchdog", "eu-1", incident.HeartbeatUp, at),
			hb(incident.HeartbeatRule, "watchdog", "us-1", incident.HeartbeatFailed, at),
		}, head + `alertbridge_heartbeat_last_beat_timestamp_seconds{kind="rule",name="watchdog"} 1.8e+09
` + upHead + `alertbridge_heartbeat_up{kind="rule",name="watchdog"} 0
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(newHeartbeatCollector(fixedHeartbeats{hbs: tt.hbs}))
			if err := testutil.GatherAndCompare(reg, strings.NewReader(tt.want)); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("ErrStore", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(newHeartbeatCollector(fixedHeartbeats{err: errors.New("database is locked")}))
		if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "database is locked") {
			t.Errorf("Gather: %v, want the store's error", err)
		}
	})
}
