package app

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestBackgroundWorkFollowsItsLease: work whose lease another holder has
// does not run here; it starts within LeaseRetry once the lease is free,
// and the sweep's lease decides between sweeping and only beating.
func TestBackgroundWorkFollowsItsLease(t *testing.T) {
	o := Options{ListenAddress: "127.0.0.1:0", StoragePath: t.TempDir(), LeaseRetry: 20 * time.Millisecond,
		SweepInterval: 20 * time.Millisecond}
	a, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// Another holder (as another replica would be) takes the sweep's lease
	// before the daemon starts.
	other, ok, err := a.store.AcquireLease(context.Background(), "sweep")
	if err != nil || !ok {
		t.Fatalf("take the lease: %v %v", ok, err)
	}
	a.Start()
	t.Cleanup(func() {
		if err := a.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	held := func(name string) float64 { return testutil.ToFloat64(a.metrics.leaseHeld.WithLabelValues(name)) }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("the outbox lease taken", func() bool { return held("outbox") == 1 })
	time.Sleep(100 * time.Millisecond) // several retries
	if held("sweep") != 0 {
		t.Fatal("the daemon runs the sweep while another holder has its lease")
	}
	if err := a.pipeline.StoreErr(); err != nil {
		t.Errorf("the heartbeat of a replica without the sweep: %v", err)
	}
	if err := other.Release(); err != nil {
		t.Fatal(err)
	}
	waitFor("the sweep lease taken over", func() bool { return held("sweep") == 1 })
}
