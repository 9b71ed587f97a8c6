// Package dedupe decides, per alert, whether an event is new, a repeat, a
// resolve, a refire or stale, from the alert's last known state. An alert is
// its source and fingerprint together: one source's events never decide
// about another source's alert with the same fingerprint.
//
// A bounded LRU sits in front of a Lookup (the store). The cache is written
// only after the caller's transaction commits, and a miss always falls through
// to the store, so an eviction or a restart never changes a verdict
// (invariant 3). It imports only incident.
package dedupe
