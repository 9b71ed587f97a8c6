package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// mustBenchTarget serves a webhook receiver and /metrics on 127.0.0.1 and
// counts the notifications it receives.
func mustBenchTarget(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ingest/alertmanager", func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Version string            `json:"version"`
			Alerts  []json.RawMessage `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Version != "4" || len(m.Alerts) == 0 {
			t.Errorf("notification: version %q, %d alerts, err %v", m.Version, len(m.Alerts), err)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer tok" {
			t.Errorf("Authorization = %q", got)
		}
		n.Add(1)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 3.3554432e+07\n")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestRunBench(t *testing.T) {
	srv, received := mustBenchTarget(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	url := srv.URL + "/ingest/alertmanager"
	small := []string{"--groups", "5", "--alerts-per-group", "2", "--concurrency", "2", "--requests", "40", "--duration", "5m", "--bearer-token", "tok"}

	tests := []struct {
		name      string
		args      []string
		wantCode  int
		wantOut   []string // substrings of stdout
		wantErr   string   // substring of stderr
		wantSends int64    // notifications received, warm-up included
	}{
		{
			name:      "OK",
			args:      append([]string{"--url", url}, small...),
			wantOut:   []string{"40 notifications", "notifications/s", "alerts/s", "p99", "errors:      none", "server RSS:  32.0 MiB"},
			wantSends: 40 + 5,
		},
		{
			name:      "OKNoWarmupDefaultConcurrency",
			args:      []string{"--url", url, "--groups", "3", "--requests", "9", "--no-warmup", "--bearer-token", "tok"},
			wantOut:   []string{"9 notifications"},
			wantSends: 9,
		},
		{
			name:      "OKScenarioNewPrintsMachine",
			args:      append([]string{"--url", url, "--scenario", "new", "--fsync-dir", t.TempDir(), "--fsync-samples", "5"}, small...),
			wantOut:   []string{"== scenario new", "CPUs", "fsync:       p50", "driver:      modernc.org/sqlite", "acked:       40 notifications"},
			wantSends: 40 + 5,
		},
		{
			name:      "OKPolled",
			args:      append([]string{"--url", url, "--poll", "/metrics,/nope", "--poll-rate", "100"}, small...),
			wantOut:   []string{"40 notifications", "poll /metrics", "poll /nope"},
			wantSends: 40 + 5,
		},
		{
			name:    "OKPollOnly",
			args:    []string{"--url", url, "--poll", "/metrics", "--poll-rate", "50", "--poll-only", "--duration", "500ms"},
			wantOut: []string{"== polling for 500ms, sending nothing", "poll /metrics", "errors 0"},
		},
		{
			name:     "ErrPollOnlyFailing",
			args:     []string{"--url", url, "--poll", "/metrics,/nope", "--poll-rate", "50", "--poll-only", "--duration", "300ms"},
			wantCode: 1, wantOut: []string{"poll /nope"}, wantErr: "poll /nope: ",
		},
		{
			name:     "ErrPollOnlyNothingFinished",
			args:     []string{"--url", url, "--poll", "/metrics", "--poll-rate", "1", "--poll-only", "--duration", "100ms"},
			wantCode: 1, wantErr: "poll /metrics: no GET finished in --duration 100ms",
		},
		{name: "ErrPollOnlyWithoutPaths", args: []string{"--url", url, "--poll-only"}, wantCode: 2, wantErr: "--poll-only: give the paths"},
		{name: "ErrPollRate", args: []string{"--url", url, "--poll", "/metrics", "--poll-rate", "0"}, wantCode: 2, wantErr: "--poll-rate 0: must be positive"},
		{name: "ErrUnknownScenario", args: []string{"--url", url, "--scenario", "nope"}, wantCode: 2, wantErr: `--scenario "nope"`},
		{name: "ErrUnknownFlag", args: []string{"--nope"}, wantCode: 2, wantErr: "nope"},
		{name: "ErrArgument", args: []string{"--url", url, "extra"}, wantCode: 2, wantErr: `unexpected argument "extra"`},
		{name: "ErrNotLoopback", args: []string{"--url", "http://10.0.0.1/ingest/alertmanager"}, wantCode: 2, wantErr: "not a loopback address"},
		{name: "ErrNotLoopbackName", args: []string{"--url", "http://example.com/"}, wantCode: 2, wantErr: "not a loopback address"},
		{name: "ErrZeroGroups", args: []string{"--url", url, "--groups", "0"}, wantCode: 2, wantErr: "--groups 0: must be positive"},
		{name: "ErrZeroDuration", args: []string{"--url", url, "--duration", "0s"}, wantCode: 2, wantErr: "--duration 0s"},
		{name: "ErrConcurrencyOverGroups", args: []string{"--url", url, "--groups", "2", "--concurrency", "3"}, wantCode: 2, wantErr: "exceeds groups 2"},
		{name: "ErrUnreachable", args: []string{"--url", closed.URL + "/ingest/alertmanager", "--requests", "5"}, wantCode: 1, wantErr: "warm up"},
		{name: "Help", args: []string{"-h"}, wantCode: 0, wantErr: "usage: alertbridge bench"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := received.Load()
			var stdout, stderr strings.Builder
			code := runBench(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("runBench() = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr.String())
			}
			if got := received.Load() - before; got != tt.wantSends {
				t.Errorf("server received %d notifications, want %d", got, tt.wantSends)
			}
		})
	}
}

// TestRunBenchFailsOnFailedRequests checks that failed requests are not
// throughput and that more than --max-failed of them make the exit code 1.
func TestRunBenchFailsOnFailedRequests(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/metrics" {
			return
		}
		if n.Add(1)%10 == 0 { // every tenth: 10% failed
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	var stdout, stderr strings.Builder
	code := runBench(context.Background(), []string{"--url", srv.URL + "/ingest/alertmanager", "--groups", "4", "--requests", "100",
		"--no-warmup", "--fsync-samples", "0"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("runBench() = %d, want 1; stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"acked:       90 notifications", "errors:      10, 10.00% (500: 10)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "more than --max-failed 1.00%") {
		t.Errorf("stderr: %s", stderr.String())
	}
}
