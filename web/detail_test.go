package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

const topologyRules = `services:
  - name: checkout
    matchers: ['job="checkout"']
    depends_on: [db]
  - name: db
    matchers: ['job="db"']
correlations:
  - name: by-job
    matchers: ['alertname=~".+"']
    by: [job]
`

// TestIncidentPage: the page shows the header, the alerts with their
// history, why they are together (rule, by values, symptom), the suspected
// change and the timeline.
func TestIncidentPage(t *testing.T) {
	e := newEnv(t, envOpts{rules: topologyRules})
	ctx := context.Background()
	if err := e.p.SubmitChanges(ctx, []incident.Change{{Source: "ci", ExternalID: "42", Service: "db",
		Summary: "migrate db schema 12", StartedAt: e.clock.Now().Add(-5 * time.Minute),
		ReceivedAt: e.clock.Now(), Labels: map[string]string{}}}); err != nil {
		t.Fatal(err)
	}
	e.fire("DBDown", "job", "db", "severity", "critical")
	e.clock.Add(2 * time.Minute)
	e.fire("Errors", "job", "checkout")
	b := e.as("val")
	code, body, _ := b.get("/incidents/1")
	if code != http.StatusOK {
		t.Fatalf("detail: %d\n%s", code, body)
	}
	mustContain(t, "the incident page", body,
		"#1 DBDown", `class="badge p1"`, "DBDown", "Errors", // both alerts
		`Rule <b>by-job</b> groups by <code>job="db"</code>`, // why: rule and by value
		"symptom of #1 on db: checkout depends on db",        // why: topology
		"migrate db schema 12",                               // suspected change
		`data-kind="opened"`, `data-kind="symptom"`,          // timeline
		`<svg class="history"`, `class="firing"`)
	if strings.Contains(body, `action="/incidents/1/acknowledge"`) || strings.Contains(body, "<textarea") {
		t.Error("a viewer's page has forms")
	}
	for _, path := range []string{"/incidents/999", "/incidents/abc", "/incidents/-1"} {
		if code, _, _ := b.get(path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}

// TestIncidentActions: each form by the role the API asks for; the actor is
// the signed-in identity; the wrong role gets 403 and changes nothing.
func TestIncidentActions(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.fire("DiskFull", "service", "db", "severity", "critical")
	e.fire("HighLatency", "service", "api")
	ctx := context.Background()
	state := func(id int64) incident.State {
		inc, err := e.st.Incident(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return inc.State
	}

	// Who may do what, each with a valid CSRF token of their own page.
	for _, tc := range []struct {
		user, path string
		form       url.Values
		want       int
	}{
		{"val", "/incidents/1/acknowledge", url.Values{}, http.StatusForbidden},
		{"val", "/incidents/1/comment", url.Values{"message": {"x"}}, http.StatusForbidden},
		{"rita", "/incidents/1/merge", url.Values{"into": {"2"}}, http.StatusForbidden},
		{"rita", "/incidents/1/unlink", url.Values{"fingerprint": {"x"}}, http.StatusForbidden},
	} {
		code, _, _ := e.as(tc.user).post("/incidents/1", tc.path, tc.form)
		if code != tc.want {
			t.Errorf("%s POST %s: %d, want %d", tc.user, tc.path, code, tc.want)
		}
	}
	if st := state(1); st != incident.StateOpen {
		t.Fatalf("refused forms changed the incident: %s", st)
	}

	rita := e.as("rita")
	_, page, _ := rita.get("/incidents/1")
	mustContain(t, "a responder's page", page, `action="/incidents/1/acknowledge"`, `action="/incidents/1/resolve"`, "<textarea")
	if strings.Contains(page, `action="/incidents/1/merge"`) || strings.Contains(page, "/unlink") {
		t.Error("a responder's page offers the admin's merge or unlink")
	}
	if code, _, _ := rita.postRaw("/incidents/1/acknowledge", url.Values{}); code != http.StatusForbidden {
		t.Errorf("acknowledge without the CSRF token: %d, want 403", code)
	}
	if st := state(1); st != incident.StateOpen {
		t.Fatalf("a form without its token changed the incident: %s", st)
	}
	code, _, loc := rita.post("/incidents/1", "/incidents/1/acknowledge", url.Values{})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/incidents/1?notice=") {
		t.Fatalf("acknowledge: %d → %q", code, loc)
	}
	if st := state(1); st != incident.StateAcknowledged {
		t.Errorf("after acknowledge: %s", st)
	}
	_, page, _ = rita.get(loc)
	mustContain(t, "the page after acknowledging", page, "Acknowledged.", `data-kind="acknowledged"`)
	code, _, loc = rita.post("/incidents/1", "/incidents/1/comment", url.Values{"message": {"  "}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "error=") {
		t.Errorf("empty comment: %d → %q, want the page with an error", code, loc)
	}
	rita.post("/incidents/1", "/incidents/1/comment", url.Values{"message": {"looking at <the> disk"}})
	tl, _ := e.st.Timeline(ctx, 1)
	last := tl[len(tl)-1]
	if last.Kind != incident.TimelineComment || last.Actor != "rita" || last.Message != "looking at <the> disk" {
		t.Errorf("comment entry %+v, want rita's comment", last)
	}
	_, page, _ = rita.get("/incidents/1")
	mustContain(t, "the page", page, "looking at &lt;the&gt; disk")

	ada := e.as("ada")
	for _, into := range []string{"abc", "0", ""} {
		code, _, loc := ada.post("/incidents/2", "/incidents/2/merge", url.Values{"into": {into}})
		if code != http.StatusSeeOther || !strings.Contains(loc, "error=") {
			t.Errorf("merge into %q: %d → %q, want an error", into, code, loc)
		}
	}
	code, _, loc = ada.post("/incidents/2", "/incidents/2/merge", url.Values{"into": {"999"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "error=") {
		t.Errorf("merge into a missing incident: %d → %q", code, loc)
	}
	code, _, loc = ada.post("/incidents/2", "/incidents/2/merge", url.Values{"into": {"#1"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/incidents/1?") {
		t.Fatalf("merge: %d → %q, want the target's page", code, loc)
	}
	if inc, _ := e.st.Incident(ctx, 2); inc.MergedInto != 1 {
		t.Errorf("incident 2 merged into %d, want 1", inc.MergedInto)
	}
	_, page, _ = ada.get("/incidents/1")
	mustContain(t, "the merge target", page, "#2 merged in", `action="/incidents/1/unlink"`)
	_, page, _ = ada.get("/incidents/2")
	mustContain(t, "the merged incident", page, `Merged into <a href="/incidents/1">#1</a>`)

	alerts, _ := e.st.Alerts(ctx, 1)
	var fp string
	for _, a := range alerts {
		if a.Labels["alertname"] == "HighLatency" {
			fp = a.Fingerprint
		}
	}
	code, _, loc = ada.post("/incidents/1", "/incidents/1/unlink", url.Values{"fingerprint": {fp}, "source": {"alertmanager"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/incidents/3?") {
		t.Fatalf("unlink: %d → %q, want the new incident's page", code, loc)
	}
	tl, _ = e.st.Timeline(ctx, 1)
	if last := tl[len(tl)-1]; last.Kind != incident.TimelineUnlinked || last.Actor != "ada" {
		t.Errorf("unlink entry %+v, want ada's", last)
	}

	code, _, loc = rita.post("/incidents/1", "/incidents/1/resolve", url.Values{})
	if code != http.StatusSeeOther || state(1) != incident.StateResolved {
		t.Errorf("resolve: %d → %q, state %s", code, loc, state(1))
	}
	_, page, _ = rita.get("/incidents/1")
	if strings.Contains(page, `action="/incidents/1/resolve"`) {
		t.Error("a resolved incident offers resolve")
	}
	code, _, loc = rita.post("/incidents/1", "/incidents/1/resolve", url.Values{})
	if code != http.StatusSeeOther || !strings.Contains(loc, "error=") {
		t.Errorf("resolving a resolved incident: %d → %q, want the page with an error", code, loc)
	}
}

// TestClosedIncidentPage: a closed incident says it is final, offers a
// responder no action, and lists under the closed filter.
func TestClosedIncidentPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	e.fire("DiskFull", "job", "db")
	if _, err := e.p.Execute(ctx, incident.Command{IncidentID: 1, Action: incident.ActionResolve, Actor: "rita"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Hour) // past close_after (an hour here)
	if err := e.p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	b := e.as("rita")
	code, body, _ := b.get("/incidents/1")
	if code != http.StatusOK {
		t.Fatalf("detail: %d\n%s", code, body)
	}
	mustContain(t, "the closed incident's page", body, `id="closed-notice"`, "this incident is final", "st-closed",
		`data-kind="closed"`)
	for _, form := range []string{`action="/incidents/1/acknowledge"`, `action="/incidents/1/resolve"`, "<textarea"} {
		if strings.Contains(body, form) {
			t.Errorf("a closed incident's page has %s", form)
		}
	}
	code, body, _ = b.get("/incidents?state=closed")
	if code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	mustContain(t, "the closed filter", body, `href="/incidents/1"`)
}
