package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// runner runs the backend's queries on the pool or in a transaction. They
// are written with ? placeholders, as the SQLite backend's are, so that the
// two read side by side and compose their conditions alike; rebind numbers
// them. note, when set, sees every error a statement returns.
type runner struct {
	c    queryer
	note func(error)
	// before, when set, sees every statement before it runs.
	before func(q string)
}

func (r runner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if r.before != nil {
		r.before(q)
	}
	res, err := r.c.ExecContext(ctx, rebind(q), args...)
	return res, r.noted(err)
}

func (r runner) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if r.before != nil {
		r.before(q)
	}
	rows, err := r.c.QueryContext(ctx, rebind(q), args...)
	return rows, r.noted(err)
}

func (r runner) queryRow(ctx context.Context, q string, args ...any) scanner {
	if r.before != nil {
		r.before(q)
	}
	if l, ok := r.c.(*lazyTx); ok {
		if err := l.begin(); err != nil {
			return row{err: err, note: r.note}
		}
		if len(l.pending) > 0 {
			return sentRow{l: l, ctx: ctx, q: rebind(q), args: args, note: r.note}
		}
	}
	return row{row: r.c.QueryRowContext(ctx, rebind(q), args...), note: r.note}
}

func (r runner) noted(err error) error {
	if err != nil && r.note != nil {
		r.note(err)
	}
	return err
}

// sentRow is a row read sent with the pending writes before it, in one
// round trip, when it is scanned.
type sentRow struct {
	l    *lazyTx
	ctx  context.Context //nolint:containedctx // scanned at once by the caller
	q    string
	args []any
	note func(error)
}

func (r sentRow) Scan(dest ...any) error {
	return runner{note: r.note}.noted(r.l.send(r.ctx, r.q, r.args, dest))
}

// row is a *sql.Row whose error, which only Scan returns, is noted; or,
// when the transaction could not begin, that error.
type row struct {
	row  *sql.Row
	err  error
	note func(error)
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return runner{note: r.note}.noted(r.err)
	}
	return runner{note: r.note}.noted(r.row.Scan(dest...))
}

// lazyTx is the transaction of one Update, begun at its first statement:
// an Update that runs none (a group of repeats the caches answered) costs
// no BEGIN and COMMIT round trips and takes no pooled connection.
// PostgreSQL takes a transaction's snapshot at its first statement, not
// at BEGIN, so a SERIALIZABLE transaction begun there sees what one begun
// before would.
//
// Writes whose result no caller reads (later) are not sent at once: they
// wait for the next statement and go with it in one round trip, in pgx's
// pipeline on the transaction's own connection (send), or before it, or
// before the commit. Each alert that joins an incident has four (its row,
// its state, its event, the incident's update): four round trips fewer.
// A write that fails aborts the transaction, as it would have at once;
// its error, which names it, is the next statement's.
type lazyTx struct {
	db *sql.DB
	// ctx is the Update's: the transaction lives as long as the Update,
	// not as long as the statement that happened to begin it.
	ctx  context.Context //nolint:containedctx // scoped to one Update call
	opts *sql.TxOptions
	conn *sql.Conn // the pooled connection tx runs on, held until the end
	tx   *sql.Tx
	err  error // the failed BEGIN's or a pending write's: every later statement fails with it
	// pending are the writes waiting for the next statement.
	pending []pendingWrite
}

// pendingWrite is a write sent with the next statement.
type pendingWrite struct {
	what string // names it in its error: "upsert alert"
	q    string // numbered placeholders
	args []any
	one  bool // it must change one row, else it fails (see send)
}

// begin begins the transaction unless it has (or has failed to).
func (l *lazyTx) begin() error {
	if l.tx != nil || l.err != nil {
		return l.err
	}
	conn, err := l.db.Conn(l.ctx)
	if err == nil {
		if l.tx, err = conn.BeginTx(l.ctx, l.opts); err != nil {
			_ = conn.Close() // the error that got us here is the one to report
		} else {
			l.conn = conn
		}
	}
	if err != nil {
		l.err = fmt.Errorf("begin: %w", err)
	}
	return l.err
}

