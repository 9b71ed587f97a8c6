package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// hangUp, as an answer, makes the fake server close the connection without
// responding.
const hangUp = -1

// fakeServer is an Alertmanager webhook receiver that checks the shape of
// every notification and counts what it received and answered.
type fakeServer struct {
	t      *testing.T
	token  string
	answer func(n int) int // the status for the n-th notification, 1-based

	mu       sync.Mutex
	requests int
	alerts   int
	answered map[int]int         // by status; hangUp for closed connections
	fps      map[string]string   // label set → fingerprint
	inFlight map[string]bool     // by groupKey
	groups   map[string]*seen    // by groupKey
	history  map[string][]string // by groupKey: reason, status and fingerprints of each
}

// seen is what the server last saw of a group.
type seen struct {
	status string
	endsAt time.Time
}

var hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)

// topLevelKeys are the keys of Alertmanager v0.35.0's webhook body.
var topLevelKeys = []string{
	"alerts", "commonAnnotations", "commonLabels", "externalURL", "groupKey", "groupLabels",
	"notification_reason", "receiver", "routeLabels", "status", "truncatedAlerts", "version",
}

func newFakeServer(t *testing.T, answer func(n int) int) *fakeServer {
	t.Helper()
	if answer == nil {
		answer = func(int) int { return http.StatusOK }
	}
	return &fakeServer{
		t: t, answer: answer,
		answered: map[int]int{},
		fps:      map[string]string{},
		inFlight: map[string]bool{},
		groups:   map[string]*seen{},
		history:  map[string][]string{},
	}
}

// start serves s, and /metrics with metrics if not empty, on 127.0.0.1.
func (s *fakeServer) start(metrics string) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ingest/alertmanager", s.ingest)
	if metrics != "" {
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			_, _ = io.WriteString(w, metrics)
		})
	}
	srv := httptest.NewServer(mux) // httptest listens on 127.0.0.1
	s.t.Cleanup(srv.Close)
	return srv
}

