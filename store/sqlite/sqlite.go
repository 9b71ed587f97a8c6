package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file inside the storage directory.
const FileName = "alertbridge.db"

// Store is a SQLite-backed store.
type Store struct {
	w *sql.DB // exactly one connection: SQLite has one writer anyway
	// wc is w's connection, held for the store's life: transactions run on
	// it as BEGIN IMMEDIATE ... COMMIT, not as database/sql transactions,
	// which start a goroutine for every query (see Update). wsem is held
	// by whoever runs statements on it.
	wc    *sql.Conn
	wsem  chan struct{}
	stmts map[string]*sql.Stmt // prepared on wc
	// nextAlertNo is the next alert number to give (alertno.go), moved by
	// whoever holds wsem; orphans is whether alert_orphans may have rows.
	nextAlertNo int64
	orphans     bool
	r           *readPool // read-only pool for the API
	path        string
	lock        *dirLock // nil for OpenReadOnly

	// searchBehind is how many incidents wait for the search index, and
	// searchBatch how many may before the writer indexes them
	// (searchindex.go); both are the writer's, moved by whoever holds wsem.
	searchBehind, searchBatch int

	leaseMu sync.Mutex
	leases  map[string]bool // the leases held (lease.go)

	walCheckedAt atomic.Int64  // Unix nanoseconds of the last look at the WAL's size (wal.go)
	ckpt         *checkpointer // runs the checkpoints beside the writer (wal.go)

	kept keptStats // the stats' parts kept between calls (stats.go); none for OpenReadOnly
	// keys is the index of the alert states' keys (statekeys.go); nil
	// for OpenReadOnly.
	keys *stateKeys
	// statsSlots bounds the stats calls reading at once to half the read
	// pool (nil: no bound), so that calls waiting for days another reads
	// (at start, while PrimeStats runs) do not hold every read connection
	// and stall the list, the detail and /metrics behind them.
	statsSlots chan struct{}

	// followStop ends the goroutine that keeps the kept edges of the
	// filtered stats current (followEdges), which closes followDone;
	// closeOnce makes a second Close a no-op.
	followStop, followDone chan struct{}
	closeOnce              sync.Once
	closeErr               error
}

// Open opens (creating if needed) the database in dir and runs migrations.
// It first takes an exclusive lock on dir's lock file (LockFileName), held
// until Close, and fails with ErrLocked, before creating or migrating
// anything, when another store holds it.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create storage dir %s: %w", dir, err)
	}
	return OpenFile(ctx, filepath.Join(dir, FileName))
}

// OpenScratch opens a throwaway database in dir for replays (rules test,
// backtest): nothing in it must survive a crash, so it skips fsync.
func OpenScratch(ctx context.Context, dir string) (*Store, error) {
	return openFile(ctx, filepath.Join(dir, FileName), "OFF")
}

// OpenFile opens the database file at path and runs migrations, holding the
// lock of the directory it is in as Open does.
func OpenFile(ctx context.Context, path string) (*Store, error) {
	return openFile(ctx, path, "FULL")
}

