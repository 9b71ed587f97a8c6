package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// testQuietProblems checks each condition of QuietProblems on both sides of
// its boundary, as incident.SweepProblems relies on it: the rule's name,
// the states asked for, the latest incident's opening at or before
// quietSince, no linked incident still active, and none resolved after
// quietSince.
func testQuietProblems(t *testing.T, s Store) {
	ctx := context.Background()
	since := t0.Add(14 * 24 * time.Hour)
	const ns = time.Nanosecond
	open := []incident.ProblemState{incident.ProblemOpen}
	both := []incident.ProblemState{incident.ProblemOpen, incident.ProblemKnownError}
	resolvedAt := func(at time.Time) func(*incident.Incident) {
		return func(inc *incident.Incident) { inc.State, inc.ResolvedAt = incident.StateResolved, at }
	}
	tests := []struct {
		name      string
		rule      string
		state     incident.ProblemState
		lastSeen  time.Time
		incidents []func(*incident.Incident)
		states    []incident.ProblemState
		quiet     bool
	}{
		{"Quiet/NoIncidents", "disk-recurring", incident.ProblemOpen, since, nil, open, true},
		{"Quiet/LastSeenBefore", "disk-recurring", incident.ProblemOpen, since.Add(-ns), nil, open, true},
		{"NotQuiet/LastSeenAfter", "disk-recurring", incident.ProblemOpen, since.Add(ns), nil, open, false},
		{"NotQuiet/OtherRule", "other-rule", incident.ProblemOpen, since, nil, open, false},
		{"NotQuiet/KnownErrorNotAsked", "disk-recurring", incident.ProblemKnownError, since, nil, open, false},
		{"Quiet/KnownErrorAsked", "disk-recurring", incident.ProblemKnownError, since, nil, both, true},
		{"NotQuiet/Resolved", "disk-recurring", incident.ProblemResolved, since, nil, both, false},
		{"NotQuiet/NoStatesAsked", "disk-recurring", incident.ProblemOpen, since, nil, nil, false},
		{"Quiet/IncidentResolvedAtSince", "disk-recurring", incident.ProblemOpen, since,
			[]func(*incident.Incident){resolvedAt(since)}, open, true},
		{"NotQuiet/IncidentResolvedAfterSince", "disk-recurring", incident.ProblemOpen, since,
			[]func(*incident.Incident){resolvedAt(since), resolvedAt(since.Add(ns))}, open, false},
		{"NotQuiet/IncidentOpen", "disk-recurring", incident.ProblemOpen, since,
			[]func(*incident.Incident){resolvedAt(t0), func(*incident.Incident) {}}, open, false},
		{"NotQuiet/IncidentAcknowledged", "disk-recurring", incident.ProblemOpen, since,
			[]func(*incident.Incident){func(inc *incident.Incident) { inc.State = incident.StateAcknowledged }}, open, false},
		{"NotQuiet/IncidentPending", "disk-recurring", incident.ProblemOpen, since,
			[]func(*incident.Incident){func(inc *incident.Incident) { inc.State, inc.OpenedAt = incident.StatePending, time.Time{} }}, open, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProblem(fmt.Sprintf("sig-%d", i))
			p.Name, p.State, p.LastSeenAt = tt.rule, tt.state, tt.lastSeen
			if tt.state == incident.ProblemResolved {
				p.ResolvedAt = t0
			}
			p = createProblem(t, s, p)
			for j, set := range tt.incidents {
				inc := newIncident(fmt.Sprintf("quiet-%d-%d", i, j), 3)
				set(&inc)
				inc = create(t, s, inc)
				mustUpdate(t, s, func(tx incident.Tx) error { return tx.SetIncidentProblem(ctx, inc.ID, p.ID) })
			}
			mustUpdate(t, s, func(tx incident.Tx) error {
				got, err := tx.QuietProblems(ctx, "disk-recurring", tt.states, since)
				if err != nil {
					return err
				}
				in := slices.ContainsFunc(got, func(g incident.Problem) bool { return g.ID == p.ID })
				if in != tt.quiet {
					t.Errorf("problem %d among QuietProblems = %v, want %v (got %d problems)", p.ID, in, tt.quiet, len(got))
				}
				for _, g := range got {
					if g.ID == p.ID && g.Signature != p.Signature {
						t.Errorf("QuietProblems read signature %q, want %q", g.Signature, p.Signature)
					}
				}
				return nil
			})
		})
	}
}

// testResolvedProblems checks ResolvedProblems: resolved problems of the
// rule, resolved at or before the bound, oldest first; closed and active
// ones never.
func testResolvedProblems(t *testing.T, s Store) {
	ctx := context.Background()
	before := t0.Add(30 * 24 * time.Hour)
	mk := func(sig, rule string, st incident.ProblemState, resolved time.Time) int64 {
		p := newProblem(sig)
		p.Name, p.State, p.ResolvedAt = rule, st, resolved
		if st == incident.ProblemClosed {
			p.ClosedAt = resolved.Add(time.Hour)
		}
		return createProblem(t, s, p).ID
	}
	atBound := mk("a", "disk-recurring", incident.ProblemResolved, before)
	mk("b", "disk-recurring", incident.ProblemResolved, before.Add(time.Nanosecond))
	earlier := mk("c", "disk-recurring", incident.ProblemResolved, t0)
	mk("d", "other-rule", incident.ProblemResolved, t0)
	mk("e", "disk-recurring", incident.ProblemClosed, t0)
	mk("f", "disk-recurring", incident.ProblemOpen, time.Time{})
	mustUpdate(t, s, func(tx incident.Tx) error {
		got, err := tx.ResolvedProblems(ctx, "disk-recurring", before)
		if err != nil {
			return err
		}
		var ids []int64
		for _, p := range got {
			ids = append(ids, p.ID)
		}
		if want := []int64{atBound, earlier}; !slices.Equal(ids, want) {
			t.Errorf("ResolvedProblems = %v, want %v", ids, want)
		}
		return nil
	})
}
