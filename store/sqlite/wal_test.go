package sqlite

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// TestWALStaysBoundedUnderReaders writes about 8 MB of events into a real
// SQLite file while two readers poll the stats back to back (so that some
// read is nearly always open, as under dashboards) and a backtest reads
// every event slowly, and checks the WAL file's size after every commit:
// it must stay under a bound of a few times walLimit, lowered here to
// 256 KiB, whatever the readers do. Sizes only, no timing assertions.
func TestWALStaysBoundedUnderReaders(t *testing.T) {
	defer func(l int64, every, wait time.Duration) { walLimit, walCheckEvery, walCheckpointWait = l, every, wait }(
		walLimit, walCheckEvery, walCheckpointWait)
	walLimit, walCheckEvery, walCheckpointWait = 256<<10, 0, 20*time.Millisecond
	// Eight times the limit: on a loaded machine (the race detector, other
	// packages' tests) a checkpoint can wait out a few commits; unbounded,
	// the WAL grew to 25.8 MB here.
	const bound = 8 * (256 << 10)

	ctx := context.Background()
	st := mustOpenWAL(t, MigratedDir(t))
	t1 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	write := func(batch int) error {
		return writeBigEvents(ctx, st, batch, 100, t1.Add(time.Duration(batch)*time.Minute))
	}
	if err := write(0); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				f := incident.StatsFilter{Since: t1.Add(-24 * time.Hour), Until: t1.Add(24 * time.Hour)}
				if _, err := st.Stats(ctx, f, t1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() { // a backtest: slow over every event
		for {
			err := st.Events(ctx, time.Time{}, time.Time{}, func(incident.EventRecord) error {
				select {
				case <-stop:
					return context.Canceled
				default:
					time.Sleep(50 * time.Microsecond)
					return nil
				}
			})
			if err != nil {
				return
			}
		}
	})

	var largest int64
	for batch := 1; batch <= 120; batch++ {
		if err := write(batch); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(st.Path() + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, fi.Size())
	}
	close(stop)
	wg.Wait()
	if largest > bound {
		t.Errorf("the WAL reached %d bytes; want at most %d", largest, bound)
	}
	t.Logf("largest WAL %d bytes", largest)
}

