package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store"
)

// Store is what a backend offers: the daemon's whole store seam.
type Store = store.Store

var t0 = time.Date(2026, 11, 28, 20, 13, 5, 82885710, time.UTC)

// Run runs the contract against stores made by open (each call a fresh, empty store).
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"IncidentRoundTrip", testIncidentRoundTrip},
		{"OneActiveIncidentPerKey", testOneActivePerKey},
		{"IncidentByKeyIsNewest", testIncidentByKeyNewest},
		{"AlertStateRoundTrip", testAlertState},
		{"AlertRoundTrip", testAlert},
		{"RollbackKeepsNothing", testRollback},
		{"ListFiltersAndPages", testList},
		{"TimelineInOrder", testTimeline},
		{"DetailPagesListEveryRowOnce", testDetailPages},
		{"SealedIncidentFreesItsKey", testSealed},
		{"DueIncidents", testDue},
		{"PendingHoldsItsKey", testPending},
		{"ChangesUpsertAndList", testChanges},
		{"FiringAlertsBySource", testFiringAlerts},
		{"TwoSourcesOneFingerprintAreTwoAlerts", testAlertIdentity},
		{"MoveAlertsMatchesSourceAndFingerprint", testMoveAlerts},
		{"AlertOnIncidentCreatedInTransaction", testAlertOnCreatedIncident},
		{"AlertStatesReadAtOnce", testAlertStatesMatch},
		{"ChangeLinksAndMaintenance", testChangeLinks},
		{"ChangeSuspectsNewestFirstPerChange", testChangeSuspects},
		{"ProblemRoundTrip", testProblemRoundTrip},
		{"OneActiveProblemPerSignature", testOneActiveProblem},
		{"ProblemListFiltersAndPages", testProblemList},
		{"ProblemFiguresPriorityAndDowntime", testProblemFigures},
		{"ProblemCountsByRuleAndState", testProblemCounts},
		{"IncidentSignaturesAndLinks", testIncidentSignatures},
		{"QuietProblemsEveryCondition", testQuietProblems},
		{"ResolvedProblemsByRuleAndTime", testResolvedProblems},
		{"NonceOnceUntilItExpires", testNonces},
		{"DeleteExpiredNonces", testDeleteExpiredNonces},
		{"Heartbeat", testHeartbeat},
		{"HeartbeatRecords", testHeartbeatRecords},
		{"StaleAlerts", testStaleAlerts},
		{"LeasesAreExclusive", testLeases},
		{"IncidentEveryField", testIncidentEveryField},
		{"RecordsEveryField", testRecordsEveryField},
		{"ProblemEveryField", testProblemEveryField},
		{"DueIncidentsEveryClause", testDueEveryClause},
		{"DueIncidentsAtMostABatch", testDueBatch},
		{"IncidentsPageThroughEveryFilter", testIncidentListing},
		{"IncidentSearchFindsWhatAScanFinds", testIncidentSearch},
		{"ProblemsPageThrough", testProblemListing},
		{"ChangesPageThrough", testChangeListing},
		{"OutboxRowsPageThrough", testOutboxListing},
		{"IncidentsVersionChangesWithEveryWrite", testIncidentsVersion},
		{"IncidentByKeyOwner", testIncidentByKeyOwner},
		{"ActiveIncidents", testActiveIncidents},
		{"MaintenanceWindowBounds", testMaintenanceWindow},
		{"ChangesForBounds", testChangesForBounds},
		{"SLABreachesByTargetAndPriority", testSLABreaches},
		{"EventWindow", testEventWindow},
		{"DueOutboxHeadsInOrder", testDueOutbox},
		{"OutboxWrites", testOutboxWrites},
		{"PurgeDeadOutbox", testPurgeDeadOutbox},
		{"Episodes", testEpisodes},
		{"AlertMovesTakeTheirEpisodes", testAlertMoves},
		{"TimelineAndResolveCounts", testTimelineCounts},
		{"ProblemIncidents", testProblemIncidentReads},
		{"CreateRaceOneWinner", testCreateRace},
		{"KeyIncidentsMeetTheSpan", testKeyIncidents},
		{"HoldingEpisode", testHoldingEpisode},
		{"StatsFigures", testStats},
		{"StatsMatchRawThroughChanges", testStatsMatchRaw},
		{"ClosableIncidentsByResolve", testClosable},
		{"DeleteHistoryOfClosedIncidents", testDeleteHistory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func mustUpdate(t *testing.T, s Store, fn func(tx incident.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func newIncident(key string, p incident.Priority) incident.Incident {
	return incident.Incident{
		State: incident.StateOpen, Priority: p, Impact: incident.LevelHigh, Urgency: incident.LevelMedium,
		Title: "Disk full: " + key, Service: "db", CorrelationKey: key, Rule: "disk", Source: "alertmanager",
		OpenedAt: t0, UpdatedAt: t0, LastEventAt: t0, AlertCount: 1, FiringCount: 1, RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1},
	}
}

func create(t *testing.T, s Store, inc incident.Incident) incident.Incident {
	t.Helper()
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.CreateIncident(context.Background(), &inc) })
	if inc.ID == 0 {
		t.Fatal("CreateIncident did not set ID")
	}
	return inc
}

func testIncidentRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	in := create(t, s, newIncident("k1", 2))
	got, err := s.Incident(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	in.State, in.AcknowledgedAt, in.ProblemID = incident.StateAcknowledged, t0.Add(time.Minute), 7
	in.Summary, in.Owner, in.ResolveMode, in.ResolveAfter, in.MinAlerts = "disk 97% full", "dba", incident.ResolveAny, 5*time.Minute, 3
	in.ResolveDueAt, in.Window = t0.Add(2*time.Hour), 10*time.Minute
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, in) })
	got, _ = s.Incident(ctx, in.ID)
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	if _, err := s.Incident(ctx, in.ID+100); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("unknown id: err = %v, want ErrNotFound", err)
	}
	err = s.Update(ctx, func(tx incident.Tx) error {
		return tx.UpdateIncident(ctx, incident.Incident{ID: in.ID + 100, State: incident.StateOpen, Priority: 1})
	})
	if !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("update unknown id: err = %v, want ErrNotFound", err)
	}
}

func testOneActivePerKey(t *testing.T, s Store) {
	ctx := context.Background()
	first := create(t, s, newIncident("k", 3))
	err := s.Update(ctx, func(tx incident.Tx) error {
		dup := newIncident("k", 3)
		return tx.CreateIncident(ctx, &dup)
	})
	if !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("second active incident for a key: err = %v, want ErrConflict", err)
	}
	first.State, first.ResolvedAt = incident.StateResolved, t0.Add(time.Hour)
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, first) })
	second := create(t, s, newIncident("k", 3))
	// Reopening the old one while the new one is active breaks the invariant.
	first.State, first.ResolvedAt = incident.StateOpen, time.Time{}
	err = s.Update(ctx, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, first) })
	if !errors.Is(err, incident.ErrConflict) {
		t.Errorf("reopen beside an active incident: err = %v, want ErrConflict", err)
	}
	counts, err := s.ActiveByPriority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[3] != 1 {
		t.Errorf("active P3 = %d, want 1 (incident %d)", counts[3], second.ID)
	}
}

func testIncidentByKeyNewest(t *testing.T, s Store) {
	ctx := context.Background()
	mustUpdate(t, s, func(tx incident.Tx) error {
		if _, err := tx.IncidentByKey(ctx, "k"); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("unknown key: err = %v, want ErrNotFound", err)
		}
		return nil
	})
	old := newIncident("k", 4)
	old.State, old.ResolvedAt = incident.StateResolved, t0
	old = create(t, s, old)
	newer := create(t, s, newIncident("k", 4))
	create(t, s, newIncident("other", 4))
	mustUpdate(t, s, func(tx incident.Tx) error {
		got, err := tx.IncidentByKey(ctx, "k")
		if err != nil || got.ID != newer.ID {
			t.Errorf("IncidentByKey = %d, %v; want %d (old %d)", got.ID, err, newer.ID, old.ID)
		}
		return nil
	})
}

