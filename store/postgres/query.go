package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
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
	}
	return row{row: r.c.QueryRowContext(ctx, rebind(q), args...), note: r.note}
}

func (r runner) noted(err error) error {
	if err != nil && r.note != nil {
		r.note(err)
	}
	return err
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
type lazyTx struct {
	db *sql.DB
	// ctx is the Update's: the transaction lives as long as the Update,
	// not as long as the statement that happened to begin it.
	ctx  context.Context //nolint:containedctx // scoped to one Update call
	opts *sql.TxOptions
	tx   *sql.Tx
	err  error // the failed BEGIN's: every later statement fails with it
}

// begin begins the transaction unless it has (or has failed to).
func (l *lazyTx) begin() error {
	if l.tx == nil && l.err == nil {
		if l.tx, l.err = l.db.BeginTx(l.ctx, l.opts); l.err != nil {
			l.err = fmt.Errorf("begin: %w", l.err)
		}
	}
	return l.err
}

func (l *lazyTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := l.begin(); err != nil {
		return nil, err
	}
	return l.tx.ExecContext(ctx, q, args...)
}

func (l *lazyTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := l.begin(); err != nil {
		return nil, err
	}
	return l.tx.QueryContext(ctx, q, args...)
}

// QueryRowContext is called only after begin (runner.queryRow): a
// *sql.Row cannot carry begin's error.
func (l *lazyTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return l.tx.QueryRowContext(ctx, q, args...)
}

// commit commits the transaction if a statement began it.
func (l *lazyTx) commit() error {
	if l.err != nil {
		return l.err
	}
	if l.tx == nil {
		return nil
	}
	return l.tx.Commit()
}

// rollback rolls the transaction back if a statement began it; a no-op
// after commit.
func (l *lazyTx) rollback() {
	if l.tx != nil {
		_ = l.tx.Rollback()
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
