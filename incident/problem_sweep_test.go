package incident

import (
	"testing"
	"time"
)

func TestRuleDuration(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{"Zero", 0, "0s"},
		{"Days", 14 * 24 * time.Hour, "14d"},
		{"DaysAndHours", 36 * time.Hour, "1d12h"},
		{"Minutes", 90 * time.Second, "1m30s"},
		{"Millis", 1500 * time.Millisecond, "1s500ms"},
		{"BelowMillis", 5 * time.Microsecond, "5µs"},
		{"Negative", -2 * time.Hour, "-2h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RuleDuration(tt.d); got != tt.want {
				t.Errorf("RuleDuration(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}
