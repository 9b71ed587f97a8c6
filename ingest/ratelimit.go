package ingest

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is a source's token bucket: RequestsPerSecond tokens are added
// each second, up to Burst; each request takes one. The zero RateLimit means
// no limit.
type RateLimit struct {
	RequestsPerSecond float64
	// Burst defaults to one second's worth of requests, and at least 1.
	Burst int
}

// Buckets are token buckets several replicas share (the PostgreSQL
// store's): TakeToken takes one token of key at now, or returns how long
// until one is due. The bucket refills at perSecond up to burst.
type Buckets interface {
	TakeToken(ctx context.Context, key string, perSecond float64, burst int, now time.Time) (time.Duration, error)
}

// limiter is a source's token bucket: its own, or, with shared buckets,
// the one every replica takes from (its own then serves only while the
// shared one cannot be reached).
type limiter struct {
	l      *rate.Limiter
	shared Buckets
	key    string
	rate   float64
	burst  int
	log    *slog.Logger
}

func newLimiter(rl RateLimit) (*limiter, error) {
	switch {
	case rl == (RateLimit{}):
		return nil, nil
	case !(rl.RequestsPerSecond > 0) || math.IsInf(rl.RequestsPerSecond, 0):
		return nil, errors.New("rate limit: requests per second must be greater than 0")
	case rl.Burst < 0:
		return nil, errors.New("rate limit: burst must not be negative")
	}
	burst := rl.Burst
	if burst == 0 {
		burst = int(math.Max(1, math.Ceil(math.Min(rl.RequestsPerSecond, math.MaxInt32))))
	}
	// The bucket starts full.
	return &limiter{l: rate.NewLimiter(rate.Limit(rl.RequestsPerSecond), burst), rate: rl.RequestsPerSecond, burst: burst}, nil
}

// allow takes a token at now, or returns a *rateLimitedError saying when
// the next one is due. A nil limiter allows everything.
func (lm *limiter) allow(ctx context.Context, now time.Time) error {
	if lm == nil {
		return nil
	}
	if lm.shared != nil {
		wait, err := lm.shared.TakeToken(ctx, lm.key, lm.rate, lm.burst, now)
		switch {
		case err == nil && wait > 0:
			return &rateLimitedError{retryAfter: wait}
		case err == nil:
			return nil
		}
		lm.log.Warn("shared rate limit unreachable: limiting by this replica's own bucket", "source", lm.key, "err", err)
	}
	r := lm.l.ReserveN(now, 1)
	if !r.OK() {
		return &rateLimitedError{retryAfter: time.Second}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // give the token back: this request is not served
		return &rateLimitedError{retryAfter: d}
	}
	return nil
}
