package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// searchIncident is an open incident titled title, keyed key.
func searchIncident(title, key string) incident.Incident {
	inc := wbIncident(key, time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	inc.Title = title
	return inc
}

// searchKeys numbers the test incidents' keys, which must differ.
var searchKeys atomic.Int64

// createSearchIncidents creates n incidents, each in a transaction of its
// own as the writer opens them one alert a request, titled "<prefix> <i>".
func createSearchIncidents(t *testing.T, st *Store, prefix string, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for i := range n {
		inc := searchIncident(fmt.Sprintf("%s %d", prefix, i), fmt.Sprintf("key-%d", searchKeys.Add(1)))
		if err := st.Update(ctx, func(itx incident.Tx) error { return itx.CreateIncident(ctx, &inc) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inc.ID)
	}
	return ids
}

// searchState is what the database says of the search index: the upto
// mark, and how many incidents the index holds (its document sizes, one
// row per incident).
func searchState(t *testing.T, st *Store) (upto int64, indexed int) {
	t.Helper()
	err := st.wc.QueryRowContext(context.Background(), `SELECT (SELECT upto FROM incident_search_indexed WHERE id = 1),
		(SELECT COUNT(*) FROM incident_search_docsize)`).Scan(&upto, &indexed)
	if err != nil {
		t.Fatal(err)
	}
	return upto, indexed
}

// mustIndexMatchTable fails unless the search index holds exactly what
// the incidents' titles and keys are now: FTS5's integrity check with
// rank 1 compares an external-content index with its table. It holds only
// when no incident waits for the index.
func mustIndexMatchTable(t *testing.T, st *Store) {
	t.Helper()
	if _, err := st.wc.ExecContext(context.Background(),
		`INSERT INTO incident_search (incident_search, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("search index against the incidents: %v", err)
	}
}

// searchIDs is what the list and the counts find for q: the list's ids,
// newest first, and the open count.
func searchIDs(t *testing.T, st *Store, q string) ([]int64, int) {
	t.Helper()
	ctx := context.Background()
	list, err := st.Incidents(ctx, incident.IncidentFilter{Query: q, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, inc := range list {
		ids = append(ids, inc.ID)
	}
	counts, err := st.IncidentCounts(ctx, incident.IncidentFilter{Query: q})
	if err != nil {
		t.Fatal(err)
	}
	return ids, counts[incident.StateOpen]
}

// TestSearchIndexedInBatches: the writer indexes new incidents once
// searchBatch of them wait, in the transaction that makes them that many;
// until then the search finds them from the table, and after it from the
// index, which then holds exactly the table's titles and keys.
func TestSearchIndexedInBatches(t *testing.T) {
	st := mustOpenStore(t)
	st.searchBatch = 8

	ids := createSearchIncidents(t, st, "disk full", 7)
	if upto, indexed := searchState(t, st); upto != 0 || indexed != 0 {
		t.Fatalf("after 7 incidents: upto %d, %d indexed; want none indexed yet", upto, indexed)
	}
	want := slices.Clone(ids)
	slices.Reverse(want)
	if got, n := searchIDs(t, st, "DISK FU"); !slices.Equal(got, want) || n != 7 {
		t.Errorf("search before the batch: %v, %d open; want %v, 7", got, n, want)
	}

	ids = append(ids, createSearchIncidents(t, st, "disk full", 1)...)
	if upto, indexed := searchState(t, st); upto != ids[7] || indexed != 8 {
		t.Fatalf("after the 8th incident: upto %d, %d indexed; want %d, 8", upto, indexed, ids[7])
	}
	mustIndexMatchTable(t, st)
	want = slices.Clone(ids)
	slices.Reverse(want)
	if got, n := searchIDs(t, st, "disk fu"); !slices.Equal(got, want) || n != 8 {
		t.Errorf("search after the batch: %v, %d open; want %v, 8", got, n, want)
	}

	// Some indexed, some waiting: one page runs across both, newest first.
	more := createSearchIncidents(t, st, "disk full", 3)
	all := append(slices.Clone(ids), more...)
	slices.Reverse(all)
	if got, n := searchIDs(t, st, "disk full"); !slices.Equal(got, all) || n != 11 {
		t.Errorf("search across the index and the table: %v, %d open; want %v, 11", got, n, all)
	}
	ctx := context.Background()
	var pages []int64
	for after := int64(0); ; {
		list, err := st.Incidents(ctx, incident.IncidentFilter{Query: "disk full", Limit: 2, AfterID: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			break
		}
		for _, inc := range list {
			pages = append(pages, inc.ID)
		}
		after = list[len(list)-1].ID
	}
	if !slices.Equal(pages, all) {
		t.Errorf("pages of 2 across the index and the table: %v; want %v", pages, all)
	}
}

// TestSearchFollowsTitlesIndexedOrNot: a title that changes before its
// incident is indexed is indexed as it is then; one that changes after is
// replaced in the index (the update trigger). Either way the old text
// finds nothing and the new finds the incident.
func TestSearchFollowsTitlesIndexedOrNot(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	st.searchBatch = 4
	rename := func(id int64, title string) {
		t.Helper()
		inc, err := st.Incident(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		inc.Title = title
		if err := st.Update(ctx, func(itx incident.Tx) error { return itx.UpdateIncident(ctx, inc) }); err != nil {
			t.Fatal(err)
		}
	}
	indexed := createSearchIncidents(t, st, "first", 4)
	waiting := createSearchIncidents(t, st, "second", 2)
	rename(indexed[1], "renamed while indexed")
	rename(waiting[0], "renamed while waiting")
	check := func(when string) {
		t.Helper()
		for q, want := range map[string][]int64{
			"first 1": nil, "second 0": nil,
			"renamed while indexed": {indexed[1]}, "renamed while waiting": {waiting[0]},
			"renamed": {waiting[0], indexed[1]},
		} {
			if got, n := searchIDs(t, st, q); !slices.Equal(got, want) || n != len(want) {
				t.Errorf("%s: search %q found %v (%d open); want %v", when, q, got, n, want)
			}
		}
	}
	check("before the second batch")
	createSearchIncidents(t, st, "third", 2)
	if upto, _ := searchState(t, st); upto < waiting[1] {
		t.Fatalf("upto %d after the second batch; want at least %d", upto, waiting[1])
	}
	check("after the second batch")
	mustIndexMatchTable(t, st)
}

// TestSearchBehindSurvivesRestartAndRollback: how many incidents wait is
// read again at open, so a batch comes after searchBatch incidents however
// many starts they span; a transaction rolled back counts for nothing.
func TestSearchBehindSurvivesRestartAndRollback(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	createSearchIncidents(t, st, "before", 3)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if st.searchBehind != 3 {
		t.Fatalf("after a restart %d incidents wait for the index; want 3", st.searchBehind)
	}
	st.searchBatch = 5
	failed := errors.New("rolled back")
	err = st.Update(ctx, func(itx incident.Tx) error {
		inc := searchIncident("rolled back", "rolled/back")
		if err := itx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("Update = %v; want %v", err, failed)
	}
	ids := createSearchIncidents(t, st, "after", 1)
	if upto, indexed := searchState(t, st); upto != 0 || indexed != 0 || st.searchBehind != 4 {
		t.Fatalf("4 waiting, the rolled back not counted: upto %d, %d indexed, %d behind", upto, indexed, st.searchBehind)
	}
	ids = append(ids, createSearchIncidents(t, st, "after", 1)...)
	if upto, indexed := searchState(t, st); upto != ids[1] || indexed != 5 || st.searchBehind != 0 {
		t.Fatalf("after the 5th: upto %d, %d indexed, %d behind; want %d, 5, 0", upto, indexed, st.searchBehind, ids[1])
	}
	mustIndexMatchTable(t, st)
}

// TestSearchBatchCommitFails: when the COMMIT of the transaction that
// indexed a batch fails, the batch and its mark roll back with it, the
// incidents still wait, and the next transaction indexes them. A deferred
// foreign key that still points nowhere fails the COMMIT itself, after
// every statement (the batch's included) has run.
func TestSearchBatchCommitFails(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	st.searchBatch = 3
	waiting := createSearchIncidents(t, st, "waiting", 2)
	err := st.Update(ctx, func(itx incident.Tx) error {
		inc := searchIncident("never committed", "never/committed")
		if err := itx.CreateIncident(ctx, &inc); err != nil {
			return err
		}
		tx := itx.(*tx)
		if _, err := tx.exec(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO incident_changes (incident_id, change_id, rank, reason) VALUES (?, 999999, 1, 'none')`, inc.ID)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "commit") || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("Update = %v; want its COMMIT to fail on the foreign key", err)
	}
	if upto, indexed := searchState(t, st); upto != 0 || indexed != 0 || st.searchBehind != 2 {
		t.Fatalf("after the failed commit: upto %d, %d indexed, %d behind; want 0, 0, 2", upto, indexed, st.searchBehind)
	}
	if got, n := searchIDs(t, st, "never committed"); len(got) != 0 || n != 0 {
		t.Errorf("the incident of the failed commit is found: %v, %d open", got, n)
	}
	want := append(slices.Clone(waiting), createSearchIncidents(t, st, "waiting", 1)...)
	if upto, indexed := searchState(t, st); upto != want[2] || indexed != 3 || st.searchBehind != 0 {
		t.Fatalf("after the next incident: upto %d, %d indexed, %d behind; want %d, 3, 0", upto, indexed, st.searchBehind, want[2])
	}
	mustIndexMatchTable(t, st)
	slices.Reverse(want)
	if got, n := searchIDs(t, st, "waiting"); !slices.Equal(got, want) || n != 3 {
		t.Errorf("search after the batch: %v, %d open; want %v, 3", got, n, want)
	}
}

