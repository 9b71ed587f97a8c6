package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestParseRSS(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    int64
		wantErr string
	}{
		{name: "OK", text: "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1.2345678e+07\n", want: 12345678},
		{name: "OKInteger", text: "process_resident_memory_bytes 4096\n", want: 4096},
		{name: "OKTimestamp", text: "process_resident_memory_bytes 4096 1764360000000\n", want: 4096},
		{name: "OKLabels", text: `process_resident_memory_bytes{instance="a b}"} 8192` + "\n", want: 8192},
		{name: "OKAfterLongerName", text: "process_resident_memory_bytes_max 1\nprocess_resident_memory_bytes 2048\n", want: 2048},
		{name: "ErrNotFound", text: "go_goroutines 8\n# process_resident_memory_bytes 5\n", wantErr: "not found"},
		{name: "ErrValue", text: "process_resident_memory_bytes lots\n", wantErr: "parse value"},
		{name: "ErrNaN", text: "process_resident_memory_bytes NaN\n", wantErr: "out of range"},
		{name: "ErrZero", text: "process_resident_memory_bytes 0\n", wantErr: "out of range"},
		{name: "ErrMissingValue", text: "process_resident_memory_bytes \n", wantErr: "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRSS(strings.NewReader(tt.text))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseRSS() = %d, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseRSS() = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// TestRunRSSProcessCollector reads the RSS from client_golang's own
// process collector and handler, as the daemon's /metrics serves it.
func TestRunRSSProcessCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /ingest/alertmanager", func(http.ResponseWriter, *http.Request) {})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	rep, err := Run(context.Background(), Options{
		URL: srv.URL + "/ingest/alertmanager", Groups: 2, Requests: 3, Duration: time.Minute,
	})
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	// This test process is the server, so its RSS is far from zero.
	if rep.RSSBytes < 1<<20 {
		t.Errorf("RSSBytes = %d, want the test process's RSS", rep.RSSBytes)
	}
}

// TestRunWALPages reads alertbridge's WAL page counter before and after
// the timed run: the report holds what the run's requests added, and
// nothing when the server has no such counter.
func TestRunWALPages(t *testing.T) {
	for _, tt := range []struct {
		name    string
		counter bool
	}{{"Known", true}, {"UnknownNoCounter", false}} {
		t.Run(tt.name, func(t *testing.T) {
			var pages atomic.Int64
			pages.Store(1000) // what the server wrote before the run
			mux := http.NewServeMux()
			mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, "process_resident_memory_bytes 4096\n")
				if tt.counter {
					fmt.Fprintf(w, "# TYPE %s counter\n%s %d\n", walPagesMetric, walPagesMetric, pages.Load())
				}
			})
			mux.HandleFunc("POST /ingest/alertmanager", func(http.ResponseWriter, *http.Request) { pages.Add(3) })
			srv := httptest.NewServer(mux)
			defer srv.Close()

			rep, err := Run(context.Background(), Options{
				URL: srv.URL + "/ingest/alertmanager", Groups: 2, Requests: 7, Duration: time.Minute,
			})
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			want := int64(3 * rep.Requests) // the warm-up's requests came before
			if rep.WALPagesKnown != tt.counter || (tt.counter && rep.WALPages != want) {
				t.Errorf("WALPages = %d (known %v); want %d (known %v)", rep.WALPages, rep.WALPagesKnown, want, tt.counter)
			}
			var out strings.Builder
			rep.Write(&out)
			if got := strings.Contains(out.String(), "server WAL:"); got != tt.counter {
				t.Errorf("report:\n%s\nwant a server WAL line: %v", out.String(), tt.counter)
			}
		})
	}
}
