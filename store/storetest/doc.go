// Package storetest is the contract every store backend must pass, run
// against real databases: every method of incident.Tx and every read of
// store.Store, with the edge cases the domain relies on (the
// one-active-incident-per-key constraint and a race for it, the key's
// owner, every clause and bound of the due-work queries, listings paged
// through by their cursors, the stats' figures, the outbox's order).
//
// Records round-trip whole: every field, checked by reflection so that a
// field added to a record fails the contract until it is given a value
// here. Times round-trip to the nanosecond and come back in UTC, whatever
// zone they were written in; a zero time reads back as the zero time.
//
// The contract covers the write side (incident.Tx) and the reads; leases
// are covered for exclusivity and release only (losing a lease with the
// connection needs a backend's own test).
package storetest
