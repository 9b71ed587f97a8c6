package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func putEpisode(t *testing.T, s Store, e incident.Episode) incident.Episode {
	t.Helper()
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutEpisode(context.Background(), &e) })
	return e
}

// testEpisodes: the firing history placement and history replay rely on.
// EpisodeNear finds the alert's episode starting nearest at within ±within
// (both ends inclusive; a tie goes to the earlier start); NextEpisodes the
// first starting strictly after; one start per alert (ErrConflict).
func testEpisodes(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("k", 3))
	other := create(t, s, newIncident("other", 3))
	const sec = time.Second
	e0 := putEpisode(t, s, incident.Episode{Source: "am", Fingerprint: "fp", StartsAt: t0, EndsAt: t0.Add(time.Minute), IncidentID: inc.ID, Key: "k"})
	e1 := putEpisode(t, s, incident.Episode{Source: "am", Fingerprint: "fp", StartsAt: t0.Add(20 * sec), IncidentID: other.ID, Key: "k"})
	pd := putEpisode(t, s, incident.Episode{Source: "pd", Fingerprint: "fp", StartsAt: t0.Add(sec), IncidentID: inc.ID, Key: "k"})
	near := []struct {
		name   string
		at     time.Time
		within time.Duration
		want   int64 // 0: ErrNotFound
	}{
		{"OK/Exact", t0, 0, e0.ID},
		{"NotFound/ExactMiss", t0.Add(sec), 0, 0},
		{"OK/WithinBefore", t0.Add(-5 * sec), 5 * sec, e0.ID},
		{"NotFound/JustOutsideBefore", t0.Add(-5*sec - 1), 5 * sec, 0},
		{"OK/WithinAfter", t0.Add(25 * sec), 5 * sec, e1.ID},
		{"NotFound/JustOutsideAfter", t0.Add(25*sec + 1), 5 * sec, 0},
		{"OK/Nearest", t0.Add(11 * sec), time.Minute, e1.ID},
		{"OK/TieGoesEarlier", t0.Add(10 * sec), time.Minute, e0.ID},
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, tt := range near {
			got, err := tx.EpisodeNear(ctx, "am", "fp", tt.at, tt.within)
			switch {
			case tt.want == 0 && !errors.Is(err, incident.ErrNotFound):
				t.Errorf("EpisodeNear %s: %+v, %v; want ErrNotFound", tt.name, got, err)
			case tt.want != 0 && (err != nil || got.ID != tt.want):
				t.Errorf("EpisodeNear %s: %d, %v; want %d", tt.name, got.ID, err, tt.want)
			}
		}
		if got, err := tx.EpisodeNear(ctx, "pd", "fp", t0, time.Minute); err != nil || got.ID != pd.ID {
			t.Errorf("EpisodeNear(pd) = %d, %v; want pd's own, %d", got.ID, err, pd.ID)
		}
		next := []struct {
			name   string
			source string
			after  time.Time
			want   int64
		}{
			{"OK/Strict", "am", t0, e1.ID},
			{"OK/Before", "am", t0.Add(-time.Hour), e0.ID},
			{"NotFound/AfterLast", "am", t0.Add(20 * sec), 0},
			{"OK/OtherSource", "pd", t0, pd.ID},
			{"NotFound/OtherSourceAfterLast", "pd", t0.Add(sec), 0},
		}
		// Asked at once, answered in order, with a zero episode where
		// there is none.
		var after []incident.Episode
		for _, tt := range next {
			after = append(after, incident.Episode{Source: tt.source, Fingerprint: "fp", StartsAt: tt.after})
		}
		got, err := tx.NextEpisodes(ctx, after)
		if err != nil {
			return err
		}
		if len(got) != len(next) {
			t.Fatalf("NextEpisodes: %d answers for %d alerts", len(got), len(next))
		}
		for i, tt := range next {
			want := incident.Episode{}
			switch tt.want {
			case e0.ID:
				want = e0
			case e1.ID:
				want = e1
			case pd.ID:
				want = pd
			}
			if diff := cmp.Diff(want, got[i]); diff != "" {
				t.Errorf("NextEpisodes %s (-want +got):\n%s", tt.name, diff)
			}
		}
		if got, err := tx.NextEpisodes(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("NextEpisodes of none: %v, %v", got, err)
		}
		// Episodes of incidents, by start (then source and fingerprint).
		list, err := tx.Episodes(ctx, []int64{inc.ID, other.ID})
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]int64{e0.ID, pd.ID, e1.ID}, episodeIDs(list)); diff != "" {
			t.Errorf("Episodes (-want +got):\n%s", diff)
		}
		if list, err := tx.Episodes(ctx, nil); err != nil || len(list) != 0 {
			t.Errorf("Episodes(none) = %v, %v", list, err)
		}
		// AlertSpan: the earliest start and the latest known end.
		start, end, err := tx.AlertSpan(ctx, inc.ID)
		if err != nil || !start.Equal(t0) || !end.Equal(t0.Add(time.Minute)) {
			t.Errorf("AlertSpan = %s, %s, %v; want %s, %s", start, end, err, t0, t0.Add(time.Minute))
		}
		start, end, err = tx.AlertSpan(ctx, other.ID)
		if err != nil || !start.Equal(t0.Add(20*sec)) || !end.IsZero() {
			t.Errorf("AlertSpan(no end known) = %s, %s, %v", start, end, err)
		}
		empty := newIncident("empty", 3)
		if err := tx.CreateIncident(ctx, &empty); err != nil {
			return err
		}
		if start, end, err := tx.AlertSpan(ctx, empty.ID); err != nil || !start.IsZero() || !end.IsZero() {
			t.Errorf("AlertSpan(no episodes) = %s, %s, %v; want zero times", start, end, err)
		}
		return nil
	})
	// One episode per start of an alert. A failed statement ends the
	// transaction on PostgreSQL, so each conflict gets its own (the
	// domain never carries on after an error either).
	dup := incident.Episode{Source: "am", Fingerprint: "fp", StartsAt: t0, Key: "k"}
	if err := s.Update(ctx, func(tx incident.Tx) error { return tx.PutEpisode(ctx, &dup) }); !errors.Is(err, incident.ErrConflict) {
		t.Errorf("PutEpisode(same start) = %v, want ErrConflict", err)
	}
	moved := e1
	moved.StartsAt = t0
	if err := s.Update(ctx, func(tx incident.Tx) error { return tx.PutEpisode(ctx, &moved) }); !errors.Is(err, incident.ErrConflict) {
		t.Errorf("PutEpisode(update onto another's start) = %v, want ErrConflict", err)
	}
	testRecordEpisode(t, s, inc.ID, other.ID, e0)
}