func openFile(ctx context.Context, path, synchronous string) (_ *Store, err error) {
	// The lock comes first: a second daemon must not so much as create the
	// WAL files of a database another one is writing.
	lock, err := lockDir(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = lock.release() // the error that got us here is the one to report
		}
	}()
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+synchronous+")")
		q.Add("_pragma", "foreign_keys(1)")
		// After a checkpoint has restarted the WAL, truncate its file back
		// to this size: one burst of writes must not leave it large.
		q.Add("_pragma", "journal_size_limit("+strconv.FormatInt(walLimit, 10)+")")
		for i := 0; i+1 < len(extra); i += 2 {
			q.Add(extra[i], extra[i+1])
		}
		return "file:" + path + "?" + q.Encode()
	}
	if err := migrateFile(ctx, path, dsn()); err != nil {
		return nil, err
	}
	// The writer keeps statement journals in memory (temp_store): a
	// statement that may fail halfway (an insert whose triggers write other
	// tables) first copies each page it changes to one, and once a large
	// transaction had spilled it to a temporary file, every such statement
	// wrote there, 15% of the writer's CPU on new alerts. Its page cache is
	// 64 MiB, not 2: a transaction of new alerts dirties more pages than 2
	// MiB holds and spilled them to the WAL before its commit, and the
	// indexes keyed by fingerprint take each new alert to pages all over
	// them, which a larger cache more often holds as the store grows
	// (issue 13; docs/performance.md). Migrations run before, on their own
	// connection, so that building an index over a large table sorts on
	// disk.
	// SQLite's automatic checkpoint is off on it: a goroutine runs them
	// beside it (wal.go).
	w, err := sql.Open("sqlite", dsn("_pragma", "temp_store(2)", "_pragma", "cache_size(-65536)", "_pragma", "wal_autocheckpoint(0)"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	wc, err := w.Conn(ctx)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	stmts, err := prepare(ctx, wc)
	if err != nil {
		wc.Close()
		w.Close()
		return nil, err
	}
	highest, orphans, err := readAlertNumbers(ctx, wc)
	if err != nil {
		wc.Close()
		w.Close()
		return nil, err
	}
	if err := noteDeletedStates(ctx, wc); err != nil {
		wc.Close()
		w.Close()
		return nil, err
	}
	behind, err := readSearchBehind(ctx, wc)
	if err != nil {
		wc.Close()
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn("_pragma", "query_only(1)"))
	if err != nil {
		wc.Close()
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Read by readers, whose small page caches the read recycles: the
	// writer's would keep the table's pages, allocating each.
	keys, err := buildStateKeys(ctx, r, highest)
	if err != nil {
		r.Close()
		wc.Close()
		w.Close()
		return nil, err
	}
	// The checkpoints' connection writes only the database file, from the
	// WAL, with the same synchronous setting as the writer.
	cdb, err := sql.Open("sqlite", dsn())
	if err != nil {
		r.Close()
		wc.Close()
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	cdb.SetMaxOpenConns(1)
	cdb.SetConnMaxIdleTime(0)
	cdb.SetConnMaxLifetime(0)
	readConns := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readConns)
	// Every reader stays open once opened. database/sql keeps two idle by
	// default and closed the others after each burst of concurrent reads
	// (a /metrics scrape's collectors run at once): the next burst opened
	// them again, each reading the schema and applying its pragmas: 14% of
	// the daemon's CPU in a profile of idle scrapes, the schema nearly all
	// of it. An idle reader holds no snapshot, so it holds back no
	// checkpoint.
	r.SetMaxIdleConns(readConns)
	s := &Store{w: w, wc: wc, wsem: make(chan struct{}, 1), stmts: stmts, nextAlertNo: highest + 1, orphans: orphans,
		searchBehind: behind, searchBatch: defaultSearchBatch, r: newReadPool(r), path: path, lock: lock, kept: newKeptStats(),
		statsSlots: make(chan struct{}, readConns/2), followStop: make(chan struct{}), followDone: make(chan struct{}),
		ckpt: newCheckpointer(cdb), keys: keys}
	go s.followEdges()
	return s, nil
}

// migrateFile brings the database at path to this binary's schema, on a
// connection of its own (dsn).
func migrateFile(ctx context.Context, path, dsn string) error {
	ms, err := migrate.Read(migrations, "migrations")
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := migrate.Up(ctx, db, ms, migrate.Options{}); err != nil {
		return fmt.Errorf("migrate sqlite %s: %w", path, err)
	}
	return db.Close()
}

// ErrReadOnly is returned by Update on a store opened with OpenReadOnly.
var ErrReadOnly = errors.New("store is read-only")

// OpenReadOnly opens an existing database for reading only: no migrations,
// no writes, no WAL checkpoint on close. It is how tools (backtest) look at a
// running daemon's database without disturbing it. The schema must be the
// one this binary writes.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("mode", "ro")
	if _, err := os.Stat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		// No write-ahead log: the daemon is stopped (its last close
		// checkpointed and removed it). Reading it as immutable creates no
		// -wal or -shm files, which would otherwise appear owned by whoever
		// ran the tool and could lock out a daemon running as another user.
		q.Add("immutable", "1")
	}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	ms, err := migrate.Read(migrations, "migrations")
	if err != nil {
		r.Close()
		return nil, err
	}
	var version sql.NullInt64
	if err := r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil {
		r.Close()
		return nil, fmt.Errorf("read schema version of %s: %w", path, err)
	}
	if want := int64(ms[len(ms)-1].Version); version.Int64 != want {
		r.Close()
		return nil, fmt.Errorf("%s has schema version %d, this binary reads %d", path, version.Int64, want)
	}
	return &Store{r: newReadPool(r), path: path}, nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Location is the database file's path (store.Store).
func (s *Store) Location() string { return s.path }

// Close closes both pools, then releases the storage lock. A WAL
// checkpoint happens on the last close, before the lock goes, so that the
// next daemon finds the database at rest.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	if s.followStop != nil {
		close(s.followStop)
		<-s.followDone
	}
	var cerr error
	if s.ckpt != nil {
		cerr = s.ckpt.close()
	}
	for _, st := range s.stmts {
		st.Close()
	}
	rerr := s.r.Close()
	if rerr == nil {
		rerr = cerr
	}
	if s.w == nil {
		return rerr
	}
	werr := s.wc.Close()
	if err := s.w.Close(); werr == nil {
		werr = err
	}
	lerr := s.lock.release()
	switch {
	case werr != nil:
		return fmt.Errorf("close sqlite %s: %w", s.path, werr)
	case rerr != nil:
		return fmt.Errorf("close sqlite %s: %w", s.path, rerr)
	case lerr != nil:
		return fmt.Errorf("release storage lock of %s: %w", s.path, lerr)
	}
	return nil
}

