package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/statsdays"
	"github.com/alertbridge/alertbridge/store/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// maxConns bounds the pool: a replica's one writer and its readers (the
// API, the web UI, the sinks) plus a connection per held lease, well
// inside PostgreSQL's default max_connections of 100 for three replicas.
const maxConns = 20

// Transactions that fail on a serialization failure or a deadlock are
// tried again, at most maxAttempts times in all, after a jittered,
// doubling pause from firstBackoff up to maxBackoff.
const (
	maxAttempts  = 10
	firstBackoff = 5 * time.Millisecond
	maxBackoff   = 500 * time.Millisecond
)

// Store is a PostgreSQL-backed store.
type Store struct {
	db       *sql.DB
	r        runner // reads, on the pool
	location string
	schema   string // where the tables are: scopes the advisory locks

	leaseMu sync.Mutex
	leases  map[*lease]struct{} // held: Close releases them

	// kept is what the stats keep of whole days between calls (the
	// incidents' figures and the noise), each valid while what it counts
	// is unchanged (migration 0010).
	kept keptStats
}

// Open connects to the database dsn names (a postgres:// URL or key=value
// pairs, as libpq takes them) and migrates its schema: the first schema
// of the search path, public unless the DSN sets search_path. Replicas
// starting together migrate once: each takes an advisory lock first. Open
// fails, wrapping migrate.ErrSchemaTooNew, when the schema was migrated by
// a newer binary.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWithPassword(ctx, dsn, "")
}

// OpenWithPassword is Open with the password given apart from the DSN (from
// a file or the environment, so that the DSN itself can be shown); "" keeps
// the DSN's own, or PGPASSWORD's.
func OpenWithPassword(ctx context.Context, dsn, password string) (_ *Store, err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres dsn: %w", err) // pgconn's error hides the password
	}
	if password != "" {
		cfg.Password = password
	}
	loc := location(cfg)
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns / 2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	defer func() {
		if err != nil {
			_ = db.Close() // the error that got us here is the one to report
		}
	}()
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", loc, err)
	}
	if !schema.Valid {
		return nil, fmt.Errorf("open postgres %s: no schema of the search path exists", loc)
	}
	s := &Store{db: db, r: runner{c: db}, location: loc, schema: schema.String, kept: keptStats{days: statsdays.New(), noise: newNoiseDays()}}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate postgres %s: %w", loc, err)
	}
	return s, nil
}

// migrate runs the embedded migrations under a session advisory lock held
// on a connection of its own, so that replicas starting together wait for
// the first and then find nothing left to do. The migrations themselves
// run on other connections of the pool, one transaction each.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Read(migrations, "migrations")
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	key := s.lockKey("migrate", "")
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		discard(conn) // the lock may be held or waited for: end the session
		return fmt.Errorf("lock: %w", err)
	}
	_, err = migrate.Up(ctx, s.db, ms, migrate.Options{Placeholder: func(n int) string { return "$" + strconv.Itoa(n) }})
	if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); uerr != nil {
		discard(conn)
		return errors.Join(err, fmt.Errorf("unlock: %w", uerr))
	}
	_ = conn.Close() // returns it to the pool: nothing to report
	return err
}

// lockKey is the advisory lock key of a named lock of this store's schema:
// a 64-bit hash in alertbridge's own namespace, so that two deployments
// (or two tests) on one database in different schemas never share a lock.
func (s *Store) lockKey(kind, name string) int64 {
	h := fnv.New64a()
	for _, part := range []string{"alertbridge", kind, s.schema, name} {
		h.Write([]byte(part)) //nolint:errcheck // a hash never fails to write
		h.Write([]byte{0})    //nolint:errcheck // a hash never fails to write
	}
	return int64(h.Sum64()) //nolint:gosec // a key is any 64 bits
}

// discard ends a connection's session instead of returning it to the pool:
// what it held (an advisory lock) goes with it.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // makes database/sql close it
}

