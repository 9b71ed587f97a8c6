package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// sharedFP is one fingerprint that two sources send: Alertmanager's for an
// alert, and a PagerDuty dedup_key or a generic event's fingerprint.
const sharedFP = "e4210d8b9b3c7cf4"

func alertOf(incidentID int64, source, fp string, status incident.Status, count int64) incident.Alert {
	a := incident.Alert{IncidentID: incidentID, Source: source, Fingerprint: fp, Status: status,
		Labels: map[string]string{"alertname": "X", "from": source}, Annotations: map[string]string{},
		StartsAt: t0, FirstSeenAt: t0, LastSeenAt: t0, Count: count}
	if status == incident.StatusResolved {
		a.EndsAt = t0.Add(time.Minute)
	}
	return a
}

// alertIDs renders alerts as "source/fingerprint" in the store's order.
func alertIDs(alerts []incident.Alert) []string {
	var ids []string
	for _, a := range alerts {
		ids = append(ids, a.Source+"/"+a.Fingerprint)
	}
	return ids
}

func mustAlerts(t *testing.T, s Store, id int64) []incident.Alert {
	t.Helper()
	list, err := s.Alerts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// testAlertIdentity: an alert is (source, fingerprint). The same fingerprint
// from two sources is two states and two alerts, and every lookup, touch and
// count of one leaves the other alone.
func testAlertIdentity(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("k", 3))
	other := create(t, s, newIncident("other", 3))
	am := incident.AlertState{Source: "am", Fingerprint: sharedFP, Status: incident.StatusFiring, StartsAt: t0,
		IncidentID: inc.ID, LastSeenAt: t0}
	pd := incident.AlertState{Source: "pd", Fingerprint: sharedFP, Status: incident.StatusResolved,
		StartsAt: t0.Add(time.Minute), EndsAt: t0.Add(2 * time.Minute), IncidentID: inc.ID, LastSeenAt: t0.Add(2 * time.Minute)}
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, st := range []incident.AlertState{am, pd} {
			if err := tx.PutAlertState(ctx, st); err != nil {
				return err
			}
		}
		for _, a := range []incident.Alert{
			alertOf(inc.ID, "am", sharedFP, incident.StatusFiring, 1),
			alertOf(inc.ID, "pd", sharedFP, incident.StatusResolved, 1),
		} {
			if err := tx.PutAlert(ctx, a); err != nil {
				return err
			}
		}
		// The trace: one resolve of am's alert, two of pd's.
		for _, src := range []string{"am", "pd", "pd"} {
			if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: t0.Add(time.Minute), Source: src, Fingerprint: sharedFP,
				Status: incident.StatusResolved, Labels: map[string]string{}, Transition: incident.TransitionResolved}); err != nil {
				return err
			}
		}
		return nil
	})

	mustUpdate(t, s, func(tx incident.Tx) error {
		states := []struct {
			name    string
			source  string
			want    incident.AlertState
			wantErr error
		}{
			{"OK/am", "am", am, nil},
			{"OK/pd", "pd", pd, nil},
			{"ErrNotFound/OtherSource", "grafana", incident.AlertState{}, incident.ErrNotFound},
		}
		for _, tt := range states {
			t.Run("AlertState/"+tt.name, func(t *testing.T) {
				got, err := tx.AlertState(ctx, tt.source, sharedFP)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err == nil {
					if diff := cmp.Diff(tt.want, got); diff != "" {
						t.Errorf("state (-want +got):\n%s", diff)
					}
				}
			})
		}
		for _, tt := range []struct {
			source string
			want   incident.Status
		}{{"am", incident.StatusFiring}, {"pd", incident.StatusResolved}} {
			got, err := tx.Alert(ctx, inc.ID, tt.source, sharedFP)
			if err != nil || got.Status != tt.want || got.Source != tt.source {
				t.Errorf("Alert(%s) = %+v, %v; want %s's own, %s", tt.source, got, err, tt.source, tt.want)
			}
		}
		both, err := tx.AlertsByFingerprint(ctx, inc.ID, sharedFP)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"am/" + sharedFP, "pd/" + sharedFP}, alertIDs(both)); diff != "" {
			t.Errorf("AlertsByFingerprint (-want +got):\n%s", diff)
		}
		if none, err := tx.AlertsByFingerprint(ctx, inc.ID, "nope"); err != nil || len(none) != 0 {
			t.Errorf("AlertsByFingerprint(nope) = %v, %v; want none", none, err)
		}
		// A repeat of pd's alert touches pd's alert only.
		if err := tx.TouchAlert(ctx, inc.ID, "pd", sharedFP, t0.Add(time.Hour), t0, nil); err != nil {
			return err
		}
		if err := tx.TouchAlert(ctx, inc.ID, "grafana", sharedFP, t0.Add(time.Hour), t0, nil); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("touch another source's alert: err = %v, want ErrNotFound", err)
		}
		for _, tt := range []struct {
			source string
			count  int64
		}{{"am", 1}, {"pd", 2}} {
			if got, _ := tx.Alert(ctx, inc.ID, tt.source, sharedFP); got.Count != tt.count {
				t.Errorf("after touching pd's alert: %s's count = %d, want %d", tt.source, got.Count, tt.count)
			}
		}
		for _, tt := range []struct {
			source string
			want   int
		}{{"am", 1}, {"pd", 2}, {"grafana", 0}} {
			if n, err := tx.CountResolves(ctx, tt.source, sharedFP, t0); err != nil || n != tt.want {
				t.Errorf("CountResolves(%s) = %d, %v; want %d", tt.source, n, err, tt.want)
			}
		}
		if alerts, firing, err := tx.AlertCounts(ctx, inc.ID); err != nil || alerts != 2 || firing != 1 {
			t.Errorf("AlertCounts = %d, %d, %v; want 2 alerts, 1 firing", alerts, firing, err)
		}
		return nil
	})
	if got, err := s.FiringAlerts(ctx, "pd"); err != nil || len(got) != 0 {
		t.Errorf("FiringAlerts(pd) = %+v, %v; want none: am's firing alert is not pd's", got, err)
	}

	// Moving pd's alert out moves its row and repoints its state, not am's.
	mustUpdate(t, s, func(tx incident.Tx) error {
		if err := tx.MoveAlert(ctx, inc.ID, other.ID, "grafana", sharedFP); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("move another source's alert: err = %v, want ErrNotFound", err)
		}
		return tx.MoveAlert(ctx, inc.ID, other.ID, "pd", sharedFP)
	})
	if diff := cmp.Diff([]string{"am/" + sharedFP}, alertIDs(mustAlerts(t, s, inc.ID))); diff != "" {
		t.Errorf("alerts left (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"pd/" + sharedFP}, alertIDs(mustAlerts(t, s, other.ID))); diff != "" {
		t.Errorf("alerts moved (-want +got):\n%s", diff)
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, tt := range []struct {
			source string
			want   int64
		}{{"am", inc.ID}, {"pd", other.ID}} {
			if st, err := tx.AlertState(ctx, tt.source, sharedFP); err != nil || st.IncidentID != tt.want {
				t.Errorf("%s's state after the move: incident %d, %v; want %d", tt.source, st.IncidentID, err, tt.want)
			}
		}
		return nil
	})
}