func (s *fakeServer) ingest(w http.ResponseWriter, r *http.Request) {
	t := s.t
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// The client gave up mid-request (a cancelled run does that). It is
		// not a payload to check; the other tests' request counts, compared
		// with the Report, would still catch a request that never arrived.
		return
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if want := "Bearer " + s.token; s.token != "" && r.Header.Get("Authorization") != want {
		t.Errorf("Authorization = %q, want %q", r.Header.Get("Authorization"), want)
	}
	if s.token == "" && r.Header.Get("Authorization") != "" {
		t.Errorf("Authorization sent without a token")
	}

	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		t.Errorf("decode body: %v", err)
		return
	}
	if diff := cmp.Diff(topLevelKeys, slices.Sorted(maps.Keys(keys))); diff != "" {
		t.Errorf("top-level keys (-want +got):\n%s", diff)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	var m message
	if err := dec.Decode(&m); err != nil {
		t.Errorf("decode webhook message: %v", err)
		return
	}

	s.mu.Lock()
	if s.inFlight[m.GroupKey] {
		t.Errorf("%s: two notifications of one group in flight", m.GroupKey)
	}
	s.inFlight[m.GroupKey] = true
	s.requests++
	s.alerts += len(m.Alerts)
	n := s.requests
	s.check(&m)
	s.mu.Unlock()

	code := s.answer(n)

	s.mu.Lock()
	s.inFlight[m.GroupKey] = false
	s.answered[code]++
	s.mu.Unlock()

	if code == hangUp {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
		return
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(code)
}

// check checks one notification against the model; s.mu is held.
func (s *fakeServer) check(m *message) {
	t := s.t
	where := fmt.Sprintf("%s (%s)", m.GroupKey, m.NotificationReason)
	if m.Version != "4" || m.Receiver != "bench" || m.TruncatedAlerts != 0 || len(m.RouteLabels) != 0 {
		t.Errorf("%s: version %q, receiver %q, truncatedAlerts %d, routeLabels %v", where, m.Version, m.Receiver, m.TruncatedAlerts, m.RouteLabels)
	}
	if got := slices.Sorted(maps.Keys(m.GroupLabels)); !slices.Equal(got, []string{"alertname", "cluster"}) {
		t.Errorf("%s: group labels %v, want alertname and cluster", where, got)
	}
	wantKey := fmt.Sprintf(`{}:{alertname=%q, cluster=%q}`, m.GroupLabels["alertname"], m.GroupLabels["cluster"])
	if m.GroupKey != wantKey {
		t.Errorf("groupKey %s, want %s", m.GroupKey, wantKey)
	}
	if len(m.Alerts) == 0 {
		t.Errorf("%s: no alerts", where)
		return
	}
	wantReasons := map[string][]string{
		"firing":   {reasonFirst, reasonAdded, reasonRepeat},
		"resolved": {reasonResolved},
	}
	if !slices.Contains(wantReasons[m.Status], m.NotificationReason) {
		t.Errorf("%s: status %q with this reason", where, m.Status)
	}

	var fps []string
	for _, a := range m.Alerts {
		fps = append(fps, a.Fingerprint)
		if a.Status != m.Status {
			t.Errorf("%s: alert %s is %s in a %s notification", where, a.Fingerprint, a.Status, m.Status)
		}
		for k, v := range m.GroupLabels {
			if a.Labels[k] != v {
				t.Errorf("%s: alert label %s=%q, group label %q", where, k, a.Labels[k], v)
			}
		}
		for k, v := range m.CommonLabels {
			if a.Labels[k] != v {
				t.Errorf("%s: alert label %s=%q, common label %q", where, k, a.Labels[k], v)
			}
		}
		for _, k := range []string{"instance", "job", "severity"} {
			if a.Labels[k] == "" {
				t.Errorf("%s: alert without %s", where, k)
			}
		}
		if a.Annotations["summary"] == "" || a.Annotations["description"] == "" {
			t.Errorf("%s: annotations %v lack summary or description", where, a.Annotations)
		}
		if !hex16.MatchString(a.Fingerprint) {
			t.Errorf("%s: fingerprint %q is not 16 hex digits", where, a.Fingerprint)
		}
		ls := a.Labels.String()
		if fp, ok := s.fps[ls]; ok && fp != a.Fingerprint {
			t.Errorf("%s: labels %s had fingerprint %s, now %s", where, ls, fp, a.Fingerprint)
		}
		s.fps[ls] = a.Fingerprint
		if a.StartsAt.IsZero() {
			t.Errorf("%s: alert %s without startsAt", where, a.Fingerprint)
		}
		switch a.Status {
		case "firing":
			if !a.EndsAt.IsZero() {
				t.Errorf("%s: firing alert %s ends at %s", where, a.Fingerprint, a.EndsAt)
			}
		case "resolved":
			if !a.EndsAt.After(a.StartsAt) {
				t.Errorf("%s: resolved alert %s: endsAt %s not after startsAt %s", where, a.Fingerprint, a.EndsAt, a.StartsAt)
			}
		}
	}
	if len(fps) != len(slices.Compact(slices.Sorted(slices.Values(fps)))) {
		t.Errorf("%s: duplicate fingerprints %v", where, fps)
	}

	// The group's history: only firing groups repeat, grow or resolve, and a
	// refire starts after the resolve.
	g, ok := s.groups[m.GroupKey]
	switch {
	case !ok:
		// Without warm-up a group's first notification can be anything.
	case g.status == "resolved" && m.NotificationReason != reasonFirst:
		t.Errorf("%s: after the group resolved", where)
	case g.status == "resolved" && !m.Alerts[0].StartsAt.After(g.endsAt):
		t.Errorf("%s: refire starts at %s, not after the resolve at %s", where, m.Alerts[0].StartsAt, g.endsAt)
	case g.status == "firing" && m.NotificationReason == reasonFirst:
		t.Errorf("%s: first notification of a firing group", where)
	}
	if !ok {
		g = &seen{}
		s.groups[m.GroupKey] = g
	}
	g.status, g.endsAt = m.Status, m.Alerts[0].EndsAt
	s.history[m.GroupKey] = append(s.history[m.GroupKey], m.NotificationReason+" "+m.Status+" "+strings.Join(fps, ","))
}

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"OK", Options{Groups: 12, AlertsPerGroup: 3, Concurrency: 4, Requests: 300}},
		{"OKOneWorker", Options{Groups: 5, AlertsPerGroup: 1, Concurrency: 1, Requests: 150}},
		{"OKNoWarmup", Options{Groups: 20, AlertsPerGroup: 4, Concurrency: 3, Requests: 200, NoWarmup: true}},
		{"OKBearerToken", Options{Groups: 6, AlertsPerGroup: 2, Concurrency: 2, Requests: 50, BearerToken: "s3cret"}},
		{"OKResolveOnly", Options{Groups: 4, AlertsPerGroup: 2, Concurrency: 2, Requests: 100, Mix: Mix{ResolveRefire: 1}}},
		{"OKAddOnly", Options{Groups: 4, AlertsPerGroup: 2, Concurrency: 2, Requests: 100, Mix: Mix{AddAlert: 1}}},
		{"OKNewOnly", Options{Groups: 4, AlertsPerGroup: 2, Concurrency: 2, Requests: 100, Mix: Mix{New: 1}, RunID: "r1"}},
		{"OKChurnOnly", Options{Groups: 4, AlertsPerGroup: 2, Concurrency: 2, Requests: 100, Mix: Mix{Churn: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, nil)
			fs.token = tt.o.BearerToken
			srv := fs.start("")
			o := tt.o
			o.URL = srv.URL + "/ingest/alertmanager"
			o.Duration = 5 * time.Minute // a bound only; Requests ends the run
			o.Seed = 42

			rep, err := Run(context.Background(), o)
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}

			warmReqs, warmAlerts := 0, 0
			if !o.NoWarmup {
				warmReqs, warmAlerts = o.Groups, o.Groups*o.AlertsPerGroup
			}
			fs.mu.Lock()
			defer fs.mu.Unlock()
			got := Report{
				Requests:     fs.requests - warmReqs,
				Alerts:       fs.alerts - warmAlerts,
				StatusCounts: map[int]int{http.StatusOK: fs.requests - warmReqs},
			}
			want := Report{Requests: o.Requests, Alerts: rep.Alerts, StatusCounts: rep.StatusCounts}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("server's counts (-report +server):\n%s", diff)
			}
			if rep.Requests != o.Requests || rep.Errors != 0 {
				t.Errorf("report: %d requests, %d errors; want %d, 0", rep.Requests, rep.Errors, o.Requests)
			}
			switch {
			case o.Mix == Mix{New: 1}:
				// Every notification a group never seen before.
				if len(fs.groups) != o.Groups+o.Requests {
					t.Errorf("server saw %d groups, want %d", len(fs.groups), o.Groups+o.Requests)
				}
			case o.Mix == Mix{Churn: 1}:
				// Half the notifications replace a resolved group by a new one.
				if len(fs.groups) <= o.Groups {
					t.Errorf("server saw %d groups, want more than the %d warmed up", len(fs.groups), o.Groups)
				}
			case len(fs.groups) != o.Groups && !o.NoWarmup:
				t.Errorf("server saw %d groups, want %d", len(fs.groups), o.Groups)
			}
			if rep.P50 <= 0 || rep.P50 > rep.P90 || rep.P90 > rep.P99 || rep.P99 > rep.Max {
				t.Errorf("latencies p50 %s, p90 %s, p99 %s, max %s are not ordered", rep.P50, rep.P90, rep.P99, rep.Max)
			}
			if rep.Elapsed <= 0 {
				t.Errorf("elapsed %s", rep.Elapsed)
			}
			if rep.RSSBytes != 0 {
				t.Errorf("RSS %d without a /metrics", rep.RSSBytes)
			}
		})
	}
}