// TestSearchIndexesReusedIDsAtOnce: SQLite gives a new incident the
// highest id plus one, so deleting the newest incidents hands their ids
// out again, at or under upto. The insert trigger indexes such an incident
// in its own transaction: the index must hold every id up to upto, or the
// search would miss it (neither indexed nor after upto).
func TestSearchIndexesReusedIDsAtOnce(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	st.searchBatch = 3
	ids := createSearchIncidents(t, st, "old", 3)
	if upto, _ := searchState(t, st); upto != ids[2] {
		t.Fatalf("upto %d; want %d", upto, ids[2])
	}
	if _, err := st.wc.ExecContext(ctx, `DELETE FROM incidents WHERE id >= ?`, ids[1]); err != nil {
		t.Fatal(err)
	}
	mustIndexMatchTable(t, st) // the delete trigger took them out
	reused := createSearchIncidents(t, st, "new", 1)
	if reused[0] != ids[1] {
		t.Fatalf("new incident got id %d; want the deleted %d again", reused[0], ids[1])
	}
	if got, n := searchIDs(t, st, "new 0"); !slices.Equal(got, reused) || n != 1 {
		t.Errorf("search for the reused id: %v, %d open; want %v", got, n, reused)
	}
	if got, _ := searchIDs(t, st, "old 1"); len(got) != 0 {
		t.Errorf("the deleted incident is still found: %v", got)
	}
	mustIndexMatchTable(t, st)
}

