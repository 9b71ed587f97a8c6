// Package stale is the one query both backends (store/sqlite,
// store/postgres) run for Tx.StaleAlerts: the firing alerts of incidents
// not seen since a time, that resolve_timeout resolves.
//
// It imports incident and database/sql only: never a backend, app or api.
package stale
