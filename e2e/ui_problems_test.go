package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

// problemRules group alerts by instance and open a problem once two
// incidents of one alert on one service open within a day.
const problemRules = `correlations:
  - name: by-instance
    by: [alertname, instance]
problems:
  - name: disk-recurring
    signature:
      labels: [alertname, service]
    threshold: 2
    window: 1d
`

// TestUIProblemKnownError: two incidents open a problem; a responder signs
// in, marks it a known error from its page in Chromium, and the API shows
// the workaround; a viewer sees the problem without the form.
func TestUIProblemKnownError(t *testing.T) {
	t.Parallel()
	b := mustBrowser(t)
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("rita-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("alertbridge.yml", []byte(`api:
  users:
    - {name: rita, role: responder, basic: {password_hash: '`+string(hash)+`'}}
    - {name: val, role: viewer, bearer: {token: viewer-token-0123456789}}
`), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, c := mustStartUIApp(t, app.Options{Config: cfg, RuleFiles: []string{mustWriteFile(t, dir, "rules.yml", problemRules)}})
	c.Token = "viewer-token-0123456789"
	base := "http://" + a.Addr()
	ctx := context.Background()

	// No sources are configured: the ingest endpoints are open.
	for _, instance := range []string{"db-1", "db-2"} {
		body, err := json.Marshal(map[string]any{
			"labels":    map[string]string{"alertname": "DiskFull", "service": "db", "instance": instance},
			"severity":  "critical",
			"summary":   "disk full on " + instance,
			"starts_at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(base+"/ingest/events", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("ingest %s: %s", instance, resp.Status)
		}
	}
	var problem api.Problem
	eventually(t, 10*time.Second, func() error {
		list, err := c.ListProblems(ctx, api.ProblemQuery{})
		if err != nil {
			return err
		}
		if len(list.Problems) != 1 || list.Problems[0].IncidentCount != 2 {
			return fmt.Errorf("problems: %+v", list.Problems)
		}
		problem = list.Problems[0]
		return nil
	})
	page := fmt.Sprintf("%s/problems/%d", base, problem.ID)

	// The responder signs in on the way to the problem's page.
	tab := b.tab()
	do(t, tab, "sign in as rita",
		chromedp.Navigate(base+"/login?next="+url.QueryEscape(fmt.Sprintf("/problems/%d", problem.ID))),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "rita"),
		chromedp.SendKeys(chromedp.ID("password"), "rita-password"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("known-error-form")))
	waitText(t, tab, "h1", fmt.Sprintf("Problem #%d", problem.ID))
	waitText(t, tab, ".problem-incidents", "DiskFull")
	if got := textOf(t, tab, "#chart-summary"); !strings.HasPrefix(got, "2 linked incidents") {
		t.Errorf("chart summary = %q", got)
	}

	const workaround = "Restart vector on the host; it reopens its log files."
	do(t, tab, "mark a known error",
		chromedp.SendKeys(chromedp.ID("ke-root"), "log rotation was switched off"),
		chromedp.SendKeys(chromedp.ID("ke-workaround"), workaround),
		chromedp.Click(chromedp.CSS(`#known-error-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("main .notice")))
	waitText(t, tab, "main .notice", "Recorded as a known error")
	if got := textOf(t, tab, "#workaround"); got != workaround {
		t.Errorf("the page's workaround = %q", got)
	}
	if gone := get(t, tab, "look for the form", chromedp.Evaluate[bool](`document.getElementById("known-error-form") === null`)); !gone {
		t.Error("a known error still offers the known-error form")
	}

	got, err := c.Problem(ctx, problem.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "known_error" || got.Workaround != workaround || got.RootCause != "log rotation was switched off" {
		t.Errorf("the API says %s, workaround %q, root cause %q", got.State, got.Workaround, got.RootCause)
	}
	if last := got.Timeline[len(got.Timeline)-1]; last.Actor != "rita" || last.Kind != "known_error" {
		t.Errorf("the API's last timeline entry = %+v, want rita's known error", last)
	}

	// A viewer (signed in with a token) sees the workaround and no form.
	viewer := b.tab()
	do(t, viewer, "sign in as val",
		chromedp.Navigate(base+"/login?next="+url.QueryEscape(fmt.Sprintf("/problems/%d", problem.ID))),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "val"),
		chromedp.SendKeys(chromedp.ID("password"), "viewer-token-0123456789"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("workaround")))
	if loc := get(t, viewer, "read the URL", chromedp.Location()); loc != page {
		t.Errorf("after sign-in: %s, want %s", loc, page)
	}
	waitText(t, viewer, "#workaround", workaround)
	if n := get(t, viewer, "count forms", chromedp.Evaluate[int](`document.querySelectorAll("main form[method=post]").length`)); n != 0 {
		t.Errorf("the viewer's page has %d forms", n)
	}
}
