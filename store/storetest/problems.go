package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func newProblem(sig string) incident.Problem {
	return incident.Problem{
		Name: "disk-recurring", Signature: sig, State: incident.ProblemOpen, Title: "Disk full: " + sig,
		FirstSeenAt: t0, LastSeenAt: t0.Add(time.Minute), IncidentCount: 3, OpenedAt: t0.Add(time.Minute),
		UpdatedAt: t0.Add(time.Minute),
	}
}

func createProblem(t *testing.T, s Store, p incident.Problem) incident.Problem {
	t.Helper()
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.CreateProblem(context.Background(), &p) })
	if p.ID == 0 {
		t.Fatal("CreateProblem did not set ID")
	}
	return p
}

func testProblemRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	in := createProblem(t, s, newProblem(`disk-recurring{rule="disk"}`))
	got, err := s.Problem(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	in.State, in.RootCause, in.Workaround = incident.ProblemResolved, "log rotation", "restart vector"
	in.IncidentCount, in.LastSeenAt, in.ResolvedAt, in.UpdatedAt = 4, t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(2*time.Hour)
	mustUpdate(t, s, func(tx incident.Tx) error {
		if err := tx.UpdateProblem(ctx, in); err != nil {
			return err
		}
		e := &incident.ProblemEntry{ProblemID: in.ID, At: t0.Add(2 * time.Hour), Kind: incident.ProblemEntryResolved, Actor: "bob", OnBehalfOf: "the change board", Message: "fixed"}
		if err := tx.AddProblemEntry(ctx, e); err != nil {
			return err
		}
		if e.ID == 0 {
			t.Error("AddProblemEntry did not set ID")
		}
		got, err := tx.Problem(ctx, in.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("after update, in the transaction (-want +got):\n%s", diff)
		}
		bySig, err := tx.ProblemBySignature(ctx, in.Signature)
		if err != nil || bySig.ID != in.ID {
			t.Errorf("ProblemBySignature = %d, %v; want %d", bySig.ID, err, in.ID)
		}
		if _, err := tx.ProblemBySignature(ctx, "other"); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("unknown signature: err = %v, want ErrNotFound", err)
		}
		if _, err := tx.Problem(ctx, in.ID+100); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("unknown id in tx: err = %v, want ErrNotFound", err)
		}
		return nil
	})
	if got, _ := s.Problem(ctx, in.ID); !cmp.Equal(in, got) {
		t.Errorf("after update: %+v, want %+v", got, in)
	}
	tl, err := s.ProblemTimeline(ctx, in.ID)
	if err != nil || len(tl) != 1 || tl[0].Kind != incident.ProblemEntryResolved || tl[0].Actor != "bob" ||
		tl[0].OnBehalfOf != "the change board" || !tl[0].At.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("ProblemTimeline = %+v, %v", tl, err)
	}
	if _, err := s.Problem(ctx, in.ID+100); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("unknown id: err = %v, want ErrNotFound", err)
	}
	err = s.Update(ctx, func(tx incident.Tx) error {
		return tx.UpdateProblem(ctx, incident.Problem{ID: in.ID + 100, State: incident.ProblemOpen})
	})
	if !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("update unknown id: err = %v, want ErrNotFound", err)
	}
}

func testOneActiveProblem(t *testing.T, s Store) {
	ctx := context.Background()
	first := createProblem(t, s, newProblem("sig"))
	err := s.Update(ctx, func(tx incident.Tx) error {
		dup := newProblem("sig")
		return tx.CreateProblem(ctx, &dup)
	})
	if !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("second active problem for a signature: err = %v, want ErrConflict", err)
	}
	first.State, first.ResolvedAt = incident.ProblemResolved, t0.Add(time.Hour)
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateProblem(ctx, first) })
	second := createProblem(t, s, newProblem("sig"))
	mustUpdate(t, s, func(tx incident.Tx) error {
		got, err := tx.ProblemBySignature(ctx, "sig")
		if err != nil || got.ID != second.ID {
			t.Errorf("ProblemBySignature = %d, %v; want the newest, %d", got.ID, err, second.ID)
		}
		return nil
	})
	first.State, first.ResolvedAt = incident.ProblemOpen, time.Time{}
	err = s.Update(ctx, func(tx incident.Tx) error { return tx.UpdateProblem(ctx, first) })
	if !errors.Is(err, incident.ErrConflict) {
		t.Errorf("reopen beside an active problem: err = %v, want ErrConflict", err)
	}
}

