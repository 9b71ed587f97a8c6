package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// waitFilter waits until st's filter answers.
func waitFilter(t *testing.T, st *Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		st.states.mu.Lock()
		ready := st.states.ready
		st.states.mu.Unlock()
		if ready {
			return
		}
	}
	t.Fatal("the alert states' filter was not built in 10s")
}

func skipped(st *Store) int64 {
	st.states.mu.Lock()
	defer st.states.mu.Unlock()
	return st.states.skipped
}

// TestStateFilterAnswersMisses: the filter, built from the states stored
// before the store opened (in chunks smaller than the table) and fed by
// every state put since, finds every stored state, answers almost every
// unknown key without a read, and still reads for a key whose
// transaction rolled back.
func TestStateFilterAnswersMisses(t *testing.T) {
	defer func(n int) { stateFilterChunk = n }(stateFilterChunk)
	stateFilterChunk = 3
	ctx := context.Background()
	dir := t.TempDir()
	put := func(st *Store, fps ...string) error {
		return st.Update(ctx, func(tx incident.Tx) error {
			for _, fp := range fps {
				if err := tx.PutAlertState(ctx, incident.AlertState{Source: "am", Fingerprint: fp,
					Status: incident.StatusFiring, StartsAt: noT0, LastSeenAt: noT0}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	st, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for i := range 10 { // more than three chunks, the last one short
		stored = append(stored, fmt.Sprintf("before%02d", i))
	}
	if err := put(st, stored...); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waitFilter(t, st)
	if err := put(st, "after"); err != nil {
		t.Fatal(err)
	}
	stored = append(stored, "after")
	rolledBack := errors.New("rolled back")
	if err := put(st, "rolledback"); err != nil {
		t.Fatal(err)
	}
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
	before := skipped(st)
	err = st.Update(ctx, func(tx incident.Tx) error {
		for _, fp := range stored {
			if _, err := tx.AlertState(ctx, "am", fp); err != nil {
				t.Errorf("state of %s: %v", fp, err)
			}
		}
		if _, err := tx.AlertState(ctx, "am", "gone"); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("state of the rolled-back key: %v, want not found", err)
		}
		if _, err := tx.AlertState(ctx, "other", "before00"); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("state of another source's key: %v, want not found", err)
		}
		for i := range 100 {
			if _, err := tx.AlertState(ctx, "am", fmt.Sprint("new", i)); !errors.Is(err, incident.ErrNotFound) {
				t.Errorf("state of a new key: %v, want not found", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 1% false positives: 101 unknown keys all but a few answered.
	if n := skipped(st) - before; n < 90 || n > 101 {
		t.Errorf("%d of 101 unknown keys answered without a read, want about 100", n)
	}
}

// TestStateFilterReadyOnlyWhenBuilt: build makes the filter answer only
// once it has read every chunk of the table.
func TestStateFilterReadyOnlyWhenBuilt(t *testing.T) {
	defer func(n int) { stateFilterChunk = n }(stateFilterChunk)
	defer func() { stateFilterChunkRead = nil }()
	stateFilterChunk = 4
	ctx := context.Background()
	st := mustOpenStore(t)
	var keys []alertKey
	err := st.Update(ctx, func(tx incident.Tx) error {
		for i := range 9 {
			k := alertKey{"am", fmt.Sprintf("fp%d", i)}
			keys = append(keys, k)
			if err := tx.PutAlertState(ctx, incident.AlertState{Source: k.source, Fingerprint: k.fingerprint,
				Status: incident.StatusFiring, StartsAt: noT0, LastSeenAt: noT0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	<-st.statesDone // the store's own build reads the hook no more
	chunks := 0
	stateFilterChunkRead = func(sf *stateFilter) {
		chunks++
		sf.mu.Lock()
		ready := sf.ready
		sf.mu.Unlock()
		missing := 0
		for _, k := range keys {
			sf.mu.Lock()
			if !sf.f.Test(sf.key(k)) {
				missing++
			}
			sf.mu.Unlock()
		}
		if ready && missing > 0 {
			t.Errorf("after chunk %d the filter answers with %d stored keys not read yet", chunks, missing)
		}
	}
	sf := newStateFilter(0)
	sf.build(ctx, st.r, nil)
	if chunks != 3 || !sf.ready {
		t.Errorf("build read %d chunks (want 3) and is ready %v", chunks, sf.ready)
	}
}

// TestStateFilterBeforeBuilt: a filter that has not read the table yet
// answers nothing, however empty it is.
func TestStateFilterBeforeBuilt(t *testing.T) {
	sf := newStateFilter(0)
	if sf.absent(alertKey{"am", "fp"}) {
		t.Error("an unbuilt filter answered")
	}
	var none *stateFilter // a read-only store's
	none.add(alertKey{"am", "fp"})
	if none.absent(alertKey{"am", "fp"}) {
		t.Error("no filter answered")
	}
}

// TestStatesOnlyWrittenByTheUpsert: the filter learns of new states from
// PutAlertState alone, so nothing else in the store may insert one: no
// statement in its code but the deferred upsert, and no trigger.
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
	if strings.Join(found, " ") != "deferred.go" {
		t.Errorf("inserts into alert_states in %v, want the deferred upsert in deferred.go only", found)
	}
	st := mustOpenStore(t)
	for _, sql := range readRows(t, st.r, `SELECT sql FROM sqlite_master WHERE type = 'trigger'`) {
		if inserts.MatchString(sql) {
			t.Errorf("a trigger inserts alert states: %s", sql)
		}
	}
}
