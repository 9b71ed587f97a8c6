package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

// toolServer is a webhook receiver that answers with the code the test
// sets, and counts what it got.
type toolServer struct {
	mu     sync.Mutex
	code   int
	bodies []string
}

func (s *toolServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	code := s.code
	s.mu.Unlock()
	w.WriteHeader(code)
	_, _ = io.WriteString(w, `{"error":"summary: required"}`)
}

func (s *toolServer) set(code int) { s.mu.Lock(); s.code = code; s.mu.Unlock() }

func (s *toolServer) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.bodies) }

func parseConfig(t *testing.T, yml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("alertbridge.yml", []byte(yml), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestOutboxAPI: dead letters are listed to viewers and replayed by admins
// only; a replay is delivered.
func TestOutboxAPI(t *testing.T) {
	tool := &toolServer{code: http.StatusBadRequest}
	srv := httptest.NewServer(tool)
	defer srv.Close()
	cfg := parseConfig(t, `sources:
  - {name: am, type: alertmanager, auth: {bearer: {token: source-token-0123456789}}}
api:
  users:
    - {name: val, role: viewer, bearer: {token: viewer-token-0123456789}}
    - {name: rita, role: responder, bearer: {token: responder-token-0123456789}}
    - {name: ada, role: admin, bearer: {token: admin-token-0123456789}}
sinks:
  - name: hook
    webhook: {url: "`+srv.URL+`"}
`)
	a := mustApp(t, app.Options{Config: cfg, ManualDispatch: true})
	hc := &http.Client{Timeout: 10 * time.Second}
	as := func(tok string) caller {
		c := caller{client: hc, base: "http://" + a.Addr()}
		if tok != "" {
			c.auth = bearer(tok)
		}
		return c
	}
	source, viewer, responder, admin, anonymous := as("source-token-0123456789"), as("viewer-token-0123456789"),
		as("responder-token-0123456789"), as("admin-token-0123456789"), as("")
	if code, body := source.do(t, "POST", "/ingest/alertmanager", "application/json", fixture(t, "firing-group")); code != 200 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	ctx := context.Background()
	if _, err := a.Dispatcher().RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if tool.count() != 1 {
		t.Fatalf("tool got %d notifications, want 1", tool.count())
	}

	code, body := viewer.do(t, "GET", "/api/v1/outbox?state=dead", "", nil)
	var list api.OutboxList
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Entries) != 1 {
		t.Fatalf("viewer lists dead letters: %d %s", code, body)
	}
	dead := list.Entries[0]
	if dead.Sink != "hook" || dead.Kind != "opened" || dead.State != "dead" || !strings.Contains(dead.LastError, "400 Bad Request") {
		t.Errorf("dead letter: %+v", dead)
	}
	replay := "/api/v1/outbox/" + itoa(dead.ID) + "/replay"
	const js = "application/json"
	for _, s := range []struct {
		name   string
		c      caller
		method string
		path   string
		ctype  string
		code   int
	}{
		{"ListAnonymousRefused", anonymous, "GET", "/api/v1/outbox", "", 401},
		{"ListSourceTokenRefused", source, "GET", "/api/v1/outbox", "", 401},
		{"ListBadState", viewer, "GET", "/api/v1/outbox?state=lost", "", 400},
		{"ReplayAnonymousRefused", anonymous, "POST", replay, js, 401},
		{"ReplayViewerRefused", viewer, "POST", replay, js, 403},
		{"ReplayResponderRefused", responder, "POST", replay, js, 403},
		{"ReplaySourceTokenRefused", source, "POST", replay, js, 401},
		{"ReplayTextPlainRefused", admin, "POST", replay, "text/plain", 415},
		{"ReplayUnknown", admin, "POST", "/api/v1/outbox/999/replay", js, 404},
		{"ReplayBadID", admin, "POST", "/api/v1/outbox/x/replay", js, 400},
		{"ReplayAdmin", admin, "POST", replay, js, 200},
		{"ReplayNotDead", admin, "POST", replay, js, 409},
	} {
		if code, body := s.c.do(t, s.method, s.path, s.ctype, nil); code != s.code {
			t.Errorf("%s: %s %s = %d, want %d: %s", s.name, s.method, s.path, code, s.code, body)
		}
	}
	tool.set(http.StatusNoContent)
	if _, err := a.Dispatcher().RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if tool.count() != 2 {
		t.Errorf("tool got %d notifications, want the replay too", tool.count())
	}
	code, body = viewer.do(t, "GET", "/api/v1/outbox", "", nil)
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Entries) != 0 {
		t.Errorf("outbox after the replay was delivered: %d %s", code, body)
	}
}

