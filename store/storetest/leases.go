package storetest

import (
	"context"
	"testing"
	"time"
)

// testLeases: a lease is exclusive while held, free again after Release,
// and its Lost channel closes when it is released.
func testLeases(t *testing.T, s Store) {
	ctx := context.Background()
	l, ok, err := s.AcquireLease(ctx, "sweep")
	if err != nil || !ok {
		t.Fatalf("first AcquireLease: ok %v, err %v", ok, err)
	}
	if _, ok, err := s.AcquireLease(ctx, "sweep"); err != nil || ok {
		t.Fatalf("second AcquireLease of a held lease: ok %v, err %v; want refused", ok, err)
	}
	other, ok, err := s.AcquireLease(ctx, "dispatch")
	if err != nil || !ok {
		t.Fatalf("AcquireLease of another name: ok %v, err %v", ok, err)
	}
	defer func() { _ = other.Release() }()
	select {
	case <-l.Lost():
		t.Fatal("Lost closed while the lease is held")
	default:
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("Lost not closed after Release")
	}
	again, ok, err := s.AcquireLease(ctx, "sweep")
	if err != nil || !ok {
		t.Fatalf("AcquireLease after Release: ok %v, err %v", ok, err)
	}
	_ = again.Release()
}
