package loadgen

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"Empty", nil, 0.5, 0},
		{"One", ms(7), 0.99, 7 * time.Millisecond},
		{"P50Of100", ms(hundred...), 0.50, 50 * time.Millisecond},
		{"P90Of100", ms(hundred...), 0.90, 90 * time.Millisecond},
		{"P99Of100", ms(hundred...), 0.99, 99 * time.Millisecond},
		{"P50OfThree", ms(1, 2, 3), 0.50, 2 * time.Millisecond},
		{"P99OfThree", ms(1, 2, 3), 0.99, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %s, want %s", tt.p, got, tt.want)
			}
		})
	}
}

func TestReportRates(t *testing.T) {
	// Failed requests never count as throughput.
	r := Report{Requests: 600, Alerts: 7000, Acked: 500, AckedAlerts: 6000, Errors: 100, Shed: 40, Elapsed: 2 * time.Second}
	if got := r.NotificationsPerSecond(); got != 250 {
		t.Errorf("NotificationsPerSecond() = %v, want 250", got)
	}
	if got := r.AlertsPerSecond(); got != 3000 {
		t.Errorf("AlertsPerSecond() = %v, want 3000", got)
	}
	if got := r.FailedShare(false); got != 100.0/600 {
		t.Errorf("FailedShare(false) = %v, want 1/6", got)
	}
	if got := r.FailedShare(true); got != 60.0/600 {
		t.Errorf("FailedShare(true) = %v, want 1/10", got)
	}
	if got := (Report{Requests: 3}).NotificationsPerSecond(); got != 0 {
		t.Errorf("NotificationsPerSecond() without elapsed time = %v, want 0", got)
	}
}

func TestReportWrite(t *testing.T) {
	tests := []struct {
		name string
		r    Report
		want string
	}{
		{
			name: "OK",
			r: Report{
				Requests: 20000, Alerts: 230000, Acked: 20000, AckedAlerts: 230000, StatusCounts: map[int]int{200: 20000},
				Elapsed: 8 * time.Second, P50: 1234567, P90: 2 * time.Millisecond, P99: 15 * time.Millisecond,
				Max: 1234 * time.Millisecond, RSSBytes: 52428800 + 52428800/4,
			},
			want: `requests:    20000 notifications, 230000 alerts in 8s
acked:       20000 notifications, 230000 alerts
throughput:  2500.0 notifications/s, 28750.0 alerts/s (acknowledged only)
ack latency: p50 1.23ms, p90 2ms, p99 15ms, max 1.234s
errors:      none
server RSS:  62.5 MiB
`,
		},
		{
			name: "WALPages",
			r: Report{
				Requests: 10, Alerts: 1000, Acked: 10, AckedAlerts: 1000, StatusCounts: map[int]int{200: 10},
				Elapsed: time.Second, P50: time.Millisecond, P90: time.Millisecond, P99: time.Millisecond, Max: time.Millisecond,
				RSSBytes: 1 << 20, WALPages: 2250, WALPagesKnown: true,
			},
			want: `requests:    10 notifications, 1000 alerts in 1s
acked:       10 notifications, 1000 alerts
throughput:  10.0 notifications/s, 1000.0 alerts/s (acknowledged only)
ack latency: p50 1ms, p90 1ms, p99 1ms, max 1ms
errors:      none
server RSS:  1.0 MiB
server WAL:  2250 pages written, 2.25 per alert acknowledged
`,
		},
		{
			name: "ErrorsRSSUnknown",
			r: Report{
				Requests: 100, Alerts: 1000, Acked: 87, AckedAlerts: 870, Errors: 13, Shed: 10,
				StatusCounts: map[int]int{200: 80, 202: 7, 503: 10, 429: 1, StatusTransportError: 2},
				Elapsed:      time.Second, P50: 800 * time.Microsecond, P90: 900 * time.Microsecond,
				P99: 950 * time.Microsecond, Max: 999 * time.Microsecond,
			},
			want: `requests:    100 notifications, 1000 alerts in 1s
acked:       87 notifications, 870 alerts
throughput:  87.0 notifications/s, 870.0 alerts/s (acknowledged only)
ack latency: p50 800µs, p90 900µs, p99 950µs, max 999µs
errors:      13, 13.00% (transport: 2, 429: 1, 503: 10); 10 of them 503 with Retry-After
server RSS:  unknown
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tt.r.Write(&b)
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("Write() (-want +got):\n%s", diff)
			}
		})
	}
}
