package postgres

import (
	"context"
	"fmt"
	"math"
	"time"
)

// TakeToken takes one token at now from the bucket key, which refills at
// perSecond up to burst and starts full, and which every replica on this
// database shares. It returns 0 when the token was taken, or how long
// until the next one. One statement, outside any transaction: the row's
// lock orders the replicas' takes.
func (s *Store) TakeToken(ctx context.Context, key string, perSecond float64, burst int, now time.Time) (time.Duration, error) {
	const q = `INSERT INTO rate_buckets AS b (key, tokens, updated_at, last_allowed)
		VALUES ($1, $3::float8 - 1, $4, true)
		ON CONFLICT (key) DO UPDATE SET
			tokens = LEAST($3::float8, b.tokens + GREATEST($4 - b.updated_at, 0) / 1e9 * $2::float8)
				- CASE WHEN LEAST($3::float8, b.tokens + GREATEST($4 - b.updated_at, 0) / 1e9 * $2::float8) >= 1 THEN 1 ELSE 0 END,
			updated_at = GREATEST(b.updated_at, $4),
			last_allowed = LEAST($3::float8, b.tokens + GREATEST($4 - b.updated_at, 0) / 1e9 * $2::float8) >= 1
		RETURNING tokens, last_allowed`
	var tokens float64
	var allowed bool
	if err := s.db.QueryRowContext(ctx, q, key, perSecond, float64(burst), now.UnixNano()).Scan(&tokens, &allowed); err != nil {
		return 0, fmt.Errorf("take a token of %s: %w", key, err)
	}
	if allowed {
		return 0, nil
	}
	wait := time.Duration(math.Ceil((1 - tokens) / perSecond * float64(time.Second)))
	return max(wait, time.Millisecond), nil
}
