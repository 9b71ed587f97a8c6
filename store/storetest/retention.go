package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// testClosable checks ClosableIncidents: resolved (not closed) incidents
// resolved at or before the bound, oldest resolve first, at most limit.
func testClosable(t *testing.T, s Store) {
	ctx := context.Background()
	bound := t0.Add(time.Hour)
	var want []int64
	for i, c := range []struct {
		state    incident.State
		resolved time.Duration // after t0
		due      bool
	}{
		{incident.StateResolved, 30 * time.Minute, true},
		{incident.StateResolved, time.Hour, true}, // at the bound
		{incident.StateResolved, time.Hour + time.Nanosecond, false},
		{incident.StateClosed, 10 * time.Minute, false},
		{incident.StateOpen, 0, false},
		{incident.StateResolved, 20 * time.Minute, true},
	} {
		inc := newIncident(fmt.Sprintf("k%d", i), 3)
		inc.State = c.state
		if c.resolved > 0 {
			inc.ResolvedAt = t0.Add(c.resolved)
		}
		inc = create(t, s, inc)
		if c.due {
			want = append(want, inc.ID)
		}
	}
	want = []int64{want[2], want[0], want[1]} // by resolve
	for _, tt := range []struct {
		name  string
		limit int
		want  []int64
	}{
		{"OKAll", 10, want},
		{"OKLimit", 2, want[:2]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []int64
			mustUpdate(t, s, func(tx incident.Tx) error {
				list, err := tx.ClosableIncidents(ctx, bound, tt.limit)
				for _, inc := range list {
					got = append(got, inc.ID)
				}
				return err
			})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("closable (-want +got):\n%s", diff)
			}
		})
	}
}

// testDeleteHistory checks DeleteHistory: it deletes the history of the
// incidents closed before the bound, and the events of no incident
// received before it, at most limit rows (and marks) per call, and keeps
// the incident rows and everything of the others.
func testDeleteHistory(t *testing.T, s Store) {
	ctx := context.Background()
	bound, now := t0.Add(24*time.Hour), t0.Add(48*time.Hour)
	mk := func(key string, closedAt time.Time) incident.Incident {
		inc := newIncident(key, 3)
		inc.State, inc.ResolvedAt, inc.AlertCount, inc.FiringCount = incident.StateResolved, t0, 2, 0
		if !closedAt.IsZero() {
			inc.State, inc.ClosedAt = incident.StateClosed, closedAt
		}
		inc = create(t, s, inc)
		mustUpdate(t, s, func(tx incident.Tx) error {
			for _, fp := range []string{key + "-a", key + "-b"} {
				a := incident.Alert{IncidentID: inc.ID, Source: "am", Fingerprint: fp, Status: incident.StatusResolved,
					Labels: map[string]string{"alertname": fp}, StartsAt: t0, EndsAt: t0, FirstSeenAt: t0, LastSeenAt: t0}
				if err := tx.PutAlert(ctx, a); err != nil {
					return err
				}
				if err := tx.PutAlertState(ctx, incident.AlertState{Source: "am", Fingerprint: fp, Status: incident.StatusResolved,
					StartsAt: t0, EndsAt: t0, IncidentID: inc.ID, LastSeenAt: t0}); err != nil {
					return err
				}
				if err := tx.AddTimeline(ctx, &incident.TimelineEntry{IncidentID: inc.ID, At: t0, Kind: incident.TimelineAlertFiring,
					Actor: "system", Fingerprint: fp}); err != nil {
					return err
				}
				if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: t0, Source: "am", Fingerprint: fp, Status: incident.StatusFiring,
					Labels: a.Labels, Transition: incident.TransitionNew, IncidentID: inc.ID}); err != nil {
					return err
				}
			}
			return nil
		})
		return inc
	}
	old := mk("old", t0.Add(time.Hour))
	recent := mk("recent", bound) // closed at the bound: kept
	active := mk("active", time.Time{})
	mustUpdate(t, s, func(tx incident.Tx) error { // events of no incident: one old, one recent
		for _, at := range []time.Time{t0, bound} {
			if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: at, Source: "am", Fingerprint: "dropped",
				Status: incident.StatusFiring, Labels: map[string]string{}, Transition: incident.TransitionNew}); err != nil {
				return err
			}
		}
		return nil
	})

	const limit = 3
	var total incident.HistoryDeleted
	for i := 0; ; i++ {
		var h incident.HistoryDeleted
		mustUpdate(t, s, func(tx incident.Tx) error {
			var err error
			h, err = tx.DeleteHistory(ctx, bound, limit, now)
			return err
		})
		if h.Work() > limit {
			t.Fatalf("call %d: %+v, more than %d", i, h, limit)
		}
		total.Add(h)
		if h.Work() < limit || i > 20 {
			break
		}
	}
	if total.Alerts != 2 || total.AlertStates != 2 || total.Timeline != 2 || total.Events != 3 || total.Incidents != 1 {
		t.Errorf("deleted %+v; want old's 2 alerts, 2 states, 2 entries, 2 events, and 1 event of no incident", total)
	}
	for _, c := range []struct {
		inc    incident.Incident
		forget bool
	}{{old, true}, {recent, false}, {active, false}} {
		got, err := s.Incident(ctx, c.inc.ID)
		if err != nil {
			t.Fatalf("incident %s: %v (its row must stay)", c.inc.CorrelationKey, err)
		}
		alerts := mustAlerts(t, s, c.inc.ID)
		tl, err := s.Timeline(ctx, c.inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.forget != got.HistoryDeletedAt.Equal(now) || c.forget != (len(alerts) == 0) || c.forget != (len(tl) == 0) {
			t.Errorf("incident %s: history deleted at %s, %d alerts, %d entries; forgotten: %v",
				c.inc.CorrelationKey, got.HistoryDeletedAt, len(alerts), len(tl), c.forget)
		}
	}
	if n, err := s.CountEvents(ctx, t0, now); err != nil || n != 5 {
		t.Errorf("events left: %d, %v; want the 4 of recent and active and the recent one of no incident", n, err)
	}
}
