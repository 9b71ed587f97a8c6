package sqlite

import (
	"context"
	"os"
	"strconv"
	"time"
)

// The WAL's bound. SQLite's automatic checkpoint (every 1000 pages, at
// commit) copies the WAL back into the database but does not wait for
// readers, so while reads overlap one another it may never finish, and
// the WAL is never restarted: it grew to 444 MB in 45 s under a polling
// dashboard (issue 13). Reads are kept short (Stats is one transaction of
// indexed reads; Events reads in chunks), and the writer bounds the WAL
// itself: past walLimit it runs a TRUNCATE checkpoint, which waits for the
// readers of older snapshots, at most walCheckpointWait, and empties the
// file. Variables so that tests can lower them.
var (
	walLimit          int64 = 64 << 20
	walCheckEvery           = time.Second
	walCheckpointWait       = 200 * time.Millisecond
)

// boundWAL runs after a commit, on the writer's connection, which Update
// holds: at most every walCheckEvery it looks at the WAL's size and, past
// walLimit, truncates it. A checkpoint that cannot finish within
// walCheckpointWait (a reader still on an old snapshot) is tried again at
// the next look; its failure fails no write.
func (s *Store) boundWAL(ctx context.Context) {
	now, last := time.Now().UnixNano(), s.walCheckedAt.Load()
	if now-last < int64(walCheckEvery) || !s.walCheckedAt.CompareAndSwap(last, now) {
		return
	}
	fi, err := os.Stat(s.path + "-wal")
	if err != nil || fi.Size() <= walLimit {
		return
	}
	conn := s.wc // Update holds it
	// A checkpoint waits for readers through the busy handler: briefly
	// here, since ingest waits behind it, then as long as before.
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(walCheckpointWait.Milliseconds(), 10)); err != nil {
		return
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA busy_timeout = 10000") //nolint:errcheck // as good as the next Open
	_, _ = conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")                   // busy: the next look tries again
}
