package postgres

import (
	"context"
	"fmt"
	"time"
)

// CountEvents counts the recorded events received in [since, until) (a zero
// bound is open): what Events would list. `rules backtest` says how many it
// will replay before it starts, and reports its progress against it.
func (s *Store) CountEvents(ctx context.Context, since, until time.Time) (int, error) {
	q := `SELECT COUNT(*) FROM events WHERE received_at >= ?`
	args := []any{since.UnixNano()}
	if !until.IsZero() {
		q += ` AND received_at < ?`
		args = append(args, until.UnixNano())
	}
	var n int
	if err := s.r.queryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}