// testRecordEpisode: RecordEpisode inserts a firing, and a firing of the
// alert with the same start updates the row that has it (a redelivery):
// its incident and key become the new ones, its end too unless the new
// one is unknown; the episode it is given gets the row's ID and end.
func testRecordEpisode(t *testing.T, s Store, incID, otherID int64, e0 incident.Episode) {
	ctx := context.Background()
	end := t0.Add(time.Minute)
	steps := []struct {
		name   string
		ep     incident.Episode
		sameAs int // the step whose row it must be; -1: a new row
		want   incident.Episode
	}{
		{"New", incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0, IncidentID: incID, Key: "k"}, -1,
			incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0, IncidentID: incID, Key: "k"}},
		{"SameStartMoves", incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0, IncidentID: otherID, Key: "k2"}, 0,
			incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0, IncidentID: otherID, Key: "k2"}},
		{"SameStartEnds", incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0, EndsAt: end, IncidentID: otherID, Key: "k2"}, 0,
			incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0, EndsAt: end, IncidentID: otherID, Key: "k2"}},
		{"UnknownEndKeepsKnown", incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0, IncidentID: incID, Key: "k"}, 0,
			incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0, EndsAt: end, IncidentID: incID, Key: "k"}},
		{"NoIncident", incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0, Key: "k"}, 0,
			incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0, EndsAt: end, Key: "k"}},
		{"OtherStartIsNew", incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0.Add(time.Nanosecond), IncidentID: incID, Key: "k"}, -1,
			incident.Episode{Source: "am", Fingerprint: "rec", StartsAt: t0.Add(time.Nanosecond), IncidentID: incID, Key: "k"}},
		{"OtherSourceIsNew", incident.Episode{Source: "pd", Fingerprint: "rec", StartsAt: t0, IncidentID: incID, Key: "k"}, -1,
			incident.Episode{Source: "pd", Fingerprint: "rec", StartsAt: t0, IncidentID: incID, Key: "k"}},
	}
	ids := make([]int64, len(steps))
	seen := map[int64]bool{e0.ID: true}
	for i, st := range steps {
		ep := st.ep
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.RecordEpisode(ctx, &ep) })
		ids[i] = ep.ID
		switch {
		case st.sameAs < 0 && seen[ep.ID]:
			t.Errorf("RecordEpisode %s: ID %d is an existing row's; want a new one", st.name, ep.ID)
		case st.sameAs >= 0 && ep.ID != ids[st.sameAs]:
			t.Errorf("RecordEpisode %s: ID %d; want %d, the row with its start", st.name, ep.ID, ids[st.sameAs])
		}
		seen[ep.ID] = true
		want := st.want
		want.ID = ep.ID
		if !ep.EndsAt.Equal(want.EndsAt) {
			t.Errorf("RecordEpisode %s: end %s; want the row's, %s", st.name, ep.EndsAt, want.EndsAt)
		}
		mustUpdate(t, s, func(tx incident.Tx) error {
			got, err := tx.EpisodeNear(ctx, want.Source, want.Fingerprint, want.StartsAt, 0)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("RecordEpisode %s: row (-want +got):\n%s", st.name, diff)
			}
			return nil
		})
	}
	// An episode put by PutEpisode is the row a redelivery finds too.
	again := incident.Episode{Source: e0.Source, Fingerprint: e0.Fingerprint, StartsAt: e0.StartsAt, IncidentID: otherID, Key: "k"}
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.RecordEpisode(ctx, &again) })
	if again.ID != e0.ID || !again.EndsAt.Equal(e0.EndsAt) {
		t.Errorf("RecordEpisode over PutEpisode's row: ID %d, end %s; want %d, %s", again.ID, again.EndsAt, e0.ID, e0.EndsAt)
	}
}

