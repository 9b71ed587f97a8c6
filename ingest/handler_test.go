package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/incident"
)

// recordingSink records every Ingest and answers with err.
type recordingSink struct {
	mu      sync.Mutex
	err     error
	called  int
	events  []incident.Event
	changes []incident.Change
	nonces  []incident.Nonce
}

func (s *recordingSink) Ingest(_ context.Context, sub incident.Submission) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.called++
	if s.err == nil {
		s.events = append(s.events, sub.Events...)
		s.changes = append(s.changes, sub.Changes...)
		if sub.Nonce != nil {
			s.nonces = append(s.nonces, *sub.Nonce)
		}
	}
	return s.err
}

type testHandler struct {
	mux  *http.ServeMux
	h    *Handler
	reg  *prometheus.Registry
	sink *recordingSink
	logs *bytes.Buffer
}

func mustHandler(t *testing.T, sinkErr error, maxBody int64) *testHandler {
	t.Helper()
	th := &testHandler{
		mux:  http.NewServeMux(),
		reg:  prometheus.NewRegistry(),
		sink: &recordingSink{err: sinkErr},
		logs: &bytes.Buffer{},
	}
	th.h = mustNew(t, Options{
		Sink:       th.sink,
		Logger:     slog.New(slog.NewJSONHandler(th.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer: th.reg,
		Limits:     Limits{MaxBodyBytes: maxBody},
	})
	th.h.Register(th.mux)
	return th
}

func mustNew(t testing.TB, o Options) *Handler {
	t.Helper()
	h, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

// jsonRequest is a POST of body to path as senders make it.
func jsonRequest(path string, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func (th *testHandler) post(body []byte, chunked bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/ingest/alertmanager", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer fixture-bearer-token-123")
	if chunked {
		req.ContentLength = -1 // as with Transfer-Encoding: chunked
	}
	rec := httptest.NewRecorder()
	th.mux.ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	fixture := mustRead(t, filepath.Join("testdata", "alertmanager", "firing-group.json")) // 3 alerts
	invalid := []byte(payload(alert, alert, strings.Replace(alert, `"firing"`, `"pending"`, 1)))
	large := append(bytes.Repeat([]byte(" "), DefaultMaxBodyBytes), fixture...)
	type counts map[string]float64
	tests := []struct {
		name        string
		body        []byte
		chunked     bool
		maxBody     int64
		sinkErr     error
		wantCode    int
		wantBody    string
		retryAfter  string
		wantSubmits int
		wantEvents  counts // alertbridge_ingest_events_total by outcome
		wantReject  counts // alertbridge_ingest_rejected_total by reason
	}{
		{
			name: "OK", body: fixture,
			wantCode: 200, wantBody: `{"status":"success","events":3}`, wantSubmits: 1,
			wantEvents: counts{"accepted": 3}, wantReject: counts{},
		},
		{
			name: "ErrInvalid", body: invalid,
			wantCode: 400, wantBody: `{"error":"unknown status \"pending\", want firing or resolved","where":"alerts[2].status"}`,
			wantEvents: counts{"rejected": 3}, wantReject: counts{"invalid": 1},
		},
		{
			name: "ErrMalformed", body: fixture[:100],
			wantCode: 400, wantBody: `{"error":"unexpected end of JSON input","where":"offset 100"}`,
			wantEvents: counts{}, wantReject: counts{"invalid": 1},
		},
		{
			name: "ErrTooLargeDefaultLimit", body: large,
			wantCode: 413, wantBody: `{"error":"request body exceeds 10485760 bytes","where":""}`,
			wantEvents: counts{}, wantReject: counts{"too_large": 1},
		},
		{
			name: "ErrTooLargeChunked", body: fixture, chunked: true, maxBody: 100,
			wantCode: 413, wantBody: `{"error":"request body exceeds 100 bytes","where":""}`,
			wantEvents: counts{}, wantReject: counts{"too_large": 1},
		},
		{
			name: "OKAtLimit", body: fixture, chunked: true, maxBody: int64(len(fixture)),
			wantCode: 200, wantBody: `{"status":"success","events":3}`, wantSubmits: 1,
			wantEvents: counts{"accepted": 3}, wantReject: counts{},
		},
		{
			name: "ErrNotCommitted", body: fixture, sinkErr: errors.New("store down"),
			wantCode: 503, wantBody: `{"error":"not committed, retry","where":""}`, retryAfter: "5", wantSubmits: 1,
			wantEvents: counts{"failed": 3}, wantReject: counts{},
		},
		{
			// Whatever the sink wraps, the sender must retry, not drop.
			name: "ErrNotCommittedWrapsInputError", body: fixture, sinkErr: fmt.Errorf("pipeline: %w", &InputError{Msg: "x"}),
			wantCode: 503, wantBody: `{"error":"not committed, retry","where":""}`, retryAfter: "5", wantSubmits: 1,
			wantEvents: counts{"failed": 3}, wantReject: counts{},
		},
		{
			name: "ErrNotCommittedCanceled", body: fixture, sinkErr: context.Canceled,
			wantCode: 503, wantBody: `{"error":"not committed, retry","where":""}`, retryAfter: "5", wantSubmits: 1,
			wantEvents: counts{"failed": 3}, wantReject: counts{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := mustHandler(t, tt.sinkErr, tt.maxBody)
			rec := th.post(tt.body, tt.chunked)

			if rec.Code != tt.wantCode {
				t.Errorf("code = %d, want %d", rec.Code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantBody+"\n", rec.Body.String()); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if th.sink.called != tt.wantSubmits {
				t.Errorf("Submit called %d times, want %d", th.sink.called, tt.wantSubmits)
			}
			if tt.wantSubmits > 0 && tt.sinkErr == nil {
				want, err := DecodeAlertmanager(tt.body)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, th.sink.events); diff != "" {
					t.Errorf("submitted events (-want +got):\n%s", diff)
				}
			}

			m := th.h.metrics
			if got := testutil.ToFloat64(m.requests.WithLabelValues("alertmanager", fmt.Sprint(tt.wantCode))); got != 1 {
				t.Errorf("requests_total{code=%d} = %v, want 1", tt.wantCode, got)
			}
			for _, o := range []string{"accepted", "rejected", "failed"} {
				if got := testutil.ToFloat64(m.events.WithLabelValues("alertmanager", o)); got != tt.wantEvents[o] {
					t.Errorf("events_total{outcome=%s} = %v, want %v", o, got, tt.wantEvents[o])
				}
			}
			for _, r := range []string{"too_large", "invalid"} {
				if got := testutil.ToFloat64(m.rejected.WithLabelValues("alertmanager", r)); got != tt.wantReject[r] {
					t.Errorf("rejected_total{reason=%s} = %v, want %v", r, got, tt.wantReject[r])
				}
			}
		})
	}
}

func TestHandlerMethodNotAllowed(t *testing.T) {
	th := mustHandler(t, nil, 0)
	rec := httptest.NewRecorder()
	th.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ingest/alertmanager", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET code = %d, want 405", rec.Code)
	}
	if th.sink.called != 0 {
		t.Errorf("Submit called %d times", th.sink.called)
	}
}

// TestHandlerMetricNames pins the exported names and labels, which dashboards
// and alerts depend on.
func TestHandlerMetricNames(t *testing.T) {
	th := mustHandler(t, nil, 0)
	th.post(mustRead(t, filepath.Join("testdata", "alertmanager", "truncated.json")), false)
	mfs, err := th.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		var labels []string
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, lp.GetName())
		}
		got = append(got, fmt.Sprintf("%s %s %v", mf.GetName(), mf.GetType(), labels))
	}
	sort.Strings(got)
	want := []string{
		"alertbridge_ingest_duration_seconds HISTOGRAM [source]",
		"alertbridge_ingest_events_total COUNTER [outcome source]",
		"alertbridge_ingest_inflight_body_bytes GAUGE []",
		"alertbridge_ingest_rejected_total COUNTER [reason source]",
		"alertbridge_ingest_requests_total COUNTER [code source]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metric families (-want +got):\n%s", diff)
	}
}

