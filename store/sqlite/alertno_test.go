package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

var noT0 = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

// numberOf reads the alert's number from its state, else its orphan row;
// 0 when neither has it.
func numberOf(t *testing.T, st *Store, source, fp string) (state, orphan int64) {
	t.Helper()
	ctx := context.Background()
	err := st.r.QueryRowContext(ctx, `SELECT COALESCE((SELECT alert_no FROM alert_states WHERE source = ? AND fingerprint = ?), 0),
		COALESCE((SELECT alert_no FROM alert_orphans WHERE source = ? AND fingerprint = ?), 0)`,
		source, fp, source, fp).Scan(&state, &orphan)
	if err != nil {
		t.Fatal(err)
	}
	return state, orphan
}

// mustEpisodeNear fails t unless the alert's episode that started at at is
// found by its number.
func mustEpisodeNear(t *testing.T, st *Store, source, fp string, at time.Time) incident.Episode {
	t.Helper()
	var ep incident.Episode
	err := st.Update(context.Background(), func(tx incident.Tx) error {
		var err error
		ep, err = tx.EpisodeNear(context.Background(), source, fp, at, 0)
		return err
	})
	if err != nil || !ep.StartsAt.Equal(at) {
		t.Fatalf("episode of %s/%s at %s: %+v, %v", source, fp, at, ep, err)
	}
	return ep
}

func putState(ctx context.Context, tx incident.Tx, fp string, incID int64) error {
	return tx.PutAlertState(ctx, incident.AlertState{Source: "am", Fingerprint: fp, Status: incident.StatusFiring,
		StartsAt: noT0, IncidentID: incID, LastSeenAt: noT0})
}

func putEp(ctx context.Context, tx incident.Tx, fp string, at time.Time, incID int64) error {
	return tx.PutEpisode(ctx, &incident.Episode{Source: "am", Fingerprint: fp, StartsAt: at, IncidentID: incID, Key: "k"})
}

