package ingest

import (
	"errors"
	"io"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// This file bounds the memory that request bodies hold. A body gets memory
// only as its bytes arrive, never as its Content-Length announces them: a
// thousand clients that each announce 10 MiB and send nothing cost next to
// nothing. All bodies in flight share one budget; a request whose next
// piece does not fit is refused at once, rather than queued, so that a
// flood of slow senders can neither exhaust the memory nor make the
// requests behind it wait.

// bodyStep is the first piece of memory a body gets, and the least that is
// taken from the budget at a time.
const bodyStep = 32 << 10

// errOverBudget means the bodies in flight already hold all of
// MaxInflightBodyBytes. The sender should retry: the memory frees as
// requests finish.
var errOverBudget = errors.New("too many request bodies in flight, retry")

// budget is the memory that the bodies of the requests in flight may hold
// together.
type budget struct {
	limit int64
	used  atomic.Int64
	// gauge mirrors used, as alertbridge_ingest_inflight_body_bytes.
	gauge prometheus.Gauge
}

func newBudget(limit int64, gauge prometheus.Gauge) *budget {
	return &budget{limit: limit, gauge: gauge}
}

// tryAcquire takes n bytes if they fit, without waiting.
func (b *budget) tryAcquire(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			b.gauge.Add(float64(n))
			return true
		}
	}
}

func (b *budget) release(n int64) {
	if n != 0 {
		b.used.Add(-n)
		b.gauge.Add(-float64(n))
	}
}

// held is what one request holds of the budget; release gives it all back
// when the request is answered.
type held struct {
	b *budget
	n int64
}

func (h *held) take(n int64) bool {
	if !h.b.tryAcquire(n) {
		return false
	}
	h.n += n
	return true
}

func (h *held) give(n int64) {
	h.b.release(n)
	h.n -= n
}

func (h *held) release() { h.give(h.n) }

// minInflightBodyBytes is the least budget that lets one request with a
// body of maxBody bytes through on its own. Reading a body ends with at
// most limit+1 bytes of buffer, and while it grows the old buffer is held
// with the new one: under 2×(limit+1). A compressed body keeps what was
// sent (for its signature) while the decoded body grows: under 3×(limit+1).
func minInflightBodyBytes(maxBody int64) int64 {
	return 3 * (maxBody + 1)
}

// readAll reads r to its end into a buffer that grows with the bytes
// received, taking each piece of it from h before allocating it. It returns
// errTooLong when r holds more than limit bytes (having read limit+1 at
// most), errOverBudget when the budget has no room for the next piece, or
// r's error. hint is the announced length, -1 when unknown: it only keeps
// the last piece from being larger than needed, it never makes one larger
// than what has arrived warrants.
//
// The buffer doubles, so copying stays linear in the body's size and what
// it holds is never more than twice what has arrived (or bodyStep).
func readAll(r io.Reader, limit, hint int64, h *held) ([]byte, error) {
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, errTooLong
			}
			n := nextCap(int64(cap(buf)), limit, hint)
			if !h.take(n) {
				return nil, errOverBudget
			}
			grown := make([]byte, len(buf), n)
			copy(grown, buf)
			h.give(int64(cap(buf)))
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			if int64(len(buf)) > limit {
				return nil, errTooLong
			}
			return buf, nil
		case err != nil:
			return nil, err
		}
	}
}

// errTooLong is readAll's error for more than limit bytes.
var errTooLong = errors.New("longer than the limit")

// nextCap is the capacity a buffer of capacity cur grows to: double, at
// least bodyStep, at most limit+1 (one byte over the limit tells that it is
// exceeded), and at most hint+1 while the hint is ahead (one byte over the
// announced length sees the end without growing again).
func nextCap(cur, limit, hint int64) int64 {
	n := max(bodyStep, 2*cur)
	if hint >= 0 && hint+1 > cur {
		n = min(n, hint+1)
	}
	return min(n, limit+1)
}
