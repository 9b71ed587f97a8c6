package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrSchemaTooNew means the database was migrated by a newer binary.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// Migration is one embedded SQL file, named NNNN_description.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Read returns the migrations in dir of fsys, sorted by version.
func Read(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	return ms, nil
}

// Options configures Up.
type Options struct {
	// Placeholder renders the n-th (1-based) bind parameter: "?" for SQLite,
	// "$n" for PostgreSQL.
	Placeholder func(n int) string
	// Now stamps applied_at.
	Now func() time.Time
}

// Up applies every migration newer than the database's version and returns
// the versions applied.
func Up(ctx context.Context, db *sql.DB, ms []Migration, o Options) ([]int, error) {
	if o.Placeholder == nil {
		o.Placeholder = func(int) string { return "?" }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var current sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	if n := len(ms); n > 0 && current.Int64 > int64(ms[n-1].Version) {
		return nil, fmt.Errorf("schema version %d, binary knows up to %d: %w", current.Int64, ms[n-1].Version, ErrSchemaTooNew)
	}
	var applied []int
	insert := fmt.Sprintf(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)`,
		o.Placeholder(1), o.Placeholder(2), o.Placeholder(3))
	for _, m := range ms {
		if int64(m.Version) <= current.Int64 {
			continue
		}
		if err := apply(ctx, db, m, insert, o.Now()); err != nil {
			return applied, err
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

func apply(ctx context.Context, db *sql.DB, m Migration, insert string, now time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, insert, m.Version, m.Name, now.UnixNano()); err != nil {
		return fmt.Errorf("record migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration %s: %w", m.Name, err)
	}
	return nil
}

// Status is where a database's schema stands against a binary's
// migrations.
type Status struct {
	// Current is the database's schema version (0: none applied); Latest
	// the newest this binary knows.
	Current, Latest int
	// Pending are the migrations Up would apply, in order.
	Pending []Migration
}

// TooNew reports whether a newer binary migrated the database: this one
// refuses to open it.
func (s Status) TooNew() bool { return s.Current > s.Latest }

// StatusOf reads db's schema version against ms. A database without the
// schema_migrations table must be told apart by the caller (exists false
// reads as version 0).
func StatusOf(ctx context.Context, db *sql.DB, ms []Migration, exists bool) (Status, error) {
	var st Status
	if n := len(ms); n > 0 {
		st.Latest = ms[n-1].Version
	}
	if exists {
		var current sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil {
			return st, fmt.Errorf("read schema version: %w", err)
		}
		st.Current = int(current.Int64)
	}
	for _, m := range ms {
		if m.Version > st.Current {
			st.Pending = append(st.Pending, m)
		}
	}
	return st, nil
}
