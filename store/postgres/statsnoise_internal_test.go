package postgres

import (
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/store/internal/statsdays"
)

func TestKeptEnd(t *testing.T) {
	const day = 20_000 // a UTC day
	lo := int64(day) * statsdays.NanosPerDay
	hi := lo + statsdays.NanosPerDay
	at := func(d time.Duration) int64 { return lo + int64(d) }
	for _, tc := range []struct {
		name                string
		since, until, clock int64
		want                int64
	}{
		{"a whole day long past", lo - 1, hi + 1, hi + int64(3*time.Hour), hi},
		{"a whole day ended four minutes ago", lo, hi, hi + int64(4*time.Minute), hi},
		{"a whole day ended under four minutes ago: its steps", lo, hi, hi + int64(3*time.Minute), at(23*time.Hour + 59*time.Minute)},
		{"the day starts before the window", lo + 1, hi, hi + int64(3*time.Hour), 0},
		{"today at 14:07:30: to the step before 14:03:30", lo, at(14*time.Hour + 7*time.Minute + 30*time.Second), at(14*time.Hour + 7*time.Minute + 30*time.Second), at(14*time.Hour + 3*time.Minute)},
		{"today at 00:04: nothing", lo, at(4 * time.Minute), at(4 * time.Minute), 0},
		{"today at 00:04:59: nothing, not a step old", lo, at(4*time.Minute + 59*time.Second), at(4*time.Minute + 59*time.Second), 0},
		{"today at 00:05: the first step", lo, at(5 * time.Minute), at(5 * time.Minute), at(time.Minute)},
		{"a window ending in a day long past: to its step", lo, at(12*time.Hour + 3*time.Minute + 30*time.Second), hi + int64(48*time.Hour), at(12*time.Hour + 3*time.Minute)},
	} {
		if got := keptEnd(day, tc.since, tc.until, tc.clock); got != tc.want {
			t.Errorf("%s: keptEnd = %s past the day's start, want %s", tc.name, time.Duration(got-lo), time.Duration(tc.want-lo))
		}
	}
}
