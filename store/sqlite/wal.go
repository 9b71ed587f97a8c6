package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
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

// Checkpoints beside the writer. SQLite's automatic checkpoint runs in the
// commit that takes the WAL past 1000 pages, on the committing connection:
// the writer copied those pages into the database and synced it while
// every acknowledgement waited, 10% of the daemon's CPU at one alert per
// request (issue 13; docs/performance.md). The writer's connection has it
// off (wal_autocheckpoint 0). Instead, every walCheckpointPages pages it
// writes, the writer wakes a goroutine with a connection of its own, which
// runs a PASSIVE checkpoint: one that takes no lock the writer needs and
// waits for nobody, so the writer goes on committing while it copies, on
// the other core. 4000 pages (16 MiB) rather than 1000: a page the writer
// changes again before the next checkpoint is copied once, and the
// checkpoints' syncs are fewer (new alerts 6% faster than at 1000).
//
// A WAL restarts (its next frame written at the start of the file) only
// at a write that finds it wholly copied, which commits that keep coming
// while the goroutine copies seldom do: past walRestartPages frames (32
// MiB, within walLimit), the goroutine catches up (catchUp) and the
// writer copies what it left, a few transactions' pages, itself, after
// its next commit; its next write then restarts the WAL. Under new alerts
// that is one or two tails a second of 20–25 ms each, mostly the syncs.
// boundWAL stays the bound when readers hold the copy back. Variables so
// that tests can lower them.
var (
	walCheckpointPages = 4000
	walRestartPages    = 8192
	walTailPages       = 256
	walCatchUpRuns     = 8
)

// checkpointer is the goroutine, its connection, and how the writer
// wakes it (Store.afterCommit).
type checkpointer struct {
	db   *sql.DB
	kick chan struct{} // buffered 1: the writer never waits on it
	// pages counts the pages the writer wrote since it last woke the
	// goroutine; only the writer touches it, under Store.wsem.
	pages int
	stop  chan struct{}
	done  chan struct{}
	// tailDue asks the writer to copy the WAL's tail (walRestartPages).
	tailDue atomic.Bool
	// background and tails count the checkpoints each side ran (in
	// /metrics), copying the background ones that found frames copied;
	// frames is the WAL's length at the last background checkpoint;
	// written counts the pages the writer appended to the WAL since the
	// store opened.
	background, copying, tails, frames, written atomic.Int64
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		if c.tailDue.Load() {
			continue // the writer copies the tail; its next wake-up comes after
		}
		c.catchUp()
	}
}

// catchUp runs a background checkpoint and, once the WAL is past
// walRestartPages, runs it again while what the writer appended during
// the last one is more than walTailPages (at most walCatchUpRuns times),
// so that the tail it leaves the writer is a few transactions' pages, not
// what a long copy let pile up: under new alerts on a growing store the
// writer's "tail" was thousands of pages at first, and the WAL reached 64
// MiB, where boundWAL truncates it in the writer.
func (c *checkpointer) catchUp() {
	copied := -1 // frames the last run left copied
	for range walCatchUpRuns {
		busy, log, done, err := checkpoint(context.Background(), c.db.QueryRowContext)
		if err != nil {
			slog.Warn("background WAL checkpoint failed; the next one tries again", "err", err)
			return
		}
		c.background.Add(1)
		c.frames.Store(int64(max(log, 0)))
		if done > 0 {
			c.copying.Add(1)
		}
		if busy != 0 || log < walRestartPages {
			return // a reader holds frames back, or no restart is due
		}
		if copied >= 0 && log-copied <= walTailPages {
			break
		}
		copied = done
		select {
		case <-c.stop:
			return
		default:
		}
	}
	c.tailDue.Store(true)
}

// close stops the goroutine and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}

// checkpoint runs a PASSIVE checkpoint through query: whether it was kept
// from copying everything, the WAL's frames and the frames copied.
func checkpoint(ctx context.Context, query func(context.Context, string, ...any) *sql.Row) (busy, log, done int, err error) {
	err = query(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
	return busy, log, done, err
}

// afterCommit is the writer's side, after each commit, on its connection,
// which Update holds: it copies the WAL's tail when the goroutine asked,
// and wakes the goroutine every walCheckpointPages pages written.
func (s *Store) afterCommit(ctx context.Context) {
	c := s.ckpt
	if c == nil {
		return
	}
	if c.tailDue.Load() {
		busy, log, done, err := checkpoint(ctx, s.wc.QueryRowContext)
		c.tails.Add(1)
		// Copied to the end: the next write restarts the WAL. Otherwise a
		// reader holds frames back, and the next commit tries again, as
		// SQLite's own automatic checkpoint does.
		if err == nil && busy == 0 && done == log {
			c.tailDue.Store(false)
		}
	}
	// The pages the connection wrote since the last look: in WAL mode,
	// the frames its commits appended.
	var written int
	_ = s.wc.Raw(func(dc any) error {
		if st, ok := dc.(sqlite.DBStatus); ok {
			written, _, _ = st.Status(sqlite.DBStatusCacheWrite, true)
		}
		return nil
	})
	c.written.Add(int64(written))
	if c.pages += written; c.pages >= walCheckpointPages {
		c.pages = 0
		select {
		case c.kick <- struct{}{}:
		default: // it has not yet run the last wake-up: that run copies these too
		}
	}
}

// WALStats are the WAL's figures /metrics shows.
type WALStats struct {
	// Bytes is the -wal file's size now (it is not shrunk by a restart,
	// only by truncation past walLimit).
	Bytes int64
	// Frames is how many pages the WAL held at the last background
	// checkpoint: its length since it last restarted.
	Frames int64
	// Checkpoints and Tails count the checkpoints the goroutine ran and
	// those the writer ran itself to restart the WAL.
	Checkpoints, Tails int64
	// PagesWritten counts the pages the writer's commits appended to the
	// WAL since the store opened: what the writes cost the disk, per
	// commit or per alert (docs/performance.md, "What a commit writes").
	PagesWritten int64
}

// WAL returns the WAL's figures; the zero WALStats for OpenReadOnly.
func (s *Store) WAL() WALStats {
	if s.ckpt == nil {
		return WALStats{}
	}
	var size int64
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		size = fi.Size()
	}
	c := s.ckpt
	return WALStats{Bytes: size, Frames: c.frames.Load(), Checkpoints: c.background.Load(), Tails: c.tails.Load(),
		PagesWritten: c.written.Load()}
}