func testAlertState(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("k", 3))
	want := incident.AlertState{Fingerprint: "e4210d8b9b3c7cf4", Source: "am-eu", Status: incident.StatusFiring, StartsAt: t0,
		IncidentID: inc.ID, LastSeenAt: t0.Add(time.Second)}
	mustUpdate(t, s, func(tx incident.Tx) error {
		if _, err := tx.AlertState(ctx, want.Source, want.Fingerprint); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("unknown fingerprint: err = %v, want ErrNotFound", err)
		}
		return tx.PutAlertState(ctx, want)
	})
	want.Status, want.EndsAt, want.IncidentID = incident.StatusResolved, t0.Add(time.Hour), 0
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutAlertState(ctx, want) })
	mustUpdate(t, s, func(tx incident.Tx) error {
		got, err := tx.AlertState(ctx, want.Source, want.Fingerprint)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("alert state (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testAlert(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("k", 3))
	a := incident.Alert{IncidentID: inc.ID, Source: "am", Fingerprint: "fp1", Status: incident.StatusFiring,
		Labels: map[string]string{"alertname": "X", "x": "<&>"}, Annotations: map[string]string{},
		StartsAt: t0, GeneratorURL: "http://prom/graph", FirstSeenAt: t0, LastSeenAt: t0, Count: 1}
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutAlert(ctx, a) })
	a.Status, a.EndsAt, a.Count = incident.StatusResolved, t0.Add(time.Minute), 2
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutAlert(ctx, a) })
	mustUpdate(t, s, func(tx incident.Tx) error {
		got, err := tx.Alert(ctx, inc.ID, "am", "fp1")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("alert (-want +got):\n%s", diff)
		}
		if _, err := tx.Alert(ctx, inc.ID, "am", "nope"); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("unknown alert: err = %v, want ErrNotFound", err)
		}
		return nil
	})
	seen := t0.Add(time.Hour)
	mustUpdate(t, s, func(tx incident.Tx) error {
		if err := tx.TouchAlert(ctx, inc.ID, "am", "fp1", seen, t0, map[string]string{"summary": "new"}); err != nil {
			return err
		}
		if err := tx.TouchAlert(ctx, inc.ID, "am", "nope", seen, t0, nil); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("touch unknown alert: err = %v, want ErrNotFound", err)
		}
		got, err := tx.Alert(ctx, inc.ID, "am", "fp1")
		if err != nil {
			return err
		}
		if got.Count != 3 || !got.LastSeenAt.Equal(seen) || got.Annotations["summary"] != "new" || got.Status != a.Status {
			t.Errorf("after TouchAlert: %+v, want count 3, last seen %s, new annotations, status kept", got, seen)
		}
		return nil
	})
	list, err := s.Alerts(ctx, inc.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("Alerts = %v, %v; want 1 alert", list, err)
	}
}

