package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/web"
)

// withReporter wires the env's pipeline as the Report page's Reporter:
// the options are set before newEnv returns the env, so the Reporter
// finds the pipeline through e when it is called.
func withReporter(e **env) func(*web.Options) {
	return func(o *web.Options) { o.Reporter = lateReporter{e} }
}

type lateReporter struct{ e **env }

func (l lateReporter) Report(ctx context.Context, r incident.Report) (incident.Incident, error) {
	return (*l.e).p.Report(ctx, r)
}

func (e *env) count() int {
	e.t.Helper()
	list, err := e.st.Incidents(context.Background(), incident.IncidentFilter{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list)
}

var goodReport = url.Values{"title": {"Checkout fails for card payments"}, "service": {"checkout"}, "impact": {"high"},
	"urgency": {"medium"}, "description": {"Customers call: payments time out."}, "on_behalf_of": {"alice"}}

func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// TestReportPageWrongCallers: the page and its form are a responder's; a
// viewer sees no link and is refused both, a form without its token or
// from another site is refused, and none of them opens an incident.
func TestReportPageWrongCallers(t *testing.T) {
	var e *env
	e = newEnv(t, envOpts{options: withReporter(&e)})
	val := e.as("val")
	_, body, _ := val.get("/incidents")
	if strings.Contains(body, `href="/report"`) {
		t.Error("a viewer's navigation links the Report page")
	}
	if code, body, _ := val.get("/report"); code != http.StatusForbidden || !strings.Contains(body, "val has the viewer role; this needs responder") {
		t.Errorf("viewer GET /report: %d", code)
	}
	if code, _, _ := val.post("/incidents", "/report", with(goodReport)); code != http.StatusForbidden {
		t.Errorf("viewer POST /report (with the token of a page): %d, want 403", code)
	}
	rita := e.as("rita")
	if code, body, _ := rita.postRaw("/report", with(goodReport)); code != http.StatusForbidden || !strings.Contains(body, "CSRF token") {
		t.Errorf("POST without the CSRF token: %d", code)
	}
	if code, _, _ := rita.postRaw("/report", with(goodReport, "csrf", "forged")); code != http.StatusForbidden {
		t.Errorf("POST with a forged token: %d", code)
	}
	anon := e.browser()
	if code, _, loc := anon.get("/report"); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
		t.Errorf("anonymous GET /report: %d → %q, want the sign-in page", code, loc)
	}
	if code, _, _ := anon.postRaw("/report", with(goodReport)); code != http.StatusUnauthorized {
		t.Errorf("anonymous POST /report: %d, want 401", code)
	}
	if n := e.count(); n != 0 {
		t.Errorf("%d incidents after refused reports", n)
	}
}

// TestReportPageAnonymousFromNetwork: without identities, the form is
// refused to a client that is not on the daemon's machine.
func TestReportPageAnonymousFromNetwork(t *testing.T) {
	var e *env
	e = newEnv(t, envOpts{anonymous: true, options: withReporter(&e)})
	g, err := access.New(access.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ui, err := web.New(web.Options{Reader: e.st, Executor: e.p, Guard: g, Reporter: e.p}) // no identities
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req := httptest.NewRequest(method, "/report", strings.NewReader(with(goodReport).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "192.0.2.7:5555"
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s /report from the network: %d, want 401", method, rec.Code)
		}
	}
	// From loopback the same anonymous client may report.
	b := e.browser()
	if code, _, _ := b.get("/report"); code != http.StatusOK {
		t.Fatalf("anonymous GET /report from loopback: %d", code)
	}
	u, _ := url.Parse(e.srv.URL)
	var token string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == access.CSRFCookie {
			token = c.Value
		}
	}
	code, _, loc := b.postRaw("/report", with(goodReport, "csrf", token))
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/incidents/1?") {
		t.Errorf("anonymous POST from loopback: %d → %q", code, loc)
	}
	if n := e.count(); n != 1 {
		t.Errorf("%d incidents, want the one reported from loopback", n)
	}
}

