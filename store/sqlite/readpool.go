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
// SetMaxIdleConns), so their statements stay prepared too. Read
// transactions (the stats, an incident's alert history) run the kept
// statements on their reader (readTx).
type readPool struct {
	*sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	// preparing are the texts a read transaction met unkept, being
	// prepared in the background (readTx.kept).
	preparing map[string]bool
}

func newReadPool(db *sql.DB) *readPool {
	return &readPool{DB: db, stmts: make(map[string]*sql.Stmt), preparing: make(map[string]bool)}
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

// readTx is a read transaction on one of the pool's readers that runs the
// pool's kept statements on that reader.
type readTx struct {
	*sql.Tx
	p *readPool
}

// beginRead begins a read-only transaction whose queries use the kept
// statements.
func (p *readPool) beginRead(ctx context.Context) (readTx, error) {
	tx, err := p.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	return readTx{Tx: tx, p: p}, err
}

// kept returns q's kept statement, nil when none is kept yet. A text met
// for the first time is prepared for the next call in the background:
// preparing it here would take a second reader while this transaction
// holds one, and transactions holding every reader would wait for ever.
func (t readTx) kept(q string) *sql.Stmt {
	p := t.p
	p.mu.Lock()
	st, ok := p.stmts[q]
	later := !ok && !p.preparing[q] && len(p.stmts) < maxReadStmts
	if later {
		p.preparing[q] = true
	}
	p.mu.Unlock()
	if later {
		go func() {
			// A failure is reported by the next call that runs q.
			_, _ = p.stmt(context.Background(), q)
			p.mu.Lock()
			delete(p.preparing, q)
			p.mu.Unlock()
		}()
	}
	return st
}

// QueryContext runs q in the transaction, with its kept statement if any.
func (t readTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.kept(q); st != nil {
		return t.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q in the transaction, with its kept statement if any.
func (t readTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.kept(q); st != nil {
		return t.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}