// testMoveAlerts: a merge keeps the target's row of an alert both incidents
// have, and an alert both have is the same source and fingerprint: the same
// fingerprint from another source moves over as an alert of its own.
func testMoveAlerts(t *testing.T, s Store) {
	ctx := context.Background()
	src := create(t, s, newIncident("src", 3))
	dst := create(t, s, newIncident("dst", 3))
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, a := range []incident.Alert{
			alertOf(src.ID, "am", sharedFP, incident.StatusFiring, 1),
			alertOf(src.ID, "pd", sharedFP, incident.StatusFiring, 1),
			alertOf(src.ID, "am", "other", incident.StatusResolved, 1),
			alertOf(dst.ID, "am", sharedFP, incident.StatusFiring, 7),
		} {
			if err := tx.PutAlert(ctx, a); err != nil {
				return err
			}
		}
		return tx.PutAlertState(ctx, incident.AlertState{Source: "pd", Fingerprint: sharedFP, Status: incident.StatusFiring,
			StartsAt: t0, IncidentID: src.ID, LastSeenAt: t0})
	})
	var moved int
	mustUpdate(t, s, func(tx incident.Tx) error {
		var err error
		moved, err = tx.MoveAlerts(ctx, src.ID, dst.ID)
		return err
	})
	if moved != 2 {
		t.Errorf("MoveAlerts moved %d, want 2 (pd's %s and am's other)", moved, sharedFP)
	}
	got := mustAlerts(t, s, dst.ID)
	want := map[string]int64{"am/" + sharedFP: 7, "pd/" + sharedFP: 1, "am/other": 1}
	counts := map[string]int64{}
	for _, a := range got {
		counts[a.Source+"/"+a.Fingerprint] = a.Count
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("target's alerts and counts (-want +got):\n%s", diff)
	}
	if left := mustAlerts(t, s, src.ID); len(left) != 0 {
		t.Errorf("merged incident keeps alerts %v", alertIDs(left))
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		if st, err := tx.AlertState(ctx, "pd", sharedFP); err != nil || st.IncidentID != dst.ID {
			t.Errorf("pd's state after the merge: incident %d, %v; want %d", st.IncidentID, err, dst.ID)
		}
		return nil
	})
}

