package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// seedProblem writes an open problem straight to the store with one
// incident opened at each of opened, as the pipeline's problem rules
// would link them; it returns the problem's and the incidents' IDs.
func seedProblem(t testing.TB, st *sqlite.Store, sig string, opened ...time.Time) (int64, []int64) {
	t.Helper()
	ctx := context.Background()
	var pid int64
	var ids []int64
	err := st.Update(ctx, func(tx incident.Tx) error {
		p := incident.Problem{Name: "disk-recurring", Signature: sig, State: incident.ProblemOpen, Title: "Recurring " + sig,
			FirstSeenAt: opened[0], LastSeenAt: opened[len(opened)-1], IncidentCount: len(opened), OpenedAt: opened[len(opened)-1],
			UpdatedAt: opened[len(opened)-1]}
		if err := tx.CreateProblem(ctx, &p); err != nil {
			return err
		}
		pid = p.ID
		for i, at := range opened {
			inc := incident.Incident{State: incident.StateOpen, Priority: incident.Priority(3 - i%2), Impact: incident.LevelMedium,
				Urgency: incident.LevelMedium, Title: fmt.Sprintf("%s incident %d", sig, i), Service: "db",
				CorrelationKey: fmt.Sprintf("%s/%d", sig, i), Source: "alertmanager", OpenedAt: at, UpdatedAt: at, LastEventAt: at, RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1}, AlertCount: 1, FiringCount: 1}
			if err := tx.CreateIncident(ctx, &inc); err != nil {
				return err
			}
			if err := tx.SetIncidentProblem(ctx, inc.ID, p.ID); err != nil {
				return err
			}
			ids = append(ids, inc.ID)
		}
		return tx.AddProblemEntry(ctx, &incident.ProblemEntry{ProblemID: p.ID, At: p.OpenedAt, Kind: incident.ProblemEntryOpened,
			Actor: "system", Message: fmt.Sprintf("opened: %d incidents with signature %s", len(opened), sig)})
	})
	if err != nil {
		t.Fatal(err)
	}
	return pid, ids
}

// problemOf reads a problem from the store.
func (e *env) problemOf(id int64) incident.Problem {
	e.t.Helper()
	p, err := e.st.Problem(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// apiProblem is GET /api/v1/problems/{id} over the same store.
func (e *env) apiProblem(id int64) api.Problem {
	e.t.Helper()
	mux := http.NewServeMux()
	api.New(api.Options{Reader: e.st, Executor: e.p}).Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/api/v1/problems/%d", id), nil))
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET /api/v1/problems/%d: %d %s", id, rec.Code, rec.Body)
	}
	var out api.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// The forms of a problem's page, by the markup that shows each.
const (
	knownErrorForm = `action="/problems/1/known-error"`
	resolveForm    = `action="/problems/1/resolve"`
	closeForm      = `action="/problems/1/close"`
)

func TestProblemPages(t *testing.T) {
	e := newEnv(t, envOpts{})
	pid, incs := seedProblem(t, e.st, `disk-recurring{service="db"}`, t0.Add(-50*time.Hour), t0.Add(-49*time.Hour), t0.Add(-2*time.Hour))
	if pid != 1 {
		t.Fatalf("problem id %d, want 1", pid)
	}
	tests := []struct {
		name, user, path string
		code             int
		want, dont       []string
	}{
		{"ListViewer", "val", "/problems", http.StatusOK,
			[]string{"Recurring disk-recurring", `<code class="sig">disk-recurring{service=&#34;db&#34;}</code>`, `data-label="Incidents">3<`,
				`<span class="badge p2"`, `href="/problems/1"`, `aria-current="page">Problems`},
			nil},
		{"ListOtherState", "val", "/problems?state=resolved", http.StatusOK, []string{"No problems match."}, []string{"Recurring"}},
		{"ListAll", "val", "/problems?state=all", http.StatusOK, []string{"Recurring", `<option value="all" selected>`}, nil},
		{"DetailViewerNoForms", "val", "/problems/1", http.StatusOK,
			[]string{"Problem #1: Recurring", `role="img"`, `<title id="chart-title">Linked incidents per day</title>`,
				fmt.Sprintf(`href="/incidents/%d"`, incs[0]), fmt.Sprintf(`href="/incidents/%d"`, incs[2]),
				"3 linked incidents from 2026-11-29 to 2026-12-01 (UTC), counted per day; the most in one bar: 2 (2026-11-29).",
				"opened: 3 incidents", `id="problem-timeline"`, "None yet"},
			[]string{knownErrorForm, resolveForm, closeForm}},
		{"DetailResponder", "rita", "/problems/1", http.StatusOK, []string{knownErrorForm, `<label for="ke-workaround">`}, []string{resolveForm, closeForm}},
		{"DetailAdmin", "ada", "/problems/1", http.StatusOK, []string{knownErrorForm, resolveForm}, []string{closeForm}},
		{"BadIDNotANumber", "val", "/problems/abc", http.StatusNotFound, []string{"not found"}, nil},
		{"BadIDZero", "val", "/problems/0", http.StatusNotFound, []string{"not found"}, nil},
		{"UnknownID", "val", "/problems/999", http.StatusNotFound, []string{"404"}, nil},
		{"BadState", "val", "/problems?state=bogus", http.StatusBadRequest, []string{"state &#34;bogus&#34;: want open, known_error"}, nil},
		{"BadCursor", "val", "/problems?cursor=x", http.StatusBadRequest, []string{"cursor &#34;x&#34;"}, nil},
	}
	browsers := map[string]*browser{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := browsers[tt.user]
			if b == nil {
				b = e.as(tt.user)
				browsers[tt.user] = b
			}
			code, body, _ := b.get(tt.path)
			if code != tt.code {
				t.Fatalf("GET %s as %s: %d, want %d", tt.path, tt.user, code, tt.code)
			}
			mustContain(t, tt.path, body, tt.want...)
			for _, d := range tt.dont {
				if strings.Contains(body, d) {
					t.Errorf("%s as %s has %q", tt.path, tt.user, d)
				}
			}
		})
	}
}