func TestReportPage(t *testing.T) {
	var e *env
	e = newEnv(t, envOpts{options: withReporter(&e)})
	rita := e.as("rita")
	_, body, _ := rita.get("/incidents")
	mustContain(t, "a responder's navigation", body, `<a href="/report"`)
	code, body, _ := rita.get("/report")
	if code != http.StatusOK {
		t.Fatalf("GET /report: %d", code)
	}
	mustContain(t, "the form", body, `<label for="title">`, `<input id="title" name="title" required`, `<label for="impact">`,
		`<select id="impact" name="impact" required`, `<label for="urgency">`, `<label for="description">`, `<label for="on_behalf_of">`,
		`<th scope="row">high</th><td data-impact="high" data-urgency="high"><span class="badge p1"`,
		`<td data-impact="low" data-urgency="low"><span class="badge p5"`, `aria-current="page">Report an incident`)

	tests := []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"ErrNoTitle", with(goodReport, "title", "   "), "title", "Title: required"},
		{"ErrBadImpact", with(goodReport, "impact", "critical"), "impact", `Impact: &#34;critical&#34; is not a level: want high, medium or low`},
		{"ErrNoUrgency", with(goodReport, "urgency", ""), "urgency", "Urgency: required: high, medium or low"},
		{"ErrTitleTwoLines", with(goodReport, "title", "a\nb"), "title", "Title: one line only"},
		{"ErrOnBehalfOfTooLong", with(goodReport, "on_behalf_of", strings.Repeat("x", 201)), "on_behalf_of", "Reported for: 201 characters, at most 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := rita.post("/report", "/report", tt.form)
			if code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", code)
			}
			mustContain(t, "the refused form", body, tt.msg, `role="alert"`,
				`id="`+tt.field+`" name="`+tt.field+`"`, `aria-invalid="true" aria-describedby="form-error"`,
				// What was typed is kept.
				`value="checkout"`, ">Customers call: payments time out.</textarea>")
			if tt.field != "impact" {
				mustContain(t, "the refused form", body, `<option value="high" selected>`)
			}
			if tt.field != "title" {
				mustContain(t, "the refused form", body, `value="Checkout fails for card payments"`)
			}
		})
	}
	if n := e.count(); n != 0 {
		t.Fatalf("%d incidents after refused reports", n)
	}

	code, _, loc := rita.post("/report", "/report", with(goodReport))
	if code != http.StatusSeeOther || loc != "/incidents/1?notice="+url.QueryEscape("Incident #1 reported as P2.") {
		t.Fatalf("POST /report: %d → %q", code, loc)
	}
	inc, err := e.st.Incident(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Source != incident.SourceManual || inc.Priority != 2 || inc.Title != "Checkout fails for card payments" || inc.Service != "checkout" {
		t.Errorf("incident = %+v", inc)
	}
	tl, err := e.st.Timeline(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 1 || tl[0].Actor != "rita" || tl[0].OnBehalfOf != "alice" || !strings.HasPrefix(tl[0].Message, "reported by rita (on behalf of alice) as P2") {
		t.Errorf("timeline = %+v, want reported by the signed-in rita for alice", tl)
	}
}

// TestReportPageWithoutReporter: a UI with no Reporter has no Report page.
func TestReportPageWithoutReporter(t *testing.T) {
	e := newEnv(t, envOpts{})
	rita := e.as("rita")
	if _, body, _ := rita.get("/incidents"); strings.Contains(body, `href="/report"`) {
		t.Error("the navigation links a page that is not there")
	}
	if code, _, _ := rita.get("/report"); code != http.StatusNotFound {
		t.Errorf("GET /report: %d, want 404", code)
	}
}

// BenchmarkReportPage renders the Report form and submits it, as a
// browser does, with 10,000 incidents in the store.
func BenchmarkReportPage(b *testing.B) {
	st, err := sqlite.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	seedIncidents(b, st, 10000)
	p, err := pipeline.New(pipeline.Options{Store: st, Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	p.Start()
	b.Cleanup(func() { _ = p.Stop(context.Background()) })
	g, err := access.New(access.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ui, err := web.New(web.Options{Reader: st, Executor: p, Guard: g, Reporter: p, Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	token := strings.Repeat("t", 43)
	do := func(method string, body string, want int) {
		req := httptest.NewRequest(method, "/report", strings.NewReader(body))
		req.RemoteAddr = "127.0.0.1:40000"
		req.AddCookie(&http.Cookie{Name: access.CSRFCookie, Value: token})
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("%s /report: %d", method, rec.Code)
		}
	}
	b.Run("GET", func(b *testing.B) {
		for b.Loop() {
			do(http.MethodGet, "", http.StatusOK)
		}
	})
	b.Run("POST", func(b *testing.B) {
		form := with(goodReport, "csrf", token).Encode()
		for b.Loop() {
			do(http.MethodPost, form, http.StatusSeeOther)
		}
	})
}
