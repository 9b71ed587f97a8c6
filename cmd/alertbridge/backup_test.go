package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alertbridge/alertbridge/store/sqlite"
)

// TestBackupCommand copies a running daemon's database with the CLI and
// reads the incident back from the copy; bad invocations say what is wrong.
func TestBackupCommand(t *testing.T) {
	ctx := context.Background()
	d := mustDaemon(t, daemonOptions{})
	d.mustNotify(t, []string{"alertname"}, labelSet("alertname", "DiskFull", "severity", "critical", "service", "db"))
	dest := filepath.Join(t.TempDir(), "copy.db")
	storage := filepath.Join(d.dir, "data")

	code, out, errOut := runCLI(ctx, "backup", "--storage.path", storage, dest)
	if code != 0 || !strings.Contains(out, "integrity ok") {
		t.Fatalf("backup: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	restored := t.TempDir()
	if err := copyFile(dest, filepath.Join(restored, sqlite.FileName)); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, restored)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inc, err := st.Incident(ctx, 1)
	if err != nil || !strings.Contains(inc.Title, "DiskFull") {
		t.Fatalf("the copy lacks incident 1: %+v, %v", inc, err)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"backup", "--storage.path", storage}, 2, "give one output file"},
		{"existing file", []string{"backup", "--storage.path", storage, dest}, 1, "exists"},
		{"no database", []string{"backup", "--storage.path", t.TempDir(), filepath.Join(t.TempDir(), "x.db")}, 1, "alertbridge backup:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(ctx, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("code %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.want)
			}
		})
	}
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}
