package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/alertbridge/alertbridge/incident"
)

// statsNow is the simulated "now" of the stats fixture.
var statsNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// fixtureIncident is one incident of the stats fixture, its times relative
// to statsNow (opened) and to its opening (acked, resolved); 0 means never.
type fixtureIncident struct {
	service   string
	priority  incident.Priority
	rule, key string
	opened    time.Duration // before statsNow; -1 for pending
	acked     time.Duration
	resolved  time.Duration
}

// statsFixture is the hand-computed fixture the tests below assert on.
var statsFixture = map[string]fixtureIncident{
	"A": {"checkout", 1, "disk", "", 48 * time.Hour, 5 * time.Minute, 30 * time.Minute},
	"B": {"checkout", 2, "disk", "", 40 * time.Hour, 10 * time.Minute, 60 * time.Minute},
	"C": {"checkout", 1, "cpu", "", 30 * time.Hour, 20 * time.Minute, 2 * time.Hour},
	"D": {"checkout", 3, "", "k-d", 2 * time.Hour, 15 * time.Minute, 0},
	"E": {"checkout", 1, "disk", "", 30 * time.Minute, 0, 0},
	"F": {"search", 2, "cpu", "", 10 * 24 * time.Hour, 0, 0}, // opened before the window
	"G": {"search", 2, "", "k-g", 3 * 24 * time.Hour, 0, 4 * time.Hour},
	"H": {"search", 1, "latency", "", 5 * time.Hour, time.Hour, 0},
	"I": {"search", 1, "disk", "", -1, 0, 0}, // pending: never counted
	"J": {"search", 3, "mem", "", 0, 0, 0},   // opened at until: not in the window, but in the backlog
	"K": {"search", 4, "mem", "", 2 * 24 * time.Hour, 0, 0},
	"L": {"search", 5, "cpu", "", 4 * time.Hour, 0, 0}, // exactly 4h old: 4h-24h
}

