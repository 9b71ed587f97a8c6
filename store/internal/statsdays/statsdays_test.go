package statsdays

import (
	"testing"
	"time"
)

func TestFloorDayAndWhole(t *testing.T) {
	day := NanosPerDay
	for _, tc := range []struct {
		name string
		at   int64
		want int64
	}{
		{"epoch", 0, 0},
		{"last nanosecond of day 0", day - 1, 0},
		{"midnight of day 1", day, 1},
		{"a nanosecond before 1970", -1, -1},
		{"midnight before 1970", -day, -1},
		{"a nanosecond before that midnight", -day - 1, -2},
		{"2026-11-28 12:00", time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC).UnixNano(), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC).UnixNano() / day},
	} {
		if got := FloorDay(tc.at); got != tc.want {
			t.Errorf("%s: FloorDay(%d) = %d, want %d", tc.name, tc.at, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s    Span
		want bool
	}{
		{Span{Day: 3, Lo: 3 * day, Hi: 4 * day}, true},
		{Span{Day: 3, Lo: 3*day + 1, Hi: 4 * day}, false},
		{Span{Day: 3, Lo: 3 * day, Hi: 4*day - 1}, false},
		{Span{Day: -1, Lo: -day, Hi: 0}, true},
	} {
		if got := tc.s.Whole(); got != tc.want {
			t.Errorf("%+v.Whole() = %v, want %v", tc.s, got, tc.want)
		}
	}
}
