package ingest

import (
	"errors"
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

// limiter is a source's token bucket.
type limiter struct{ l *rate.Limiter }

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
	return &limiter{l: rate.NewLimiter(rate.Limit(rl.RequestsPerSecond), burst)}, nil
}

// allow takes a token at now, or returns a *rateLimitedError saying when
// the next one is due. A nil limiter allows everything.
func (lm *limiter) allow(now time.Time) error {
	if lm == nil {
		return nil
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