func testRollback(t *testing.T, s Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx incident.Tx) error {
		inc := newIncident("k", 1)
		if err := tx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		if err := tx.PutAlertState(ctx, incident.AlertState{Fingerprint: "fp", Status: incident.StatusFiring, StartsAt: t0, LastSeenAt: t0}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	list, err := s.Incidents(ctx, incident.IncidentFilter{Limit: 10})
	if err != nil || len(list) != 0 {
		t.Errorf("after rollback: %d incidents (err %v), want 0", len(list), err)
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		if _, err := tx.AlertState(ctx, "", "fp"); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("alert state after rollback: err = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testList(t *testing.T, s Store) {
	ctx := context.Background()
	var ids []int64
	for i, p := range []incident.Priority{1, 3, 3, 5, 3} {
		inc := newIncident("key-"+string(rune('a'+i)), p)
		if i == 4 {
			inc.Service, inc.Title = "checkout", "Checkout latency"
		}
		ids = append(ids, create(t, s, inc).ID)
	}
	resolved, _ := s.Incident(ctx, ids[0])
	resolved.State, resolved.ResolvedAt = incident.StateResolved, t0
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, resolved) })

	tests := []struct {
		name string
		f    incident.IncidentFilter
		want []int64
	}{
		{"All", incident.IncidentFilter{Limit: 10}, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"State", incident.IncidentFilter{Limit: 10, States: []incident.State{incident.StateResolved}}, []int64{ids[0]}},
		{"Priority", incident.IncidentFilter{Limit: 10, Priority: 3}, []int64{ids[4], ids[2], ids[1]}},
		{"Service", incident.IncidentFilter{Limit: 10, Service: "checkout"}, []int64{ids[4]}},
		{"QueryTitleCaseInsensitive", incident.IncidentFilter{Limit: 10, Query: "LATENCY"}, []int64{ids[4]}},
		{"QueryKey", incident.IncidentFilter{Limit: 10, Query: "key-b"}, []int64{ids[1]}},
		{"Page1", incident.IncidentFilter{Limit: 2}, []int64{ids[4], ids[3]}},
		{"Page2", incident.IncidentFilter{Limit: 2, AfterID: ids[3]}, []int64{ids[2], ids[1]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.Incidents(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, inc := range list {
				got = append(got, inc.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func testTimeline(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("k", 3))
	kinds := []incident.TimelineKind{incident.TimelineOpened, incident.TimelineAlertFiring, incident.TimelineComment}
	mustUpdate(t, s, func(tx incident.Tx) error {
		for i, k := range kinds {
			e := &incident.TimelineEntry{IncidentID: inc.ID, At: t0.Add(time.Duration(i) * time.Second), Kind: k, Actor: "system", Message: string(k)}
			if err := tx.AddTimeline(ctx, e); err != nil {
				return err
			}
			if e.ID == 0 {
				t.Error("AddTimeline did not set ID")
			}
		}
		return nil
	})
	tl, err := s.Timeline(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []incident.TimelineKind
	for _, e := range tl {
		got = append(got, e.Kind)
	}
	if diff := cmp.Diff(kinds, got); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}

	// Every field round-trips, the acting identity and its "on behalf of"
	// text side by side.
	want := incident.TimelineEntry{IncidentID: inc.ID, At: t0.Add(time.Minute), Kind: incident.TimelineAcknowledged,
		Actor: "rita", OnBehalfOf: "alice on the phone", Fingerprint: "fp1", Message: "looking"}
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.AddTimeline(ctx, &want) })
	if tl, err = s.Timeline(ctx, inc.ID); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, tl[len(tl)-1]); diff != "" {
		t.Errorf("timeline entry (-want +got):\n%s", diff)
	}
}

func testSealed(t *testing.T, s Store) {
	ctx := context.Background()
	old := create(t, s, newIncident("k", 3))
	old.SealedAt = t0.Add(time.Hour)
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, old) })
	// The sealed incident stays open with its alerts, but a new one may take the key.
	newer := create(t, s, newIncident("k", 3))
	mustUpdate(t, s, func(tx incident.Tx) error {
		got, err := tx.IncidentByKey(ctx, "k")
		if err != nil || got.ID != newer.ID {
			t.Errorf("IncidentByKey = %d, %v; want the newer %d", got.ID, err, newer.ID)
		}
		return nil
	})
	err := s.Update(ctx, func(tx incident.Tx) error {
		third := newIncident("k", 3)
		return tx.CreateIncident(ctx, &third)
	})
	if !errors.Is(err, incident.ErrConflict) {
		t.Errorf("a second unsealed open incident: err = %v, want ErrConflict", err)
	}
}

