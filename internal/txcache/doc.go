// Package txcache is a bounded LRU that only ever learns committed values.
//
// Reads within a transaction go through a Batch: values staged earlier in
// the same transaction first, then the LRU, then the loader (the store,
// inside the transaction). Staged values reach the LRU only on Commit, after
// the transaction committed; a rolled-back Batch is simply dropped. A miss
// always falls through to the loader, so an eviction or a restart never
// changes what a reader sees (invariant 3). dedupe and correlate both build
// on it. It imports only golang-lru and client_golang.
package txcache
