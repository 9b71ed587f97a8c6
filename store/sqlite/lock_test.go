package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// dirState is what a store could have touched in its directory.
type dirState map[string]string // name → size and modification time

func mustDirState(t *testing.T, dir string) dirState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := dirState{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		st[e.Name()] = fmt.Sprintf("%d bytes, modified %s", fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
	}
	return st
}

func TestOneStorePerDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	before := mustDirState(t, dir)

	second, err := sqlite.Open(ctx, dir)
	if err == nil {
		second.Close()
		t.Fatal("a second store opened the directory the first holds")
	}
	if !errors.Is(err, sqlite.ErrLocked) {
		t.Errorf("err = %v, want ErrLocked", err)
	}
	lock := filepath.Join(dir, sqlite.LockFileName)
	for _, want := range []string{"storage path " + dir + " is in use by another alertbridge", "(lock file " + lock} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to say %q", err, want)
		}
	}
	if diff := cmp.Diff(before, mustDirState(t, dir)); diff != "" {
		t.Errorf("the refused open touched the directory (-before +after):\n%s", diff)
	}

	// The holder keeps working.
	if err := first.Update(ctx, func(tx incident.Tx) error {
		return tx.PutAlertState(ctx, incident.AlertState{Fingerprint: "a", Status: incident.StatusFiring, LastSeenAt: time.Now()})
	}); err != nil {
		t.Fatalf("the holder cannot write: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open after the holder closed: %v", err)
	}
	third.Close()
}

// TestLockedBeforeAnythingIsCreated holds the lock as another process
// would, on an empty directory: the refused open must not create the
// database, let alone migrate it.
func TestLockedBeforeAnythingIsCreated(t *testing.T) {
	dir := t.TempDir()
	f, err := os.OpenFile(filepath.Join(dir, sqlite.LockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("4242\n"); err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(context.Background(), dir)
	if !errors.Is(err, sqlite.ErrLocked) || !strings.Contains(err.Error(), "held by pid 4242") {
		t.Errorf("err = %v, want ErrLocked naming pid 4242", err)
	}
	var names []string
	for name := range mustDirState(t, dir) {
		names = append(names, name)
	}
	if diff := cmp.Diff([]string{sqlite.LockFileName}, names); diff != "" {
		t.Errorf("files in the directory (-want +got):\n%s", diff)
	}
}

// TestReadOnlyBesideTheHolder checks that the tools reading a live daemon's
// database (rules explain, rules backtest) are not locked out.
func TestReadOnlyBesideTheHolder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ro, err := sqlite.OpenReadOnly(ctx, filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatalf("OpenReadOnly while a store holds the lock: %v", err)
	}
	defer ro.Close()
	if _, err := ro.Incidents(ctx, incident.IncidentFilter{Limit: 1}); err != nil {
		t.Errorf("read: %v", err)
	}
}