func testProblemList(t *testing.T, s Store) {
	ctx := context.Background()
	var ids []int64
	for i, st := range []incident.ProblemState{incident.ProblemOpen, incident.ProblemKnownError, incident.ProblemResolved, incident.ProblemOpen} {
		p := newProblem(string(rune('a' + i)))
		p.State = st
		ids = append(ids, createProblem(t, s, p).ID)
	}
	tests := []struct {
		name string
		f    incident.ProblemFilter
		want []int64
	}{
		{"All", incident.ProblemFilter{Limit: 10}, []int64{ids[3], ids[2], ids[1], ids[0]}},
		{"State", incident.ProblemFilter{Limit: 10, States: []incident.ProblemState{incident.ProblemOpen}}, []int64{ids[3], ids[0]}},
		{"States", incident.ProblemFilter{Limit: 10, States: []incident.ProblemState{incident.ProblemKnownError, incident.ProblemResolved}},
			[]int64{ids[2], ids[1]}},
		{"Signature", incident.ProblemFilter{Limit: 10, Signature: "b"}, []int64{ids[1]}},
		{"SignatureAndState", incident.ProblemFilter{Limit: 10, Signature: "b", States: []incident.ProblemState{incident.ProblemOpen}}, nil},
		{"Page1", incident.ProblemFilter{Limit: 2}, []int64{ids[3], ids[2]}},
		{"Page2", incident.ProblemFilter{Limit: 2, AfterID: ids[2]}, []int64{ids[1], ids[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.Problems(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, p := range list {
				got = append(got, p.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func testIncidentSignatures(t *testing.T, s Store) {
	ctx := context.Background()
	var incs []incident.Incident
	for i, key := range []string{"a", "b", "c", "d"} {
		inc := newIncident(key, 3)
		inc.OpenedAt = t0.Add(time.Duration(i) * time.Hour)
		incs = append(incs, create(t, s, inc))
	}
	p := createProblem(t, s, newProblem("sig"))
	sig := func(inc incident.Incident, signature string) incident.IncidentSignature {
		return incident.IncidentSignature{IncidentID: inc.ID, ProblemRule: "disk-recurring", Signature: signature, OpenedAt: inc.OpenedAt}
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, r := range []incident.IncidentSignature{
			sig(incs[0], "sig"), sig(incs[1], "sig"), sig(incs[2], "other"), sig(incs[3], "sig"),
			{IncidentID: incs[2].ID, ProblemRule: "other-rule", Signature: "sig", OpenedAt: incs[2].OpenedAt},
		} {
			if err := tx.AddIncidentSignature(ctx, r); err != nil {
				return err
			}
		}
		// Recorded again (the same incident and rule): replaced, not doubled.
		if err := tx.AddIncidentSignature(ctx, sig(incs[3], "sig")); err != nil {
			return err
		}
		if err := tx.SetIncidentProblem(ctx, incs[3].ID, p.ID); err != nil {
			return err
		}
		if err := tx.SetIncidentProblem(ctx, incs[3].ID+100, p.ID); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("link unknown incident: err = %v, want ErrNotFound", err)
		}
		got, err := tx.UnlinkedSignatures(ctx, "sig", t0.Add(time.Hour))
		if err != nil {
			return err
		}
		var ids []int64
		for _, r := range got {
			ids = append(ids, r.IncidentID)
		}
		// a is before since, d is linked; c counts under its other rule.
		if diff := cmp.Diff([]int64{incs[1].ID, incs[2].ID}, ids); diff != "" {
			t.Errorf("UnlinkedSignatures (-want +got):\n%s", diff)
		}
		if len(got) > 0 && (!got[0].OpenedAt.Equal(incs[1].OpenedAt) || got[0].ProblemRule != "disk-recurring") {
			t.Errorf("UnlinkedSignatures[0] = %+v", got[0])
		}
		return nil
	})
	got, err := s.ProblemIncidents(ctx, p.ID)
	if err != nil || len(got) != 1 || got[0].ID != incs[3].ID || got[0].ProblemID != p.ID {
		t.Errorf("ProblemIncidents = %+v, %v; want incident %d", got, err, incs[3].ID)
	}
}
