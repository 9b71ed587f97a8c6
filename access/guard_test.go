package access_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/internal/secret"
)

func mustHash(t *testing.T, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// echo answers 200 with the identity the Guard handed on.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, ok := access.FromContext(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(id)
})

type call struct {
	method, remote string
	header         map[string]string
	basic          [2]string
}

func (c call) do(h http.Handler) *httptest.ResponseRecorder {
	r := httptest.NewRequest(c.method, "http://alertbridge.example:9097/api/v1/x", nil)
	r.RemoteAddr = c.remote
	if r.RemoteAddr == "" {
		r.RemoteAddr = "127.0.0.1:40000"
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	if c.basic[0] != "" {
		r.SetBasicAuth(c.basic[0], c.basic[1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRequireWithIdentities(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, err := access.New(access.Options{Registerer: reg, Users: []access.User{
		{Name: "val", Role: access.RoleViewer, Token: secret.New("viewer-token-0123456789")},
		{Name: "rita", Role: access.RoleResponder, Token: secret.New("responder-token-0123456789")},
		{Name: "ada", Role: access.RoleAdmin, PasswordHash: secret.New(mustHash(t, "ada-password"))},
	}})
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	tests := []struct {
		name string
		need access.Role
		c    call
		code int
		who  string
	}{
		{"OKViewerReads", access.RoleViewer, call{method: "GET", header: bearer("viewer-token-0123456789")}, 200, "val"},
		{"ErrViewerWrites", access.RoleResponder, call{method: "POST", header: bearer("viewer-token-0123456789")}, 403, ""},
		{"OKResponderWrites", access.RoleResponder, call{method: "POST", header: bearer("responder-token-0123456789")}, 200, "rita"},
		{"ErrResponderAdmin", access.RoleAdmin, call{method: "POST", header: bearer("responder-token-0123456789")}, 403, ""},
		{"OKAdminBasic", access.RoleAdmin, call{method: "POST", basic: [2]string{"ada", "ada-password"}}, 200, "ada"},
		{"ErrWrongPassword", access.RoleViewer, call{method: "GET", basic: [2]string{"ada", "nope"}}, 401, ""},
		{"ErrUnknownUser", access.RoleViewer, call{method: "GET", basic: [2]string{"bob", "ada-password"}}, 401, ""},
		{"ErrUnknownToken", access.RoleViewer, call{method: "GET", header: bearer("guess")}, 401, ""},
		{"ErrMalformed", access.RoleViewer, call{method: "GET", header: map[string]string{"Authorization": "Bearer"}}, 401, ""},
		// Identities exist: no anonymous reads, and no anonymous writes even
		// from loopback.
		{"ErrAnonymousRead", access.RoleViewer, call{method: "GET"}, 401, ""},
		{"ErrAnonymousLoopbackWrite", access.RoleResponder, call{method: "POST"}, 401, ""},
		// A browser on another site cannot make a write, credentials or not.
		{"ErrCrossSite", access.RoleResponder, call{method: "POST", header: map[string]string{
			"Authorization": "Bearer responder-token-0123456789", "Sec-Fetch-Site": "cross-site"}}, 403, ""},
		{"ErrCrossOrigin", access.RoleResponder, call{method: "POST", header: map[string]string{
			"Authorization": "Bearer responder-token-0123456789", "Origin": "https://evil.example"}}, 403, ""},
		{"OKSameOrigin", access.RoleResponder, call{method: "POST", header: map[string]string{
			"Authorization": "Bearer responder-token-0123456789", "Origin": "http://alertbridge.example:9097"}}, 200, "rita"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.c.do(g.Require(tt.need, echo))
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if tt.code != 200 {
				var body struct{ Error, Where string }
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" {
					t.Errorf("error body %q is not {error, where}: %v", w.Body, err)
				}
				if tt.code == 401 && w.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			var id access.Identity
			if err := json.Unmarshal(w.Body.Bytes(), &id); err != nil || id.Name != tt.who {
				t.Errorf("identity %+v (%v), want %s", id, err, tt.who)
			}
		})
	}
	for reason, want := range map[string]float64{"forbidden": 2, "cross_origin": 2, "unauthenticated": 6} {
		if got := denied(t, reg, reason); got != want {
			t.Errorf("alertbridge_access_denied_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
}

func TestRequireWithoutIdentities(t *testing.T) {
	tests := []struct {
		name string
		mode access.AnonymousWrites
		need access.Role
		c    call
		code int
	}{
		{"OKReadFromNetwork", access.WritesLoopback, access.RoleViewer, call{method: "GET", remote: "10.1.2.3:5555"}, 200},
		{"OKWriteFromLoopback", access.WritesLoopback, access.RoleAdmin, call{method: "POST", remote: "127.0.0.1:5555"}, 200},
		{"OKWriteFromLoopbackV6", access.WritesLoopback, access.RoleAdmin, call{method: "POST", remote: "[::1]:5555"}, 200},
		{"ErrWriteFromNetwork", access.WritesLoopback, access.RoleResponder, call{method: "POST", remote: "10.1.2.3:5555"}, 401},
		// A forwarded-for header is never trusted to make a client local.
		{"ErrForwardedFor", access.WritesLoopback, access.RoleResponder, call{method: "POST", remote: "10.1.2.3:5555",
			header: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}}, 401},
		{"OKAnyFromNetwork", access.WritesAny, access.RoleAdmin, call{method: "POST", remote: "10.1.2.3:5555"}, 200},
		{"ErrNoneFromLoopback", access.WritesNone, access.RoleResponder, call{method: "POST", remote: "127.0.0.1:5555"}, 401},
		{"OKNoneRead", access.WritesNone, access.RoleViewer, call{method: "GET", remote: "10.1.2.3:5555"}, 200},
		// A token nobody has is refused even where anonymous writes would do.
		{"ErrUnknownToken", access.WritesAny, access.RoleViewer, call{method: "GET", header: map[string]string{"Authorization": "Bearer x"}}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := access.New(access.Options{AnonymousWrites: tt.mode})
			if err != nil {
				t.Fatal(err)
			}
			w := tt.c.do(g.Require(tt.need, echo))
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if tt.code == 401 && tt.mode == access.WritesLoopback &&
				(!strings.Contains(w.Body.String(), "api.users") || !strings.Contains(w.Body.String(), "--web.api.anonymous-writes=any")) {
				t.Errorf("the 401 does not say how to configure identities or opt in: %s", w.Body)
			}
			if tt.code == 200 {
				var id access.Identity
				if err := json.Unmarshal(w.Body.Bytes(), &id); err != nil || id.Name != access.AnonymousName || id.Role != tt.need {
					t.Errorf("identity %+v (%v), want anonymous with role %s", id, err, tt.need)
				}
			}
		})
	}
}

// writeWebConfig writes a web config with basic_auth_users and returns its path.
func writeWebConfig(t *testing.T, users map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("basic_auth_users:\n")
	for u, h := range users {
		b.WriteString("  " + u + ": '" + h + "'\n")
	}
	p := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWebConfigUsers(t *testing.T) {
	path := writeWebConfig(t, map[string]string{"prom": mustHash(t, "prom-password")})
	g, err := access.New(access.Options{WebConfigFile: path, WebConfigRole: access.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	prom := [2]string{"prom", "prom-password"}
	tests := []struct {
		name string
		h    http.Handler
		c    call
		code int
	}{
		{"OKViewerRead", g.Require(access.RoleViewer, echo), call{method: "GET", basic: prom}, 200},
		{"ErrViewerWrite", g.Require(access.RoleResponder, echo), call{method: "POST", basic: prom}, 403},
		// The web config's users make identities exist: anonymous is refused
		// even on loopback.
		{"ErrAnonymousWrite", g.Require(access.RoleResponder, echo), call{method: "POST"}, 401},
		{"ErrAnonymousRead", g.Require(access.RoleViewer, echo), call{method: "GET"}, 401},
		// /metrics and the health endpoints: protected like in Prometheus.
		{"ErrPublicAnonymous", g.Public(echoPlain), call{method: "GET"}, 401},
		{"OKPublicUser", g.Public(echoPlain), call{method: "GET", basic: prom}, 200},
		// Ingest with no sources: the web config's users only.
		{"ErrIngestAnonymous", g.WebUsersOnly(echoPlain), call{method: "POST"}, 401},
		{"OKIngestUser", g.WebUsersOnly(echoPlain), call{method: "POST", basic: prom}, 200},
		{"ErrIngestBadPassword", g.WebUsersOnly(echoPlain), call{method: "POST", basic: [2]string{"prom", "x"}}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w := tt.c.do(tt.h); w.Code != tt.code {
				t.Errorf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
		})
	}

	// Without basic_auth_users the public endpoints and ingest are open.
	open, err := access.New(access.Options{WebConfigFile: writeWebConfig(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []http.Handler{open.Public(echoPlain), open.WebUsersOnly(echoPlain)} {
		if w := (call{method: "GET", remote: "10.1.2.3:1"}).do(h); w.Code != 200 {
			t.Errorf("status %d, want 200 without basic_auth_users", w.Code)
		}
	}
}

func TestWebConfigReread(t *testing.T) {
	path := writeWebConfig(t, nil)
	g, err := access.New(access.Options{WebConfigFile: path})
	if err != nil {
		t.Fatal(err)
	}
	h := g.Public(echoPlain)
	if w := (call{method: "GET"}).do(h); w.Code != 200 {
		t.Fatalf("status %d before users were added", w.Code)
	}
	// Users added to the file take effect without a restart, as in every
	// Prometheus component.
	data := "basic_auth_users:\n  prom: '" + mustHash(t, "p") + "'\n# grown\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if w := (call{method: "GET"}).do(h); w.Code != 401 {
		t.Errorf("status %d after users were added, want 401", w.Code)
	}
}

var echoPlain = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })

func TestNewRejects(t *testing.T) {
	tok := secret.New("same-token-0123456789")
	tests := []struct {
		name  string
		users []access.User
	}{
		{"ErrNoName", []access.User{{Role: access.RoleViewer, Token: tok}}},
		{"ErrNoRole", []access.User{{Name: "a", Token: tok}}},
		{"ErrNoCredentials", []access.User{{Name: "a", Role: access.RoleViewer}}},
		{"ErrSameToken", []access.User{{Name: "a", Role: access.RoleViewer, Token: tok}, {Name: "b", Role: access.RoleAdmin, Token: tok}}},
		{"ErrSameName", []access.User{{Name: "a", Role: access.RoleViewer, Token: tok}, {Name: "a", Role: access.RoleAdmin, Token: secret.New("x")}}},
		{"ErrNotBcrypt", []access.User{{Name: "a", Role: access.RoleViewer, PasswordHash: secret.New("plain")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := access.New(access.Options{Users: tt.users}); err == nil {
				t.Error("New accepted it")
			} else if strings.Contains(err.Error(), "same-token") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func denied(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "alertbridge_access_denied_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no alertbridge_access_denied_total{reason=%q}", reason)
	return 0
}