// mustFire writes, in one transaction and in order, a first episode at
// noT0 and then a state for each alert of source am.
func mustFire(t *testing.T, st *Store, incID int64, fps ...string) {
	t.Helper()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx incident.Tx) error {
		for _, fp := range fps {
			if err := putEp(ctx, tx, fp, noT0, incID); err != nil {
				return err
			}
			if err := putState(ctx, tx, fp, incID); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func mustCreate(t *testing.T, st *Store, key string, closedAt time.Time) int64 {
	t.Helper()
	inc := incident.Incident{State: incident.StateOpen, Priority: 3, Impact: incident.LevelHigh, Urgency: incident.LevelMedium,
		Title: key, CorrelationKey: key, Rule: "r", Source: "am", OpenedAt: noT0, UpdatedAt: noT0, LastEventAt: noT0,
		RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1}}
	if !closedAt.IsZero() {
		inc.State, inc.ResolvedAt, inc.ClosedAt = incident.StateClosed, noT0, closedAt
	}
	if err := st.Update(context.Background(), func(tx incident.Tx) error {
		return tx.CreateIncident(context.Background(), &inc)
	}); err != nil {
		t.Fatal(err)
	}
	return inc.ID
}

// TestAlertNumbersAcrossRestarts: an alert's number is given once, with
// its first episode or state, and every later number is higher, also after
// a restart, wherever the highest number stored is: in a state, or only
// in alert_orphans (an episode written without its state). The episodes
// are found again by it after the restart, and a state written later for
// an orphan takes its number over.
func TestAlertNumbersAcrossRestarts(t *testing.T) {
	tests := []struct {
		name      string
		withState bool
	}{
		{"EpisodeAndState", true},
		{"EpisodeWithoutState", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			st, err := Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			inc := mustCreate(t, st, "k", time.Time{})
			if err := st.Update(ctx, func(tx incident.Tx) error {
				if err := putState(ctx, tx, "first", inc); err != nil {
					return err
				}
				if err := putEp(ctx, tx, "a", noT0, inc); err != nil {
					return err
				}
				if tt.withState {
					return putState(ctx, tx, "a", inc)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			first, _ := numberOf(t, st, "am", "first")
			aState, aOrphan := numberOf(t, st, "am", "a")
			a := max(aState, aOrphan)
			if (aState != 0) != tt.withState || (aOrphan != 0) == tt.withState || a <= first {
				t.Fatalf("numbers: first %d, a's state %d, a's orphan row %d", first, aState, aOrphan)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}

			st, err = Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			mustEpisodeNear(t, st, "am", "a", noT0)
			if err := st.Update(ctx, func(tx incident.Tx) error {
				if err := putEp(ctx, tx, "b", noT0, inc); err != nil {
					return err
				}
				if err := putState(ctx, tx, "b", inc); err != nil {
					return err
				}
				return putState(ctx, tx, "a", inc) // takes an orphan's number over
			}); err != nil {
				t.Fatalf("after the restart: %v", err)
			}
			if b, _ := numberOf(t, st, "am", "b"); b <= a {
				t.Errorf("b's number %d, not above a's %d given before the restart", b, a)
			}
			if s, o := numberOf(t, st, "am", "a"); s != a || o != 0 {
				t.Errorf("a's state holds %d and its orphan row %d; want %d and none", s, o, a)
			}
			mustEpisodeNear(t, st, "am", "a", noT0)
			mustEpisodeNear(t, st, "am", "b", noT0)
		})
	}
}

// TestNewAlertsNumberedInOrder: a transaction's new alerts get
// consecutive numbers in the order they are first seen, so that their
// episodes append at the end of the episodes' key together.
func TestNewAlertsNumberedInOrder(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	inc := mustCreate(t, st, "k", time.Time{})
	fps := []string{"f3", "a1", "zz", "b0", "c9"} // not in the order of their names
	mustFire(t, st, inc, fps...)
	prev, _ := numberOf(t, st, "am", fps[0])
	for _, fp := range fps[1:] {
		no, _ := numberOf(t, st, "am", fp)
		if no != prev+1 {
			t.Errorf("%s numbered %d after %d", fp, no, prev)
		}
		prev = no
	}
	var mismatched int
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_episodes e JOIN alert_states s
		ON s.source = e.source AND s.fingerprint = e.fingerprint WHERE s.alert_no <> e.alert_no`).Scan(&mismatched); err != nil || mismatched != 0 {
		t.Errorf("%d episodes numbered apart from their state (%v)", mismatched, err)
	}
}

// TestRetentionKeepsNumberedStates: retention deletes the state of an
// incident it forgets only once its alert has no episode left: the state
// holds the number the alert's other episodes are found by.
func TestRetentionKeepsNumberedStates(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	old := mustCreate(t, st, "old", noT0.Add(time.Hour))
	live := mustCreate(t, st, "live", time.Time{})
	later := noT0.Add(30 * time.Minute)
	if err := st.Update(ctx, func(tx incident.Tx) error {
		// "both" fired in the old incident and, earlier, in the live one;
		// its state points at the old one. "only" fired in the old one.
		for _, w := range []struct {
			fp  string
			at  time.Time
			inc int64
		}{{"both", later, old}, {"both", noT0, live}, {"only", later, old}} {
			if err := putEp(ctx, tx, w.fp, w.at, w.inc); err != nil {
				return err
			}
		}
		if err := putState(ctx, tx, "both", old); err != nil {
			return err
		}
		return putState(ctx, tx, "only", old)
	}); err != nil {
		t.Fatal(err)
	}
	var del incident.HistoryDeleted
	if err := st.Update(ctx, func(tx incident.Tx) error {
		var err error
		del, err = tx.DeleteHistory(ctx, noT0.Add(48*time.Hour), 100, noT0.Add(48*time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if del.Episodes != 2 || del.AlertStates != 1 {
		t.Errorf("deleted %+v; want the old incident's 2 episodes and the state of the alert with none left", del)
	}
	if s, _ := numberOf(t, st, "am", "only"); s != 0 {
		t.Errorf("the state of an alert without episodes is kept (number %d)", s)
	}
	// The index of the states' keys forgets the deleted state once its
	// transaction has committed (statekeys.go).
	if n, stored := st.keys.len(), readRows(t, st.r, `SELECT COUNT(*) FROM alert_states`); fmt.Sprint(n) != stored[0] {
		t.Errorf("the index holds %d states, the table %s", n, stored[0])
	}
	if s, _ := numberOf(t, st, "am", "both"); s == 0 {
		t.Fatal("the state of an alert with an episode left is deleted: the episode cannot be found")
	}
	mustEpisodeNear(t, st, "am", "both", noT0)
	if err := st.Update(ctx, func(tx incident.Tx) error {
		_, err := tx.EpisodeNear(ctx, "am", "only", later, 0)
		return err
	}); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("episode of the forgotten alert: %v, want not found", err)
	}
}

// TestMigrateAlertNumbers upgrades a version-19 database whose retention
// had deleted a state while its alert's episodes lived on: each alert's
// episodes take its state's number (its old rowid), the stateless one an
// orphan's above them, and all are found again, through the writer and
// in the incident page's firing history.
func TestMigrateAlertNumbers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db := mustVersion(t, path, 19)
	for _, q := range []string{
		`INSERT INTO incidents (id, state, priority, impact, urgency, title, correlation_key, opened_at, updated_at, last_event_at)
			VALUES (1, 'open', 2, 'high', 'medium', 'disk', 'k1', 1, 2, 2)`,
		`INSERT INTO alert_states (source, fingerprint, status, incident_id, last_seen_at) VALUES ('am', 'b', 'firing', 1, 2)`,
		`INSERT INTO alert_states (source, fingerprint, status, incident_id, last_seen_at) VALUES ('am', 'a', 'firing', 1, 2)`,
		`INSERT INTO alert_episodes (source, fingerprint, starts_at, incident_id, correlation_key) VALUES ('am', 'a', 10, 1, 'k1')`,
		`INSERT INTO alert_episodes (source, fingerprint, starts_at, ends_at, incident_id, correlation_key) VALUES ('am', 'a', 5, 6, 1, 'k1')`,
		`INSERT INTO alert_episodes (source, fingerprint, starts_at, incident_id, correlation_key) VALUES ('am', 'b', 10, 1, 'k1')`,
		`INSERT INTO alert_episodes (source, fingerprint, starts_at, ends_at, incident_id, correlation_key) VALUES ('am', 'gone', 3, 4, 1, 'k1')`,
		`INSERT INTO alert_episodes (source, fingerprint, starts_at, incident_id, correlation_key) VALUES ('am', 'gone', 20, 1, 'k1')`,
		`INSERT INTO alerts (incident_id, source, fingerprint, status, labels, annotations, first_seen_at, last_seen_at)
			VALUES (1, 'am', 'a', 'firing', '{}', '{}', 1, 2), (1, 'am', 'gone', 'firing', '{}', '{}', 1, 2)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st := mustUpgrade(t, db, path)
	b, _ := numberOf(t, st, "am", "b")
	a, _ := numberOf(t, st, "am", "a")
	gs, gone := numberOf(t, st, "am", "gone")
	if b != 1 || a != 2 || gs != 0 || gone != 3 {
		t.Errorf("numbers b %d, a %d, gone's state %d and orphan %d; want 1, 2, none, 3", b, a, gs, gone)
	}
	at := func(n int64) time.Time { return time.Unix(0, n).UTC() }
	mustEpisodeNear(t, st, "am", "a", at(5))
	mustEpisodeNear(t, st, "am", "a", at(10))
	mustEpisodeNear(t, st, "am", "gone", at(3))
	if err := st.Update(ctx, func(tx incident.Tx) error {
		next, err := tx.NextEpisodes(ctx, []incident.Episode{{Source: "am", Fingerprint: "gone", StartsAt: at(3)}})
		if err != nil || len(next) != 1 || !next[0].StartsAt.Equal(at(20)) {
			t.Errorf("next episode of the orphan after 3: %+v, %v", next, err)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	hist, err := st.AlertHistory(ctx, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range hist {
		got = append(got, e.Fingerprint+"@"+e.StartsAt.Format("05.000000000"))
	}
	want := []string{"a@00.000000010", "a@00.000000005", "gone@00.000000020", "gone@00.000000003"}
	if len(got) != len(want) {
		t.Fatalf("firing history %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("firing history %v, want %v", got, want)
			break
		}
	}
	// A new alert's number is above the orphan's.
	if err := st.Update(ctx, func(tx incident.Tx) error { return putState(ctx, tx, "new", 1) }); err != nil {
		t.Fatal(err)
	}
	if n, _ := numberOf(t, st, "am", "new"); n != 4 {
		t.Errorf("the next alert's number is %d, want 4", n)
	}
}

// TestEpisodeBeforeStateInOneTransaction: within one transaction, an
// alert's first episode written before its state (as a late, earlier
// firing is), then the state looked up and missed, then written: the
// state takes the number the episode got, and no orphan row is left.
func TestEpisodeBeforeStateInOneTransaction(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	inc := mustCreate(t, st, "k", time.Time{})
	if err := st.Update(ctx, func(tx incident.Tx) error {
		if err := putEp(ctx, tx, "late", noT0, inc); err != nil {
			return err
		}
		if _, err := tx.AlertState(ctx, "am", "late"); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("state before it is written: %v, want not found", err)
		}
		return putState(ctx, tx, "late", inc)
	}); err != nil {
		t.Fatal(err)
	}
	var ep int64
	if err := st.r.QueryRowContext(ctx, `SELECT alert_no FROM alert_episodes WHERE fingerprint = 'late'`).Scan(&ep); err != nil {
		t.Fatal(err)
	}
	if s, o := numberOf(t, st, "am", "late"); s != ep || o != 0 {
		t.Errorf("state's number %d, orphan row's %d; the episode's is %d", s, o, ep)
	}
}

// TestEpisodeNearLearnsTheNumber: an alert with a state, first looked up
// in a transaction by EpisodeNear (the number and the episode in one
// statement), with no episode near: the firing recorded next takes the
// state's number, and is found by it.
func TestEpisodeNearLearnsTheNumber(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	inc := mustCreate(t, st, "k", time.Time{})
	mustFire(t, st, inc, "a", "b")
	refire := noT0.Add(time.Hour)
	if err := st.Update(ctx, func(tx incident.Tx) error {
		if _, err := tx.EpisodeNear(ctx, "am", "a", refire, time.Second); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("episode near the refire before it is recorded: %v, want not found", err)
		}
		return tx.RecordEpisode(ctx, &incident.Episode{Source: "am", Fingerprint: "a", StartsAt: refire, IncidentID: inc, Key: "k"})
	}); err != nil {
		t.Fatal(err)
	}
	var got int64
	if err := st.r.QueryRowContext(ctx, `SELECT alert_no FROM alert_episodes WHERE fingerprint = 'a' AND starts_at = ?`,
		refire.UnixNano()).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want, _ := numberOf(t, st, "am", "a"); got != want {
		t.Errorf("the refire's episode has number %d, its state %d", got, want)
	}
	mustEpisodeNear(t, st, "am", "a", refire)
}