// TestWebhookChainsTwoAlertbridges: one alertbridge's webhook sink, in the
// events format, feeds another's /ingest/events through an HMAC source: the
// downstream incident follows the upstream one. A wrong secret is refused
// downstream and retried upstream, never dropped.
func TestWebhookChainsTwoAlertbridges(t *testing.T) {
	down := mustApp(t, app.Options{Config: parseConfig(t, `sources:
  - name: upstream
    type: events
    auth: {hmac: {secret: chain-secret-0123456789}}
`)})
	upCfg := func(secret string) *config.Config {
		return parseConfig(t, `sinks:
  - name: downstream
    webhook:
      url: http://`+down.Addr()+`/ingest/events
      format: events
      secret: `+secret+`
`)
	}
	up := mustApp(t, app.Options{Config: upCfg("chain-secret-0123456789"), SinkPoll: 20 * time.Millisecond,
		ExternalURL: "https://up.example"})
	if code, body := post(t, up, "/ingest/alertmanager", fixture(t, "firing-group")); code != 200 {
		t.Fatalf("ingest upstream: %d %s", code, body)
	}
	ctx := context.Background()
	downAPI := &api.Client{BaseURL: "http://" + down.Addr()}
	var got api.Incident
	waitUntil(t, "the downstream incident opens", func() bool {
		list, err := downAPI.ListIncidents(ctx, api.ListQuery{})
		if err != nil || len(list.Incidents) == 0 {
			return false
		}
		got = list.Incidents[0]
		return true
	})
	upInc, err := (&api.Client{BaseURL: "http://" + up.Addr()}).Incident(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != upInc.Title || got.Source != "upstream" || got.State != "open" {
		t.Errorf("downstream incident %+v, want %q from upstream, open", got, upInc.Title)
	}
	detail, err := downAPI.Incident(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l := detail.Alerts[0].Labels; l["alertbridge_incident"] != "1" || detail.Alerts[0].GeneratorURL != "https://up.example/incidents/1" {
		t.Errorf("downstream alert: %+v", detail.Alerts[0])
	}

	if _, err := (&api.Client{BaseURL: "http://" + up.Addr()}).Resolve(ctx, 1, api.ActionRequest{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the downstream incident resolves", func() bool {
		inc, err := downAPI.Incident(ctx, got.ID)
		return err == nil && inc.State == "resolved"
	})

	// A wrong secret: refused downstream, retried (not a dead letter) upstream.
	bad := mustApp(t, app.Options{Config: upCfg("wrong-secret-0123456789"), ManualDispatch: true})
	if code, body := post(t, bad, "/ingest/alertmanager", fixture(t, "firing-group")); code != 200 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	if _, err := bad.Dispatcher().RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	c := caller{client: http.DefaultClient, base: "http://" + bad.Addr()}
	_, body := c.do(t, "GET", "/api/v1/outbox", "", nil)
	var list api.OutboxList
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Entries) != 1 {
		t.Fatalf("outbox: %s", body)
	}
	if e := list.Entries[0]; e.State != "pending" || e.Attempts != 1 || !strings.Contains(e.LastError, "403 Forbidden") {
		t.Errorf("refused delivery: %+v, want pending after one attempt, 403", e)
	}
	if list, _ := downAPI.ListIncidents(ctx, api.ListQuery{}); len(list.Incidents) != 1 {
		t.Errorf("downstream has %d incidents after a badly signed delivery, want 1", len(list.Incidents))
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
