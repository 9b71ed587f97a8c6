package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// The tokens of the guarded API's identities, and one an ingest source
// sends, which the API does not know.
const (
	viewerToken    = "val-viewer-token-0123456789"
	responderToken = "rita-responder-token-0123456789"
	sourceToken    = "alertmanager-source-token-0123456789"
)

// mustGuardedAPI serves the API over a real store and pipeline behind a
// Guard with a viewer (val) and a responder (rita); with anonymous, behind
// a Guard with no identities (the loopback rule).
func mustGuardedAPI(t *testing.T, anonymous bool) http.Handler {
	t.Helper()
	ctx := context.Background()
	st := storetest.MustOpen(t)
	p, err := pipeline.New(pipeline.Options{Store: st, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	t.Cleanup(func() {
		if err := p.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	var users []access.User
	if !anonymous {
		users = []access.User{
			{Name: "val", Role: access.RoleViewer, Token: secret.New(viewerToken)},
			{Name: "rita", Role: access.RoleResponder, Token: secret.New(responderToken)},
		}
	}
	g, err := access.New(access.Options{Users: users})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.New(api.Options{Reader: st, Executor: p, Guard: g}).Register(mux)
	return mux
}

// call is one request to a handler: from remote (default loopback), with a
// bearer token and a Content-Type (default application/json).
type call struct {
	method, path, body  string
	token, remote, ctyp string
}

func (c call) do(h http.Handler) *httptest.ResponseRecorder {
	r := httptest.NewRequest(c.method, "http://alertbridge.example:9097"+c.path, strings.NewReader(c.body))
	r.RemoteAddr = c.remote
	if r.RemoteAddr == "" {
		r.RemoteAddr = "127.0.0.1:40000"
	}
	if c.ctyp == "" {
		c.ctyp = "application/json"
	}
	if c.method == http.MethodPost {
		r.Header.Set("Content-Type", c.ctyp)
	}
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func (c call) incidents(t *testing.T, h http.Handler) int {
	t.Helper()
	w := call{method: http.MethodGet, path: "/api/v1/incidents", token: c.token}.do(h)
	var l api.IncidentList
	if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	return len(l.Incidents)
}

const reportBody = `{"title":"Checkout fails for card payments","service":"checkout",` +
	`"description":"Customers call: payments time out.","impact":"high","urgency":"medium","on_behalf_of":"alice"}`

func TestReportIncidentAPI(t *testing.T) {
	h := mustGuardedAPI(t, false)
	w := call{method: http.MethodPost, path: "/api/v1/incidents", body: reportBody, token: responderToken}.do(h)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	var inc api.Incident
	if err := json.Unmarshal(w.Body.Bytes(), &inc); err != nil {
		t.Fatal(err)
	}
	if loc := w.Header().Get("Location"); loc != "/api/v1/incidents/1" || inc.ID != 1 {
		t.Errorf("Location %q, id %d; want /api/v1/incidents/1", loc, inc.ID)
	}
	if inc.Source != "manual" || inc.Priority != "P2" || inc.State != "open" || inc.Service != "checkout" ||
		inc.Title != "Checkout fails for card payments" || inc.ResolveMode != "manual" || !strings.HasPrefix(inc.CorrelationKey, "manual/") {
		t.Errorf("incident = %+v", inc)
	}
	if len(inc.Timeline) != 1 || inc.Timeline[0].Actor != "rita" || inc.Timeline[0].OnBehalfOf != "alice" ||
		!strings.HasPrefix(inc.Timeline[0].Message, "reported by rita (on behalf of alice) as P2") {
		t.Errorf("timeline = %+v, want one entry: reported by rita on behalf of alice", inc.Timeline)
	}
	got := call{method: http.MethodGet, path: w.Header().Get("Location"), token: viewerToken}.do(h)
	if got.Code != http.StatusOK || !strings.Contains(got.Body.String(), `"source":"manual"`) {
		t.Errorf("GET Location: %d %s", got.Code, got.Body)
	}
}

// TestReportIncidentAPIRefuses: bad input answers 400 naming what and
// where; wrong callers 401 or 403; none of them opens an incident.
func TestReportIncidentAPIRefuses(t *testing.T) {
	h := mustGuardedAPI(t, false)
	open := mustGuardedAPI(t, true)
	post := func(body string) call {
		return call{method: http.MethodPost, path: "/api/v1/incidents", body: body, token: responderToken}
	}
	tests := []struct {
		name  string
		h     http.Handler
		c     call
		code  int
		where string
		msg   string
	}{
		{"ErrNoBody", h, post(""), 400, "", "want a JSON object"},
		{"ErrNotJSON", h, post("title=x"), 400, "", "request body"},
		{"ErrUnknownField", h, post(`{"title":"x","impact":"low","urgency":"low","severity":"critical"}`), 400, "severity", "unknown field"},
		{"ErrTitleType", h, post(`{"title":5,"impact":"low","urgency":"low"}`), 400, "title", "want string"},
		{"ErrNoTitle", h, post(`{"title":"  ","impact":"low","urgency":"low"}`), 400, "title", "required"},
		{"ErrTitleTooLong", h, post(`{"title":"` + strings.Repeat("x", 201) + `","impact":"low","urgency":"low"}`), 400, "title", "at most 200"},
		{"ErrNoImpact", h, post(`{"title":"x","urgency":"low"}`), 400, "impact", "required: high, medium or low"},
		{"ErrBadUrgency", h, post(`{"title":"x","impact":"low","urgency":"soon"}`), 400, "urgency", `"soon" is not a level`},
		{"ErrTooLarge", h, post(`{"title":"x","impact":"low","urgency":"low","description":"` + strings.Repeat("x", 70<<10) + `"}`), 400, "", "too large"},
		{"ErrFormContentType", h, call{method: http.MethodPost, path: "/api/v1/incidents", body: reportBody, token: responderToken,
			ctyp: "application/x-www-form-urlencoded"}, 415, "Content-Type", "application/json"},
		{"ErrViewer", h, call{method: http.MethodPost, path: "/api/v1/incidents", body: reportBody, token: viewerToken}, 403, "authorization", "val has the viewer role; this needs responder"},
		{"ErrSourceToken", h, call{method: http.MethodPost, path: "/api/v1/incidents", body: reportBody, token: sourceToken}, 401, "", ""},
		{"ErrAnonymous", h, call{method: http.MethodPost, path: "/api/v1/incidents", body: reportBody}, 401, "", ""},
		{"ErrAnonymousFromNetwork", open, call{method: http.MethodPost, path: "/api/v1/incidents", body: reportBody, remote: "192.0.2.7:5555"}, 401, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.c.do(tt.h)
			var e api.Error
			_ = json.Unmarshal(w.Body.Bytes(), &e)
			if w.Code != tt.code || (tt.where != "" && e.Where != tt.where) || !strings.Contains(e.Error, tt.msg) {
				t.Errorf("%d %s, want %d where %q saying %q", w.Code, w.Body, tt.code, tt.where, tt.msg)
			}
		})
	}
	if n := (call{token: viewerToken}).incidents(t, h); n != 0 {
		t.Errorf("%d incidents after refused reports", n)
	}
	// The same anonymous call from loopback is allowed without identities
	// (the loopback rule), so the refusal above was the network's.
	if w := (call{method: http.MethodPost, path: "/api/v1/incidents", body: reportBody}).do(open); w.Code != http.StatusCreated {
		t.Errorf("anonymous from loopback without identities: %d %s", w.Code, w.Body)
	}
}