func episodeIDs(eps []incident.Episode) []int64 {
	var out []int64
	for _, e := range eps {
		out = append(out, e.ID)
	}
	return out
}

// testAlertMoves: MoveAlert and MoveAlerts take the alert's episodes along
// (and only its own), DeleteAlert drops one alert row; AlertHistory shows an
// incident's alerts' latest firings, wherever they happened.
func testAlertMoves(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s, newIncident("a", 3))
	b := create(t, s, newIncident("b", 3))
	c := create(t, s, newIncident("c", 3))
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, al := range []incident.Alert{
			alertOf(a.ID, "am", "x", incident.StatusFiring, 1),
			alertOf(a.ID, "am", "y", incident.StatusFiring, 1),
			alertOf(a.ID, "pd", "x", incident.StatusFiring, 1),
		} {
			if err := tx.PutAlert(ctx, al); err != nil {
				return err
			}
		}
		return nil
	})
	var ex []incident.Episode
	for i, e := range []incident.Episode{
		{Source: "am", Fingerprint: "x", StartsAt: t0, EndsAt: t0.Add(time.Minute), IncidentID: c.ID},
		{Source: "am", Fingerprint: "x", StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(2 * time.Hour), IncidentID: a.ID},
		{Source: "am", Fingerprint: "x", StartsAt: t0.Add(3 * time.Hour), IncidentID: a.ID},
		{Source: "am", Fingerprint: "y", StartsAt: t0.Add(time.Hour), IncidentID: a.ID},
		{Source: "pd", Fingerprint: "x", StartsAt: t0.Add(time.Hour), IncidentID: a.ID},
		{Source: "am", Fingerprint: "z", StartsAt: t0.Add(time.Hour), IncidentID: c.ID}, // not an alert of a
	} {
		e.Key = fmt.Sprint("k", i)
		ex = append(ex, putEpisode(t, s, e))
	}
	history := func(id int64, per int) []int64 {
		t.Helper()
		got, err := s.AlertHistory(ctx, id, per)
		if err != nil {
			t.Fatal(err)
		}
		return episodeIDs(got)
	}
	// By alert (source, then fingerprint), newest firing first, at most
	// perAlert each; the firing in incident c counts, being am/x's.
	if diff := cmp.Diff([]int64{ex[2].ID, ex[1].ID, ex[0].ID, ex[3].ID, ex[4].ID}, history(a.ID, 10)); diff != "" {
		t.Errorf("AlertHistory (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{ex[2].ID, ex[1].ID, ex[3].ID, ex[4].ID}, history(a.ID, 2)); diff != "" {
		t.Errorf("AlertHistory(2 per alert) (-want +got):\n%s", diff)
	}
	if got := history(b.ID, 10); len(got) != 0 {
		t.Errorf("AlertHistory(no alerts) = %v", got)
	}

	mustUpdate(t, s, func(tx incident.Tx) error {
		if err := tx.MoveAlert(ctx, a.ID, b.ID, "am", "x"); err != nil {
			return err
		}
		list, err := tx.Episodes(ctx, []int64{b.ID})
		if err != nil {
			return err
		}
		// am/x's episodes in a moved; the one in c is another incident's.
		if diff := cmp.Diff([]int64{ex[1].ID, ex[2].ID}, episodeIDs(list)); diff != "" {
			t.Errorf("episodes after MoveAlert (-want +got):\n%s", diff)
		}
		if err := tx.MoveAlert(ctx, a.ID, b.ID, "am", "x"); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("MoveAlert of an alert no longer there = %v, want ErrNotFound", err)
		}
		n, err := tx.MoveAlerts(ctx, a.ID, b.ID)
		if err != nil || n != 2 {
			t.Errorf("MoveAlerts = %d, %v; want 2", n, err)
		}
		list, err = tx.Episodes(ctx, []int64{b.ID})
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]int64{ex[1].ID, ex[3].ID, ex[4].ID, ex[2].ID}, episodeIDs(list)); diff != "" {
			t.Errorf("episodes after MoveAlerts (-want +got):\n%s", diff)
		}
		if list, err := tx.Episodes(ctx, []int64{a.ID}); err != nil || len(list) != 0 {
			t.Errorf("episodes left in a: %v, %v", episodeIDs(list), err)
		}
		if alerts, firing, err := tx.AlertCounts(ctx, b.ID); err != nil || alerts != 3 || firing != 3 {
			t.Errorf("AlertCounts(b) = %d, %d, %v; want 3, 3", alerts, firing, err)
		}
		if alerts, firing, err := tx.AlertCounts(ctx, a.ID); err != nil || alerts != 0 || firing != 0 {
			t.Errorf("AlertCounts(a) = %d, %d, %v; want 0, 0", alerts, firing, err)
		}
		// DeleteAlert drops one row, of that source only.
		if err := tx.DeleteAlert(ctx, b.ID, "pd", "x"); err != nil {
			return err
		}
		left, err := tx.IncidentAlerts(ctx, b.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"am/x", "am/y"}, alertIDs(left)); diff != "" {
			t.Errorf("alerts after DeleteAlert (-want +got):\n%s", diff)
		}
		return nil
	})
}

