package app_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

// caller makes requests with some credentials.
type caller struct {
	client *http.Client
	base   string
	auth   func(*http.Request)
}

func (c caller) do(t *testing.T, method, path, contentType string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c.auth != nil {
		c.auth(req)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func basic(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

// TestSecurityModelOverTLS runs the combination the docs used to warn
// against: TLS and basic_auth_users from --web.config.file, a bearer
// Alertmanager source, and API users. Each credential opens exactly its own
// door: the source token ingests and nothing else, API identities act by
// role and never ingest, and the web config's users are API identities.
func TestSecurityModelOverTLS(t *testing.T) {
	dir := t.TempDir()
	cert := mustSelfSigned(t, dir)
	webHash, err := bcrypt.GenerateFromPassword([]byte("web-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yml")
	writeFile(t, webCfg, "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  prom: "+string(webHash)+"\n")
	cfgFile := filepath.Join(dir, "alertbridge.yml")
	writeFile(t, cfgFile, `sources:
  - {name: am, type: alertmanager, auth: {bearer: {token: source-token-0123456789}}}
api:
  web_config_role: viewer
  users:
    - {name: val, role: viewer, bearer: {token: viewer-token-0123456789}}
    - {name: rita, role: responder, bearer: {token: responder-token-0123456789}}
    - {name: ada, role: admin, bearer: {token: admin-token-0123456789}}
`)
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	a := mustApp(t, app.Options{Config: cfg, WebConfigFile: webCfg})
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + a.Addr()
	as := func(auth func(*http.Request)) caller { return caller{client: hc, base: base, auth: auth} }
	source, viewer, responder, admin := as(bearer("source-token-0123456789")), as(bearer("viewer-token-0123456789")),
		as(bearer("responder-token-0123456789")), as(bearer("admin-token-0123456789"))
	webUser, anonymous := as(basic("prom", "web-password")), as(nil)

	payload := fixture(t, "firing-group")
	const json = "application/json"
	steps := []struct {
		name   string
		c      caller
		method string
		path   string
		ctype  string
		body   string
		code   int
	}{
		// Ingest: the source's token only.
		{"IngestWebUserRefused", webUser, "POST", "/ingest/alertmanager", json, string(payload), 401},
		{"IngestAPITokenRefused", admin, "POST", "/ingest/alertmanager", json, string(payload), 403},
		{"IngestSourceOK", source, "POST", "/ingest/alertmanager", json, string(payload), 200},
		// The API: never the source's token.
		{"APISourceTokenRefused", source, "GET", "/api/v1/incidents", "", "", 401},
		{"APIAnonymousRefused", anonymous, "GET", "/api/v1/incidents", "", "", 401},
		{"APIWebUserReads", webUser, "GET", "/api/v1/incidents/1", "", "", 200},
		{"APIWebUserViewerCannotAck", webUser, "POST", "/api/v1/incidents/1/acknowledge", json, "", 403},
		{"APIViewerCannotAck", viewer, "POST", "/api/v1/incidents/1/acknowledge", json, "", 403},
		{"APIAnonymousCannotAck", anonymous, "POST", "/api/v1/incidents/1/acknowledge", json, "", 401},
		{"APIResponderTextPlainRefused", responder, "POST", "/api/v1/incidents/1/acknowledge", "text/plain", `{}`, 415},
		{"APIResponderGETCannotAck", responder, "GET", "/api/v1/incidents/1/acknowledge", "", "", 405},
		{"APIResponderAcks", responder, "POST", "/api/v1/incidents/1/acknowledge", json, `{"actor":"alice on the phone"}`, 200},
		{"APIResponderCannotMerge", responder, "POST", "/api/v1/incidents/1/merge", json, `{"into":2}`, 403},
		{"APIResponderComments", responder, "POST", "/api/v1/incidents/1/comments", json, `{"message":"disk cleaned","actor":"rita"}`, 201},
		{"ReloadResponderRefused", responder, "POST", "/-/reload", "", "", 403},
		{"ReloadAnonymousRefused", anonymous, "POST", "/-/reload", "", "", 401},
		{"ReloadAdmin", admin, "POST", "/-/reload", "", "", 200},
		// The web config's users protect /metrics and health, as in Prometheus.
		{"MetricsAnonymousRefused", anonymous, "GET", "/metrics", "", "", 401},
		{"MetricsWebUser", webUser, "GET", "/metrics", "", "", 200},
		{"HealthyAPIUser", viewer, "GET", "/-/healthy", "", "", 200},
	}
	for _, s := range steps {
		code, body := s.c.do(t, s.method, s.path, s.ctype, []byte(s.body))
		if code != s.code {
			t.Errorf("%s: %s %s = %d, want %d: %s", s.name, s.method, s.path, code, s.code, body)
		}
	}

	// A cross-site page cannot make the responder's browser act.
	code, _ := responder.do(t, "POST", "/api/v1/incidents/1/resolve", json, nil, "Sec-Fetch-Site", "cross-site")
	if code != http.StatusForbidden {
		t.Errorf("cross-site resolve: %d, want 403", code)
	}

	c := &api.Client{BaseURL: base, HTTP: hc, Token: "viewer-token-0123456789"}
	inc, err := c.Incident(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if inc.State != "acknowledged" || inc.Source != "am" {
		t.Errorf("incident: state %s source %s, want acknowledged from am", inc.State, inc.Source)
	}
	var got []string
	for _, e := range inc.Timeline {
		if e.Actor != "system" {
			got = append(got, e.Kind+" by "+e.Actor+" for "+e.OnBehalfOf)
		}
	}
	want := []string{"acknowledged by rita for alice on the phone", "comment by rita for rita"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("timeline actors:\n got %q\nwant %q", got, want)
	}
}

// TestAnonymousWritesFromTheNetwork listens on a non-loopback address of
// this machine and connects to it, so the daemon sees a client elsewhere on
// the network: without identities it may read but not write, unless the
// daemon opts in with --web.api.anonymous-writes=any.
func TestAnonymousWritesFromTheNetwork(t *testing.T) {
	ip := nonLoopbackIP(t)
	for _, tt := range []struct {
		name  string
		mode  string
		write int
	}{{"ErrLoopbackOnly", "loopback", 401}, {"OKOptedIn", "any", 200}} {
		t.Run(tt.name, func(t *testing.T) {
			o := app.Options{ListenAddress: net.JoinHostPort(ip, "0"), StoragePath: t.TempDir(), AnonymousWrites: accessMode(t, tt.mode)}
			a, err := app.New(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			a.Start()
			t.Cleanup(func() { _ = a.Stop(context.Background()) })
			c := caller{client: http.DefaultClient, base: "http://" + a.Addr()}
			if code, body := c.do(t, "POST", "/ingest/alertmanager", "application/json", fixture(t, "firing-group")); code != 200 {
				t.Fatalf("ingest: %d %s", code, body)
			}
			if code, _ := c.do(t, "GET", "/api/v1/incidents/1", "", nil); code != 200 {
				t.Errorf("read from the network: %d, want 200", code)
			}
			code, body := c.do(t, "POST", "/api/v1/incidents/1/acknowledge", "application/json", nil,
				"X-Forwarded-For", "127.0.0.1")
			if code != tt.write {
				t.Fatalf("anonymous write from %s: %d, want %d: %s", ip, code, tt.write, body)
			}
			if code == 401 {
				var e api.Error
				if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, "--web.api.anonymous-writes=any") {
					t.Errorf("the 401 does not say how to opt in: %s", body)
				}
				if code, _ := c.do(t, "GET", "/api/v1/incidents/1", "", nil); code != 200 {
					t.Errorf("read after refused write: %d", code)
				}
			}
		})
	}
}

func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	if os.Getenv("ALERTBRIDGE_REQUIRE_E2E") != "" {
		t.Fatal("no non-loopback IPv4 address to test from")
	}
	t.Skip("no non-loopback IPv4 address on this machine")
	return ""
}

func accessMode(t *testing.T, s string) access.AnonymousWrites {
	t.Helper()
	m, err := access.ParseAnonymousWrites(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
