package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/web"
)

// overviewFixture writes incidents straight to the env's store, their
// times relative to t0 (opened) and to the opening (acked, resolved; 0 is
// never), with SLA targets met and missed and one event per alert.
func overviewFixture(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	fixture := []struct {
		service, rule, key     string
		priority               incident.Priority
		opened, acked, resolve time.Duration
		respondBy, resolveBy   time.Duration // after the opening; 0: no target
		respondMissed          bool
		alerts, repeats        int
	}{
		{"checkout", "disk", "", 1, 30 * time.Minute, 3 * time.Minute, 0, 15 * time.Minute, 4 * time.Hour, false, 2, 1},
		{"checkout", "disk", "", 2, 5 * time.Hour, 10 * time.Minute, 50 * time.Minute, 15 * time.Minute, 4 * time.Hour, false, 3, 0},
		{"search", "", "search/latency", 1, 2 * 24 * time.Hour, 20 * time.Minute, 3 * time.Hour, 15 * time.Minute, 0, true, 1, 2},
		{"search", "cpu", "", 3, 3*24*time.Hour + 7*time.Hour, 0, 0, 0, 0, false, 1, 0},
		{"db", "disk", "", 3, 10 * 24 * time.Hour, 5 * time.Minute, time.Hour, 4 * time.Hour, 72 * time.Hour, false, 4, 4},
		{"checkout", "cpu", "", 4, 40 * 24 * time.Hour, time.Hour, 0, 0, 0, false, 1, 0},
		{"db", "disk", "", 2, 100 * 24 * time.Hour, time.Minute, 2 * time.Minute, 0, 0, false, 1, 0},
	}
	err := e.st.Update(ctx, func(tx incident.Tx) error {
		for i, f := range fixture {
			opened := t0.Add(-f.opened)
			inc := incident.Incident{State: incident.StateOpen, Priority: f.priority, Impact: incident.LevelMedium,
				Urgency: incident.LevelMedium, Title: fmt.Sprintf("fixture %d", i), Service: f.service, Rule: f.rule,
				CorrelationKey: fmt.Sprintf("key-%d", i), Source: "alertmanager", OpenedAt: opened, UpdatedAt: opened,
				LastEventAt: opened, ImpactStartedAt: opened, AlertCount: f.alerts}
			if f.key != "" {
				inc.CorrelationKey = f.key
			}
			if f.acked > 0 {
				inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, opened.Add(f.acked)
			}
			if f.resolve > 0 {
				inc.State, inc.ResolvedAt = incident.StateResolved, opened.Add(f.resolve)
			}
			if f.respondBy > 0 {
				inc.RespondBy = opened.Add(f.respondBy)
				if f.respondMissed {
					inc.RespondBreachedAt = inc.RespondBy
				}
			}
			if f.resolveBy > 0 {
				inc.ResolveBy = opened.Add(f.resolveBy)
			}
			if err := tx.CreateIncident(ctx, &inc); err != nil {
				return err
			}
			for a := range f.alerts + f.repeats {
				tr := incident.TransitionNew
				if a >= f.alerts {
					tr = incident.TransitionRefired
				}
				if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: opened.Add(time.Duration(a) * time.Second),
					Source: "alertmanager", Fingerprint: fmt.Sprintf("fp-%d-%d", i, a%f.alerts), Status: incident.StatusFiring,
					Transition: tr, IncidentID: inc.ID}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var dataStatRE = regexp.MustCompile(`data-stat="([^"]+)" data-value="([^"]*)"`)

// pageFigures are the overview's figures by their data-stat names.
func pageFigures(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range dataStatRE.FindAllStringSubmatch(body, -1) {
		k := html.UnescapeString(m[1])
		if _, dup := out[k]; dup {
			t.Errorf("figure %s shown twice", k)
		}
		out[k] = html.UnescapeString(m[2])
	}
	return out
}

// apiFigures flattens GET /api/v1/stats's answer into the page's names:
// nested objects and arrays joined with ".", backlog buckets by their age,
// null as "", and numbers exactly as written; the request's own echo
// (since, until, service, priority) left out.
func apiFigures(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"since", "until", "service", "priority"} {
		delete(m, k)
	}
	backlog := map[string]any{}
	for _, b := range m["backlog"].([]any) {
		bm := b.(map[string]any)
		backlog[bm["age"].(string)] = bm["incidents"]
	}
	m["backlog"] = backlog
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(prefix+k+".", x)
			}
		case []any:
			for i, x := range v {
				walk(prefix+strconv.Itoa(i)+".", x)
			}
		case nil:
			out[strings.TrimSuffix(prefix, ".")] = ""
		default:
			out[strings.TrimSuffix(prefix, ".")] = fmt.Sprint(v)
		}
	}
	walk("", m)
	return out
}

// sameFigure compares figures as numbers where both parse as one.
func sameFigure(a, b string) bool {
	fa, errA := strconv.ParseFloat(a, 64)
	fb, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		return fa == fb
	}
	return a == b
}