func TestHandlerDuration(t *testing.T) {
	reg := prometheus.NewRegistry()
	var now time.Time
	clock := func() time.Time { now = now.Add(250 * time.Millisecond); return now }
	h := mustNew(t, Options{Sink: &recordingSink{}, Registerer: reg, Now: clock})
	mux := http.NewServeMux()
	h.Register(mux)
	body := mustRead(t, filepath.Join("testdata", "alertmanager", "firing-group.json"))
	for range 2 {
		mux.ServeHTTP(httptest.NewRecorder(), jsonRequest("/ingest/alertmanager", body))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "alertbridge_ingest_duration_seconds" {
			continue
		}
		hist := mf.GetMetric()[0].GetHistogram()
		if got, want := hist.GetSampleCount(), uint64(2); got != want {
			t.Errorf("sample count = %d, want %d", got, want)
		}
		if got, want := hist.GetSampleSum(), 0.5; got != want {
			t.Errorf("sample sum = %v, want %v", got, want)
		}
		return
	}
	t.Fatal("alertbridge_ingest_duration_seconds not gathered")
}

func TestNewMetrics(t *testing.T) {
	tests := []struct {
		name string
		reg  func() prometheus.Registerer
	}{
		{"OKNilRegisterer", func() prometheus.Registerer { return nil }},
		{"OKRegisteredTwice", func() prometheus.Registerer {
			reg := prometheus.NewRegistry()
			newMetrics(reg).requests.WithLabelValues("alertmanager", "200").Inc()
			return reg
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := tt.reg()
			h := mustNew(t, Options{Sink: &recordingSink{}, Registerer: reg})
			mux := http.NewServeMux()
			h.Register(mux)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, jsonRequest("/ingest/alertmanager", mustRead(t, filepath.Join("testdata", "alertmanager", "truncated.json"))))
			if rec.Code != http.StatusOK {
				t.Fatalf("code = %d, want 200", rec.Code)
			}
			want := 1.0
			if reg != nil {
				want = 2 // shares the counter registered first
			}
			if got := testutil.ToFloat64(h.metrics.requests.WithLabelValues("alertmanager", "200")); got != want {
				t.Errorf("requests_total{code=200} = %v, want %v", got, want)
			}
		})
	}
}