// testTimelineCounts: CountTimeline counts an incident's entries of one kind
// at or after since.
func testTimelineCounts(t *testing.T, s Store) {
	ctx := context.Background()
	a, b := create(t, s, newIncident("a", 3)), create(t, s, newIncident("b", 3))
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, e := range []incident.TimelineEntry{
			{IncidentID: a.ID, At: t0.Add(-time.Nanosecond), Kind: incident.TimelineAlertResolved},
			{IncidentID: a.ID, At: t0, Kind: incident.TimelineAlertResolved},
			{IncidentID: a.ID, At: t0.Add(time.Hour), Kind: incident.TimelineAlertResolved},
			{IncidentID: a.ID, At: t0.Add(time.Hour), Kind: incident.TimelineAlertFiring},
			{IncidentID: a.ID, At: t0, Kind: incident.TimelineWorkaround},
			{IncidentID: b.ID, At: t0, Kind: incident.TimelineWorkaround},
			{IncidentID: b.ID, At: t0.Add(time.Hour), Kind: incident.TimelineAlertResolved},
		} {
			e.Actor = "system"
			if err := tx.AddTimeline(ctx, &e); err != nil {
				return err
			}
		}
		for _, tt := range []struct {
			name  string
			kind  incident.TimelineKind
			since time.Time
			want  int
		}{
			{"SinceInclusive", incident.TimelineAlertResolved, t0, 2},
			{"All", incident.TimelineAlertResolved, t0.Add(-time.Hour), 3},
			{"OtherKind", incident.TimelineAlertFiring, t0, 1},
			{"Workaround", incident.TimelineWorkaround, time.Time{}, 1},
			{"None", incident.TimelineComment, t0, 0},
		} {
			if n, err := tx.CountTimeline(ctx, a.ID, tt.kind, tt.since); err != nil || n != tt.want {
				t.Errorf("CountTimeline %s = %d, %v; want %d", tt.name, n, err, tt.want)
			}
		}
		// CountResolves: the trace's resolves of one alert at or after
		// since; other transitions do not count.
		for _, e := range []incident.EventRecord{
			{ReceivedAt: t0.Add(-time.Nanosecond), Transition: incident.TransitionResolved},
			{ReceivedAt: t0, Transition: incident.TransitionResolved},
			{ReceivedAt: t0.Add(time.Minute), Transition: incident.TransitionRefired},
			{ReceivedAt: t0.Add(time.Minute), Transition: incident.TransitionStale},
		} {
			e.Source, e.Fingerprint, e.Status, e.Labels = "am", "fp", incident.StatusResolved, map[string]string{}
			if err := tx.AddEvent(ctx, e); err != nil {
				return err
			}
		}
		if n, err := tx.CountResolves(ctx, "am", "fp", t0); err != nil || n != 1 {
			t.Errorf("CountResolves = %d, %v; want 1 (at since, not before it)", n, err)
		}
		return nil
	})
}