// TestOverviewEqualsAPIStats: every figure of the overview equals GET
// /api/v1/stats's for the same window and filter, and none is missing.
func TestOverviewEqualsAPIStats(t *testing.T) {
	e := newEnv(t, envOpts{})
	overviewFixture(t, e)
	mux := http.NewServeMux()
	api.New(api.Options{Reader: e.st, Now: e.clock.Now}).Register(mux)
	stats := func(query url.Values) map[string]string {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/stats?"+query.Encode(), nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /api/v1/stats?%s: %d %s", query.Encode(), rec.Code, rec.Body)
		}
		return apiFigures(t, rec.Body.Bytes())
	}
	b := e.as("val")
	tests := []struct {
		name, query string
		period      time.Duration
		service     string
		priority    string
		// want pins a few figures by hand, so that both sides being wrong
		// the same way shows too.
		want map[string]string
	}{
		{"DefaultIs7d", "", 7 * 24 * time.Hour, "", "", map[string]string{
			"opened": "4", "resolved": "2", "open_now": "3", "mtta.count": "3", "mtta.p50_seconds": "600",
			"sla_respond_attainment": "0.6666666666666666", "sla_resolve_attainment": "1", "backlog.>7d": "1",
			"noise.events": "10", "noise.alerts": "7", "top_signatures.0.signature": "disk", "top_signatures.0.incidents": "2",
		}},
		{"24h", "?period=24h", 24 * time.Hour, "", "", map[string]string{"opened": "2", "mttr.mean_seconds": "3000"}},
		{"30d", "?period=30d", 30 * 24 * time.Hour, "", "", map[string]string{"opened": "5", "top_signatures.0.incidents": "3"}},
		{"90dCheckout", "?period=90d&service=checkout", 90 * 24 * time.Hour, "checkout", "", map[string]string{"opened": "3"}},
		{"7dP1", "?period=7d&priority=P1", 7 * 24 * time.Hour, "", "P1", map[string]string{
			"opened": "2", "sla_respond_attainment": "0.5", "top_signatures.0.kind": "correlation_key"}},
		{"NothingMatches", "?service=nope", 7 * 24 * time.Hour, "nope", "", map[string]string{
			"opened": "0", "mtta.mean_seconds": "", "sla_respond_attainment": "", "oldest_open_age_seconds": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := b.get("/overview" + tt.query)
			if code != http.StatusOK {
				t.Fatalf("GET /overview%s: %d", tt.query, code)
			}
			now := e.clock.Now()
			q := url.Values{"since": {now.Add(-tt.period).Format(time.RFC3339Nano)}, "until": {now.Format(time.RFC3339Nano)}}
			if tt.service != "" {
				q.Set("service", tt.service)
			}
			if tt.priority != "" {
				q.Set("priority", tt.priority)
			}
			want := stats(q)
			got := pageFigures(t, body)
			if diff := cmp.Diff(want, got, cmp.Comparer(sameFigure)); diff != "" {
				t.Errorf("overview figures mismatch (-api +page):\n%s", diff)
			}
			for k, v := range tt.want {
				if !sameFigure(got[k], v) {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestOverviewPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	overviewFixture(t, e)
	b := e.as("val")
	code, body, _ := b.get("/overview?period=30d")
	if code != http.StatusOK {
		t.Fatalf("GET /overview: %d", code)
	}
	mustContain(t, "the overview", body,
		`<option value="30d" selected>last 30d</option>`,
		`aria-current="page">Overview`,
		`<svg class="chart" role="img" aria-labelledby="chart-per-day-t chart-per-day-d"`,
		`<title id="chart-backlog-t">Open incidents by age</title>`,
		`<rect class="s-p1"`, // incidents per day, stacked by priority
		`<th scope="row">2026-11-21</th>`,
		`data-stat="mtta.p50_seconds" data-value="300">5m<`,
		`data-stat="sla_respond_attainment" data-value="0.75">75.0%<`,
		`<code>disk</code>`,
		`data-since="2026-11-01T09:00:00Z" data-until="2026-12-01T09:00:00Z"`,
		`<time datetime="2026-11-01T09:00:00Z" data-local>`)
}

func TestOverviewRejects(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.as("val")
	tests := []struct {
		name, query, want string
	}{
		{"BadPeriod", "?period=5d", `period &#34;5d&#34;: want one of 24h, 7d, 30d, 90d`},
		{"BadPriority", "?priority=P9", `priority: priority &#34;P9&#34;: want P1..P5`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := b.get("/overview" + tt.query)
			if code != http.StatusBadRequest {
				t.Errorf("GET /overview%s: %d, want 400", tt.query, code)
			}
			mustContain(t, "the refused overview", body, `<p class="error" role="alert">`+tt.want, `<form method="get" action="/overview"`)
			if strings.Contains(body, "data-stat=") {
				t.Error("a refused filter still shows figures")
			}
		})
	}
}

// TestOverviewAccess: a viewer's page; with identities, anonymous readers
// are sent to sign in; without, reads are open from anywhere (as the
// API's); it has no form, so a POST is not a route.
func TestOverviewAccess(t *testing.T) {
	e := newEnv(t, envOpts{})
	if code, _, loc := e.browser().get("/overview?period=24h"); code != http.StatusSeeOther ||
		loc != "/login?next="+url.QueryEscape("/overview?period=24h") {
		t.Errorf("anonymous with identities: %d → %q, want the sign-in page", code, loc)
	}
	for _, user := range []string{"val", "rita", "ada"} {
		if code, _, _ := e.as(user).get("/overview"); code != http.StatusOK {
			t.Errorf("%s (%s): %d", user, users[user], code)
		}
	}

	g, err := access.New(access.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ui, err := web.New(web.Options{Reader: e.st, Guard: g, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	tests := []struct {
		name, method, remote string
		want                 int
	}{
		{"AnonymousLoopback", http.MethodGet, "127.0.0.1:5000", http.StatusOK},
		{"AnonymousRemote", http.MethodGet, "203.0.113.9:5000", http.StatusOK},
		{"PostIsNoRoute", http.MethodPost, "127.0.0.1:5000", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/overview", nil)
			req.RemoteAddr = tt.remote
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("%s /overview from %s: %d, want %d", tt.method, tt.remote, rec.Code, tt.want)
			}
		})
	}
}
