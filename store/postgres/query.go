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
}

func (r runner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := r.c.ExecContext(ctx, rebind(q), args...)
	return res, r.noted(err)
}

func (r runner) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := r.c.QueryContext(ctx, rebind(q), args...)
	return rows, r.noted(err)
}

func (r runner) queryRow(ctx context.Context, q string, args ...any) scanner {
	return row{row: r.c.QueryRowContext(ctx, rebind(q), args...), note: r.note}
}

func (r runner) noted(err error) error {
	if err != nil && r.note != nil {
		r.note(err)
	}
	return err
}

// row is a *sql.Row whose error, which only Scan returns, is noted.
type row struct {
	row  *sql.Row
	note func(error)
}

func (r row) Scan(dest ...any) error {
	return runner{note: r.note}.noted(r.row.Scan(dest...))
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
