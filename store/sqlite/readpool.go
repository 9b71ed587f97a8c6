package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxReadStmts bounds the statements the read pool keeps prepared. The
// package's read queries are a few dozen texts; the filtered lists and the
// stats' lists of services add some. A text met once the bound is reached
// is run as before, prepared and finalized at each call.
const maxReadStmts = 256

// readPool is the read-only pool, its queries' statements kept prepared.
//
// The driver prepares a query given to QueryContext, runs it and finalizes
// it, so every read compiled its SQL again against the schema: a fifth of
// an unfiltered page of the incident list on the seeded store (536 against
// 423 µs, BenchmarkIncidentList/all), 8 µs of a problem count's 11.6. A
// *sql.Stmt is prepared on each connection once, the first time it runs
// there, and reset, not finalized, when its rows are closed, so a kept
// statement holds no snapshot between calls and holds back no checkpoint
// (TestKeptStatementsHoldNoSnapshot). The readers stay open (Open's
// SetMaxIdleConns), so their statements stay prepared too. The reads in a
// read transaction (the stats) still prepare theirs.
type readPool struct {
	*sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newReadPool(db *sql.DB) *readPool {
	return &readPool{DB: db, stmts: make(map[string]*sql.Stmt)}
}

// stmt returns q's kept statement, preparing it the first time; nil once
// the bound is reached and q is not kept.
func (p *readPool) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	p.mu.Lock()
	st, ok := p.stmts[q]
	full := len(p.stmts) >= maxReadStmts
	p.mu.Unlock()
	if ok || full {
		return st, nil
	}
	st, err := p.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if kept, ok := p.stmts[q]; ok {
		// Another call prepared it meanwhile.
		st.Close()
		return kept, nil
	}
	if len(p.stmts) >= maxReadStmts {
		st.Close()
		return nil, nil
	}
	p.stmts[q] = st
	return st, nil
}

// QueryContext runs q on a reader with its kept statement.
func (p *readPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return p.DB.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs q on a reader with its kept statement. An error
// preparing q is the row's, as with database/sql.
func (p *readPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, q)
	if err != nil || st == nil {
		// The driver reports the same error again, in the row.
		return p.DB.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// Close closes the kept statements, then the pool.
func (p *readPool) Close() error {
	p.mu.Lock()
	for q, st := range p.stmts {
		st.Close()
		delete(p.stmts, q)
	}
	p.mu.Unlock()
	return p.DB.Close()
}