func TestHandlerNoSink(t *testing.T) {
	h := mustNew(t, Options{})
	mux := http.NewServeMux()
	h.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, jsonRequest("/ingest/alertmanager", []byte(payload(alert))))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" {
		t.Errorf("code = %d, Retry-After = %q; want 503 and 5", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// TestHandlerLogs checks what is logged on each path, and that neither the
// body nor the Authorization header ever is.
func TestHandlerLogs(t *testing.T) {
	const marker = "do-not-log-this-label-value"
	valid := []byte(strings.Replace(payload(alert), `"alertname":"A"`, `"alertname":"`+marker+`"`, 1))
	tests := []struct {
		name    string
		body    []byte
		sinkErr error
		want    map[string]any // attributes of the last log record
	}{
		{"OK", valid, nil, map[string]any{
			"level": "DEBUG", "msg": "events accepted", "component": "ingest", "source": "alertmanager", "events": 1.0,
		}},
		// Error messages echo at most 64 bytes of a bad status or version
		// value, never label values or annotations.
		{"ErrInvalid", []byte(payload(strings.Replace(alert, `"firing"`, `"`+marker+`"`, 1))), nil, map[string]any{
			"level": "WARN", "msg": "request rejected", "component": "ingest", "source": "alertmanager", "reason": "invalid",
			"remote_addr": "192.0.2.1:1234",
			"err":         `alerts[0].status: unknown status "do-not-log-this-label-value", want firing or resolved`,
		}},
		{"ErrNotCommitted", valid, errors.New("database is locked"), map[string]any{
			"level": "WARN", "msg": "events not committed", "component": "ingest", "source": "alertmanager", "events": 1.0,
			"err": "database is locked",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := mustHandler(t, tt.sinkErr, 0)
			th.post(tt.body, false)
			logs := th.logs.String()
			if strings.Contains(logs, "fixture-bearer-token-123") || strings.Contains(logs, "Bearer") {
				t.Errorf("logs contain the Authorization header:\n%s", logs)
			}
			lines := strings.Split(strings.TrimSpace(logs), "\n")
			var got map[string]any
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
				t.Fatalf("log line %q: %v", lines[len(lines)-1], err)
			}
			delete(got, "time")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("log record (-want +got):\n%s", diff)
			}
			if tt.name != "ErrInvalid" && strings.Contains(logs, marker) {
				t.Errorf("logs contain payload contents:\n%s", logs)
			}
		})
	}
}

// TestBatchReportsEveryInvalidItem: a batch of events or changes with
// several invalid items is answered with all of them, each with its path,
// not only the first.
func TestBatchReportsEveryInvalidItem(t *testing.T) {
	tests := []struct {
		name, path, body string
		want             []itemError
	}{
		{"Events", "/ingest/events", `{"events":[
			{"labels":{"alertname":"ok"}},
			{"labels":{}},
			{"labels":{"alertname":"x"},"status":"pending"},
			{"labels":{"alertname":"y"},"starts_at":"yesterday"}]}`,
			[]itemError{
				{Error: "no labels", Where: "events[1].labels"},
				{Error: `unknown status "pending", want firing or resolved`, Where: "events[2].status"},
				{Error: "want an RFC 3339 time", Where: "events[3].starts_at"},
			}},
		{"Changes", "/ingest/changes", `{"changes":[{"service":"a"},{"id":"2"}]}`,
			[]itemError{
				{Error: "missing", Where: "changes[0].id"},
				{Error: "missing", Where: "changes[1].service"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := mustHandler(t, nil, 0)
			rec := httptest.NewRecorder()
			th.mux.ServeHTTP(rec, jsonRequest(tt.path, []byte(tt.body)))
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body)
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, body.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nbody: %s", diff, rec.Body)
			}
			if body.Error != tt.want[0].Error || body.Where != tt.want[0].Where {
				t.Errorf("error/where %q/%q, want the first problem", body.Error, body.Where)
			}
			if th.sink.called != 0 {
				t.Error("an invalid batch reached the sink")
			}
		})
	}
}