// mustStatsStore opens a store holding statsFixture and the events below,
// and returns it with the incident IDs by fixture name.
func mustStatsStore(t *testing.T) (*Store, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, MigratedDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids := make(map[string]int64)
	err = st.Update(ctx, func(tx incident.Tx) error {
		for name, f := range statsFixture {
			inc := incident.Incident{
				State: incident.StateOpen, Priority: f.priority, Impact: incident.LevelMedium,
				Urgency: incident.LevelMedium, Title: name, Service: f.service, Rule: f.rule,
				CorrelationKey: "key-" + name, UpdatedAt: statsNow, LastEventAt: statsNow,
			}
			if f.key != "" {
				inc.CorrelationKey = f.key
			}
			switch {
			case f.opened < 0:
				inc.State = incident.StatePending
			default:
				inc.OpenedAt = statsNow.Add(-f.opened)
				if f.acked > 0 {
					inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, inc.OpenedAt.Add(f.acked)
				}
				if f.resolved > 0 {
					inc.State, inc.ResolvedAt = incident.StateResolved, inc.OpenedAt.Add(f.resolved)
				}
			}
			if err := tx.CreateIncident(ctx, &inc); err != nil {
				return fmt.Errorf("incident %s: %w", name, err)
			}
			ids[name] = inc.ID
		}
		for _, e := range []struct {
			fp         string
			transition incident.Transition
			before     time.Duration
			incident   string
		}{
			{"a", incident.TransitionNew, 48 * time.Hour, "A"},
			{"a", incident.TransitionResolved, 47 * time.Hour, "A"},
			{"a", incident.TransitionRefired, 46 * time.Hour, "A"},
			{"a", incident.TransitionRepeat, 45 * time.Hour, "A"}, // not a recorded transition
			{"b", incident.TransitionNew, 40 * time.Hour, "B"},
			{"c", incident.TransitionNew, 30 * time.Hour, "C"},
			{"g", incident.TransitionNew, 3 * 24 * time.Hour, "G"},
			{"x", incident.TransitionStale, time.Hour, ""},
			{"f", incident.TransitionNew, 10 * 24 * time.Hour, "F"}, // before the window
			{"j", incident.TransitionNew, 0, "J"},                   // at until: after the window
		} {
			rec := incident.EventRecord{
				ReceivedAt: statsNow.Add(-e.before), Source: "alertmanager", Fingerprint: e.fp,
				Status: incident.StatusFiring, Transition: e.transition, IncidentID: ids[e.incident],
			}
			if err := tx.AddEvent(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, ids
}

func TestStats(t *testing.T) {
	st, _ := mustStatsStore(t)
	week := incident.StatsFilter{Since: statsNow.Add(-7 * 24 * time.Hour), Until: statsNow}
	// dc is n incidents of priority p opened on November d (UTC).
	dc := func(d int, p incident.Priority, n int) incident.DayCount {
		return incident.DayCount{Day: time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC), Priority: p, Incidents: n}
	}
	mins := func(ms ...int) []time.Duration {
		out := make([]time.Duration, len(ms))
		for i, m := range ms {
			out[i] = time.Duration(m) * time.Minute
		}
		return out
	}
	tests := []struct {
		name   string
		filter func(f incident.StatsFilter) incident.StatsFilter
		want   incident.StatsFigures
	}{{
		name:   "All",
		filter: func(f incident.StatsFilter) incident.StatsFilter { return f },
		want: incident.StatsFigures{
			Opened: 9, Resolved: 4, // A B C D E G H K L; resolved A B C G
			TimesToAcknowledge: mins(5, 10, 20, 15, 60),
			TimesToResolve:     mins(30, 60, 120, 240),
			Backlog:            incident.Backlog{Counts: [5]int{2, 1, 2, 1, 1}, Oldest: 10 * 24 * time.Hour},
			Events:             7, Alerts: 5,
			Signatures: []incident.SignatureCount{
				{Rule: "disk", Incidents: 3}, {Rule: "cpu", Incidents: 2},
				{Key: "k-d", Incidents: 1}, {Key: "k-g", Incidents: 1},
				{Rule: "latency", Incidents: 1}, {Rule: "mem", Incidents: 1},
			},
			// UTC days: G on the 25th; A, B (20:00) and K on the 26th; C
			// (06:00) on the 27th; D, E, H and L on the 28th.
			OpenedPerDay: []incident.DayCount{
				dc(25, 2, 1), dc(26, 1, 1), dc(26, 2, 1), dc(26, 4, 1),
				dc(27, 1, 1), dc(28, 1, 2), dc(28, 3, 1), dc(28, 5, 1),
			},
		},
	}, {
		name:   "ByService",
		filter: func(f incident.StatsFilter) incident.StatsFilter { f.Service = "checkout"; return f },
		want: incident.StatsFigures{
			Opened: 5, Resolved: 3,
			TimesToAcknowledge: mins(5, 10, 20, 15),
			TimesToResolve:     mins(30, 60, 120),
			Backlog:            incident.Backlog{Counts: [5]int{1, 1, 0, 0, 0}, Oldest: 2 * time.Hour},
			Events:             5, Alerts: 3,
			Signatures: []incident.SignatureCount{
				{Rule: "disk", Incidents: 3}, {Key: "k-d", Incidents: 1}, {Rule: "cpu", Incidents: 1},
			},
			OpenedPerDay: []incident.DayCount{
				dc(26, 1, 1), dc(26, 2, 1), dc(27, 1, 1), dc(28, 1, 1), dc(28, 3, 1),
			},
		},
	}, {
		name:   "ByPriority",
		filter: func(f incident.StatsFilter) incident.StatsFilter { f.Priority = 1; return f },
		want: incident.StatsFigures{
			Opened: 4, Resolved: 2, // A C E H
			TimesToAcknowledge: mins(5, 20, 60),
			TimesToResolve:     mins(30, 120),
			Backlog:            incident.Backlog{Counts: [5]int{1, 0, 1, 0, 0}, Oldest: 5 * time.Hour},
			Events:             4, Alerts: 2,
			Signatures: []incident.SignatureCount{
				{Rule: "disk", Incidents: 2}, {Rule: "cpu", Incidents: 1}, {Rule: "latency", Incidents: 1},
			},
			OpenedPerDay: []incident.DayCount{dc(26, 1, 1), dc(27, 1, 1), dc(28, 1, 2)},
		},
	}, {
		name: "ByServiceAndPriority",
		filter: func(f incident.StatsFilter) incident.StatsFilter {
			f.Service, f.Priority = "search", 2
			return f
		},
		want: incident.StatsFigures{
			Opened: 1, Resolved: 1, // G; F opened before the window
			TimesToResolve: mins(240),
			Backlog:        incident.Backlog{Counts: [5]int{0, 0, 0, 0, 1}, Oldest: 10 * 24 * time.Hour},
			Events:         1, Alerts: 1,
			Signatures:   []incident.SignatureCount{{Key: "k-g", Incidents: 1}},
			OpenedPerDay: []incident.DayCount{dc(25, 2, 1)},
		},
	}, {
		name: "EmptyWindowKeepsBacklog",
		filter: func(incident.StatsFilter) incident.StatsFilter {
			return incident.StatsFilter{Since: statsNow.Add(-400 * 24 * time.Hour), Until: statsNow.Add(-300 * 24 * time.Hour)}
		},
		want: incident.StatsFigures{
			Backlog: incident.Backlog{Counts: [5]int{2, 1, 2, 1, 1}, Oldest: 10 * 24 * time.Hour},
		},
	}}
	sorted := cmpopts.SortSlices(func(a, b time.Duration) bool { return a < b })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Stats(context.Background(), tt.filter(week), statsNow)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, sorted, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatsRefuses(t *testing.T) {
	st, _ := mustStatsStore(t)
	tests := []struct {
		name    string
		filter  incident.StatsFilter
		samples int
	}{
		{"ErrInvalidEmptyWindow", incident.StatsFilter{Since: statsNow, Until: statsNow}, maxStatsSamples},
		{"ErrInvalidWindowTooLong", incident.StatsFilter{Since: statsNow.Add(-401 * 24 * time.Hour), Until: statsNow}, maxStatsSamples},
		{"ErrInvalidTooManyIncidents", incident.StatsFilter{Since: statsNow.Add(-7 * 24 * time.Hour), Until: statsNow}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(n int) { maxStatsSamples = n }(maxStatsSamples)
			maxStatsSamples = tt.samples
			_, err := st.Stats(context.Background(), tt.filter, statsNow)
			if !errors.Is(err, incident.ErrInvalid) {
				t.Fatalf("Stats() error = %v, want incident.ErrInvalid", err)
			}
		})
	}
}

func TestBacklogIsEmptyWithoutActiveIncidents(t *testing.T) {
	st, err := Open(context.Background(), MigratedDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Backlog(context.Background(), incident.StatsFilter{}, statsNow)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(incident.Backlog{}, got); diff != "" {
		t.Errorf("Backlog() mismatch (-want +got):\n%s", diff)
	}
}

// TestWaitingStatsLeaveReadConnections checks that stats calls waiting
// for days another call reads (as at start, while PrimeStats runs) hold
// at most half the read pool: the incident list still gets a connection
// and answers while they wait. The deadline only ends the test should the
// list wait for the stats; it is not a measure of speed.
func TestWaitingStatsLeaveReadConnections(t *testing.T) {
	st, _ := mustStatsStore(t)
	ctx := context.Background()
	release := st.kept.days.HoldReading() // a long read of the missing days
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := incident.StatsFilter{Since: statsNow.Add(-30 * 24 * time.Hour), Until: statsNow}
			if _, err := st.Stats(ctx, f, statsNow); err != nil {
				t.Error(err)
			}
		}()
	}
	for st.r.Stats().InUse < cap(st.statsSlots) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let any others take connections too
	if in, open := st.r.Stats().InUse, st.r.Stats().MaxOpenConnections; in >= open {
		t.Errorf("waiting stats calls hold %d of %d read connections", in, open)
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := st.Incidents(lctx, incident.IncidentFilter{Limit: 10}); err != nil {
		t.Errorf("the list while stats wait: %v", err)
	}
	release()
	wg.Wait()
}
