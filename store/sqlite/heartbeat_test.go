package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// TestHeartbeatNeedsRoom fills nothing but caps the database at its size,
// as a full disk would leave it: the heartbeat of an idle store must fail,
// and succeed again once there is room.
func TestHeartbeatNeedsRoom(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	heartbeat := func() error {
		return s.Update(ctx, func(tx incident.Tx) error { return tx.Heartbeat(ctx, time.Now()) })
	}
	if err := heartbeat(); err != nil {
		t.Fatal(err)
	}
	wal := filepath.Join(dir, sqlite.FileName+"-wal")
	before := mustSize(t, wal)
	if err := heartbeat(); err != nil {
		t.Fatal(err)
	}
	// The headroom is found, not written: a heartbeat stays a small write,
	// the row's pages, page 1 and, on a store with free pages (a fresh one
	// has those its migrations' table rebuilds and dropped indexes left),
	// the free list's pages it takes and gives back: 4 or 5 as the
	// migrations left them, far from the headroom's HeadroomPages.
	if grew := mustSize(t, wal) - before; grew > 8*(4096+24) {
		t.Errorf("a heartbeat wrote %d bytes to the write-ahead log, want at most 8 pages (its headroom is %d)", grew, sqlite.HeadroomPages)
	}

	if _, err := s.SetMaxPageCount(ctx, 1); err != nil { // never below the current size
		t.Fatal(err)
	}
	for i := range 2 { // every time, not only the first
		if err := heartbeat(); err == nil || !strings.Contains(err.Error(), "database or disk is full") {
			t.Fatalf("heartbeat %d of a full database: err = %v, want database or disk is full", i, err)
		}
	}
	if _, err := s.SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	if err := heartbeat(); err != nil {
		t.Errorf("heartbeat once there is room again: %v", err)
	}
}

func mustSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