// testProblemIncidentReads: ProblemIncidents lists every incident of a
// problem, oldest first; ActiveProblemIncidents the open and acknowledged
// ones not merged away.
func testProblemIncidentReads(t *testing.T, s Store) {
	ctx := context.Background()
	p := createProblem(t, s, newProblem("sig"))
	mk := func(key string, set func(*incident.Incident)) incident.Incident {
		inc := newIncident(key, 3)
		set(&inc)
		inc = create(t, s, inc)
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.SetIncidentProblem(ctx, inc.ID, p.ID) })
		inc.ProblemID = p.ID
		return inc
	}
	open := mk("a", func(*incident.Incident) {})
	acked := mk("b", func(inc *incident.Incident) { inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, t0 })
	res := mk("c", func(inc *incident.Incident) { inc.State, inc.ResolvedAt = incident.StateResolved, t0 })
	merged := mk("d", func(inc *incident.Incident) { inc.MergedInto = open.ID })
	create(t, s, newIncident("unlinked", 3))
	all, err := s.ProblemIncidents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]incident.Incident{open, acked, res, merged}, all); diff != "" {
		t.Errorf("ProblemIncidents (-want +got):\n%s", diff)
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		list, err := tx.ActiveProblemIncidents(ctx, p.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]int64{open.ID, acked.ID}, ids(list)); diff != "" {
			t.Errorf("ActiveProblemIncidents (-want +got):\n%s", diff)
		}
		// Unlinking (problem 0) is a link like any other.
		return tx.SetIncidentProblem(ctx, acked.ID, 0)
	})
	if got, err := s.Incident(ctx, acked.ID); err != nil || got.ProblemID != 0 {
		t.Errorf("after unlinking: ProblemID %d, %v; want 0", got.ProblemID, err)
	}
}

// testCreateRace: two writers creating the incident of one key at once end
// with one active incident; the loser's CreateIncident fails with
// incident.ErrConflict (invariant 2), which the pipeline answers by joining
// the winner's incident. Each round is a fresh key, so a backend that lets
// both commit shows it in some round.
func testCreateRace(t *testing.T, s Store) {
	ctx := context.Background()
	const rounds = 20
	for round := range rounds {
		key := fmt.Sprintf("race-%d", round)
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.Update(ctx, func(tx incident.Tx) error {
					inc := newIncident(key, 3)
					inc.Title = fmt.Sprintf("writer %d", i)
					return tx.CreateIncident(ctx, &inc)
				})
			}()
		}
		close(start)
		wg.Wait()
		won, lost := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, incident.ErrConflict):
				lost++
			default:
				t.Errorf("round %d: err = %v, want nil or ErrConflict", round, err)
			}
		}
		if won != 1 || lost != 1 {
			t.Errorf("round %d: %d writers won and %d lost, want one each", round, won, lost)
		}
		counts, err := s.IncidentCounts(ctx, incident.IncidentFilter{Query: key})
		if err != nil {
			t.Fatal(err)
		}
		if n := counts[incident.StateOpen]; n != 1 {
			t.Errorf("round %d: %d open incidents of %s, want 1", round, n, key)
		}
	}
}