func TestProblemListPages(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i := range 53 {
		seedProblem(t, e.st, fmt.Sprintf("sig-%02d", i), t0.Add(time.Duration(i)*time.Minute))
	}
	b := e.as("val")
	_, body, _ := b.get("/problems")
	mustContain(t, "the first page", body, "Recurring sig-52", "Recurring sig-03", `rel="next" href="/problems?cursor=4"`)
	if strings.Contains(body, "Recurring sig-02") {
		t.Error("the first page has the 51st problem")
	}
	_, body, _ = b.get("/problems?cursor=4")
	mustContain(t, "the second page", body, "Recurring sig-02", "Recurring sig-00")
	if strings.Contains(body, "Recurring sig-03") || strings.Contains(body, `rel="next"`) {
		t.Error("the last page repeats the first or offers a next one")
	}
}

// TestProblemFormsRefused: the wrong caller, a missing token, bad input or
// a transition the lifecycle refuses change nothing.
func TestProblemFormsRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	anonEnv := newEnv(t, envOpts{anonymous: true})
	seedProblem(t, e.st, "sig", t0.Add(-time.Hour))
	seedProblem(t, anonEnv.st, "sig", t0.Add(-time.Hour))
	form := url.Values{"workaround": {"restart vector"}, "root_cause": {"log rotation"}}
	tests := []struct {
		name string
		do   func() (int, string, string)
		e    *env
		code int
		want string
	}{
		{"ViewerKnownError", func() (int, string, string) { return e.as("val").post("/problems/1", "/problems/1/known-error", form) },
			e, http.StatusForbidden, "val has the viewer role; this needs responder"},
		{"ResponderResolve", func() (int, string, string) {
			return e.as("rita").post("/problems/1", "/problems/1/resolve", url.Values{})
		},
			e, http.StatusForbidden, "this needs admin"},
		{"ResponderClose", func() (int, string, string) {
			return e.as("rita").post("/problems/1", "/problems/1/close", url.Values{})
		},
			e, http.StatusForbidden, "this needs admin"},
		{"NoCSRF", func() (int, string, string) { return e.as("rita").postRaw("/problems/1/known-error", form) },
			e, http.StatusForbidden, "CSRF token"},
		{"WrongCSRF", func() (int, string, string) {
			f := url.Values{"csrf": {"forged"}, "workaround": {"x"}}
			return e.as("ada").postRaw("/problems/1/known-error", f)
		}, e, http.StatusForbidden, "CSRF token"},
		{"NotSignedIn", func() (int, string, string) { return e.browser().postRaw("/problems/1/known-error", form) },
			e, http.StatusUnauthorized, ""},
		{"AnonymousFromElsewhere", func() (int, string, string) {
			req := httptest.NewRequest(http.MethodPost, "/problems/1/known-error", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.RemoteAddr = "192.0.2.7:40000"
			rec := httptest.NewRecorder()
			anonEnv.srv.Config.Handler.ServeHTTP(rec, req)
			return rec.Code, rec.Body.String(), ""
		}, anonEnv, http.StatusUnauthorized, ""},
		{"EmptyWorkaround", func() (int, string, string) {
			return e.as("rita").post("/problems/1", "/problems/1/known-error", url.Values{"workaround": {"  "}, "root_cause": {"typed cause"}})
		}, e, http.StatusBadRequest, "A known error needs a workaround"},
		{"TooLong", func() (int, string, string) {
			return e.as("rita").post("/problems/1", "/problems/1/known-error", url.Values{"workaround": {strings.Repeat("x", 16<<10+1)}})
		}, e, http.StatusBadRequest, "The workaround is too long"},
		{"CloseOpen", func() (int, string, string) {
			return e.as("ada").post("/problems/1", "/problems/1/close", url.Values{})
		},
			e, http.StatusBadRequest, "Only a resolved problem can be closed"},
		{"UnknownProblem", func() (int, string, string) {
			return e.as("rita").post("/problems/1", "/problems/99/known-error", form)
		},
			e, http.StatusNotFound, "not found"},
		{"BadID", func() (int, string, string) { return e.as("rita").post("/problems/1", "/problems/x/known-error", form) },
			e, http.StatusNotFound, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := tt.do()
			if code != tt.code {
				t.Fatalf("%d, want %d: %.300s", code, tt.code, body)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("the answer lacks %q", tt.want)
			}
			p := tt.e.problemOf(1)
			if p.State != incident.ProblemOpen || p.Workaround != "" {
				t.Errorf("the refused form changed the problem: %s %q", p.State, p.Workaround)
			}
		})
	}
	// A refused form keeps what was typed.
	_, body, _ := e.as("rita").post("/problems/1", "/problems/1/known-error", url.Values{"root_cause": {"typed cause"}})
	mustContain(t, "the refused form", body, ">typed cause</textarea>", `role="alert"`)
}

