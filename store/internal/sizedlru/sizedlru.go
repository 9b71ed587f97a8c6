// Package sizedlru is a least-recently-used cache bounded both in entries
// and in the bytes its values hold, for the figures the stores keep
// between calls (the stats' day parts, leading days, filtered days).
package sizedlru

import (
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// LRU is a least-recently-used cache bounded both in entries and in
// the bytes its values hold (as their sizes estimate them). An entry of
// more than maxEntry bytes is not kept. Safe for concurrent use.
type LRU[K comparable, V any] struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[K, sized[V]]
	bytes    int // held now
	budget   int
	maxEntry int
	entries  int
}

type sized[V any] struct {
	v    V
	size int
}

// New makes a cache of at most entries values holding at most
// budget bytes, a quarter of them at most in one entry.
func New[K comparable, V any](entries, budget int) *LRU[K, V] {
	return NewMax[K, V](entries, budget, budget/4)
}

// NewMax is New with one entry holding at most maxEntry
// bytes: more than a quarter for a value the callers share (the day every
// dashboard asks about), at the cost of the others' room.
func NewMax[K comparable, V any](entries, budget, maxEntry int) *LRU[K, V] {
	c := &LRU[K, V]{budget: budget, maxEntry: maxEntry, entries: entries}
	l, err := simplelru.NewLRU(entries, func(_ K, v sized[V]) { c.bytes -= v.size })
	if err != nil { // only for a size below 1
		panic(err)
	}
	c.lru = l
	return c
}

// Get returns the value of k, if kept, and marks it recently used.
func (c *LRU[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.lru.Get(k)
	return v.v, ok
}

// Add keeps v, of size bytes, under k, dropping the least recently used
// entries until the bytes held are within the budget.
func (c *LRU[K, V]) Add(k K, v V, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(k) // an old value of k: its bytes go (the eviction callback)
	if size > c.maxEntry {
		return
	}
	c.lru.Add(k, sized[V]{v, size})
	c.bytes += size
	for c.bytes > c.budget {
		c.lru.RemoveOldest()
	}
}

// AddIfRoom keeps v as Add does, but only when that drops no other
// entry, and reports whether it kept it: a value nobody asked for yet must
// not push out one somebody uses.
func (c *LRU[K, V]) AddIfRoom(k K, v V, size int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, bytes := c.lru.Len(), c.bytes
	if old, ok := c.lru.Peek(k); ok {
		n, bytes = n-1, bytes-old.size
	}
	if size > c.maxEntry || n+1 > c.entries || bytes+size > c.budget {
		return false
	}
	c.lru.Remove(k)
	c.lru.Add(k, sized[V]{v, size})
	c.bytes += size
	return true
}

// Remove forgets k's value, if kept.
func (c *LRU[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(k) // its bytes go (the eviction callback)
}

// Keys returns the keys kept, the least recently used first, without
// marking any used.
func (c *LRU[K, V]) Keys() []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Keys()
}

// Bytes is what the kept values hold, as estimated.
func (c *LRU[K, V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// MaxEntry is the most bytes one entry may hold and be kept.
func (c *LRU[K, V]) MaxEntry() int { return c.maxEntry }

// Budget is the most bytes the kept values may hold.
func (c *LRU[K, V]) Budget() int { return c.budget }
