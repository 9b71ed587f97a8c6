package sqlite

import (
	"context"
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
	st, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t1 := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	write := func(batch int) error {
		return st.Update(ctx, func(tx incident.Tx) error {
			for i := range 100 {
				fp := fmt.Sprintf("fp-%d-%d", batch, i)
				if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: t1.Add(time.Duration(batch) * time.Minute),
					Source: "am", Fingerprint: fp, Status: incident.StatusFiring, Transition: incident.TransitionNew,
					Labels: map[string]string{"alertname": "Big", "fp": fp, "pad": strings.Repeat("x", 600)}}); err != nil {
					return err
				}
			}
			return nil
		})
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
