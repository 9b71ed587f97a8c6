package txcache

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// store is the committed side: a plain map the loader reads.
type store map[string]int

func (s store) load(_ context.Context, k string) (int, bool, error) {
	v, ok := s[k]
	return v, ok, nil
}

func counters() Metrics {
	return Metrics{Hits: prometheus.NewCounter(prometheus.CounterOpts{Name: "h"}),
		Misses: prometheus.NewCounter(prometheus.CounterOpts{Name: "m"}), Evictions: prometheus.NewCounter(prometheus.CounterOpts{Name: "e"})}
}

func TestStagedShadowsAndCommitPublishes(t *testing.T) {
	ctx := context.Background()
	m := counters()
	c, err := New[string, int](10, m)
	if err != nil {
		t.Fatal(err)
	}
	db := store{"a": 1}
	b := c.Begin(db.load)
	if v, ok, _ := b.Get(ctx, "a"); !ok || v != 1 {
		t.Fatalf("Get(a) = %d, %v; want 1 from the store", v, ok)
	}
	if b.Staged("a") {
		t.Error("Staged(a) before Stage: a value from the store is committed")
	}
	b.Stage("a", 2)
	if v, _, _ := b.Get(ctx, "a"); v != 2 {
		t.Errorf("within the batch Get(a) = %d, want the staged 2", v)
	}
	if !b.Staged("a") || b.Staged("b") {
		t.Errorf("Staged(a), Staged(b) = %v, %v; want true, false", b.Staged("a"), b.Staged("b"))
	}
	// Another batch (after a rollback, say) does not see uncommitted values.
	if v, _, _ := c.Begin(db.load).Get(ctx, "a"); v != 1 {
		t.Errorf("before commit another batch sees %d, want 1", v)
	}
	b.Commit()
	next := c.Begin(store{}.load)
	if v, _, _ := next.Get(ctx, "a"); v != 2 {
		t.Errorf("after commit Get(a) = %d, want 2 from the cache", v)
	}
	if next.Staged("a") {
		t.Error("Staged(a) in the next batch: the value is committed")
	}
	if got := testutil.ToFloat64(m.Hits); got != 1 {
		t.Errorf("hits = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.Misses); got != 2 {
		t.Errorf("misses = %v, want 2", got)
	}
}

func TestEvictionFallsThrough(t *testing.T) {
	ctx := context.Background()
	m := counters()
	c, err := New[string, int](1, m)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Begin(store{}.load)
	b.Stage("a", 1)
	b.Stage("b", 2)
	b.Commit()
	if got := testutil.ToFloat64(m.Evictions); got != 1 {
		t.Fatalf("evictions = %v, want 1", got)
	}
	db := store{"a": 1, "b": 2}
	for _, k := range []string{"a", "b"} {
		if v, ok, _ := c.Begin(db.load).Get(ctx, k); !ok || v != db[k] {
			t.Errorf("Get(%s) = %d, %v after eviction; want %d", k, v, ok, db[k])
		}
	}
}

func TestLoaderErrorsPassThrough(t *testing.T) {
	c, err := New[string, int](1, Metrics{})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, _, err = c.Begin(func(context.Context, string) (int, bool, error) { return 0, false, boom }).Get(context.Background(), "x")
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if _, err := New[string, int](0, Metrics{}); err == nil {
		t.Error("New(0) succeeded")
	}
}

func TestPurgeIsNotEviction(t *testing.T) {
	ctx := context.Background()
	m := counters()
	c, err := New[string, int](4, m)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Begin(store{}.load)
	b.Stage("a", 1)
	b.Stage("b", 2)
	b.Commit()
	c.Purge()
	if got := testutil.ToFloat64(m.Evictions); got != 0 {
		t.Errorf("evictions after a purge = %v, want 0: a purge says nothing about the cache's size", got)
	}
	if _, ok, _ := c.Begin(store{}.load).Get(ctx, "a"); ok {
		t.Error("a purged entry is still cached")
	}
	// Evictions after a purge are counted again.
	b = c.Begin(store{}.load)
	for i, k := range []string{"a", "b", "c", "d", "e"} {
		b.Stage(k, i)
	}
	b.Commit()
	if got := testutil.ToFloat64(m.Evictions); got != 1 {
		t.Errorf("evictions = %v, want 1", got)
	}
}

// TestPrimedAnswersMisses: a primed value (or a primed absence) answers a
// miss without loading, a staged value wins over it, and Holds tells the
// keys Get answers without either.
func TestPrimedAnswersMisses(t *testing.T) {
	ctx := context.Background()
	c, err := New[string, int](10, Metrics{})
	if err != nil {
		t.Fatal(err)
	}
	loads := 0
	db := store{"a": 1, "b": 2, "cached": 3}
	load := func(ctx context.Context, k string) (int, bool, error) {
		loads++
		return db.load(ctx, k)
	}
	warm := c.Begin(load)
	warm.Stage("cached", 3)
	warm.Commit()

	b := c.Begin(load)
	for k, want := range map[string]bool{"cached": true, "a": false, "gone": false} {
		if got := b.Holds(k); got != want {
			t.Errorf("Holds(%s) = %v, want %v", k, got, want)
		}
	}
	b.Prime("a", 1, true)
	b.Prime("gone", 0, false)
	if v, ok, err := b.Get(ctx, "a"); v != 1 || !ok || err != nil {
		t.Errorf("Get(a) = %d, %v, %v; want the primed 1", v, ok, err)
	}
	if _, ok, err := b.Get(ctx, "gone"); ok || err != nil {
		t.Errorf("Get(gone) = found %v, %v; want the primed absence", ok, err)
	}
	if loads != 0 {
		t.Errorf("%d loads for primed keys, want none", loads)
	}
	b.Stage("gone", 7)
	if v, ok, _ := b.Get(ctx, "gone"); v != 7 || !ok {
		t.Errorf("Get(gone) after Stage = %d, %v; want the staged 7", v, ok)
	}
	if !b.Holds("gone") {
		t.Error("Holds(gone) after Stage = false")
	}
	if v, ok, _ := b.Get(ctx, "b"); v != 2 || !ok || loads != 1 {
		t.Errorf("Get(b) = %d, %v after %d loads; want 2, loaded once", v, ok, loads)
	}
	// Primed values die with the batch: the next one loads.
	if _, _, _ = c.Begin(load).Get(ctx, "a"); loads != 2 {
		t.Errorf("%d loads, want a's loaded by the next batch", loads)
	}
}
