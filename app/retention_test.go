package app

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/incident"
)

// TestRetainDeletesAndCounts: the daemon's retention deletes the history
// of incidents closed more than storage.retention ago, and says so in its
// metrics; storage.retention 0 deletes nothing.
func TestRetainDeletesAndCounts(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 20, 13, 5, 0, time.UTC)
	for _, tt := range []struct {
		name      string
		retention time.Duration
		deleted   bool
	}{
		{"OKDeletes", 24 * time.Hour, true},
		{"OKKeepsForEver", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var now atomic.Int64
			now.Store(t0.UnixNano())
			closeAfter, retention := time.Hour, tt.retention
			a := mustStartedApp(t, Options{Now: func() time.Time { return time.Unix(0, now.Load()).UTC() },
				CloseAfter: &closeAfter, Retention: &retention, SweepInterval: time.Hour, RetentionInterval: time.Hour})
			ctx := context.Background()
			labels := map[string]string{"alertname": "DiskFull", "instance": "db-1"}
			ev := incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(labels), Status: incident.StatusFiring,
				Labels: labels, StartsAt: t0}
			if err := a.pipeline.Submit(ctx, []incident.Event{ev}); err != nil {
				t.Fatal(err)
			}
			ev.Status, ev.EndsAt = incident.StatusResolved, t0.Add(time.Minute)
			if err := a.pipeline.Submit(ctx, []incident.Event{ev}); err != nil {
				t.Fatal(err)
			}
			now.Store(t0.Add(2 * time.Hour).UnixNano())
			if err := a.pipeline.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			end := t0.Add(2*time.Hour + 25*time.Hour)
			now.Store(end.UnixNano())
			h, err := a.Retain(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rows := testutil.ToFloat64(a.retention.deleted.WithLabelValues("timeline")) +
				testutil.ToFloat64(a.retention.deleted.WithLabelValues("alerts"))
			if tt.deleted != (h.Rows() > 0) || tt.deleted != (rows > 0) {
				t.Errorf("retention %s deleted %+v, metrics count %v rows of timeline and alerts", tt.retention, h, rows)
			}
			if got, want := testutil.ToFloat64(a.retention.lastRun), float64(end.Unix()); tt.deleted && got != want {
				t.Errorf("last run %v, want %v", got, want)
			}
		})
	}
}
