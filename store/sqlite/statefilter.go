package sqlite

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
)

// The alert states' filter. Every event starts with a lookup of its
// alert's state by (source, fingerprint); in a storm of new alerts the
// dedupe cache cannot hold them, so each was a search of the states' key
// that found nothing: a tenth of the writer's time on new alerts. A Bloom
// filter of every key in alert_states answers most of those misses in
// memory: a key it has never seen has no state. It says "maybe" for every
// key it has seen, and for about 1% of the others; then the lookup reads,
// as before.
//
// It never misses a key that has a state:
//   - it is made before the store's writer runs, and then filled from
//     alert_states (build, in chunks beside the writer): every state
//     stored by then is read;
//   - every state the writer puts from then on is added as it is put
//     (PutAlertState), committed or not: no state is written any other
//     way (TestStatesOnlyWrittenByTheUpsert);
//   - it is consulted only once build has read the whole table.
//
// States retention deletes stay in it: they only make it say "maybe"
// more often. It is sized for four times the alerts numbered at open
// (every state has its own number; at least 2^20 keys, 1.2 MB); past
// that many keys added its false positives rise, and a restart sizes it
// afresh.
type stateFilter struct {
	mu    sync.Mutex
	f     *bloom.BloomFilter
	ready bool   // build has read every state stored before the filter was made
	buf   []byte // a key's bytes, reused under mu
	// skipped counts the lookups answered without a read, for tests.
	skipped int64
}

// stateFilterChunk is how many keys one statement of build reads.
var stateFilterChunk = 10_000

// stateFilterChunkRead, when set (tests), is called after each chunk build
// has added, before it reads the next.
var stateFilterChunkRead func(*stateFilter)

func newStateFilter(numbered int64) *stateFilter {
	n := uint(max(1<<20, 4*numbered))
	return &stateFilter{f: bloom.NewWithEstimates(n, 0.01)}
}

func (sf *stateFilter) key(k alertKey) []byte {
	sf.buf = append(append(append(sf.buf[:0], k.source...), 0), k.fingerprint...)
	return sf.buf
}

// add notes that k has (or may have) a state.
func (sf *stateFilter) add(k alertKey) {
	if sf == nil {
		return
	}
	sf.mu.Lock()
	sf.f.Add(sf.key(k))
	sf.mu.Unlock()
}

// absent reports whether k surely has no state.
func (sf *stateFilter) absent(k alertKey) bool {
	if sf == nil {
		return false
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if !sf.ready || sf.f.Test(sf.key(k)) {
		return false
	}
	sf.skipped++
	return true
}

// build adds every key of alert_states, read through q in chunks in key
// order (each chunk its own statement, so no read holds the WAL back for
// long), and then makes the filter answer. It gives up when stop closes
// or a read fails: the filter then never answers, and every lookup reads.
func (sf *stateFilter) build(ctx context.Context, q queryer, stop <-chan struct{}) {
	start := time.Now()
	total, built, err := sf.fill(ctx, q, stop)
	switch {
	case err != nil:
		slog.Warn("alert states' filter not built: every lookup reads", "err", err)
	case built:
		slog.Debug("alert states' filter built", "states", total, "took", time.Since(start))
	}
}

// fill adds the keys chunk by chunk, and makes the filter ready once a
// chunk comes back short; it reports how many keys it read and whether it
// got that far.
func (sf *stateFilter) fill(ctx context.Context, q queryer, stop <-chan struct{}) (total int, built bool, err error) {
	var source, fp string
	for first := true; ; first = false {
		select {
		case <-stop:
			return total, false, nil
		default:
		}
		query, args := `SELECT source, fingerprint FROM alert_states ORDER BY source, fingerprint LIMIT ?`,
			[]any{stateFilterChunk}
		if !first { // after the last key read, by the key's index
			query = `SELECT source, fingerprint FROM alert_states WHERE (source, fingerprint) > (?, ?)
				ORDER BY source, fingerprint LIMIT ?`
			args = []any{source, fp, stateFilterChunk}
		}
		rows, err := q.QueryContext(ctx, query, args...)
		keys, err := collect(rows, err, "read alert states' keys", func(sc scanner) (alertKey, error) {
			err := sc.Scan(&source, &fp)
			return alertKey{source, fp}, err
		})
		if err != nil {
			return total, false, err
		}
		total += len(keys)
		sf.mu.Lock()
		for _, k := range keys {
			sf.f.Add(sf.key(k))
		}
		if len(keys) < stateFilterChunk {
			sf.ready = true
		}
		sf.mu.Unlock()
		if stateFilterChunkRead != nil {
			stateFilterChunkRead(sf)
		}
		if len(keys) < stateFilterChunk {
			return total, true, nil
		}
	}
}
