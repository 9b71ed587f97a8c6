// Package heartbeatrow is the one mapping between a heartbeat monitor
// (incident.Heartbeat) and its row in the heartbeat_monitors table, which
// both backends share: the same columns, nanosecond times and NULLs, and
// the same statements (PostgreSQL rebinds the placeholders).
//
// It imports incident and database/sql only: never a backend, app or api.
package heartbeatrow
