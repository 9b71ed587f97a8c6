package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

func TestBacklogCollector(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// ages of incidents by state; pending ones have no opened_at.
		open, acked, resolved []time.Duration
		pending               int
		want                  string
	}{{
		name: "Empty",
		want: `
alertbridge_incidents_backlog{age="<1h"} 0
alertbridge_incidents_backlog{age="1h-4h"} 0
alertbridge_incidents_backlog{age="4h-24h"} 0
alertbridge_incidents_backlog{age="1d-7d"} 0
alertbridge_incidents_backlog{age=">7d"} 0
alertbridge_incidents_oldest_open_age_seconds 0
`,
	}, {
		// Bounds belong to the older bucket: exactly 1h is 1h-4h, exactly
		// 7d is >7d. Resolved and pending incidents are no backlog.
		name:     "ByAge",
		open:     []time.Duration{0, 59 * time.Minute, time.Hour, 23 * time.Hour, 7 * 24 * time.Hour},
		acked:    []time.Duration{4 * time.Hour, 3 * 24 * time.Hour, 30 * 24 * time.Hour},
		resolved: []time.Duration{90 * 24 * time.Hour, 10 * time.Minute},
		pending:  2,
		want: `
alertbridge_incidents_backlog{age="<1h"} 2
alertbridge_incidents_backlog{age="1h-4h"} 1
alertbridge_incidents_backlog{age="4h-24h"} 2
alertbridge_incidents_backlog{age="1d-7d"} 1
alertbridge_incidents_backlog{age=">7d"} 2
alertbridge_incidents_oldest_open_age_seconds 2.592e+06
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustBacklogStore(t, now, tt.open, tt.acked, tt.resolved, tt.pending)
			reg := prometheus.NewRegistry()
			reg.MustRegister(newBacklogCollector(st, func() time.Time { return now }))
			want := `
# HELP alertbridge_incidents_backlog Open or acknowledged incidents by age since opening.
# TYPE alertbridge_incidents_backlog gauge
# HELP alertbridge_incidents_oldest_open_age_seconds Age of the oldest open or acknowledged incident; 0 when there is none.
# TYPE alertbridge_incidents_oldest_open_age_seconds gauge` + tt.want
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
				t.Error(err)
			}
		})
	}
}

// mustBacklogStore opens a store with incidents of the given ages at now.
func mustBacklogStore(t *testing.T, now time.Time, open, acked, resolved []time.Duration, pending int) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var incs []incident.Incident
	add := func(state incident.State, ages []time.Duration) {
		for _, age := range ages {
			inc := incident.Incident{State: state, OpenedAt: now.Add(-age)}
			switch state {
			case incident.StateAcknowledged:
				inc.AcknowledgedAt = now
			case incident.StateResolved:
				inc.ResolvedAt = now
			}
			incs = append(incs, inc)
		}
	}
	add(incident.StateOpen, open)
	add(incident.StateAcknowledged, acked)
	add(incident.StateResolved, resolved)
	for range pending {
		incs = append(incs, incident.Incident{State: incident.StatePending})
	}
	err = st.Update(ctx, func(tx incident.Tx) error {
		for i, inc := range incs {
			inc.Priority, inc.Impact, inc.Urgency, inc.Title = 3, incident.LevelMedium, incident.LevelMedium, "t"
			inc.CorrelationKey, inc.UpdatedAt, inc.LastEventAt = string(rune('a'+i)), now, now
			if err := tx.CreateIncident(ctx, &inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
