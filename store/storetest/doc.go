// Package storetest is the contract every store backend must pass, run
// against real databases: the Tx semantics the domain relies on (the
// one-active-incident-per-key constraint, newest-owner lookups, round trips,
// rollback) and the read side the API uses.
package storetest