func testDue(t *testing.T, s Store) {
	ctx := context.Background()
	due := newIncident("a", 3)
	due.ResolveDueAt = t0.Add(time.Minute)
	due = create(t, s, due)
	later := newIncident("b", 3)
	later.ResolveDueAt = t0.Add(time.Hour)
	create(t, s, later)
	resolved := newIncident("c", 3)
	resolved.State, resolved.ResolvedAt, resolved.ResolveDueAt = incident.StateResolved, t0, t0
	create(t, s, resolved)
	create(t, s, newIncident("d", 3))
	pending := func(key string, window time.Duration) incident.Incident {
		p := newIncident(key, 3)
		p.State, p.OpenedAt, p.MinAlerts, p.Window = incident.StatePending, time.Time{}, 2, window
		return create(t, s, p)
	}
	expired := pending("e", 5*time.Minute) // last event t0: its window passed at t0+5m
	pending("f", time.Hour)                // not yet
	pending("g", 0)                        // no window: waits for ever
	mustUpdate(t, s, func(tx incident.Tx) error {
		list, err := tx.DueIncidents(ctx, t0.Add(10*time.Minute))
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != due.ID || list[1].ID != expired.ID {
			t.Errorf("DueIncidents = %+v, want incidents %d and %d", list, due.ID, expired.ID)
		}
		return nil
	})
}

func testPending(t *testing.T, s Store) {
	ctx := context.Background()
	p := newIncident("k", 3)
	p.State, p.OpenedAt, p.MinAlerts = incident.StatePending, time.Time{}, 3
	p = create(t, s, p)
	got, err := s.Incident(ctx, p.ID)
	if err != nil || !got.OpenedAt.IsZero() || got.State != incident.StatePending {
		t.Errorf("pending incident read back as %+v, %v", got, err)
	}
	err = s.Update(ctx, func(tx incident.Tx) error {
		dup := newIncident("k", 3)
		return tx.CreateIncident(ctx, &dup)
	})
	if !errors.Is(err, incident.ErrConflict) {
		t.Errorf("open beside a pending incident of the key: err = %v, want ErrConflict", err)
	}
}

func testChanges(t *testing.T, s Store) {
	ctx := context.Background()
	put := func(c incident.Change) incident.Change {
		t.Helper()
		mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutChange(ctx, &c) })
		if c.ID == 0 {
			t.Fatal("PutChange did not set ID")
		}
		return c
	}
	deploy := incident.Change{Source: "ci", ExternalID: "run-42", Service: "api", Summary: "deploy api v42",
		URL: "https://ci/run/42", StartedAt: t0, Labels: map[string]string{"version": "v42"}, ReceivedAt: t0}
	first := put(deploy)
	// The same change again (a retry, or its finish) updates, never duplicates.
	deploy.FinishedAt = t0.Add(3 * time.Minute)
	again := put(deploy)
	if again.ID != first.ID {
		t.Errorf("redelivered change got id %d, want %d", again.ID, first.ID)
	}
	put(incident.Change{Source: "ci", ExternalID: "run-43", Service: "web", Summary: "deploy web", StartedAt: t0.Add(time.Hour),
		Maintenance: true, Labels: map[string]string{}, ReceivedAt: t0})
	all, err := s.Changes(ctx, incident.ChangeFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ExternalID != "run-43" || !all[0].Maintenance {
		t.Fatalf("changes = %+v, want run-43 (maintenance) then run-42", all)
	}
	want := deploy
	want.ID = first.ID
	if diff := cmp.Diff(want, all[1]); diff != "" {
		t.Errorf("change round trip (-want +got):\n%s", diff)
	}
	api, _ := s.Changes(ctx, incident.ChangeFilter{Limit: 10, Service: "api"})
	late, _ := s.Changes(ctx, incident.ChangeFilter{Limit: 10, Since: t0.Add(time.Minute)})
	page2, _ := s.Changes(ctx, incident.ChangeFilter{Limit: 10, AfterID: all[0].ID})
	if len(api) != 1 || len(late) != 1 || late[0].ExternalID != "run-43" || len(page2) != 1 || page2[0].ExternalID != "run-42" {
		t.Errorf("filters: service %d, since %d, page2 %+v", len(api), len(late), page2)
	}
}

