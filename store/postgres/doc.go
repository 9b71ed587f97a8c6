// Package postgres is the PostgreSQL store, for replicas that share one
// database. It implements the same store.Store as store/sqlite, passes the
// same contract (store/storetest), and maps rows the same way: its schema
// (migrations/, embedded, run under an advisory lock) is SQLite's table
// for table, with times in BIGINT Unix nanoseconds.
//
// It uses github.com/jackc/pgx/v5 through database/sql (pgx/v5/stdlib),
// not pgxpool: store/migrate runs on a *sql.DB, and the mapping code reads
// side by side with SQLite's (the same sql.Null* scans and ? queries,
// numbered by rebind). pgx still prepares and caches every statement per
// connection, but for the incident search's, which PostgreSQL must plan
// for each pattern (planEach). What a lease needs, one connection held for its life, is
// database/sql's *sql.Conn.
//
// Isolation: every Update is one SERIALIZABLE transaction. SQLite has one
// writer, so every transaction there sees all before it and nothing
// interleaves; serializable is the level at which PostgreSQL promises the
// same outcome to replicas writing at once. Read committed would let two
// replicas both find no state for one alert and both act on it (each
// statement sees a fresh snapshot, and reads take no locks); repeatable
// read stops lost updates of one row, but not write skew across rows: two
// incidents of one problem signature, each counting the other's absence,
// and neither opening the problem. Serializable also makes the race on a
// correlation key end well: the loser read that no incident held the key
// before inserting one, so PostgreSQL aborts it with a serialization
// failure rather than a unique violation, Update runs it again, and the
// second run finds the winner's incident and joins it. A transaction that
// did not read first (or whose retry still collides) gets the unique
// violation, which is incident.ErrConflict, as in SQLite. Serialization
// failures and deadlocks are retried a bounded number of times with
// jittered backoff; the price of serializable is some such retries under
// contention, cheap next to a duplicate incident. Reads outside Update run
// at read committed (one statement, one snapshot); Stats, which makes
// several, reads one repeatable-read snapshot.
//
// One difference from SQLite remains: after a statement fails, PostgreSQL
// aborts the whole transaction, so fn must return the error (as every
// caller does) rather than carry on in the same transaction.
//
// It must not import store (that package imports this one to open it),
// api or pipeline.
package postgres
