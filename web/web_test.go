package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
	"github.com/alertbridge/alertbridge/web"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// clock is the UI's and the pipeline's simulated clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// env is the UI over a real SQLite store and pipeline, with a viewer, a
// responder and an admin (password "<name>-pw").
type env struct {
	t     *testing.T
	srv   *httptest.Server
	st    *sqlite.Store
	p     *pipeline.Pipeline
	clock *clock
}

// users are the env's identities when it has any.
var users = map[string]access.Role{"val": access.RoleViewer, "rita": access.RoleResponder, "ada": access.RoleAdmin}

type envOpts struct {
	// anonymous: no identities configured.
	anonymous bool
	// options sets more of the UI's options (Rules, Reporter).
	options func(*web.Options)
	// rules is a rule file for the pipeline ("": no rules).
	rules string
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: t0}
	po := pipeline.Options{Store: st, Now: c.Now, CloseAfter: time.Hour}
	if o.rules != "" {
		set, err := rules.Parse("rules.yml", []byte(o.rules))
		if err != nil {
			t.Fatal(err)
		}
		po.Rules = &atomic.Pointer[rules.Set]{}
		po.Rules.Store(set)
	}
	p, err := pipeline.New(po)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	var us []access.User
	if !o.anonymous {
		for name, role := range users {
			h, err := bcrypt.GenerateFromPassword([]byte(name+"-pw"), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			us = append(us, access.User{Name: name, Role: role, PasswordHash: secret.New(string(h))})
		}
	}
	g, err := access.New(access.Options{Users: us, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	wo := web.Options{Reader: st, Executor: p, Guard: g, Now: c.Now, Version: "test"}
	if o.options != nil {
		o.options(&wo)
	}
	ui, err := web.New(wo)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		_ = p.Stop(ctx)
		st.Close()
	})
	return &env{t: t, srv: srv, st: st, p: p, clock: c}
}

// fire opens (or joins) an incident with an alert.
func (e *env) fire(name string, labels ...string) {
	e.t.Helper()
	l := map[string]string{"alertname": name}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	ev := incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(l), Status: incident.StatusFiring,
		Labels: l, Annotations: map[string]string{"summary": name + " summary"}, StartsAt: e.clock.Now(),
		GroupLabels: map[string]string{"alertname": name}}
	if err := e.p.Submit(context.Background(), []incident.Event{ev}); err != nil {
		e.t.Fatal(err)
	}
}

// browser is a client with its own cookies, like one browser.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// as signs in as a user of the env's and returns the browser.
func (e *env) as(user string) *browser {
	e.t.Helper()
	b := e.browser()
	code, _, loc := b.post("/login", "/login", url.Values{"user": {user}, "password": {user + "-pw"}, "next": {"/incidents"}})
	if code != http.StatusSeeOther || loc != "/incidents" {
		e.t.Fatalf("sign in as %s: %d → %q", user, code, loc)
	}
	return b
}

// get fetches a path; it returns the status, the body and the Location.
func (b *browser) get(path string, hdr ...string) (int, string, string) {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

func (b *browser) do(req *http.Request) (int, string, string) {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Location")
}

var (
	csrfRE     = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	liveETagRE = regexp.MustCompile(`id="live"[^>]* data-etag="([^"]*)"`)
)

// post submits a form to path as the page at from would: with the CSRF
// token that page carries.
func (b *browser) post(from, path string, form url.Values) (int, string, string) {
	b.e.t.Helper()
	code, page, _ := b.get(from)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.e.t.Fatalf("GET %s (%d) has no CSRF token", from, code)
	}
	form.Set("csrf", m[1])
	return b.postRaw(path, form)
}

// postRaw submits a form as is, as a forged request would.
func (b *browser) postRaw(path string, form url.Values, hdr ...string) (int, string, string) {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t, envOpts{})
	anon := e.browser()
	code, _, loc := anon.get("/incidents?state=open")
	if code != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape("/incidents?state=open") {
		t.Errorf("anonymous GET: %d → %q, want the sign-in page with next", code, loc)
	}
	code, body, _ := anon.post("/login", "/login", url.Values{"user": {"rita"}, "password": {"wrong"}})
	if code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	mustContain(t, "the refused sign-in page", body, "Unknown user or wrong password.")
	code, _, _ = anon.post("/login", "/login", url.Values{"user": {"nobody"}, "password": {"x"}})
	if code != http.StatusUnauthorized {
		t.Errorf("unknown user: %d", code)
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
		code, _, loc := anon.post("/login", "/login", url.Values{"user": {"val"}, "password": {"val-pw"}, "next": {next}})
		if code != http.StatusSeeOther || loc != "/incidents" {
			t.Errorf("next %q: %d → %q, want /incidents", next, code, loc)
		}
	}
	rita := e.as("rita")
	code, body, _ = rita.get("/incidents")
	if code != http.StatusOK {
		t.Fatalf("signed-in list: %d", code)
	}
	mustContain(t, "the list", body, "rita", "responder", "Sign out")
	code, _, loc = rita.post("/incidents", "/logout", url.Values{})
	if code != http.StatusSeeOther || loc != "/login" {
		t.Errorf("sign out: %d → %q", code, loc)
	}
	if code, _, _ := rita.get("/incidents"); code != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want a redirect to sign in", code)
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.as("val")
	e.clock.Add(access.SessionIdle - time.Minute)
	if code, _, _ := b.get("/incidents"); code != http.StatusOK {
		t.Fatalf("within the idle time: %d", code)
	}
	e.clock.Add(access.SessionIdle + time.Minute)
	if code, _, _ := b.get("/incidents"); code != http.StatusSeeOther {
		t.Errorf("after the idle time: %d, want a redirect to sign in", code)
	}
}

