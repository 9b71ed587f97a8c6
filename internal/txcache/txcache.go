package txcache

import (
	"context"
	"fmt"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the counters a Cache reports to; nil fields are not counted.
type Metrics struct {
	Hits, Misses, Evictions prometheus.Counter
}

// Loader reads a key's committed value inside the open transaction; found
// is false when the store has none.
type Loader[K comparable, V any] func(ctx context.Context, key K) (v V, found bool, err error)

// Cache is a bounded LRU of committed values.
type Cache[K comparable, V any] struct {
	lru *lru.Cache[K, V]
	m   Metrics
	// purging is set while Purge empties the LRU: entries dropped on
	// purpose are not evictions, which the metric counts to say the cache
	// is too small.
	purging atomic.Bool
}

// New returns a cache of at most size entries.
func New[K comparable, V any](size int, m Metrics) (*Cache[K, V], error) {
	c := &Cache[K, V]{m: m}
	l, err := lru.NewWithEvict(size, func(K, V) {
		if !c.purging.Load() {
			inc(m.Evictions)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("lru of size %d: %w", size, err)
	}
	c.lru = l
	return c, nil
}

func inc(c prometheus.Counter) {
	if c != nil {
		c.Inc()
	}
}

// Purge empties the cache, for writes that change many entries behind it.
// Purged entries are not counted as evictions.
func (c *Cache[K, V]) Purge() {
	c.purging.Store(true)
	defer c.purging.Store(false)
	c.lru.Purge()
}

// Batch is the cache's view of one transaction.
type Batch[K comparable, V any] struct {
	c      *Cache[K, V]
	load   Loader[K, V]
	staged map[K]V
	// primed are values read ahead in this transaction (Prime), with
	// whether the store had one.
	primed map[K]primed[V]
}

type primed[V any] struct {
	v     V
	found bool
}

// Begin starts a batch whose misses go to load.
func (c *Cache[K, V]) Begin(load Loader[K, V]) *Batch[K, V] {
	return &Batch[K, V]{c: c, load: load, staged: make(map[K]V)}
}

// Get returns the value for key as this transaction sees it.
func (b *Batch[K, V]) Get(ctx context.Context, key K) (V, bool, error) {
	if v, ok := b.staged[key]; ok {
		return v, true, nil
	}
	if v, ok := b.c.lru.Get(key); ok {
		inc(b.c.m.Hits)
		return v, true, nil
	}
	inc(b.c.m.Misses)
	if p, ok := b.primed[key]; ok {
		return p.v, p.found, nil
	}
	return b.load(ctx, key)
}

// Holds reports whether Get answers key without loading it: staged in
// this transaction, or in the cache.
func (b *Batch[K, V]) Holds(key K) bool {
	_, ok := b.staged[key]
	return ok || b.c.lru.Contains(key)
}

// Prime records key's committed value as read in this transaction (found
// false: none stored), for Get to answer a miss with instead of loading
// it. A value staged later wins, as over the cache.
func (b *Batch[K, V]) Prime(key K, v V, found bool) {
	if b.primed == nil {
		b.primed = make(map[K]primed[V])
	}
	b.primed[key] = primed[V]{v, found}
}

// Stage records key's value as of this transaction.
func (b *Batch[K, V]) Stage(key K, v V) { b.staged[key] = v }

// Staged reports whether this transaction staged a value for key: what Get
// answers for it then is not committed, and goes if the transaction rolls
// back.
func (b *Batch[K, V]) Staged(key K) bool {
	_, ok := b.staged[key]
	return ok
}

// Commit publishes the staged values. Call it only once the transaction has
// committed.
func (b *Batch[K, V]) Commit() {
	for k, v := range b.staged {
		b.c.lru.Add(k, v)
	}
}
