package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// TestCountEvents counts what Events lists, for the same bounds.
func TestCountEvents(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.MigratedDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	if err := s.Update(ctx, func(tx incident.Tx) error {
		for i, d := range []time.Duration{0, time.Minute, time.Hour} {
			e := incident.EventRecord{ReceivedAt: t0.Add(d), Source: "alertmanager", Fingerprint: string(rune('a' + i)),
				Status: incident.StatusFiring, Labels: map[string]string{}, Annotations: map[string]string{}, StartsAt: t0,
				Transition: incident.TransitionNew}
			if err := tx.AddEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		since, until time.Time
		want         int
	}{
		{"OKOpenBounds", time.Time{}, time.Time{}, 3},
		{"OKSinceInclusive", t0.Add(time.Minute), time.Time{}, 2},
		{"OKUntilExclusive", time.Time{}, t0.Add(time.Hour), 2},
		{"OKWindow", t0.Add(time.Second), t0.Add(2 * time.Hour), 2},
		{"OKEmpty", t0.Add(2 * time.Hour), time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CountEvents(ctx, tt.since, tt.until)
			if err != nil {
				t.Fatal(err)
			}
			listed := 0
			if err := s.Events(ctx, tt.since, tt.until, func(incident.EventRecord) error { listed++; return nil }); err != nil {
				t.Fatal(err)
			}
			if got != tt.want || got != listed {
				t.Errorf("CountEvents = %d, want %d (Events lists %d)", got, tt.want, listed)
			}
		})
	}
}