// later queues w, its query not yet numbered, for the next statement (see
// lazyTx).
func (l *lazyTx) later(w pendingWrite) error {
	if err := l.begin(); err != nil {
		return err
	}
	w.q = rebind(w.q)
	l.pending = append(l.pending, w)
	return nil
}

// flush sends the pending writes, if any, in one round trip.
func (l *lazyTx) flush(ctx context.Context) error {
	if len(l.pending) == 0 {
		return nil
	}
	return l.send(ctx, "", nil, nil)
}

// send sends the pending writes and then q (numbered placeholders; none
// when ""), whose one row it scans into dest, in one round trip. The
// first error is returned: a write's, naming it, or q's, pgx.ErrNoRows
// (which is sql.ErrNoRows) when it found none.
//
// A failed write fails every later statement and the commit too (l.err):
// PostgreSQL aborts the transaction on an error, but not when a write that
// must change one row changes none, and a read's caller may take an error
// for "no such row" and go on. So that error wraps no domain error
// (incident.ErrNotFound, incident.ErrConflict) that a caller could take
// for its own read's or its own request's, as SQLite's deferred writes'
// never do (deferredError).
func (l *lazyTx) send(ctx context.Context, q string, args, dest []any) error {
	pending := l.pending
	l.pending = nil
	return l.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("pipelined statements need pgx's connection, not %T", dc)
		}
		b := &pgx.Batch{}
		for _, w := range pending {
			b.Queue(w.q, w.args...)
		}
		if q != "" {
			b.Queue(q, args...)
		}
		br := c.Conn().SendBatch(ctx, b)
		var first error
		for _, w := range pending {
			tag, err := br.Exec()
			switch {
			case first != nil:
			case err != nil:
				// Not mapErr: a unique violation here is the store's
				// fault, not the request's conflict (ErrConflict, which
				// a lone API command would get as a 409, and which the
				// pipeline does not count as the store failing).
				first = fmt.Errorf("%s, sent with the next statement: %w", w.what, err)
			case w.one && tag.RowsAffected() == 0:
				first = fmt.Errorf("%s, sent with the next statement: it changed no row", w.what)
			}
		}
		if first != nil {
			l.err = first
		}
		if q != "" {
			if err := br.QueryRow().Scan(dest...); err != nil && first == nil {
				first = err
			}
		}
		if err := br.Close(); err != nil && first == nil {
			first = err
		}
		return first
	})
}

func (l *lazyTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := l.begin(); err != nil {
		return nil, err
	}
	if err := l.flush(ctx); err != nil {
		return nil, err
	}
	return l.tx.ExecContext(ctx, q, args...)
}

func (l *lazyTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := l.begin(); err != nil {
		return nil, err
	}
	if err := l.flush(ctx); err != nil {
		return nil, err
	}
	return l.tx.QueryContext(ctx, q, args...)
}

// QueryRowContext is called only after begin, and with nothing pending
// (runner.queryRow sends a row read with the pending writes): a *sql.Row
// cannot carry begin's error.
func (l *lazyTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return l.tx.QueryRowContext(ctx, q, args...)
}

// commit sends the pending writes and commits the transaction, if a
// statement began it.
func (l *lazyTx) commit(ctx context.Context) error {
	if l.err != nil {
		return l.err
	}
	if l.tx == nil {
		return nil
	}
	if err := l.flush(ctx); err != nil {
		return err
	}
	return l.tx.Commit()
}

// rollback rolls the transaction back if a statement began it, and returns
// its connection to the pool; after commit, only the latter.
func (l *lazyTx) rollback() {
	l.pending = nil
	if l.tx != nil {
		_ = l.tx.Rollback()
	}
	if l.conn != nil {
		_ = l.conn.Close()
		l.conn = nil
	}
}

// rebind turns the ? placeholders into PostgreSQL's $1, $2, …. No query
// has a ? of its own: none in a literal, and no jsonb operator.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

type scanner interface {
	Scan(dest ...any) error
}

// collect scans every row of a query with scan; err is the query's own, and
// what names the query in errors.
func collect[T any](rows *sql.Rows, err error, what string, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