func testFiringAlerts(t *testing.T, s Store) {
	ctx := context.Background()
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, st := range []incident.AlertState{
			{Fingerprint: "a", Source: "am", Status: incident.StatusFiring, StartsAt: t0, LastSeenAt: t0},
			{Fingerprint: "b", Source: "am", Status: incident.StatusResolved, StartsAt: t0, EndsAt: t0, LastSeenAt: t0},
			{Fingerprint: "c", Source: "grafana", Status: incident.StatusFiring, StartsAt: t0, LastSeenAt: t0},
		} {
			if err := tx.PutAlertState(ctx, st); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.FiringAlerts(ctx, "am")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Fingerprint != "a" || got[0].Source != "am" {
		t.Errorf("FiringAlerts(am) = %+v, want only a", got)
	}
}

func testChangeLinks(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("k", 3))
	var a, b, m incident.Change
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, c := range []*incident.Change{
			{Source: "ci", ExternalID: "a", Service: "api", Summary: "deploy api", StartedAt: t0.Add(-time.Hour), Labels: map[string]string{}, ReceivedAt: t0},
			{Source: "ci", ExternalID: "b", Service: "db", Summary: "migrate", StartedAt: t0.Add(-3 * time.Hour), Labels: map[string]string{}, ReceivedAt: t0},
			{Source: "ci", ExternalID: "m", Service: "api", Summary: "window", StartedAt: t0.Add(-time.Minute), FinishedAt: t0.Add(time.Hour), Maintenance: true, Labels: map[string]string{}, ReceivedAt: t0},
			{Source: "ci", ExternalID: "o", Service: "web", Summary: "deploy web", StartedAt: t0.Add(-time.Minute), Labels: map[string]string{}, ReceivedAt: t0},
		} {
			if err := tx.PutChange(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	all, _ := s.Changes(ctx, incident.ChangeFilter{Limit: 10})
	for _, c := range all {
		switch c.ExternalID {
		case "a":
			a = c
		case "b":
			b = c
		case "m":
			m = c
		}
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		got, err := tx.ChangesFor(ctx, []string{"api", "db"}, t0.Add(-2*time.Hour), t0)
		if err != nil {
			return err
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ExternalID)
		}
		if diff := cmp.Diff([]string{"a", "m"}, ids); diff != "" {
			t.Errorf("ChangesFor api,db in the last 2h (-want +got):\n%s", diff)
		}
		if c, err := tx.ActiveMaintenance(ctx, "api", t0); err != nil || c.ID != m.ID {
			t.Errorf("ActiveMaintenance(api, t0) = %+v, %v; want %d", c, err, m.ID)
		}
		if _, err := tx.ActiveMaintenance(ctx, "api", t0.Add(2*time.Hour)); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("after the window: err = %v, want ErrNotFound", err)
		}
		if _, err := tx.ActiveMaintenance(ctx, "web", t0); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("a plain deploy is no maintenance window: err = %v", err)
		}
		// A window written in the same transaction is found by the next
		// ask, though the same ask was answered before it.
		web := incident.Change{Source: "cd", ExternalID: "w", Service: "web", StartedAt: t0.Add(-time.Minute),
			Maintenance: true, ReceivedAt: t0}
		if err := tx.PutChange(ctx, &web); err != nil {
			return err
		}
		if c, err := tx.ActiveMaintenance(ctx, "web", t0); err != nil || c.ID != web.ID {
			t.Errorf("after writing a window on web: ActiveMaintenance(web, t0) = %+v, %v; want %d", c, err, web.ID)
		}
		for i, c := range []incident.Change{a, b} {
			if err := tx.LinkChange(ctx, incident.ChangeLink{IncidentID: inc.ID, Change: c, Rank: i + 1, Reason: "r" + c.ExternalID}); err != nil {
				return err
			}
		}
		return nil
	})
	links, err := s.IncidentChanges(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 || links[0].Change.ID != a.ID || links[0].Reason != "ra" || links[1].Rank != 2 || links[1].Change.Summary != "migrate" {
		t.Errorf("IncidentChanges = %+v", links)
	}
}

