package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// collide makes every index opened until the returned func runs put all
// keys under one hash, so that every lookup's candidates are all the
// states, and only the key picks the right one.
func collide() (restore func()) {
	was := stateKeysHash
	stateKeysHash = collidingHash
	return func() { stateKeysHash = was }
}

// forEachHash runs f with the seeded hash, then with every key under one.
func forEachHash(t *testing.T, f func(t *testing.T)) {
	for _, colliding := range []bool{false, true} {
		t.Run(fmt.Sprintf("colliding=%v", colliding), func(t *testing.T) {
			if colliding {
				defer collide()()
			}
			f(t)
		})
	}
}

func putStates(ctx context.Context, st *Store, source string, fps ...string) error {
	return st.Update(ctx, func(tx incident.Tx) error {
		for _, fp := range fps {
			if err := tx.PutAlertState(ctx, incident.AlertState{Source: source, Fingerprint: fp,
				Status: incident.StatusFiring, StartsAt: noT0, LastSeenAt: noT0}); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestStateKeysFindEveryState: the index, built from the states stored
// before the store opened and fed by every state put since, finds every
// stored state with its own number, finds none for a key whose
// transaction rolled back or that another source has, and a state put
// again keeps its row: one state per key. With every key under one hash
// as well.
func TestStateKeysFindEveryState(t *testing.T) {
	forEachHash(t, func(t *testing.T) {
		ctx := context.Background()
		dir := t.TempDir()
		st, err := Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		// A key may hold any bytes, the hash's zero separator too.
		stored := []string{"nul\x00in"}
		for i := range 10 {
			stored = append(stored, fmt.Sprintf("before%02d", i))
		}
		if err := putStates(ctx, st, "am", stored...); err != nil {
			t.Fatal(err)
		}
		st.Close()

		st, err = Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if n := st.keys.len(); n != 11 {
			t.Errorf("index built with %d states, want 11", n)
		}
		if err := putStates(ctx, st, "am", "after"); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, "after")
		rolledBack := errors.New("rolled back")
		err = st.Update(ctx, func(tx incident.Tx) error {
			if err := tx.PutAlertState(ctx, incident.AlertState{Source: "am", Fingerprint: "gone",
				Status: incident.StatusFiring, StartsAt: noT0, LastSeenAt: noT0}); err != nil {
				return err
			}
			return rolledBack
		})
		if !errors.Is(err, rolledBack) {
			t.Fatal(err)
		}
		// Every state again, resolved: each keeps its row and number.
		numbers := map[string]int64{}
		for _, r := range readRows(t, st.r, `SELECT fingerprint || ' ' || alert_no FROM alert_states`) {
			var fp string
			var no int64
			if _, err := fmt.Sscan(r, &fp, &no); err != nil {
				t.Fatal(err)
			}
			numbers[fp] = no
		}
		err = st.Update(ctx, func(tx incident.Tx) error {
			for _, fp := range stored {
				s, err := tx.AlertState(ctx, "am", fp)
				if err != nil {
					t.Errorf("state of %s: %v", fp, err)
					continue
				}
				s.Status = incident.StatusResolved
				if err := tx.PutAlertState(ctx, s); err != nil {
					return err
				}
			}
			for _, k := range []alertKey{{"am", "gone"}, {"other", "before00"}, {"am", "new"}} {
				if _, err := tx.AlertState(ctx, k.source, k.fingerprint); !errors.Is(err, incident.ErrNotFound) {
					t.Errorf("state of %v: %v, want not found", k, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got := readRows(t, st.r, `SELECT fingerprint || ' ' || alert_no || ' ' || status FROM alert_states ORDER BY fingerprint`)
		if len(got) != len(stored) {
			t.Errorf("states %v, want one per key of %v", got, stored)
		}
		for _, r := range got {
			var fp, status string
			var no int64
			if _, err := fmt.Sscan(r, &fp, &no, &status); err != nil {
				t.Fatal(err)
			}
			if no != numbers[fp] || status != "resolved" {
				t.Errorf("state %q, want %s numbered %d and resolved", r, fp, numbers[fp])
			}
		}
	})
}

// TestStateKeysOnlyTheKeysState: every statement that reads or writes a
// state by key, given candidates of other keys (every key under one hash),
// reads or writes the key's own state alone: a touch, a move, an episode
// found through the state, a number read before a state is put, and the
// alerts' numbers an incident's history reads.
func TestStateKeysOnlyTheKeysState(t *testing.T) {
	forEachHash(t, func(t *testing.T) {
		ctx := context.Background()
		st := mustOpenStore(t)
		inc1, inc2 := mustCreate(t, st, "k1", time.Time{}), mustCreate(t, st, "k2", time.Time{})
		mustFire(t, st, inc1, "a", "b", "c")
		mustFire(t, st, inc2, "x")
		later := noT0.Add(time.Hour)
		err := st.Update(ctx, func(tx incident.Tx) error {
			for _, a := range []struct {
				fp  string
				inc int64
			}{{"a", inc1}, {"b", inc1}, {"c", inc1}, {"x", inc2}} {
				if err := tx.PutAlert(ctx, incident.Alert{IncidentID: a.inc, Source: "am", Fingerprint: a.fp,
					Status: incident.StatusFiring, StartsAt: noT0, FirstSeenAt: noT0, LastSeenAt: noT0, Count: 1}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = st.Update(ctx, func(tx incident.Tx) error {
			if err := tx.TouchAlerts(ctx, []incident.Touch{{Source: "am", Fingerprint: "b", IncidentID: inc1, Seen: later, Count: 1}}); err != nil {
				return err
			}
			return tx.MoveAlert(ctx, inc1, inc2, "am", "b")
		})
		if err != nil {
			t.Fatal(err)
		}
		// A state put with no lookup before it: its number is read
		// (alertNo), and it is new.
		if err := st.Update(ctx, func(tx incident.Tx) error { return putState(ctx, tx, "d", inc1) }); err != nil {
			t.Fatal(err)
		}
		got := readRows(t, st.r, `SELECT fingerprint || ' ' || last_seen_at || ' ' || incident_id FROM alert_states ORDER BY fingerprint`)
		want := []string{
			fmt.Sprint("a ", noT0.UnixNano(), " ", inc1), fmt.Sprint("b ", later.UnixNano(), " ", inc2),
			fmt.Sprint("c ", noT0.UnixNano(), " ", inc1), fmt.Sprint("d ", noT0.UnixNano(), " ", inc1),
			fmt.Sprint("x ", noT0.UnixNano(), " ", inc2),
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("states %v, want %v", got, want)
		}
		if n := readRows(t, st.r, `SELECT COUNT(DISTINCT alert_no) FROM alert_states`); n[0] != "5" {
			t.Errorf("%s numbers for 5 states", n[0])
		}
		for _, fp := range []string{"a", "b", "x"} {
			if ep := mustEpisodeNear(t, st, "am", fp, noT0); ep.Fingerprint != fp {
				t.Errorf("episode near of %s: %s's", fp, ep.Fingerprint)
			}
		}
		history, err := st.AlertHistory(ctx, inc1, 5)
		if err != nil {
			t.Fatal(err)
		}
		var fps []string
		for _, e := range history {
			fps = append(fps, e.Fingerprint)
		}
		if fmt.Sprint(fps) != "[a c]" {
			t.Errorf("history of incident %d: episodes of %v, want a's and c's", inc1, fps)
		}
		// A read-only store has no index: it joins by key.
		ro, err := OpenReadOnly(ctx, st.path)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		roHistory, err := ro.AlertHistory(ctx, inc1, 5)
		if err != nil || fmt.Sprint(roHistory) != fmt.Sprint(history) {
			t.Errorf("read-only history %v, %v; want %v", roHistory, err, history)
		}
	})
}

// TestStateKeysForgetDeletedOnCommit: a deleted state leaves the index
// once its transaction commits, and stays when it rolls back.
func TestStateKeysForgetDeletedOnCommit(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	if err := putStates(ctx, st, "am", "a", "b", "c"); err != nil {
		t.Fatal(err)
	}
	del := func(fail error) error {
		return st.Update(ctx, func(itx incident.Tx) error {
			t := itx.(*tx)
			if _, err := t.tx.ExecContext(ctx, `DELETE FROM alert_states WHERE fingerprint IN ('a', 'b')`); err != nil {
				return err
			}
			if err := t.takeDeleted(ctx); err != nil {
				return err
			}
			return fail
		})
	}
	rolledBack := errors.New("rolled back")
	if err := del(rolledBack); !errors.Is(err, rolledBack) {
		t.Fatal(err)
	}
	if n := st.keys.len(); n != 3 {
		t.Errorf("after a rolled-back delete the index holds %d states, want 3", n)
	}
	if err := del(nil); err != nil {
		t.Fatal(err)
	}
	if n := st.keys.len(); n != 1 {
		t.Errorf("after the delete the index holds %d states, want 1", n)
	}
	if err := st.Update(ctx, func(tx incident.Tx) error {
		_, err := tx.AlertState(ctx, "am", "c")
		return err
	}); err != nil {
		t.Errorf("the state left: %v", err)
	}
	if got := readRows(t, st.r, `SELECT COUNT(*) FROM alert_states`); got[0] != "1" {
		t.Errorf("%v states stored, want 1", got)
	}
}

// TestStateKeysCollisions: numbers under one hash are added once each
// and removed one by one.
func TestStateKeysCollisions(t *testing.T) {
	x := newStateKeys(0)
	x.hash = collidingHash
	a, b, c := alertKey{"am", "a"}, alertKey{"am", "b"}, alertKey{"am", "c"}
	x.add(a, 1)
	x.add(a, 1)
	x.add(b, 2)
	x.add(c, 3)
	x.add(b, 2)
	if got := x.lookup(a, nil); fmt.Sprint(got) != "[1 2 3]" || x.len() != 3 {
		t.Errorf("candidates %v (%d held), want [1 2 3]", got, x.len())
	}
	x.remove(b, 2)
	if got := x.lookup(c, nil); fmt.Sprint(got) != "[1 3]" {
		t.Errorf("candidates %v, want [1 3]", got)
	}
	x.remove(a, 1)
	if got := x.lookup(c, nil); fmt.Sprint(got) != "[3]" || len(x.shard(7).more) != 0 {
		t.Errorf("candidates %v (%d hashes with several), want [3] alone", got, len(x.shard(7).more))
	}
	x.remove(c, 3)
	if x.len() != 0 {
		t.Errorf("%d held after every remove", x.len())
	}
}

// TestStatesOnlyWrittenByTheUpsert: the index learns of new states from
// PutAlertState alone, so nothing else in the store may insert one: no
// statement in its code or among the writer's prepared ones but the
// deferred upsert, and no trigger.
func TestStatesOnlyWrittenByTheUpsert(t *testing.T) {
	inserts := regexp.MustCompile(`(?i)\b(INSERT|REPLACE)\b[^;]*?\bINTO\s+alert_states\b`)
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		src, err := os.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for range inserts.FindAllIndex(src, -1) {
			found = append(found, e.Name())
		}
	}
	if len(found) > 0 {
		t.Errorf("inserts into alert_states in %v, want the deferred upsert only (deferredQuery)", found)
	}
	states := map[string]bool{}
	for _, q := range append(deferredQueries[deferStates][:], sharedQueries[deferStates][:]...) {
		if !inserts.MatchString(q) {
			t.Errorf("a deferred state's upsert does not insert into alert_states: %s", q)
		}
		states[q] = true
	}
	for _, q := range writerQueries {
		if inserts.MatchString(q) && !states[q] {
			t.Errorf("a writer statement inserts alert states: %s", q)
		}
	}
	st := mustOpenStore(t)
	for _, sql := range readRows(t, st.r, `SELECT sql FROM sqlite_master WHERE type = 'trigger'`) {
		if inserts.MatchString(sql) {
			t.Errorf("a trigger inserts alert states: %s", sql)
		}
	}
}

// BenchmarkStateKeysMemory reports the index's heap per state at a
// million states: sized at open for the states stored (built), and grown
// one state at a time from empty (added).
func BenchmarkStateKeysMemory(b *testing.B) {
	const n = 1_000_000
	keys := make([]alertKey, n)
	for i := range keys {
		keys[i] = alertKey{"alertmanager", fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15)}
	}
	for _, tc := range []struct {
		name string
		size int
	}{{"built", n}, {"added", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				x := newStateKeys(tc.size)
				for i, k := range keys {
					x.add(k, int64(i+1))
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/state")
				runtime.KeepAlive(x)
			}
		})
	}
}

// TestMigrateAlertStatesByNumber: migration 0024 keeps every state with
// its number, drops the key's unique index and keeps the others, and the
// index built at the next open finds each state, whose writes keep its
// row.
func TestMigrateAlertStatesByNumber(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db := mustVersion(t, path, 23)
	for _, q := range []string{
		`INSERT INTO incidents (id, state, priority, impact, urgency, title, correlation_key, opened_at, updated_at, last_event_at)
			VALUES (1, 'open', 2, 'high', 'medium', 'disk', 'k1', 1, 2, 2)`,
		`INSERT INTO alert_states (alert_no, source, fingerprint, status, starts_at, incident_id, last_seen_at)
			VALUES (7, 'am', 'b', 'firing', 1, 1, 2), (3, 'am', 'a', 'resolved', 1, NULL, 5), (9, 'grafana', 'a', 'firing', NULL, 1, 4)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const all = `SELECT * FROM alert_states ORDER BY alert_no`
	rows, err := db.QueryContext(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	before := rowTexts(t, rows)
	st := mustUpgrade(t, db, path)
	rows, err = st.r.QueryContext(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if after := rowTexts(t, rows); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("states after the migration\n%v\nwant\n%v", after, before)
	}
	indexes := readRows(t, st.r, `SELECT name FROM pragma_index_list('alert_states') ORDER BY name`)
	if fmt.Sprint(indexes) != "[alert_states_firing_seen alert_states_incident]" {
		t.Errorf("alert_states' indexes %v, want the incident's and the firing one's, no key", indexes)
	}
	err = st.Update(ctx, func(tx incident.Tx) error {
		for _, k := range []alertKey{{"am", "b"}, {"am", "a"}, {"grafana", "a"}} {
			s, err := tx.AlertState(ctx, k.source, k.fingerprint)
			if err != nil {
				return fmt.Errorf("state of %v: %w", k, err)
			}
			s.LastSeenAt = s.LastSeenAt.Add(time.Second)
			if err := tx.PutAlertState(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := readRows(t, st.r, `SELECT group_concat(alert_no || source || fingerprint, ' ') FROM (SELECT * FROM alert_states ORDER BY alert_no)`); got[0] != "3ama 7amb 9grafanaa" {
		t.Errorf("states after a write of each: %v, want the same three numbers and keys", got)
	}
}
