package loadgen

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// StatusTransportError is the StatusCounts key for requests that got no HTTP
// response: connection refused or reset, a timeout, a truncated body.
const StatusTransportError = 0

// Report is the outcome of a timed run. Warm-up requests are not in it, nor
// are requests cut off by the end of the run.
type Report struct {
	// Requests is the number of notifications sent and answered, or failed.
	Requests int
	// Alerts is the number of alerts in those notifications.
	Alerts int
	// Acked and AckedAlerts count the requests answered 2xx, and their
	// alerts: the only ones throughput counts.
	Acked, AckedAlerts int
	// Errors counts requests answered with a non-2xx status or not answered.
	Errors int
	// Shed counts the errors that were a 503 with Retry-After: the server
	// refusing load it cannot take in time, as it should under overload.
	Shed int
	// StatusCounts counts requests by response status, 2xx included;
	// StatusTransportError counts those without a response.
	StatusCounts map[int]int
	// Elapsed is the wall time of the timed run.
	Elapsed time.Duration
	// P50, P90, P99 and Max are the acknowledgement latencies of the 2xx
	// responses, from sending the request to reading the whole response.
	P50, P90, P99, Max time.Duration
	// RSSBytes is the server's resident memory after the run, read from its
	// process_resident_memory_bytes; 0 means unknown.
	RSSBytes int64
	// WALPages is how many pages alertbridge's writer appended to its
	// SQLite write-ahead log during the run, from its
	// alertbridge_store_wal_pages_written_total before and after; known
	// only when the server reports it both times.
	WALPages      int64
	WALPagesKnown bool
}

// NotificationsPerSecond returns the rate of notifications acknowledged;
// failed requests never count.
func (r Report) NotificationsPerSecond() float64 { return perSecond(r.Acked, r.Elapsed) }

// AlertsPerSecond returns the rate of alerts acknowledged.
func (r Report) AlertsPerSecond() float64 { return perSecond(r.AckedAlerts, r.Elapsed) }

// FailedShare returns the share of requests that failed, 0 to 1; with
// shedOK, a 503 with Retry-After is not a failure.
func (r Report) FailedShare(shedOK bool) float64 {
	if r.Requests == 0 {
		return 0
	}
	n := r.Errors
	if shedOK {
		n -= r.Shed
	}
	return float64(n) / float64(r.Requests)
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Write writes a human-readable summary of r to w.
func (r Report) Write(w io.Writer) {
	fmt.Fprintf(w, "requests:    %d notifications, %d alerts in %s\n", r.Requests, r.Alerts, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "acked:       %d notifications, %d alerts\n", r.Acked, r.AckedAlerts)
	fmt.Fprintf(w, "throughput:  %.1f notifications/s, %.1f alerts/s (acknowledged only)\n", r.NotificationsPerSecond(), r.AlertsPerSecond())
	fmt.Fprintf(w, "ack latency: p50 %s, p90 %s, p99 %s, max %s\n", roundLatency(r.P50), roundLatency(r.P90), roundLatency(r.P99), roundLatency(r.Max))
	fmt.Fprintf(w, "errors:      %s\n", r.errorSummary())
	rss := "unknown"
	if r.RSSBytes > 0 {
		rss = fmt.Sprintf("%.1f MiB", float64(r.RSSBytes)/(1<<20))
	}
	fmt.Fprintf(w, "server RSS:  %s\n", rss)
	if r.WALPagesKnown {
		per := "-"
		if r.AckedAlerts > 0 {
			per = fmt.Sprintf("%.2f", float64(r.WALPages)/float64(r.AckedAlerts))
		}
		fmt.Fprintf(w, "server WAL:  %d pages written, %s per alert acknowledged\n", r.WALPages, per)
	}
}

// errorSummary renders Errors with a breakdown by status, e.g.
// "12 (503: 10, transport: 2)".
func (r Report) errorSummary() string {
	if r.Errors == 0 {
		return "none"
	}
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(r.StatusCounts)) {
		if isSuccess(code) {
			continue
		}
		name := fmt.Sprint(code)
		if code == StatusTransportError {
			name = "transport"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, r.StatusCounts[code]))
	}
	shed := ""
	if r.Shed > 0 {
		shed = fmt.Sprintf("; %d of them 503 with Retry-After", r.Shed)
	}
	return fmt.Sprintf("%d, %.2f%% (%s)%s", r.Errors, 100*r.FailedShare(false), strings.Join(parts, ", "), shed)
}

func isSuccess(code int) bool { return code >= 200 && code < 300 }

// roundLatency keeps three significant digits or so, enough to read.
func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 1) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