// TestRunDeterministic checks that a seed gives every group the same
// sequence of notifications, whatever the scheduling of the workers.
func TestRunDeterministic(t *testing.T) {
	histories := func(seed int64) map[string][]string {
		fs := newFakeServer(t, nil)
		srv := fs.start("")
		_, err := Run(context.Background(), Options{
			URL: srv.URL + "/ingest/alertmanager", Groups: 9, AlertsPerGroup: 3,
			Concurrency: 3, Requests: 300, Duration: 5 * time.Minute, Seed: seed,
		})
		if err != nil {
			t.Fatalf("Run() = %v", err)
		}
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return fs.history
	}
	a, b := histories(3), histories(3)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different traffic (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, histories(4)) {
		t.Error("seeds 3 and 4 gave the same traffic")
	}
}

func TestRunErrorStatuses(t *testing.T) {
	tests := []struct {
		name   string
		answer func(n int) int
	}{
		{"Err503", func(n int) int {
			if n%3 == 0 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}},
		{"ErrMixed", func(n int) int {
			switch {
			case n%7 == 0:
				return http.StatusInternalServerError
			case n%5 == 0:
				return http.StatusTooManyRequests
			case n%4 == 0:
				return http.StatusAccepted
			case n%3 == 0:
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}},
		{"ErrHangUp", func(n int) int {
			if n%4 == 0 {
				return hangUp
			}
			return http.StatusOK
		}},
		{"ErrAll503", func(int) int { return http.StatusServiceUnavailable }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, tt.answer)
			srv := fs.start("")
			rep, err := Run(context.Background(), Options{
				URL: srv.URL + "/ingest/alertmanager", Groups: 10, AlertsPerGroup: 2,
				Concurrency: 4, Requests: 200, Duration: 5 * time.Minute,
				// Without warm-up the server's counts are the report's.
				NoWarmup: true,
			})
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			fs.mu.Lock()
			defer fs.mu.Unlock()
			want := maps.Clone(fs.answered)
			if n, ok := want[hangUp]; ok {
				delete(want, hangUp)
				want[StatusTransportError] = n
			}
			if diff := cmp.Diff(want, rep.StatusCounts); diff != "" {
				t.Errorf("status counts (-server +report):\n%s", diff)
			}
			wantErrors := 0
			for code, n := range want {
				if code < 200 || code > 299 {
					wantErrors += n
				}
			}
			if rep.Errors != wantErrors || rep.Requests != 200 {
				t.Errorf("report: %d requests, %d errors; want 200, %d", rep.Requests, rep.Errors, wantErrors)
			}
		})
	}
}

