package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// TestMigrateCommand: status on a fresh directory lists every migration,
// up applies them, status then says up to date; a database a newer binary
// migrated is refused with what to do.
func TestMigrateCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	code, out, errOut := runCLI(ctx, "migrate", "--storage.path", dir, "status")
	if code != 0 || !strings.Contains(out, "schema version 0") || !strings.Contains(out, "0001_initial.sql") {
		t.Fatalf("status of an empty directory: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(ctx, "migrate", "--storage.path", dir, "up")
	if code != 0 || !strings.Contains(out, "applied 0001_initial.sql") || !strings.Contains(out, "up to date") {
		t.Fatalf("up: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(ctx, "migrate", "--storage.path", dir, "status")
	if code != 0 || !strings.Contains(out, "up to date") || strings.Contains(out, "pending") {
		t.Fatalf("status after up: %d %q", code, out)
	}
	code, out, _ = runCLI(ctx, "migrate", "--storage.path", dir, "up")
	if code != 0 || strings.Contains(out, "applied") {
		t.Errorf("up when up to date: %d %q", code, out)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, _ = runCLI(ctx, "migrate", "--storage.path", dir, "status")
	if code != 1 || !strings.Contains(out, "schema version 999") || !strings.Contains(out, "restore a backup") {
		t.Errorf("status of a newer schema: %d %q", code, out)
	}
	code, _, errOut = runCLI(ctx, "migrate", "--storage.path", dir, "up")
	if code != 1 || !strings.Contains(errOut, "newer alertbridge") {
		t.Errorf("up on a newer schema: %d %q", code, errOut)
	}
	if code, _, _ := runCLI(ctx, "migrate", "--storage.path", dir, "down"); code != 2 {
		t.Errorf("migrate down: exit %d, want 2", code)
	}
}

// TestMigrateCommandPostgres: the same on a fresh PostgreSQL schema.
func TestMigrateCommandPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.MustPostgresSchema(t)
	code, out, errOut := runCLI(ctx, "migrate", "--storage.dsn", dsn, "status")
	if code != 0 || !strings.Contains(out, "schema version 0") || !strings.Contains(out, "pending") {
		t.Fatalf("status of an empty schema: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(ctx, "migrate", "--storage.dsn", dsn, "up")
	if code != 0 || !strings.Contains(out, "applied ") {
		t.Fatalf("up: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(ctx, "migrate", "--storage.dsn", dsn, "status")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("status after up: %d %q", code, out)
	}
}
