package sqlite

import (
	"context"
	"sync"
	"testing"
)

// TestReadersStayOpen: bursts of as many concurrent reads as the pool
// allows, as a /metrics scrape's collectors make, open each reader once;
// none is closed after a burst and opened again by the next, which read
// the schema and applied the pragmas again for every scrape.
func TestReadersStayOpen(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	n := st.r.Stats().MaxOpenConnections
	if n < 2 {
		t.Fatalf("the read pool allows %d connections; the check needs bursts of several", n)
	}
	for burst := range 3 {
		// Every read holds its connection until all have one.
		var held, release sync.WaitGroup
		held.Add(n)
		release.Add(1)
		errs := make(chan error, n)
		for range n {
			go func() {
				rows, err := st.r.QueryContext(ctx, `SELECT id FROM incidents LIMIT 1`)
				held.Done()
				if err != nil {
					errs <- err
					return
				}
				release.Wait()
				errs <- rows.Close()
			}()
		}
		held.Wait()
		release.Done()
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		s := st.r.Stats()
		if s.MaxIdleClosed != 0 || s.OpenConnections != n {
			t.Fatalf("after burst %d of %d reads: %d readers open, %d closed for want of idle room; want %d open, none closed",
				burst+1, n, s.OpenConnections, s.MaxIdleClosed, n)
		}
	}
}