func TestRunRSS(t *testing.T) {
	const exposition = `# HELP process_resident_memory_bytes_total Not the metric.
process_resident_memory_bytes_total 1
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 4.2467328e+07
# HELP process_virtual_memory_bytes Virtual memory size in bytes.
process_virtual_memory_bytes 1.26435328e+09
`
	tests := []struct {
		name       string
		metrics    string // served at /metrics unless empty
		metricsURL string // appended to the server's URL unless empty
		want       int64
	}{
		{name: "OK", metrics: exposition, want: 42467328},
		{name: "OKExplicitURL", metrics: exposition, metricsURL: "/metrics", want: 42467328},
		{name: "UnknownNotServed", want: 0},
		{name: "UnknownWrongURL", metrics: exposition, metricsURL: "/elsewhere", want: 0},
		{name: "UnknownNoProcessCollector", metrics: "go_goroutines 12\n", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, nil)
			srv := fs.start(tt.metrics)
			o := Options{
				URL: srv.URL + "/ingest/alertmanager", Groups: 2, AlertsPerGroup: 1,
				Requests: 5, Duration: 5 * time.Minute,
			}
			if tt.metricsURL != "" {
				o.MetricsURL = srv.URL + tt.metricsURL
			}
			rep, err := Run(context.Background(), o)
			if err != nil {
				t.Fatalf("Run() = %v, want nil: an unreadable RSS is not an error", err)
			}
			if rep.RSSBytes != tt.want {
				t.Errorf("RSSBytes = %d, want %d", rep.RSSBytes, tt.want)
			}
		})
	}
}

func TestRunUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/ingest/alertmanager"
	srv.Close() // nothing listens there now

	t.Run("ErrWarmup", func(t *testing.T) {
		_, err := Run(context.Background(), Options{URL: url, Groups: 3, Requests: 10, Duration: time.Minute})
		if err == nil || !strings.Contains(err.Error(), "warm up") {
			t.Fatalf("Run() = %v, want a warm-up error", err)
		}
	})
	t.Run("ErrCountedWithoutWarmup", func(t *testing.T) {
		rep, err := Run(context.Background(), Options{URL: url, Groups: 3, Requests: 10, Duration: time.Minute, NoWarmup: true})
		if err != nil {
			t.Fatalf("Run() = %v", err)
		}
		want := map[int]int{StatusTransportError: 10}
		if diff := cmp.Diff(want, rep.StatusCounts); diff != "" || rep.Errors != 10 {
			t.Errorf("errors = %d, status counts (-want +got):\n%s", rep.Errors, diff)
		}
	})
}