func TestFormsNeedTheirToken(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.as("rita")
	code, body, _ := b.postRaw("/logout", url.Values{})
	if code != http.StatusForbidden || !strings.Contains(body, "CSRF token") {
		t.Errorf("a form without the token: %d", code)
	}
	code, _, _ = b.postRaw("/logout", url.Values{"csrf": {"forged"}})
	if code != http.StatusForbidden {
		t.Errorf("a form with a wrong token: %d", code)
	}
	code, _, _ = b.postRaw("/logout", url.Values{}, "Sec-Fetch-Site", "cross-site")
	if code != http.StatusForbidden {
		t.Errorf("a cross-site form: %d", code)
	}
	if code, _, _ := b.get("/incidents"); code != http.StatusOK {
		t.Errorf("the refused forms signed the user out: %d", code)
	}
}

func TestIncidentList(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.fire("DiskFull", "severity", "critical", "service", "db")
	e.fire("HighLatency", "severity", "warning", "service", "api")
	b := e.as("val")
	code, body, _ := b.get("/incidents")
	if code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	mustContain(t, "the list", body, "DiskFull", "HighLatency", `data-count="open">2<`, `<span class="badge p1"`)
	_, body, _ = b.get("/incidents?priority=P1&service=db")
	mustContain(t, "the filtered list", body, "DiskFull", `<option selected>P1</option>`, `value="db"`)
	if strings.Contains(body, "HighLatency") {
		t.Error("the P1 filter shows a P3 incident")
	}
	code, body, _ = b.get("/incidents?state=bogus")
	if code != http.StatusBadRequest || !strings.Contains(body, "state") {
		t.Errorf("bad state: %d", code)
	}

	// The live list's poll: the table alone, then 304 until something
	// changes. The page carries the rows' ETag, so that its first poll is
	// already a 304 and does not replace the table under the user's cursor.
	_, page, _ := b.get("/incidents?service=db&priority=P1")
	m := liveETagRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page carries no data-etag for its live list")
	}
	pageETag := html.UnescapeString(m[1])
	if code, _, _ := b.get("/incidents?priority=P1&part=rows&service=db", "If-None-Match", pageETag); code != http.StatusNotModified {
		t.Errorf("first poll of a page with nothing changed: %d, want 304", code)
	}
	if code, _, _ := b.get("/incidents?part=rows&service=db", "If-None-Match", pageETag); code != http.StatusOK {
		t.Errorf("poll with another filter and the page's ETag: %d, want 200", code)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/incidents?part=rows", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		t.Fatalf("poll: %d, etag %q", resp.StatusCode, etag)
	}
	if code, _, _ := b.get("/incidents?part=rows", "If-None-Match", etag); code != http.StatusNotModified {
		t.Errorf("poll without a change: %d, want 304", code)
	}
	e.fire("CertExpiring", "service", "edge")
	code, body, _ = b.get("/incidents?part=rows", "If-None-Match", etag)
	if code != http.StatusOK || !strings.Contains(body, "CertExpiring") || strings.Contains(body, "<html") {
		t.Errorf("poll after a change: %d, want the new rows alone", code)
	}
	if strings.Contains(body, "part=rows") {
		t.Error("the rows' links carry part=rows")
	}
}

func TestAnonymousWithoutIdentities(t *testing.T) {
	e := newEnv(t, envOpts{anonymous: true})
	b := e.browser()
	code, body, _ := b.get("/incidents")
	if code != http.StatusOK {
		t.Fatalf("anonymous read without identities: %d", code)
	}
	mustContain(t, "the list", body, "anonymous")
	if code, _, _ := b.get("/login"); code != http.StatusOK {
		t.Errorf("sign-in page: %d", code)
	}
	// httptest listens on loopback: the anonymous rule lets it act, with
	// the CSRF cookie's token (double submit).
	u, _ := url.Parse(e.srv.URL)
	var token string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == access.CSRFCookie {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatal("no CSRF cookie after a page")
	}
	code, _, _ = b.postRaw("/logout", url.Values{"csrf": {token}})
	if code != http.StatusSeeOther {
		t.Errorf("anonymous form from loopback: %d", code)
	}
	code, _, _ = e.browser().postRaw("/logout", url.Values{"csrf": {strings.Repeat("x", 43)}})
	if code != http.StatusForbidden {
		t.Errorf("a form without the CSRF cookie: %d, want 403", code)
	}
}
