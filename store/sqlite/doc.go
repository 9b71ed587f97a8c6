// Package sqlite is the embedded SQLite store (modernc.org/sqlite, pure Go, so
// the binary stays static). It runs in WAL mode with synchronous=FULL so a
// committed transaction survives a crash or power loss, foreign keys on, a
// busy timeout, one writer connection and a separate pool of read-only
// connections. It implements incident.Store and the read side the API needs.
package sqlite
