package sqlite

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReadersStayOpen: bursts of as many concurrent reads as the pool
// allows, as a /metrics scrape's collectors make, open each reader once;
// none is closed after a burst and opened again by the next, which read
// the schema and applied the pragmas again for every scrape.
func TestReadersStayOpen(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	n := st.r.Stats().MaxOpenConnections
	if n < 2 {
		t.Fatalf("the read pool allows %d connections; the check needs bursts of several", n)
	}
	for burst := range 3 {
		// Every read holds its connection until all have one.
		var held, release sync.WaitGroup
		held.Add(n)
		release.Add(1)
		errs := make(chan error, n)
		for range n {
			go func() {
				rows, err := st.r.QueryContext(ctx, `SELECT id FROM incidents LIMIT 1`)
				held.Done()
				if err != nil {
					errs <- err
					return
				}
				release.Wait()
				errs <- rows.Close()
			}()
		}
		held.Wait()
		release.Done()
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		s := st.r.Stats()
		if s.MaxIdleClosed != 0 || s.OpenConnections != n {
			t.Fatalf("after burst %d of %d reads: %d readers open, %d closed for want of idle room; want %d open, none closed",
				burst+1, n, s.OpenConnections, s.MaxIdleClosed, n)
		}
	}
}

// TestKeptStatementsHoldNoSnapshot: a read through a kept statement, whether
// it read one row, some of its rows or none, leaves its reader without a
// snapshot once its rows are closed, so a checkpoint after a later write
// copies every frame. A statement left stepping would pin the reader at the
// WAL's frames before the write.
func TestKeptStatementsHoldNoSnapshot(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	t1 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	if err := writeBigEvents(ctx, st, 0, 20, t1); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n); err != nil || n != 20 {
		t.Fatalf("count: %d, %v; want 20", n, err)
	}
	some, err := st.r.QueryContext(ctx, `SELECT id FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if !some.Next() {
		t.Fatalf("no first row: %v", some.Err())
	}
	if err := some.Close(); err != nil {
		t.Fatal(err)
	}
	none, err := st.r.QueryContext(ctx, `SELECT id FROM events WHERE id < 0`)
	if err != nil {
		t.Fatal(err)
	}
	if err := none.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(st.r.stmts); got != 3 {
		t.Fatalf("%d statements kept after three queries; want 3", got)
	}

	if err := writeBigEvents(ctx, st, 1, 20, t1.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, log, done, err := checkpoint(ctx, st.ckpt.db.QueryRowContext)
	if err != nil {
		t.Fatal(err)
	}
	if log == 0 || done != log {
		t.Fatalf("checkpoint after the reads and a write copied %d of %d frames; want all, and some", done, log)
	}
}

// TestReadStatementsBounded: past maxReadStmts texts, queries still answer,
// prepared and finalized at each call, and no more statements are kept; a
// query that does not compile is the caller's error either way.
func TestReadStatementsBounded(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	compileErrors(t, st, "empty")
	for i := range maxReadStmts + 10 {
		q := `SELECT ` + strconv.Itoa(i) + ` + ?`
		for range 2 {
			var got int
			if err := st.r.QueryRowContext(ctx, q, 1).Scan(&got); err != nil || got != i+1 {
				t.Fatalf("%s: %d, %v; want %d", q, got, err, i+1)
			}
			rows, err := st.r.QueryContext(ctx, q, 2)
			if err != nil {
				t.Fatal(err)
			}
			if !rows.Next() || rows.Scan(&got) != nil || got != i+2 {
				t.Fatalf("%s with rows: %d, %v; want %d", q, got, rows.Err(), i+2)
			}
			rows.Close()
		}
	}
	if got := len(st.r.stmts); got != maxReadStmts {
		t.Fatalf("%d statements kept; want the bound, %d", got, maxReadStmts)
	}
	compileErrors(t, st, "full")
}

// compileErrors checks that queries that do not compile are their callers'
// errors, with the kept statements as they are (named by state).
func compileErrors(t *testing.T, st *Store, state string) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.r.QueryContext(ctx, `SELEC 1`); err == nil || !strings.Contains(err.Error(), "syntax error") {
		t.Fatalf("%s: a query that does not compile: %v; want its syntax error", state, err)
	}
	var x int
	if err := st.r.QueryRowContext(ctx, `SELECT nosuchcolumn FROM events`).Scan(&x); err == nil || !strings.Contains(err.Error(), "no such column") {
		t.Fatalf("%s: a row whose query does not compile: %v; want its error", state, err)
	}
}

// TestReadTxRunsKeptStatementsInItsSnapshot: a read transaction runs a
// kept statement on its own reader, so it sees the transaction's snapshot,
// not a write committed since, and a text it meets unkept is prepared for
// the next call.
func TestReadTxRunsKeptStatementsInItsSnapshot(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	t1 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	if err := writeBigEvents(ctx, st, 0, 5, t1); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT COUNT(*) FROM events WHERE received_at >= ?`
	tx, err := st.r.beginRead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	count := func(what string) int {
		t.Helper()
		var n int
		if err := tx.QueryRowContext(ctx, q, 0).Scan(&n); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return n
	}
	if n := count("unkept"); n != 5 {
		t.Fatalf("unkept: %d events; want 5", n)
	}
	waitKept(t, st, q)
	if err := writeBigEvents(ctx, st, 1, 5, t1.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := count("kept, after a write"); n != 5 {
		t.Fatalf("kept, after a write committed since the transaction began: %d events; want the snapshot's 5", n)
	}
	rows, err := tx.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if !rows.Next() || rows.Scan(&n) != nil || n != 5 {
		t.Fatalf("kept, with rows: %d, %v; want 5", n, rows.Err())
	}
	rows.Close()
}

// TestReadTxsHoldingEveryReader: read transactions holding every reader
// each meet a text not kept yet; none waits for a reader to prepare it.
func TestReadTxsHoldingEveryReader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st := mustOpenStore(t)
	n := st.r.Stats().MaxOpenConnections
	txs := make([]readTx, n)
	for i := range txs {
		tx, err := st.r.beginRead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() //nolint:errcheck // read only
		txs[i] = tx
	}
	for i, tx := range txs {
		var got int
		q := `SELECT ` + strconv.Itoa(i) + ` + ?`
		if err := tx.QueryRowContext(ctx, q, 1).Scan(&got); err != nil || got != i+1 {
			t.Fatalf("%s in transaction %d of %d, every reader held: %d, %v; want %d", q, i+1, n, got, err, i+1)
		}
	}
	for _, tx := range txs {
		tx.Rollback() //nolint:errcheck // read only
	}
	for i := range txs {
		waitKept(t, st, `SELECT `+strconv.Itoa(i)+` + ?`)
	}
}

// waitKept waits for the read pool to keep q, prepared in the background.
func waitKept(t *testing.T, st *Store, q string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		st.r.mu.Lock()
		_, ok := st.r.stmts[q]
		st.r.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not kept after 5 s", q)
		}
	}
}
