package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

func useNonce(s Store, source, nonce string, expires, now time.Time) error {
	return s.Update(context.Background(), func(tx incident.Tx) error {
		return tx.UseNonce(context.Background(), source, nonce, expires, now)
	})
}

func testNonces(t *testing.T, s Store) {
	ctx := context.Background()
	exp := t0.Add(10 * time.Minute)
	tests := []struct {
		name          string
		source, nonce string
		expires, now  time.Time
		wantReplay    bool
	}{
		{"OKFirst", "ci", "n1", exp, t0, false},
		{"ErrReplay", "ci", "n1", exp.Add(time.Minute), t0.Add(time.Minute), true},
		{"ErrReplayJustBeforeExpiry", "ci", "n1", exp.Add(time.Minute), exp.Add(-time.Nanosecond), true},
		{"OKOtherSource", "scripts", "n1", exp, t0.Add(time.Minute), false},
		{"OKOtherNonce", "ci", "n2", exp, t0.Add(time.Minute), false},
		{"OKAtExpiry", "ci", "n1", exp.Add(10 * time.Minute), exp, false},
		{"ErrReplayOfTheRenewed", "ci", "n1", exp.Add(time.Hour), exp.Add(5 * time.Minute), true},
	}
	for _, tt := range tests {
		err := useNonce(s, tt.source, tt.nonce, tt.expires, tt.now)
		switch {
		case tt.wantReplay && (!errors.Is(err, incident.ErrReplay) || !errors.Is(err, incident.ErrConflict)):
			t.Errorf("%s: err = %v, want ErrReplay (a conflict)", tt.name, err)
		case !tt.wantReplay && err != nil:
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}

	// A nonce used in a transaction that rolls back was never used.
	errRollback := errors.New("rollback")
	err := s.Update(ctx, func(tx incident.Tx) error {
		if err := tx.UseNonce(ctx, "ci", "n3", exp, t0); err != nil {
			return err
		}
		if err := tx.UseNonce(ctx, "ci", "n3", exp, t0); !errors.Is(err, incident.ErrReplay) {
			t.Errorf("second use in one transaction: err = %v, want ErrReplay", err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update: %v", err)
	}
	if err := useNonce(s, "ci", "n3", exp, t0); err != nil {
		t.Errorf("nonce of a rolled-back transaction: err = %v, want it unused", err)
	}
}

func testDeleteExpiredNonces(t *testing.T, s Store) {
	ctx := context.Background()
	for i, n := range []string{"a", "b", "c", "d"} {
		if err := useNonce(s, "ci", n, t0.Add(time.Duration(i+1)*time.Minute), t0); err != nil {
			t.Fatal(err)
		}
	}
	del := func(now time.Time, limit int) int {
		t.Helper()
		var n int
		mustUpdate(t, s, func(tx incident.Tx) error {
			var err error
			n, err = tx.DeleteExpiredNonces(ctx, now, limit)
			return err
		})
		return n
	}
	at := t0.Add(3 * time.Minute) // a, b and c expired; d did not
	if n := del(at, 2); n != 2 {
		t.Errorf("deleted %d with limit 2, want 2", n)
	}
	if n := del(at, 100); n != 1 {
		t.Errorf("deleted %d of the rest, want 1", n)
	}
	if n := del(at, 100); n != 0 {
		t.Errorf("deleted %d once none had expired, want 0", n)
	}
	if err := useNonce(s, "ci", "d", t0.Add(time.Hour), at); !errors.Is(err, incident.ErrReplay) {
		t.Errorf("an unexpired nonce was forgotten: err = %v, want ErrReplay", err)
	}
}

func testHeartbeat(t *testing.T, s Store) {
	for i := range 3 {
		mustUpdate(t, s, func(tx incident.Tx) error {
			return tx.Heartbeat(context.Background(), t0.Add(time.Duration(i)*time.Second))
		})
	}
}
