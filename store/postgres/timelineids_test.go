package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/alertbridge/alertbridge/incident"
)

// addEntries adds n entries to incident id in one Update, each counted by
// the transaction right after it, and returns their IDs.
func addEntries(ctx context.Context, t *testing.T, st interface {
	Update(context.Context, func(incident.Tx) error) error
}, id int64, who string, n int) ([]int64, error) {
	t.Helper()
	var ids []int64
	err := st.Update(ctx, func(tx incident.Tx) error {
		ids = ids[:0] // a transaction run again starts afresh
		for i := range n {
			e := incident.TimelineEntry{IncidentID: id, At: t0, Kind: incident.TimelineComment, Actor: who,
				Message: fmt.Sprintf("%s %d", who, i)}
			if err := tx.AddTimeline(ctx, &e); err != nil {
				return err
			}
			ids = append(ids, e.ID)
		}
		// The entries are sent with the next statement: the transaction
		// reads them.
		got, err := tx.CountTimeline(ctx, id, incident.TimelineComment, t0)
		if err != nil {
			return err
		}
		if got < n {
			return fmt.Errorf("the transaction counts %d of its %d entries", got, n)
		}
		return nil
	})
	return ids, err
}

// TestTimelineIDsFromBlocks: entries take their IDs from blocks of the
// sequence (migration 0009), more than one block in a transaction, and
// are stored under the IDs AddTimeline gave them, also when two stores
// on one database add entries at the same time.
func TestTimelineIDsFromBlocks(t *testing.T) {
	dsn, _ := mustSchema(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	ctx := context.Background()
	inc := lazyIncident("k")
	if err := a.Update(ctx, func(tx incident.Tx) error { return tx.CreateIncident(ctx, &inc) }); err != nil {
		t.Fatal(err)
	}
	var increment int64
	if err := mustDB(t, dsn).QueryRowContext(ctx, `SELECT seqincrement FROM pg_sequence
		WHERE seqrelid = pg_get_serial_sequence('timeline', 'id')::regclass`).Scan(&increment); err != nil {
		t.Fatal(err)
	}
	if increment != 64 {
		t.Errorf("the timeline IDs' sequence moves by %d, want blocks of 64", increment)
	}
	first, err := addEntries(ctx, t, a, inc.ID, "first", 150)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(first); i++ {
		if first[i] <= first[i-1] {
			t.Fatalf("IDs of one transaction not increasing: %v", first)
		}
	}
	if first[63]-first[0] != 63 {
		t.Errorf("the first block is not 64 IDs in a row: %d … %d", first[0], first[63])
	}

	want := map[int64]string{}
	for i, id := range first {
		want[id] = fmt.Sprintf("first %d", i)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w, st := range []interface {
		Update(context.Context, func(incident.Tx) error) error
	}{a, b} {
		for round := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				who := fmt.Sprintf("w%d-%d", w, round)
				ids, err := addEntries(ctx, t, st, inc.ID, who, 40)
				if err != nil {
					t.Errorf("%s: %v", who, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for i, id := range ids {
					if prev, dup := want[id]; dup {
						t.Errorf("ID %d given to %s %d and to %s", id, who, i, prev)
					}
					want[id] = fmt.Sprintf("%s %d", who, i)
				}
			}()
		}
	}
	wg.Wait()
	entries, err := a.Timeline(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, e := range entries {
		if e.Kind != incident.TimelineComment {
			continue
		}
		stored = append(stored, fmt.Sprint(e.ID, " ", e.Message))
		if want[e.ID] != e.Message {
			t.Errorf("entry %d stored as %q, given to %q", e.ID, e.Message, want[e.ID])
		}
	}
	if len(stored) != len(want) {
		t.Errorf("%d entries stored, %d given IDs", len(stored), len(want))
	}
}

// TestTimelineEntryThatFails: an entry of no incident, sent with the next
// statement, fails the transaction there, and nothing of it is stored.
func TestTimelineEntryThatFails(t *testing.T) {
	dsn, _ := mustSchema(t)
	st := mustOpen(t, dsn)
	ctx := context.Background()
	inc := lazyIncident("k")
	err := st.Update(ctx, func(tx incident.Tx) error {
		if err := tx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		e := incident.TimelineEntry{IncidentID: inc.ID + 1000, At: t0, Kind: incident.TimelineComment, Actor: "x"}
		if err := tx.AddTimeline(ctx, &e); err != nil {
			return err
		}
		_, err := tx.CountTimeline(ctx, inc.ID, incident.TimelineComment, t0)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "insert timeline") {
		t.Fatalf("Update = %v, want the entry's insert to fail", err)
	}
	if _, err := st.Incident(ctx, inc.ID); err == nil {
		t.Error("the incident of the failed transaction was stored")
	}
}