// testAlertOnCreatedIncident: a backend may answer Alert for an incident
// created in the same transaction without reading (no alert has a row on
// it yet), but must still find every row the transaction gave it: one it
// put, one moved onto it alone, and those a merge moved onto it.
func testAlertOnCreatedIncident(t *testing.T, s Store) {
	ctx := context.Background()
	older := create(t, s, newIncident("older", 3))
	merged := create(t, s, newIncident("merged", 3))
	mustUpdate(t, s, func(tx incident.Tx) error {
		if err := tx.PutAlert(ctx, alertOf(older.ID, "am", "moved", incident.StatusFiring, 1)); err != nil {
			return err
		}
		return tx.PutAlert(ctx, alertOf(merged.ID, "am", "merged", incident.StatusFiring, 1))
	})
	mustUpdate(t, s, func(tx incident.Tx) error {
		inc := newIncident("new", 3)
		if err := tx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		want := func(step, fp string, found bool) {
			t.Helper()
			a, err := tx.Alert(ctx, inc.ID, "am", fp)
			switch {
			case found && (err != nil || a.Fingerprint != fp || a.IncidentID != inc.ID):
				t.Errorf("%s: Alert(%s) = %+v, %v; want its row", step, fp, a, err)
			case !found && !errors.Is(err, incident.ErrNotFound):
				t.Errorf("%s: Alert(%s) = %+v, %v; want not found", step, fp, a, err)
			}
		}
		want("created", "put", false)
		if err := tx.PutAlert(ctx, alertOf(inc.ID, "am", "put", incident.StatusFiring, 1)); err != nil {
			return err
		}
		want("put", "put", true)
		want("put", "other", false)
		if err := tx.MoveAlert(ctx, older.ID, inc.ID, "am", "moved"); err != nil {
			return err
		}
		want("moved alone", "moved", true)
		if _, err := tx.MoveAlerts(ctx, merged.ID, inc.ID); err != nil {
			return err
		}
		want("merged", "merged", true)
		want("merged", "put", true)
		return nil
	})
}

// testAlertStatesMatch: a backend that reads many alerts' states at once
// (incident.AlertStatesReader) reads what AlertState reads one by one:
// absent alerts left out, two sources of one fingerprint apart, a key asked
// for twice read once.
func testAlertStatesMatch(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("states", 3))
	mustUpdate(t, s, func(tx incident.Tx) error {
		for i := range 40 {
			if i%3 == 2 {
				continue
			}
			for _, src := range []string{"am", "pd"} {
				if err := tx.PutAlertState(ctx, incident.AlertState{Source: src, Fingerprint: fmt.Sprint("fp-", i),
					Status: incident.StatusFiring, StartsAt: t0, IncidentID: inc.ID, LastSeenAt: t0.Add(time.Second)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	var keys []incident.AlertKey
	for i := range 40 {
		keys = append(keys, incident.AlertKey{Source: []string{"am", "pd"}[i%2], Fingerprint: fmt.Sprint("fp-", i)})
	}
	keys = append(keys, keys[0], incident.AlertKey{Source: "other", Fingerprint: "fp-0"})
	var reads bool
	mustUpdate(t, s, func(tx incident.Tx) error {
		_, reads = tx.(incident.AlertStatesReader)
		return nil
	})
	if !reads {
		t.Skip("the backend reads alert states one by one only")
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		got, err := tx.(incident.AlertStatesReader).AlertStates(ctx, keys)
		if err != nil {
			return err
		}
		byKey := map[incident.AlertKey]incident.AlertState{}
		for _, st := range got {
			k := incident.AlertKey{Source: st.Source, Fingerprint: st.Fingerprint}
			if _, dup := byKey[k]; dup {
				t.Errorf("%v read twice", k)
			}
			byKey[k] = st
		}
		for _, k := range keys {
			want, err := tx.AlertState(ctx, k.Source, k.Fingerprint)
			st, ok := byKey[k]
			switch {
			case err != nil && ok:
				t.Errorf("%v: AlertStates read %+v, AlertState none (%v)", k, st, err)
			case err == nil && !ok:
				t.Errorf("%v: AlertStates read none, AlertState %+v", k, want)
			case ok:
				if diff := cmp.Diff(want, st); diff != "" {
					t.Errorf("%v (-AlertState +AlertStates):\n%s", k, diff)
				}
			}
		}
		return nil
	})
}
