package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

// uiUsersConfig declares a viewer and a responder who sign in with
// "<name>-pw".
func uiUsersConfig(t testing.TB) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("api:\n  users:\n")
	for _, u := range [][2]string{{"val", "viewer"}, {"rita", "responder"}} {
		h, err := bcrypt.GenerateFromPassword([]byte(u[0]+"-pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "    - {name: %s, role: %s, basic: {password_hash: %q}}\n", u[0], u[1], h)
	}
	cfg, err := config.Parse("alertbridge.yml", []byte(b.String()), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// signIn signs a tab in through the sign-in form.
func signIn(t testing.TB, ctx context.Context, base, user string) {
	t.Helper()
	do(t, ctx, "sign in as "+user, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), user), chromedp.SendKeys(chromedp.ID("password"), user+"-pw"),
		chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.CSS("#live")))
}

// TestUIIncidentDetail: alerts a real Alertmanager groups reach the
// incident page with the reason they are together and the timeline; a
// responder acknowledges from the page and the API agrees; a viewer sees no
// buttons and a forged POST gets 403; a POST without the CSRF token is
// refused.
func TestUIIncidentDetail(t *testing.T) {
	t.Parallel()
	b := mustBrowser(t)
	am := mustFindAlertmanager(t)
	rules := mustWriteFile(t, t.TempDir(), "rules.yml", `correlations:
  - name: per-cluster
    matchers: ['cluster=~".+"']
    by: [cluster]
`)
	a, _ := mustStartUIApp(t, app.Options{Config: uiUsersConfig(t), RuleFiles: []string{rules}})
	base := "http://" + a.Addr()
	amURL := mustStartAlertmanager(t, am, base+"/ingest/alertmanager")
	mustPostAlerts(t, amURL, []postableAlert{
		{Labels: map[string]string{"alertname": "DiskFull", "cluster": "eu-1", "severity": "critical", "service": "db"},
			Annotations: map[string]string{"summary": "disk full on db-1"}},
		{Labels: map[string]string{"alertname": "HighLatency", "cluster": "eu-1", "severity": "warning", "service": "api"},
			Annotations: map[string]string{"summary": "p99 above 500ms"}},
	})
	apiGet := func(path string, v any) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.SetBasicAuth("val", "val-pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if v != nil {
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode
	}
	var inc struct {
		ID     int64  `json:"id"`
		State  string `json:"state"`
		Alerts []any  `json:"alerts"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for apiGet("/api/v1/incidents/1", &inc); len(inc.Alerts) < 2; apiGet("/api/v1/incidents/1", &inc) {
		if time.Now().After(deadline) {
			t.Fatalf("incident 1 never got both alerts: %+v", inc)
		}
		time.Sleep(200 * time.Millisecond)
	}

	rita := b.tab()
	signIn(t, rita, base, "rita")
	waitText(t, rita, "#live table", "#1")
	click(t, rita, "open the incident", `#live a[href="/incidents/1"]`)
	do(t, rita, "wait for the incident", chromedp.WaitVisible(chromedp.ID("why")))
	for sel, wants := range map[string][]string{
		"table.alerts": {"DiskFull", "HighLatency", "disk full on db-1", `cluster="eu-1"`},
		"#why":         {"per-cluster", `cluster="eu-1"`},
		"#timeline":    {"opened", "DiskFull firing"},
		"#state":       {"open"},
	} {
		for _, w := range wants {
			waitText(t, rita, sel, w)
		}
	}
	// A POST without the CSRF token, from the signed-in page itself.
	code := get(t, rita, "post without a token", chromedp.Evaluate[int](
		`fetch("/incidents/1/acknowledge", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: ""}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if code != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: %d, want 403", code)
	}
	if apiGet("/api/v1/incidents/1", &inc); inc.State != "open" {
		t.Fatalf("a refused POST changed the state to %s", inc.State)
	}
	do(t, rita, "acknowledge", chromedp.Click(chromedp.ID("ack")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	waitText(t, rita, "#state", "acknowledged")
	waitText(t, rita, "#timeline", "rita")
	if apiGet("/api/v1/incidents/1", &inc); inc.State != "acknowledged" {
		t.Errorf("the API says %s after acknowledging in the page", inc.State)
	}

	val := b.tab()
	signIn(t, val, base, "val")
	do(t, val, "open the incident as a viewer", chromedp.Navigate(base+"/incidents/1"), chromedp.WaitVisible(chromedp.ID("why")))
	if n := get(t, val, "count forms", chromedp.Evaluate[int](`document.querySelectorAll("main form").length`)); n != 0 {
		t.Errorf("a viewer sees %d forms, want none", n)
	}
	// A forged POST with the viewer's own valid session and token.
	code = get(t, val, "forge a resolve", chromedp.Evaluate[int](`(() => {
		const token = document.querySelector('input[name="csrf"]').value;
		return fetch("/incidents/1/resolve", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
			body: "csrf=" + encodeURIComponent(token)}).then(r => r.status);
	})()`, chromedp.EvalAwaitPromise))
	if code != http.StatusForbidden {
		t.Errorf("a viewer's forged resolve: %d, want 403", code)
	}
	if apiGet("/api/v1/incidents/1", &inc); inc.State != "acknowledged" {
		t.Errorf("a viewer's forged resolve changed the state to %s", inc.State)
	}
}