func testChangeSuspects(t *testing.T, s Store) {
	ctx := context.Background()
	var incs []incident.Incident
	for _, key := range []string{"a", "b", "c"} {
		incs = append(incs, create(t, s, newIncident(key, 3)))
	}
	var changes []incident.Change
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, id := range []string{"x", "y", "z"} {
			c := incident.Change{Source: "ci", ExternalID: id, Service: "db", Summary: "deploy " + id, StartedAt: t0.Add(-time.Hour),
				Labels: map[string]string{}, ReceivedAt: t0}
			if err := tx.PutChange(ctx, &c); err != nil {
				return err
			}
			changes = append(changes, c)
		}
		// x is suspected by a, b and c; y by b (its second suspect); z by none.
		for _, l := range []incident.ChangeLink{
			{IncidentID: incs[0].ID, Change: changes[0], Rank: 1, Reason: "a suspects x"},
			{IncidentID: incs[1].ID, Change: changes[0], Rank: 1, Reason: "b suspects x"},
			{IncidentID: incs[1].ID, Change: changes[1], Rank: 2, Reason: "b suspects y"},
			{IncidentID: incs[2].ID, Change: changes[0], Rank: 1, Reason: "c suspects x"},
		} {
			if err := tx.LinkChange(ctx, l); err != nil {
				return err
			}
		}
		return nil
	})
	type row struct {
		Change, Incident int64
		Rank, Total      int
		Reason           string
	}
	rowsOf := func(perChange int, ids ...int64) []row {
		t.Helper()
		got, err := s.ChangeSuspects(ctx, ids, perChange)
		if err != nil {
			t.Fatal(err)
		}
		var out []row
		for _, sp := range got {
			out = append(out, row{sp.ChangeID, sp.Incident.ID, sp.Rank, sp.Total, sp.Reason})
		}
		return out
	}
	x, y, z := changes[0].ID, changes[1].ID, changes[2].ID
	tests := []struct {
		name      string
		ids       []int64
		perChange int
		want      []row
	}{
		{"All", []int64{x, y, z}, 10, []row{{y, incs[1].ID, 2, 1, "b suspects y"},
			{x, incs[2].ID, 1, 3, "c suspects x"}, {x, incs[1].ID, 1, 3, "b suspects x"}, {x, incs[0].ID, 1, 3, "a suspects x"}}},
		{"NewestPerChange", []int64{x, y}, 1, []row{{y, incs[1].ID, 2, 1, "b suspects y"}, {x, incs[2].ID, 1, 3, "c suspects x"}}},
		{"OnlyTheChangesAsked", []int64{y}, 10, []row{{y, incs[1].ID, 2, 1, "b suspects y"}}},
		{"NoneSuspected", []int64{z}, 10, nil},
		{"NoChanges", nil, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, rowsOf(tt.perChange, tt.ids...)); diff != "" {
				t.Errorf("ChangeSuspects (-want +got):\n%s", diff)
			}
		})
	}
	got, _ := s.ChangeSuspects(ctx, []int64{y}, 1)
	if len(got) == 1 && (got[0].Incident.Title != incs[1].Title || got[0].Incident.State != incs[1].State) {
		t.Errorf("the suspect's incident = %+v, want #%d as stored", got[0].Incident, incs[1].ID)
	}
}

