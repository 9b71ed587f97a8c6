package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// testDueEveryClause checks each clause of DueIncidents on both sides of its
// boundary, as incident.Sweep relies on it. The bounds are those Sweep
// applies to what it is given: a scheduled resolve is due at its time
// (inclusive); a pending window, an SLA target and a flap window have
// passed only after their time (strictly: Sweep settles a flapping incident
// when now − LastEventAt > FlapWindow).
func testDueEveryClause(t *testing.T, s Store) {
	ctx := context.Background()
	now := t0.Add(time.Hour)
	const ns = time.Nanosecond
	const w = 10 * time.Minute
	open := func(*incident.Incident) {}
	acked := func(inc *incident.Incident) {
		inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, t0.Add(time.Minute)
	}
	resolved := func(inc *incident.Incident) {
		inc.State, inc.ResolvedAt = incident.StateResolved, t0.Add(2*time.Minute)
	}
	pending := func(inc *incident.Incident) {
		inc.State, inc.OpenedAt, inc.MinAlerts = incident.StatePending, time.Time{}, 2
	}
	tests := []struct {
		name  string
		state func(*incident.Incident)
		set   func(*incident.Incident)
		due   bool
	}{
		{"NotDue/NothingScheduled", open, func(*incident.Incident) {}, false},

		// Scheduled resolves (resolve_after) of open and acknowledged
		// incidents, sealed or not: at or before now.
		{"Due/ResolveDueAtNow", open, func(inc *incident.Incident) { inc.ResolveDueAt = now }, true},
		{"Due/ResolveDueBeforeNow", open, func(inc *incident.Incident) { inc.ResolveDueAt = now.Add(-ns) }, true},
		{"NotDue/ResolveDueAfterNow", open, func(inc *incident.Incident) { inc.ResolveDueAt = now.Add(ns) }, false},
		{"Due/ResolveDueAcknowledged", acked, func(inc *incident.Incident) { inc.ResolveDueAt = now }, true},
		{"Due/ResolveDueSealed", open, func(inc *incident.Incident) {
			inc.ResolveDueAt, inc.SealedAt = now, t0.Add(time.Minute)
		}, true},
		{"NotDue/ResolveDueResolved", resolved, func(inc *incident.Incident) { inc.ResolveDueAt = now.Add(-ns) }, false},
		{"NotDue/ResolveDuePending", pending, func(inc *incident.Incident) { inc.ResolveDueAt = now.Add(-ns) }, false},

		// Pending incidents whose window passed with no further alert: to
		// be sealed (discarded).
		{"Due/PendingWindowPassed", pending, func(inc *incident.Incident) {
			inc.Window, inc.LastEventAt = w, now.Add(-w-ns)
		}, true},
		{"NotDue/PendingWindowEndsNow", pending, func(inc *incident.Incident) {
			inc.Window, inc.LastEventAt = w, now.Add(-w)
		}, false},
		{"NotDue/PendingWithoutWindow", pending, func(inc *incident.Incident) {
			inc.Window, inc.LastEventAt = 0, t0.Add(-24*time.Hour)
		}, false},
		{"NotDue/PendingSealed", pending, func(inc *incident.Incident) {
			inc.Window, inc.LastEventAt, inc.SealedAt = w, now.Add(-w-ns), now.Add(-ns)
		}, false},
		{"NotDue/OpenWindowPassed", open, func(inc *incident.Incident) {
			inc.Window, inc.LastEventAt = w, now.Add(-w-ns)
		}, false},

		// The respond target of an open incident passed unmarked; an
		// acknowledgement met it.
		{"Due/RespondByPassed", open, func(inc *incident.Incident) { inc.RespondBy = now.Add(-ns) }, true},
		{"NotDue/RespondByNow", open, func(inc *incident.Incident) { inc.RespondBy = now }, false},
		{"NotDue/RespondByPassedMarked", open, func(inc *incident.Incident) {
			inc.RespondBy, inc.RespondBreachedAt = now.Add(-ns), now.Add(-ns)
		}, false},
		{"NotDue/RespondByPassedAcknowledged", acked, func(inc *incident.Incident) { inc.RespondBy = now.Add(-ns) }, false},
		{"NotDue/RespondByPassedResolved", resolved, func(inc *incident.Incident) { inc.RespondBy = now.Add(-ns) }, false},

		// The resolve target of an open or acknowledged incident passed
		// unmarked.
		{"Due/ResolveByPassed", open, func(inc *incident.Incident) { inc.ResolveBy = now.Add(-ns) }, true},
		{"Due/ResolveByPassedAcknowledged", acked, func(inc *incident.Incident) { inc.ResolveBy = now.Add(-ns) }, true},
		{"NotDue/ResolveByNow", open, func(inc *incident.Incident) { inc.ResolveBy = now }, false},
		{"NotDue/ResolveByPassedMarked", acked, func(inc *incident.Incident) {
			inc.ResolveBy, inc.ResolveBreachedAt = now.Add(-ns), now.Add(-ns)
		}, false},
		{"NotDue/ResolveByPassedResolved", resolved, func(inc *incident.Incident) { inc.ResolveBy = now.Add(-ns) }, false},

		// A flapping incident quiet for its flap window, to be settled, in
		// any state: a resolved one's held notifications are released by
		// settling it (Sweep, ReleaseHeld with its resolve).
		{"Due/FlappingQuiet", open, func(inc *incident.Incident) {
			inc.FlappingSince, inc.FlapWindow, inc.LastEventAt = t0, w, now.Add(-w-ns)
		}, true},
		{"Due/FlappingQuietResolved", resolved, func(inc *incident.Incident) {
			inc.FlappingSince, inc.FlapWindow, inc.LastEventAt = t0, w, now.Add(-w-ns)
		}, true},
		{"NotDue/FlappingQuietUntilNow", open, func(inc *incident.Incident) {
			inc.FlappingSince, inc.FlapWindow, inc.LastEventAt = t0, w, now.Add(-w)
		}, false},
		{"NotDue/QuietNotFlapping", open, func(inc *incident.Incident) {
			inc.FlapWindow, inc.LastEventAt = w, now.Add(-w-ns)
		}, false},
	}
	var want, ids []int64
	for i, tt := range tests {
		inc := newIncident(fmt.Sprintf("due-%02d", i), 3)
		tt.state(&inc)
		tt.set(&inc)
		inc = create(t, s, inc)
		ids = append(ids, inc.ID)
		if tt.due {
			want = append(want, inc.ID)
		}
	}
	var got []int64
	mustUpdate(t, s, func(tx incident.Tx) error {
		list, err := tx.DueIncidents(ctx, now)
		if err != nil {
			return err
		}
		for _, inc := range list {
			got = append(got, inc.ID)
		}
		return nil
	})
	// By ID, each once, whatever clauses it meets.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DueIncidents (-want +got):\n%s", diff)
		for i, tt := range tests {
			t.Logf("incident %d: %s", ids[i], tt.name)
		}
	}

	// An incident due by several clauses is listed once, whole.
	many := newIncident("many", 3)
	many.ResolveDueAt, many.RespondBy, many.ResolveBy = now, now.Add(-ns), now.Add(-ns)
	many.FlappingSince, many.FlapWindow, many.LastEventAt = t0, w, now.Add(-w-ns)
	many = create(t, s, many)
	mustUpdate(t, s, func(tx incident.Tx) error {
		list, err := tx.DueIncidents(ctx, now)
		if err != nil {
			return err
		}
		n := 0
		for _, inc := range list {
			if inc.ID == many.ID {
				n++
				if diff := cmp.Diff(many, inc); diff != "" {
					t.Errorf("due incident as stored (-want +got):\n%s", diff)
				}
			}
		}
		if n != 1 {
			t.Errorf("incident due by four clauses listed %d times, want once", n)
		}
		return nil
	})
}

// testDueBatch checks that DueIncidents returns at most
// incident.SweepBatch incidents, the lowest IDs first, so that a sweep's
// transaction stays short however many come due at once.
func testDueBatch(t *testing.T, s Store) {
	ctx := context.Background()
	now := t0.Add(time.Hour)
	var ids []int64
	mustUpdate(t, s, func(tx incident.Tx) error {
		for i := range incident.SweepBatch + 3 {
			inc := newIncident(fmt.Sprintf("batch-%03d", i), 1)
			inc.RespondBy = t0.Add(time.Minute) // passed, unmarked
			if err := tx.CreateIncident(ctx, &inc); err != nil {
				return err
			}
			ids = append(ids, inc.ID)
		}
		return nil
	})
	var got []int64
	mustUpdate(t, s, func(tx incident.Tx) error {
		list, err := tx.DueIncidents(ctx, now)
		for _, inc := range list {
			got = append(got, inc.ID)
		}
		return err
	})
	if diff := cmp.Diff(ids[:incident.SweepBatch], got); diff != "" {
		t.Errorf("DueIncidents of %d due: not the first %d by ID (-want +got):\n%s", len(ids), incident.SweepBatch, diff)
	}
}