// TestRunDuration checks that a run without a request count ends by itself,
// and that the requests in flight when it ends are waited for and counted.
func TestRunDuration(t *testing.T) {
	fs := newFakeServer(t, func(int) int {
		time.Sleep(20 * time.Millisecond) // so that requests are in flight at the end
		return http.StatusOK
	})
	srv := fs.start("")
	rep, err := Run(context.Background(), Options{
		URL: srv.URL + "/ingest/alertmanager", Groups: 4, AlertsPerGroup: 2,
		Concurrency: 2, Duration: 300 * time.Millisecond, NoWarmup: true,
	})
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if rep.Requests != fs.requests || rep.Errors != 0 {
		t.Errorf("report: %d requests, %d errors; server saw %d requests", rep.Requests, rep.Errors, fs.requests)
	}
}

func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fs := newFakeServer(t, func(n int) int {
		if n == 30 {
			cancel()
		}
		return http.StatusOK
	})
	srv := fs.start("")
	rep, err := Run(ctx, Options{
		URL: srv.URL + "/ingest/alertmanager", Groups: 4, Concurrency: 2,
		Requests: 100000, Duration: 5 * time.Minute, NoWarmup: true,
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run() = %v, want context.Canceled", err)
	}
	if rep.Requests >= 100000 || rep.Errors != 0 {
		t.Errorf("report after cancel: %d requests, %d errors", rep.Requests, rep.Errors)
	}
}

// TestRunRedirect checks that a redirect is counted, not followed.
func TestRunRedirect(t *testing.T) {
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ingest/alertmanager", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(http.ResponseWriter, *http.Request) { followed.Store(true) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	rep, err := Run(context.Background(), Options{
		URL: srv.URL + "/ingest/alertmanager", Groups: 2, Concurrency: 1,
		Requests: 5, Duration: time.Minute, NoWarmup: true,
	})
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if diff := cmp.Diff(map[int]int{http.StatusTemporaryRedirect: 5}, rep.StatusCounts); diff != "" {
		t.Errorf("status counts (-want +got):\n%s", diff)
	}
	if followed.Load() {
		t.Error("redirect followed")
	}
}

// TestRunSendersAndAPIFormat checks that HA senders post every notification
// that many times, and that the api format posts Alertmanager's
// PostableAlerts: firing alerts without endsAt, resolved ones with it.
func TestRunSendersAndAPIFormat(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string]int{}
	var firing, resolved int
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/alerts", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		var alerts []postableAlert
		if err := dec.Decode(&alerts); err != nil || len(alerts) == 0 {
			t.Errorf("decode alerts: %d alerts, %v", len(alerts), err)
		}
		mu.Lock()
		defer mu.Unlock()
		bodies[string(b)]++
		for _, a := range alerts {
			if a.Labels["alertname"] == "" || a.StartsAt.IsZero() {
				t.Errorf("alert %v without alertname or startsAt", a.Labels)
			}
			if a.EndsAt == nil {
				firing++
			} else {
				resolved++
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	o := Options{URL: srv.URL + "/api/v2/alerts", Groups: 6, AlertsPerGroup: 2, Concurrency: 2, Requests: 60,
		Duration: time.Minute, Senders: 2, Format: FormatAPI, Mix: Mix{ResolveRefire: 1}, Seed: 3, NoWarmup: true}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if rep.Requests != 2*o.Requests || rep.Acked != rep.Requests || rep.Errors != 0 {
		t.Errorf("report: %d requests, %d acked, %d errors; want %d, all acked", rep.Requests, rep.Acked, rep.Errors, 2*o.Requests)
	}
	mu.Lock()
	defer mu.Unlock()
	for b, n := range bodies {
		if n%2 != 0 {
			t.Errorf("body posted %d times, want a multiple of 2 senders: %.80s", n, b)
		}
	}
	if firing == 0 || resolved == 0 {
		t.Errorf("%d firing and %d resolved alerts; want both", firing, resolved)
	}
}

// TestRunRatePacesSenders checks that an open loop sends no faster than
// Rate: 20 notifications at 100/s take about 200ms.
func TestRunRatePacesSenders(t *testing.T) {
	fs := newFakeServer(t, nil)
	srv := fs.start("")
	o := Options{URL: srv.URL + "/ingest/alertmanager", Groups: 4, AlertsPerGroup: 1, Concurrency: 2, Requests: 20,
		Duration: time.Minute, Rate: 100, NoWarmup: true}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	// A lower bound only: pacing never sends early, however slow the machine.
	if rep.Elapsed < 180*time.Millisecond {
		t.Errorf("20 notifications at 100/s took %s, want at least about 200ms", rep.Elapsed)
	}
}
