package sqlite

import (
	"context"
	"testing"

	"github.com/alertbridge/alertbridge/internal/dirtemplate"
)

// migrated is an empty store, migrated once per test process.
var migrated = dirtemplate.New(func(dir string) error {
	st, err := Open(context.Background(), dir)
	if err != nil {
		return err
	}
	return st.Close()
}, LockFileName)

// MigratedDir returns a new storage directory, removed when t ends,
// holding an empty store already migrated (package dirtemplate says why).
// Tests of migrations, and of what a first open does, open
// t.TempDir() instead.
func MigratedDir(t testing.TB) string {
	t.Helper()
	return migrated.Dir(t)
}