func testProblemFigures(t *testing.T, s Store) {
	ctx := context.Background()
	now := t0.Add(10 * time.Hour)
	a, b, none := createProblem(t, s, newProblem("a")), createProblem(t, s, newProblem("b")), createProblem(t, s, newProblem("c"))
	other := createProblem(t, s, newProblem("d"))
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	resolved := func(started, opened, res time.Time) func(*incident.Incident) {
		return func(inc *incident.Incident) {
			inc.ImpactStartedAt, inc.OpenedAt, inc.State, inc.ResolvedAt = started, opened, incident.StateResolved, res
		}
	}
	for i, link := range []struct {
		problem int64
		prio    incident.Priority
		set     func(*incident.Incident)
	}{
		// a: 2h from the impact's start, 1h from opening (no impact start),
		// and 3h active until now; its worst priority is P2.
		{a.ID, 3, resolved(h(1), h(2), h(3))},
		{a.ID, 2, resolved(time.Time{}, h(4), h(5))},
		{a.ID, 4, func(inc *incident.Incident) { inc.OpenedAt, inc.ImpactStartedAt = h(7), time.Time{} }},
		// b: a merged incident counts in the one it went into, not here,
		// but its priority does; a pending one had no impact.
		{b.ID, 5, resolved(h(0), h(0), h(1))},
		{b.ID, 1, func(inc *incident.Incident) {
			resolved(h(0), h(0), h(9))(inc)
			inc.MergedInto = other.ID
		}},
		{b.ID, 3, func(inc *incident.Incident) { inc.State, inc.OpenedAt = incident.StatePending, time.Time{} }},
		// A resolve recorded before the impact's start counts nothing.
		{other.ID, 4, resolved(h(5), h(5), h(4))},
		{0, 1, func(*incident.Incident) {}},
	} {
		inc := newIncident(string(rune('k'+i)), link.prio)
		link.set(&inc)
		inc = create(t, s, inc)
		if link.problem != 0 {
			mustUpdate(t, s, func(tx incident.Tx) error { return tx.SetIncidentProblem(ctx, inc.ID, link.problem) })
		}
	}
	got, err := s.ProblemFigures(ctx, []int64{a.ID, b.ID, none.ID, other.ID}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]incident.ProblemFigures{
		a.ID:     {Priority: 2, Downtime: 2*time.Hour + time.Hour + 3*time.Hour},
		b.ID:     {Priority: 1, Downtime: time.Hour},
		other.ID: {Priority: 4},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ProblemFigures (-want +got):\n%s", diff)
	}
	if got, err := s.ProblemFigures(ctx, nil, now); err != nil || len(got) != 0 {
		t.Errorf("ProblemFigures(nil) = %v, %v", got, err)
	}
}

func testProblemCounts(t *testing.T, s Store) {
	ctx := context.Background()
	if got, err := s.ProblemCounts(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ProblemCounts of none = %v, %v", got, err)
	}
	for i, p := range []struct {
		rule      string
		state     incident.ProblemState
		incidents int
	}{
		{"disk-recurring", incident.ProblemOpen, 3},
		{"disk-recurring", incident.ProblemOpen, 4},
		{"disk-recurring", incident.ProblemClosed, 2},
		{"oom", incident.ProblemKnownError, 5},
	} {
		pr := newProblem(string(rune('a' + i)))
		pr.Name, pr.State, pr.IncidentCount = p.rule, p.state, p.incidents
		if p.state == incident.ProblemClosed {
			pr.ResolvedAt, pr.ClosedAt = t0, t0
		}
		createProblem(t, s, pr)
	}
	got, err := s.ProblemCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []incident.ProblemCount{
		{Rule: "disk-recurring", State: incident.ProblemClosed, Problems: 1, Incidents: 2},
		{Rule: "disk-recurring", State: incident.ProblemOpen, Problems: 2, Incidents: 7},
		{Rule: "oom", State: incident.ProblemKnownError, Problems: 1, Incidents: 5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ProblemCounts (-want +got):\n%s", diff)
	}
}