// TestMigrateSearchIndexedInBatches upgrades a version-26 database, whose
// search index holds every incident, to 27: upto is the newest incident,
// so nothing waits and the search finds them from the index; the next
// incidents wait as they would have.
func TestMigrateSearchIndexedInBatches(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db := mustVersion(t, path, 26)
	for i := 1; i <= 3; i++ {
		if _, err := db.ExecContext(ctx, `INSERT INTO incidents (id, state, priority, impact, urgency, title, correlation_key,
			opened_at, updated_at, last_event_at) VALUES (?, 'open', 2, 'high', 'medium', ?, ?, 1, 2, 2)`,
			i*10, fmt.Sprintf("disk full %d", i), fmt.Sprintf("k%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	st := mustUpgrade(t, db, path)
	if upto, indexed := searchState(t, st); upto != 30 || indexed != 3 || st.searchBehind != 0 {
		t.Fatalf("after the upgrade: upto %d, %d indexed, %d behind; want 30, 3, 0", upto, indexed, st.searchBehind)
	}
	mustIndexMatchTable(t, st)
	if got, n := searchIDs(t, st, "disk full"); !slices.Equal(got, []int64{30, 20, 10}) || n != 3 {
		t.Errorf("search after the upgrade: %v, %d open; want [30 20 10], 3", got, n)
	}
	ids := createSearchIncidents(t, st, "disk full", 1)
	if upto, indexed := searchState(t, st); upto != 30 || indexed != 3 || st.searchBehind != 1 {
		t.Fatalf("the next incident: upto %d, %d indexed, %d behind; want 30, 3, 1", upto, indexed, st.searchBehind)
	}
	if got, _ := searchIDs(t, st, "disk full"); !slices.Equal(got, []int64{ids[0], 30, 20, 10}) {
		t.Errorf("search with one waiting: %v; want [%d 30 20 10]", got, ids[0])
	}
}