// testHoldingEpisode: the incident's earliest episode start, and whether
// an episode of it other than except is open (no end, and no later
// episode of its alert, in any incident) and started at or before by.
func testHoldingEpisode(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("k-holding", 3))
	empty := create(t, s, newIncident("k-empty", 3))
	ep := func(fp string, start, end time.Duration, incID int64) incident.Episode {
		e := incident.Episode{Source: "am", Fingerprint: fp, StartsAt: t0.Add(start), IncidentID: incID, Key: "k"}
		if end != 0 {
			e.EndsAt = t0.Add(end)
		}
		return putEpisode(t, s, e)
	}
	first := ep("a", -time.Hour, -30*time.Minute, inc.ID) // ended
	resolving := ep("b", 0, 0, inc.ID)                    // the one a resolve asks about
	ep("c", 10*time.Minute, 0, inc.ID)                    // open
	ep("d", 5*time.Minute, 0, inc.ID)                     // ended by d's next firing, elsewhere
	ep("d", 20*time.Minute, 0, 0)                         // in no incident
	tests := []struct {
		name     string
		incident int64
		except   int64
		by       time.Duration
		want     bool
	}{
		{"open episode started by then", inc.ID, resolving.ID, 10 * time.Minute, true},
		{"open episode started later", inc.ID, resolving.ID, 10*time.Minute - time.Nanosecond, false},
		{"an alert that fired again is not open", inc.ID, resolving.ID, 9 * time.Minute, false},
		{"the excepted one is not counted", inc.ID, resolving.ID, 0, false},
		{"without except", inc.ID, 0, 0, true},
		{"no episodes", empty.ID, 0, time.Hour, false},
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, tt := range tests {
			start, open, err := tx.HoldingEpisode(ctx, tt.incident, tt.except, t0.Add(tt.by))
			if err != nil {
				return fmt.Errorf("%s: %w", tt.name, err)
			}
			if open != tt.want {
				t.Errorf("%s: open %v, want %v", tt.name, open, tt.want)
			}
			wantStart := first.StartsAt
			if tt.incident == empty.ID {
				wantStart = time.Time{}
			}
			if !start.Equal(wantStart) {
				t.Errorf("%s: first start %v, want %v", tt.name, start, wantStart)
			}
		}
		return nil
	})
}

// testKeyIncidents: the key's incidents, not merged into another, whose
// impact (from ImpactStartedAt, else OpenedAt, else LastEventAt for a
// pending one, to ResolvedAt, open while active) meets [from, to], both
// ends inclusive, oldest start first.
func testKeyIncidents(t *testing.T, s Store) {
	ctx := context.Background()
	const ns = time.Nanosecond
	from, to := t0, t0.Add(time.Hour)
	mk := func(key string, set func(*incident.Incident)) incident.Incident {
		inc := newIncident(key, 3)
		set(&inc)
		return create(t, s, inc)
	}
	resolved := func(start, end time.Time) func(*incident.Incident) {
		return func(inc *incident.Incident) {
			inc.State, inc.ImpactStartedAt, inc.ResolvedAt = incident.StateResolved, start, end
		}
	}
	mk("k", resolved(from.Add(-2*time.Hour), from.Add(-ns)))                // ended just before from
	b := mk("k", resolved(from.Add(-2*time.Hour), from))                    // ended at from
	c := mk("k", func(inc *incident.Incident) { inc.ImpactStartedAt = to }) // started at to
	mk("k2", func(inc *incident.Incident) { inc.ImpactStartedAt = to.Add(ns) })
	mk("k", func(inc *incident.Incident) {
		inc.State, inc.ImpactStartedAt, inc.ResolvedAt, inc.MergedInto = incident.StateResolved, from, to, b.ID
	})
	mk("other", func(inc *incident.Incident) { inc.ImpactStartedAt = from })
	g := mk("k3", func(inc *incident.Incident) {
		inc.State, inc.OpenedAt, inc.LastEventAt = incident.StatePending, time.Time{}, from.Add(30*time.Minute)
	})
	h := mk("k4", func(inc *incident.Incident) { inc.OpenedAt = from.Add(-3 * time.Hour) })
	// One key may have one active incident only: the open, pending and
	// fallback cases have keys of their own.
	tests := []struct {
		key  string
		want []int64
	}{
		{"k", []int64{b.ID, c.ID}},
		{"k2", nil},
		{"k3", []int64{g.ID}},
		{"k4", []int64{h.ID}},
		{"never", nil},
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, tt := range tests {
			list, err := tx.KeyIncidents(ctx, tt.key, from, to)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(tt.want, ids(list)); diff != "" {
				t.Errorf("KeyIncidents(%s) (-want +got):\n%s", tt.key, diff)
			}
			for _, except := range append([]int64{0}, tt.want...) {
				found, err := tx.OtherKeyIncident(ctx, tt.key, except, from, to)
				if err != nil {
					return err
				}
				if want := slices.ContainsFunc(tt.want, func(id int64) bool { return id != except }); found != want {
					t.Errorf("OtherKeyIncident(%s, but %d) = %v, want %v", tt.key, except, found, want)
				}
			}
		}
		return nil
	})
}
