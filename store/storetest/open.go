package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for setting up schemas

	"github.com/alertbridge/alertbridge/internal/dirtemplate"
	"github.com/alertbridge/alertbridge/store"
	"github.com/alertbridge/alertbridge/store/postgres"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// The environment the suites that run on either backend read:
// BackendEnv picks it ("sqlite", the default, or "postgres"), PostgresDSNEnv
// names the server (default PostgreSQL on 127.0.0.1:5432 trusting user
// postgres), and RequirePGEnv=1 (CI) makes an unreachable server a failure
// instead of a skip.
const (
	BackendEnv     = "ALERTBRIDGE_TEST_STORE"
	PostgresDSNEnv = "ALERTBRIDGE_TEST_POSTGRES_DSN"
	RequirePGEnv   = "ALERTBRIDGE_REQUIRE_PG"
)

// PostgresDSN is the test server's DSN.
func PostgresDSN() string {
	if dsn := os.Getenv(PostgresDSNEnv); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// MustOpen opens an empty store of the backend BackendEnv names, closed
// (and, for PostgreSQL, its schema dropped) when the test ends: what the
// pipeline and API suites run on, so that they run on either backend.
func MustOpen(t testing.TB) store.Store {
	t.Helper()
	ctx := context.Background()
	if os.Getenv(BackendEnv) != "postgres" {
		s, err := sqlite.Open(ctx, SQLiteDir(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	dsn := MustPostgresSchema(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// migrated is an empty SQLite store, migrated once per test process.
var migrated = dirtemplate.New(func(dir string) error {
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		return err
	}
	return s.Close()
}, sqlite.LockFileName)

// SQLiteDir returns a new storage directory, removed when t ends, holding
// an empty store already migrated: a copy of one migrated once per test
// process (package dirtemplate says why). Tests of what a first open
// does open t.TempDir() instead.
func SQLiteDir(t testing.TB) string {
	t.Helper()
	return migrated.Dir(t)
}

// MustPostgresSchema creates a fresh schema on the test server, dropped
// when the test ends, and returns a DSN whose search path is it. Without
// a server the test is skipped, saying so, unless RequirePGEnv=1.
func MustPostgresSchema(t testing.TB) string {
	t.Helper()
	dsn, drop := NewPostgresSchema(t)
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return dsn
}

// NewPostgresSchema is MustPostgresSchema for a test that opens many
// stores in turn: the caller drops the schema, by calling drop once it has
// closed the store, instead of every schema living until the test ends.
func NewPostgresSchema(t testing.TB) (dsn string, drop func() error) {
	t.Helper()
	admin, err := sql.Open("pgx", PostgresDSN())
	if err == nil {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(c)
		cancel()
	}
	if err != nil {
		if os.Getenv(RequirePGEnv) == "1" {
			t.Fatalf("PostgreSQL unreachable, and %s=1: %v", RequirePGEnv, err)
		}
		t.Skipf("PostgreSQL unreachable (set %s, or %s=1 to fail): %v", PostgresDSNEnv, RequirePGEnv, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "ab_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	drop = func() error {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	u, err := url.Parse(PostgresDSN())
	if err != nil {
		_ = drop()
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop
}