// location is where cfg points, safe to log: built from its host, port,
// user, database and search path, so that no password (in the URL, a
// parameter or a passfile) can be in it.
func location(cfg *pgx.ConnConfig) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), Path: "/" + cfg.Database}
	if strings.HasPrefix(cfg.Host, "/") {
		u.Host = "" // a Unix socket directory
		u.RawQuery = url.Values{"host": {cfg.Host}}.Encode()
	}
	if cfg.User != "" {
		u.User = url.User(cfg.User)
	}
	if sp := cfg.RuntimeParams["search_path"]; sp != "" {
		q := u.Query()
		q.Set("search_path", sp)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Location is where the data is, without the password (store.Store).
func (s *Store) Location() string { return s.location }

// Close releases the leases still held, then closes the pool.
func (s *Store) Close() error {
	s.leaseMu.Lock()
	held := make([]*lease, 0, len(s.leases))
	for l := range s.leases {
		held = append(held, l)
	}
	s.leaseMu.Unlock()
	var errs []error
	for _, l := range held {
		errs = append(errs, l.Release())
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close postgres %s: %w", s.location, err))
	}
	return errors.Join(errs...)
}

// Update runs fn in one serializable transaction (see doc.go), and runs it
// again, a bounded number of times with backoff, when PostgreSQL aborts
// the transaction for a serialization failure or a deadlock: fn must be
// safe to run more than once, as it is when all it does is through tx.
func (s *Store) Update(ctx context.Context, fn func(incident.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.update(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("transaction failed %d times: %w", attempt, err)
		}
		pause := min(firstBackoff<<(attempt-1), maxBackoff)
		pause = pause/2 + rand.N(pause/2+1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("retry transaction: %w (after %w)", ctx.Err(), err)
		case <-time.After(pause):
		}
	}
}

func (s *Store) update(ctx context.Context, fn func(incident.Tx) error) error {
	lazy := &lazyTx{db: s.db, ctx: ctx, opts: &sql.TxOptions{Isolation: sql.LevelSerializable}}
	defer lazy.rollback()
	t := &tx{lazy: lazy}
	t.r = runner{c: lazy, note: t.note, before: t.before}
	if err := fn(t); err != nil {
		return t.explain(err)
	}
	if err := lazy.commit(ctx); err != nil {
		return t.explain(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// SQLSTATEs of transactions worth running again.
const (
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
	uniqueViolation      = "23505"
)

// retryable reports whether any error in err's tree is PostgreSQL's
// serialization failure or deadlock. It walks the whole tree: errors.As
// would stop at the first PostgreSQL error, which may be another one (a
// statement after the failure finds the transaction aborted).
func retryable(err error) bool {
	switch e := err.(type) { //nolint:errorlint // the walk is the point
	case *pgconn.PgError:
		return e.Code == serializationFailure || e.Code == deadlockDetected
	case interface{ Unwrap() error }:
		return retryable(e.Unwrap())
	case interface{ Unwrap() []error }:
		for _, c := range e.Unwrap() {
			if retryable(c) {
				return true
			}
		}
	}
	return false
}

// mapErr turns a unique-constraint violation into incident.ErrConflict, as
// the SQLite backend does.
func mapErr(op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == uniqueViolation {
		return fmt.Errorf("%s: %w: %w", op, incident.ErrConflict, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// nanos stores a time as Unix nanoseconds; the zero time is NULL.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// MigrationStatus reads the schema version of the database dsn names
// without changing anything: what `alertbridge migrate status` shows.
func MigrationStatus(ctx context.Context, dsn, password string) (migrate.Status, error) {
	ms, err := migrate.Read(migrations, "migrations")
	if err != nil {
		return migrate.Status{}, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return migrate.Status{}, fmt.Errorf("parse postgres dsn: %w", err)
	}
	if password != "" {
		cfg.Password = password
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	var table sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations')::text`).Scan(&table); err != nil {
		return migrate.Status{}, fmt.Errorf("read postgres %s: %w", location(cfg), err)
	}
	return migrate.StatusOf(ctx, db, ms, table.Valid)
}