// TestProblemKnownError: a responder's form makes the problem a known
// error as the API's action does; the API agrees, with the responder as
// the actor; then an admin resolves and closes it.
func TestProblemKnownError(t *testing.T) {
	e := newEnv(t, envOpts{})
	seedProblem(t, e.st, "sig", t0.Add(-time.Hour))
	rita := e.as("rita")
	code, _, loc := rita.post("/problems/1", "/problems/1/known-error", url.Values{"root_cause": {"log rotation off"},
		"workaround": {"restart vector\nthen clear /var/log"}, "message": {"see RCA-7"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/problems/1?notice=") {
		t.Fatalf("known-error form: %d → %q", code, loc)
	}
	_, body, _ := rita.get(loc)
	mustContain(t, "the page after", body, "Recorded as a known error", `<span class="badge pst-known_error">known error</span>`,
		"restart vector\nthen clear /var/log", "log rotation off", "by rita")
	if strings.Contains(body, knownErrorForm) {
		t.Error("a known error still offers the known-error form")
	}
	got := e.apiProblem(1)
	if got.State != "known_error" || got.Workaround != "restart vector\nthen clear /var/log" || got.RootCause != "log rotation off" {
		t.Errorf("the API says %s, workaround %q, root cause %q", got.State, got.Workaround, got.RootCause)
	}
	if last := got.Timeline[len(got.Timeline)-1]; last.Actor != "rita" || last.Kind != "known_error" || !strings.Contains(last.Message, "see RCA-7") {
		t.Errorf("the API's last timeline entry = %+v, want rita's known error", last)
	}

	// Again: the lifecycle refuses, and says so.
	code, body, _ = rita.post("/problems/1", "/problems/1/known-error", url.Values{"workaround": {"other"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "Only an open problem can become a known error") {
		t.Errorf("a second known error: %d", code)
	}

	ada := e.as("ada")
	for _, step := range []struct {
		action string
		want   incident.ProblemState
	}{{"resolve", incident.ProblemResolved}, {"close", incident.ProblemClosed}} {
		code, _, loc := ada.post("/problems/1", "/problems/1/"+step.action, url.Values{"message": {"fixed in v2"}})
		if code != http.StatusSeeOther || !strings.Contains(loc, "notice=") {
			t.Fatalf("%s: %d → %q", step.action, code, loc)
		}
		if got := e.apiProblem(1); got.State != string(step.want) {
			t.Errorf("after %s the API says %s", step.action, got.State)
		}
	}
	_, body, _ = ada.get("/problems/1")
	for _, f := range []string{knownErrorForm, resolveForm, closeForm} {
		if strings.Contains(body, f) {
			t.Errorf("a closed problem offers %s", f)
		}
	}
}

func TestChangesPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	_, incs := seedProblem(t, e.st, "sig", t0.Add(-3*time.Hour), t0.Add(-2*time.Hour))
	_, many := seedProblem(t, e.st, "many", func() []time.Time {
		var out []time.Time
		for i := range 12 {
			out = append(out, t0.Add(-time.Duration(60-i)*time.Minute))
		}
		return out
	}()...)
	changes := []incident.Change{
		{Source: "ci", ExternalID: "deploy-7", Service: "db", Summary: "Deploy db v7", URL: "https://ci.example/7",
			StartedAt: t0.Add(-4 * time.Hour), FinishedAt: t0.Add(-4*time.Hour + 6*time.Minute), ReceivedAt: t0},
		{Source: "ci", ExternalID: "deploy-8", Service: "api", Summary: "Deploy api v8", StartedAt: t0.Add(-90 * time.Minute), ReceivedAt: t0},
		{Source: "ci", ExternalID: "old", Service: "db", Summary: "Old migration", StartedAt: t0.Add(-10 * 24 * time.Hour), ReceivedAt: t0},
		{Source: "ci", ExternalID: "evil", Service: "web", Summary: "Evil link", URL: "javascript:alert(1)", StartedAt: t0.Add(-time.Hour), ReceivedAt: t0},
	}
	err := e.st.Update(ctx, func(tx incident.Tx) error {
		for i := range changes {
			if err := tx.PutChange(ctx, &changes[i]); err != nil {
				return err
			}
		}
		links := []incident.ChangeLink{
			{IncidentID: incs[0], Change: changes[0], Rank: 1, Reason: "Deploy db v7 on db started 1h before the first alert"},
			{IncidentID: incs[1], Change: changes[0], Rank: 2, Reason: "Deploy db v7 on db started 2h before the first alert"},
		}
		for _, id := range many {
			links = append(links, incident.ChangeLink{IncidentID: id, Change: changes[1], Rank: 1, Reason: "api v8; db depends on api"})
		}
		for _, l := range links {
			if err := tx.LinkChange(ctx, l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		code       int
		want, dont []string
	}{
		{"Recent", "/changes", http.StatusOK,
			[]string{`<a href="https://ci.example/7" rel="noopener noreferrer">Deploy db v7</a>`, "6m", "ci · deploy-7",
				fmt.Sprintf(`<a href="/incidents/%d">#%d sig incident 0</a>`, incs[0], incs[0]), "top suspect: Deploy db v7 on db started 1h",
				"suspect 2: Deploy db v7 on db started 2h", "Deploy api v8", "not reported finished", "and 7 more incidents",
				`<option value="7d" selected>`, `aria-current="page">Changes`, `href="#ZgotmplZ"`},
			[]string{"Old migration", `javascript:`}},
		{"Service", "/changes?service=db", http.StatusOK, []string{"Deploy db v7", `value="db"`}, []string{"Deploy api v8"}},
		{"AllTime", "/changes?period=all&service=db", http.StatusOK, []string{"Deploy db v7", "Old migration"}, nil},
		{"Day", "/changes?period=24h&service=db", http.StatusOK, []string{"Deploy db v7"}, []string{"Old migration"}},
		{"NoneMatch", "/changes?service=nope", http.StatusOK, []string{"No changes match."}, nil},
		{"BadPeriod", "/changes?period=week", http.StatusBadRequest, []string{"period &#34;week&#34;: want 24h"}, nil},
		{"BadCursor", "/changes?cursor=-1", http.StatusBadRequest, []string{"cursor &#34;-1&#34;"}, nil},
	}
	b := e.as("val")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := b.get(tt.path)
			if code != tt.code {
				t.Fatalf("GET %s: %d, want %d", tt.path, code, tt.code)
			}
			mustContain(t, tt.path, body, tt.want...)
			for _, d := range tt.dont {
				if strings.Contains(body, d) {
					t.Errorf("%s has %q", tt.path, d)
				}
			}
		})
	}
	if code, _, loc := e.browser().get("/changes"); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Errorf("changes without signing in: %d → %q", code, loc)
	}
}
