package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// BenchmarkWrite is the store's share of the ingest write path, one
// transaction (and its fsync, synchronous=FULL) per op, for a notification
// of 100 alerts of one open incident: repeats (the alert state and the
// alert's count and last-seen time) and new alerts (state, alert and event
// rows), and the deferred repeats' batch (TouchAlerts). It runs under -short: the store starts empty.
func BenchmarkWrite(b *testing.B) {
	const n = 100
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	labels := func(j int) map[string]string {
		return map[string]string{"alertname": "Bench", "instance": fmt.Sprintf("host-%d:9100", j), "job": "node", "severity": "critical"}
	}
	ann := map[string]string{"summary": "something is wrong on the host"}
	open := func(b *testing.B) (*Store, int64) {
		st, err := Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		var id int64
		err = st.Update(ctx, func(t incident.Tx) error {
			inc := incident.Incident{State: incident.StateOpen, Priority: 3, Impact: incident.LevelMedium, Urgency: incident.LevelMedium,
				Title: "bench", CorrelationKey: "bench", Source: "am", OpenedAt: now, ImpactStartedAt: now, UpdatedAt: now, LastEventAt: now}
			if err := t.CreateIncident(ctx, &inc); err != nil {
				return err
			}
			id = inc.ID
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return st, id
	}
	put := func(t incident.Tx, id int64, fp string, j int, seen time.Time) error {
		st := incident.AlertState{Fingerprint: fp, Source: "am", Status: incident.StatusFiring, StartsAt: now, IncidentID: id, LastSeenAt: seen}
		if err := t.PutAlertState(ctx, st); err != nil {
			return err
		}
		a := incident.Alert{IncidentID: id, Source: "am", Fingerprint: fp, Status: incident.StatusFiring, Labels: labels(j),
			Annotations: ann, StartsAt: now, FirstSeenAt: seen, LastSeenAt: seen, Count: 1}
		if err := t.PutAlert(ctx, a); err != nil {
			return err
		}
		return t.AddEvent(ctx, incident.EventRecord{ReceivedAt: seen, Source: "am", Fingerprint: fp, Status: incident.StatusFiring,
			Labels: a.Labels, Annotations: ann, StartsAt: now, Transition: incident.TransitionNew, Key: "bench", IncidentID: id})
	}
	// seeded opens a store whose incident has the n alerts the repeats
	// and touches are of.
	seeded := func(b *testing.B) (*Store, int64) {
		st, id := open(b)
		if err := st.Update(ctx, func(t incident.Tx) error {
			for j := range n {
				if err := put(t, id, fmt.Sprintf("%016x", j), j, now); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		return st, id
	}
	b.Run("Repeat100", func(b *testing.B) {
		st, id := seeded(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			seen := now.Add(time.Duration(i) * time.Second)
			err := st.Update(ctx, func(t incident.Tx) error {
				for j := range n {
					fp := fmt.Sprintf("%016x", j)
					st := incident.AlertState{Fingerprint: fp, Source: "am", Status: incident.StatusFiring, StartsAt: now, IncidentID: id, LastSeenAt: seen}
					if err := t.PutAlertState(ctx, st); err != nil {
						return err
					}
					if err := t.TouchAlert(ctx, id, "am", fp, seen, now, ann); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "alerts/s")
	})
	b.Run("Touch100", func(b *testing.B) {
		st, id := seeded(b)
		touches := make([]incident.Touch, n)
		for j := range touches {
			touches[j] = incident.Touch{Source: "am", Fingerprint: fmt.Sprintf("%016x", j), IncidentID: id, Count: 1}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			for j := range touches {
				touches[j].Seen = now.Add(time.Duration(i) * time.Second)
			}
			if err := st.Update(ctx, func(t incident.Tx) error { return t.TouchAlerts(ctx, touches) }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "alerts/s")
	})
	b.Run("New100", func(b *testing.B) {
		st, id := open(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			err := st.Update(ctx, func(t incident.Tx) error {
				for j := range n {
					if err := put(t, id, fmt.Sprintf("%08x%08x", i, j), j, now); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "alerts/s")
	})
}