// Update runs fn in one write transaction, on the writer's connection:
// BEGIN IMMEDIATE at fn's first statement (see tx.begin), COMMIT after
// it, ROLLBACK when fn or the commit fails. database/sql's own
// transactions would start a goroutine to watch every query's context and
// the transaction's; here ctx is checked before each statement and before
// the commit instead (see tx.quiet), and a wait for the connection ends
// with ctx as before.
func (s *Store) Update(ctx context.Context, fn func(incident.Tx) error) error {
	if s.w == nil {
		return ErrReadOnly
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	t := newTx(s.w, s.wc, s.stmts, alertNumbers{next: &s.nextAlertNo, orphansLeft: &s.orphans})
	t.keys = s.keys
	defer t.rollback()
	if err := fn(t); err != nil {
		if t.wb.err != nil {
			// A held or deferred write failed first: that is the cause,
			// and what fn saw of it (a failed row's context.Canceled)
			// is not; nor is a domain error after it one of fn's.
			return fmt.Errorf("%w (then: %v)", t.wb.err, err) //nolint:errorlint // fn's error is not the cause
		}
		return err
	}
	if err := t.keepUnstated(ctx); err != nil {
		return err
	}
	// The incidents held back, and a held write or begin that failed even
	// if the caller went on.
	if err := t.flush(ctx); err != nil {
		return err
	}
	if !t.begun {
		return nil // no statement ran: nothing to commit
	}
	// The incidents waiting for the search index are indexed in this
	// transaction once searchBatch of them wait (searchindex.go).
	behind := s.searchBehind + t.created
	if behind >= s.searchBatch {
		if err := t.indexSearch(ctx); err != nil {
			return err
		}
		behind = 0
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if _, err := s.wc.ExecContext(context.WithoutCancel(ctx), "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err) // t.rollback ends what is left of it
	}
	t.begun = false
	s.searchBehind = behind
	t.forgetDeleted()
	s.boundWAL(ctx)
	s.afterCommit(ctx)
	return nil
}

// acquire takes the writer's connection for one caller, or fails with
// ctx's error while another holds it.
func (s *Store) acquire(ctx context.Context) error {
	select {
	case s.wsem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) release() { <-s.wsem }

// prepare prepares the writer's statements on its one connection. It must
// run outside any transaction: with one connection, preparing inside one
// would wait for itself.
func prepare(ctx context.Context, w *sql.Conn) (map[string]*sql.Stmt, error) {
	stmts := make(map[string]*sql.Stmt, len(writerQueries))
	for _, q := range writerQueries {
		st, err := w.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		stmts[q] = st
	}
	return stmts, nil
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

// MigrationStatus reads the schema version of the database in dir without
// changing anything (a running daemon is not disturbed): what `alertbridge
// migrate status` shows.
func MigrationStatus(ctx context.Context, dir string) (migrate.Status, error) {
	ms, err := migrate.Read(migrations, "migrations")
	if err != nil {
		return migrate.Status{}, err
	}
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return migrate.StatusOf(ctx, nil, ms, false)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(10000)", "query_only(1)"}}.Encode())
	if err != nil {
		return migrate.Status{}, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	defer r.Close()
	var n int
	if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return migrate.Status{}, fmt.Errorf("read %s: %w", path, err)
	}
	return migrate.StatusOf(ctx, r, ms, n > 0)
}