// TestCheckpointsBesideTheWriter writes events in many transactions with
// the thresholds lowered and checks that the copying into the database
// left the writer: its connection does not checkpoint by itself, the
// background goroutine ran and copied frames, the writer's own tails
// restarted the WAL often enough that the file stays within a few
// restart lengths, and the database reopens whole.
func TestCheckpointsBesideTheWriter(t *testing.T) {
	defer func(p, r int) { walCheckpointPages, walRestartPages = p, r }(walCheckpointPages, walRestartPages)
	walCheckpointPages, walRestartPages = 64, 256

	ctx := context.Background()
	dir := t.TempDir()
	st := mustOpenWAL(t, dir)
	var auto int
	if err := st.wc.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Errorf("the writer's wal_autocheckpoint is %d; want 0, checkpoints run beside it", auto)
	}
	var pageSize int64
	if err := st.r.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}

	t1 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	const batches, perBatch = 200, 20
	var largest int64
	for batch := range batches {
		if err := writeBigEvents(ctx, st, batch, perBatch, t1.Add(time.Duration(batch)*time.Second)); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(st.Path() + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, fi.Size())
	}
	c := st.ckpt
	bg, copying, tails := c.background.Load(), c.copying.Load(), c.tails.Load()
	t.Logf("background checkpoints %d (%d copying), tails %d, largest WAL %d bytes", bg, copying, tails, largest)
	if bg == 0 || copying == 0 {
		t.Errorf("background checkpoints %d, %d of them copying; want some of each", bg, copying)
	}
	if tails == 0 {
		t.Error("the writer never copied a tail: the WAL never restarts under steady writes")
	}
	// Without restarts the WAL holds every page written: about 1.2 MB of
	// labels alone here. With them it stays within a few restart lengths
	// (a restart follows a background checkpoint, which may lag behind a
	// few commits on a loaded machine).
	if bound := 4 * int64(walRestartPages) * (pageSize + 24); largest > bound {
		t.Errorf("the WAL reached %d bytes; want at most %d", largest, bound)
	}
	// What /metrics shows: the counters above (or more: the background
	// checkpointer may finish one more meanwhile), the file's size now,
	// and a length since the last restart within a few restart lengths.
	w := st.WAL()
	fi, err := os.Stat(st.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if w.Checkpoints < bg || w.Checkpoints > bg+1 || w.Tails != tails || w.Bytes != fi.Size() || w.Frames <= 0 || w.Frames > 4*int64(walRestartPages) {
		t.Errorf("WAL() = %+v; want %d or %d checkpoints, %d tails, %d bytes, 1 to %d frames", w, bg, bg+1, tails, fi.Size(), 4*walRestartPages)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = mustOpenWAL(t, dir)
	var n int
	var check string
	if err := st.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := st.r.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil {
		t.Fatal(err)
	}
	if n != batches*perBatch || check != "ok" {
		t.Errorf("reopened: %d events, integrity %q; want %d, ok", n, check, batches*perBatch)
	}
}

// TestCatchUpLeavesASmallTail: past the restart length, the goroutine
// copies again until what came meanwhile is a small tail, and only then
// asks the writer for it; the writer's copy restarts the WAL.
func TestCatchUpLeavesASmallTail(t *testing.T) {
	defer func(p, r, tail int) { walCheckpointPages, walRestartPages, walTailPages = p, r, tail }(
		walCheckpointPages, walRestartPages, walTailPages)
	// No wake-ups from the writer: this test runs the goroutine's step.
	walCheckpointPages, walRestartPages, walTailPages = 1<<30, 64, 16

	ctx := context.Background()
	st := mustOpenWAL(t, MigratedDir(t))
	t1 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	write := func(batch int) {
		t.Helper()
		if err := writeBigEvents(ctx, st, batch, 20, t1); err != nil {
			t.Fatal(err)
		}
	}
	for b := range 20 {
		write(b)
	}
	c := st.ckpt
	if c.tailDue.Load() || c.background.Load() != 0 {
		t.Fatalf("before: tail due %v, %d background checkpoints; want none", c.tailDue.Load(), c.background.Load())
	}
	// Nothing comes meanwhile: the first run copies all, the second finds
	// no new frame, and the tail is due.
	c.catchUp()
	if got := c.background.Load(); got != 2 || !c.tailDue.Load() {
		t.Errorf("catchUp past the restart length: %d runs, tail due %v; want 2, true", got, c.tailDue.Load())
	}
	before := c.frames.Load()
	write(100) // the writer copies the tail after this commit
	if c.tailDue.Load() || c.tails.Load() != 1 {
		t.Errorf("after the writer's commit: tail due %v, %d tails; want false, 1", c.tailDue.Load(), c.tails.Load())
	}
	write(101) // this write restarts the WAL
	c.catchUp()
	if after := c.frames.Load(); after >= before {
		t.Errorf("the WAL held %d frames before the tail and %d after; want it restarted", before, after)
	}
}

// writeBigEvents commits n new events of about 700 bytes each, received
// at at, in one transaction: WAL pages for the tests below.
// TestPagesWrittenCountsTheWALFrames checks WAL().PagesWritten against the
// frames the commits appended to the -wal file, read from the file itself.
func TestPagesWrittenCountsTheWALFrames(t *testing.T) {
	ctx := context.Background()
	st := mustOpenWAL(t, MigratedDir(t))
	t1 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	// The first write may restart the WAL the migrations left; the next
	// ones append to it (no checkpoint runs: far fewer pages than
	// walCheckpointPages).
	if err := writeBigEvents(ctx, st, 0, 5, t1); err != nil {
		t.Fatal(err)
	}
	frames0, pages0 := walFrameCount(t, st.Path()+"-wal"), st.WAL().PagesWritten
	for batch := 1; batch <= 3; batch++ {
		if err := writeBigEvents(ctx, st, batch, 5*batch, t1.Add(time.Duration(batch)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	frames, pages := walFrameCount(t, st.Path()+"-wal")-frames0, st.WAL().PagesWritten-pages0
	if frames < 10 || pages != int64(frames) {
		t.Errorf("three commits appended %d frames to the WAL, PagesWritten counted %d; want them equal, at least 10", frames, pages)
	}
}

// walFrameCount counts the frames of the WAL file at path since its last
// restart: those that carry the salts of its header.
func walFrameCount(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 32 {
		return 0
	}
	pageSize := int(binary.BigEndian.Uint32(b[8:12]))
	salt := b[16:24]
	n := 0
	for off := 32; off+24+pageSize <= len(b); off += 24 + pageSize {
		if !bytes.Equal(b[off+8:off+16], salt) {
			break
		}
		n++
	}
	return n
}

func writeBigEvents(ctx context.Context, st *Store, batch, n int, at time.Time) error {
	return st.Update(ctx, func(tx incident.Tx) error {
		for i := range n {
			fp := fmt.Sprintf("fp-%d-%d", batch, i)
			if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: at, Source: "am", Fingerprint: fp,
				Status: incident.StatusFiring, Transition: incident.TransitionNew,
				Labels: map[string]string{"alertname": "Big", "fp": fp, "pad": strings.Repeat("x", 600)}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// mustOpenWAL opens the store in dir for the tests above, closed at their
// end (a second Close is a no-op).
func mustOpenWAL(t *testing.T, dir string) *Store {
	t.Helper()
	st, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
