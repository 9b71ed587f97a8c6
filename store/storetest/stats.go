package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/alertbridge/alertbridge/incident"
)

// testStats checks the figures Summarize derives the stats from, on a
// hand-computed fixture: the window [Since, Until) on OpenedAt, merged and
// pending incidents left out, the inputs of the percentiles (times to
// acknowledge from OpenedAt, to resolve from ImpactStartedAt), SLA targets
// met, missed and running, the backlog's age buckets on both sides of a
// bound, the noise counts by transition, the signatures and the UTC days.
func testStats(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	since := now.Add(-7 * 24 * time.Hour)
	const ns = time.Nanosecond
	type fix struct {
		service  string
		p        incident.Priority
		rule     string
		opened   time.Time
		set      func(*incident.Incident)
		incident incident.Incident
	}
	none := func(*incident.Incident) {}
	fixture := []*fix{
		// A: opened at Since (in), acknowledged and resolved within its
		// targets; its impact started before it opened.
		{"api", 1, "disk", since, func(inc *incident.Incident) {
			inc.State, inc.AcknowledgedAt, inc.RespondBy = incident.StateResolved, inc.OpenedAt.Add(5*time.Minute), inc.OpenedAt.Add(10*time.Minute)
			inc.ImpactStartedAt, inc.ResolvedAt, inc.ResolveBy = inc.OpenedAt.Add(-10*time.Minute), inc.OpenedAt.Add(30*time.Minute), inc.OpenedAt.Add(time.Hour)
		}, incident.Incident{}},
		// B: acknowledged after its respond target (marked), resolve
		// target still running; 2h old.
		{"api", 2, "disk", now.Add(-2 * time.Hour), func(inc *incident.Incident) {
			inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, inc.OpenedAt.Add(20*time.Minute)
			inc.RespondBy, inc.RespondBreachedAt = inc.OpenedAt.Add(10*time.Minute), inc.OpenedAt.Add(10*time.Minute)
			inc.ResolveBy = now.Add(time.Hour)
		}, incident.Incident{}},
		// C: no rule (its key is its signature); exactly 1h old: 1h-4h.
		{"db", 2, "", now.Add(-time.Hour), none, incident.Incident{}},
		// D: a nanosecond younger than 1h: <1h.
		{"db", 3, "cpu", now.Add(-time.Hour + ns), none, incident.Incident{}},
		// E: resolved after its resolve target (marked).
		{"api", 1, "disk", now.Add(-30 * time.Hour), func(inc *incident.Incident) {
			inc.State, inc.ResolvedAt = incident.StateResolved, inc.OpenedAt.Add(3*time.Hour)
			inc.ResolveBy, inc.ResolveBreachedAt = inc.OpenedAt.Add(time.Hour), inc.OpenedAt.Add(time.Hour)
		}, incident.Incident{}},
		// F: opened at Until: not in the window, but in the backlog.
		{"db", 2, "disk", now, none, incident.Incident{}},
		// G: opened a nanosecond before Since: the oldest of the backlog.
		{"db", 2, "disk", since.Add(-ns), none, incident.Incident{}},
		// H: merged into another: not an incident of its own.
		{"db", 1, "disk", now.Add(-3 * time.Hour), func(inc *incident.Incident) {
			inc.State, inc.ResolvedAt, inc.MergedInto = incident.StateResolved, now, 1
		}, incident.Incident{}},
		// I: pending: no incident yet.
		{"api", 1, "disk", time.Time{}, func(inc *incident.Incident) {
			inc.State, inc.LastEventAt = incident.StatePending, now.Add(-time.Hour)
		}, incident.Incident{}},
		// J: 5 days old: 1d-7d.
		{"api", 4, "mem", now.Add(-5 * 24 * time.Hour), none, incident.Incident{}},
	}
	for i, f := range fixture {
		inc := newIncident(string(rune('a'+i)), f.p)
		inc.Service, inc.Rule, inc.OpenedAt, inc.UpdatedAt, inc.LastEventAt = f.service, f.rule, f.opened, now, now
		if f.rule == "" {
			inc.CorrelationKey = "k-c"
		}
		f.set(&inc)
		f.incident = create(t, s, inc)
	}
	A, B, C, D, G := fixture[0].incident, fixture[1].incident, fixture[2].incident, fixture[3].incident, fixture[6].incident
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, e := range []struct {
			fp         string
			tr         incident.Transition
			at         time.Time
			incidentID int64
		}{
			{"a", incident.TransitionNew, since, A.ID},                         // at Since: counted
			{"a", incident.TransitionResolved, now.Add(-24 * time.Hour), A.ID}, // a again: one alert
			{"b", incident.TransitionRefired, now.Add(-time.Hour), B.ID},
			{"b", incident.TransitionRepeat, now.Add(-time.Hour), B.ID},  // repeats are not noise
			{"c", incident.TransitionHistory, now.Add(-time.Hour), C.ID}, // nor late history
			{"x", incident.TransitionStale, now.Add(-time.Hour), 0},
			{"d", incident.TransitionNew, now, D.ID},            // at Until: not counted
			{"g", incident.TransitionNew, since.Add(-ns), G.ID}, // before Since
		} {
			if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: e.at, Source: "am", Fingerprint: e.fp,
				Status: incident.StatusFiring, Labels: map[string]string{}, Transition: e.tr, IncidentID: e.incidentID}); err != nil {
				return err
			}
		}
		return nil
	})
	day := func(d int, p incident.Priority, n int) incident.DayCount {
		return incident.DayCount{Day: time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC), Priority: p, Incidents: n}
	}
	m := time.Minute
	tests := []struct {
		name string
		f    incident.StatsFilter
		want incident.StatsFigures
	}{{
		name: "All",
		f:    incident.StatsFilter{Since: since, Until: now},
		want: incident.StatsFigures{
			Opened: 6, Resolved: 2, // A B C D E J; resolved A E
			TimesToAcknowledge: []time.Duration{5 * m, 20 * m},
			TimesToResolve:     []time.Duration{40 * m, 3 * time.Hour},
			Backlog:            incident.Backlog{Counts: [5]int{2, 2, 0, 1, 1}, Oldest: 7*24*time.Hour + ns},
			Events:             4, Alerts: 3,
			RespondMet: 1, RespondMissed: 1, ResolveMet: 1, ResolveMissed: 1,
			Signatures: []incident.SignatureCount{
				{Rule: "disk", Incidents: 3}, {Key: "k-c", Incidents: 1}, {Rule: "cpu", Incidents: 1}, {Rule: "mem", Incidents: 1},
			},
			OpenedPerDay: []incident.DayCount{day(21, 1, 1), day(23, 4, 1), day(27, 1, 1), day(28, 2, 2), day(28, 3, 1)},
		},
	}, {
		name: "Service",
		f:    incident.StatsFilter{Since: since, Until: now, Service: "api"},
		want: incident.StatsFigures{
			Opened: 4, Resolved: 2,
			TimesToAcknowledge: []time.Duration{5 * m, 20 * m},
			TimesToResolve:     []time.Duration{40 * m, 3 * time.Hour},
			Backlog:            incident.Backlog{Counts: [5]int{0, 1, 0, 1, 0}, Oldest: 5 * 24 * time.Hour},
			Events:             3, Alerts: 2, // only events of the service's incidents
			RespondMet: 1, RespondMissed: 1, ResolveMet: 1, ResolveMissed: 1,
			Signatures:   []incident.SignatureCount{{Rule: "disk", Incidents: 3}, {Rule: "mem", Incidents: 1}},
			OpenedPerDay: []incident.DayCount{day(21, 1, 1), day(23, 4, 1), day(27, 1, 1), day(28, 2, 1)},
		},
	}, {
		name: "Priority",
		f:    incident.StatsFilter{Since: since, Until: now, Priority: 2},
		want: incident.StatsFigures{
			Opened:             2, // B C
			TimesToAcknowledge: []time.Duration{20 * m},
			Backlog:            incident.Backlog{Counts: [5]int{1, 2, 0, 0, 1}, Oldest: 7*24*time.Hour + ns},
			Events:             1, Alerts: 1,
			RespondMissed: 1,
			Signatures:    []incident.SignatureCount{{Key: "k-c", Incidents: 1}, {Rule: "disk", Incidents: 1}},
			OpenedPerDay:  []incident.DayCount{day(28, 2, 2)},
		},
	}, {
		name: "EmptyWindowKeepsBacklog",
		f:    incident.StatsFilter{Since: now.Add(-400 * 24 * time.Hour), Until: now.Add(-300 * 24 * time.Hour)},
		want: incident.StatsFigures{Backlog: incident.Backlog{Counts: [5]int{2, 2, 0, 1, 1}, Oldest: 7*24*time.Hour + ns}},
	}}
	sorted := cmpopts.SortSlices(func(a, b time.Duration) bool { return a < b })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Stats(ctx, tt.f, now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, sorted, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
			for _, d := range got.OpenedPerDay {
				mustUTC(t, d)
			}
			b, err := s.Backlog(ctx, tt.f, now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want.Backlog, b); diff != "" {
				t.Errorf("Backlog (-want +got):\n%s", diff)
			}
		})
	}
	for _, tt := range []struct {
		name string
		f    incident.StatsFilter
	}{
		{"ErrInvalid/EmptyWindow", incident.StatsFilter{Since: now, Until: now}},
		{"ErrInvalid/Backwards", incident.StatsFilter{Since: now, Until: since}},
		{"ErrInvalid/TooLong", incident.StatsFilter{Since: now.Add(-incident.MaxStatsWindow - ns), Until: now}},
	} {
		if _, err := s.Stats(ctx, tt.f, now); !errors.Is(err, incident.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
		}
	}
	if _, err := s.Stats(ctx, incident.StatsFilter{Since: now.Add(-incident.MaxStatsWindow), Until: now}, now); err != nil {
		t.Errorf("the longest window: %v", err)
	}
}
