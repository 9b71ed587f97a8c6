package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

// reportRules give P2 an SLA policy, so that the reported incident shows
// the policy applied.
const reportRules = `sla:
  policies:
    - priority: P2
      respond: 30m
      resolve: 8h
`

// TestUIReportIncident: a responder signs in in Chromium, reports an
// incident through the form (a refused attempt keeps what was typed), and
// lands on the new incident; the API shows it with source manual, the
// matrix's priority, its SLA policy and a timeline saying who reported it.
func TestUIReportIncident(t *testing.T) {
	t.Parallel()
	b := mustBrowser(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("rita-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("alertbridge.yml", []byte(`api:
  users:
    - {name: rita, role: responder, basic: {password_hash: '`+string(hash)+`'}}
`), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules := mustWriteFile(t, t.TempDir(), "rules.yml", reportRules)
	a, c := mustStartUIApp(t, app.Options{Config: cfg, RuleFiles: []string{rules}})
	c.Username, c.Password = "rita", "rita-password"
	base := "http://" + a.Addr()
	ctx := b.tab()

	do(t, ctx, "sign in as rita",
		chromedp.Navigate(base+"/login?next=/report"),
		chromedp.SendKeys(chromedp.ID("user"), "rita"),
		chromedp.SendKeys(chromedp.ID("password"), "rita-password"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("form.report-form")))
	if got := textOf(t, ctx, `nav a[aria-current="page"]`); got != "Report an incident" {
		t.Errorf("current navigation entry %q, want Report an incident", got)
	}

	// Choosing impact and urgency shows the priority the matrix gives.
	choose := func(id, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById(` + "`" + id + "`" + `);
			s.value = ` + "`" + value + "`" + `; s.dispatchEvent(new Event("change")); })()`)
	}
	do(t, ctx, "fill the form",
		chromedp.SendKeys(chromedp.ID("title"), "   "), // only blanks: the server refuses it
		chromedp.SendKeys(chromedp.ID("service"), "checkout"),
		choose("impact", "high"), choose("urgency", "medium"),
		chromedp.SendKeys(chromedp.ID("description"), "Customers call: card payments time out."),
		chromedp.SendKeys(chromedp.ID("on_behalf_of"), "alice (service desk)"))
	waitText(t, ctx, "#report-priority", "P2")
	do(t, ctx, "submit a blank title",
		chromedp.Click(chromedp.CSS(`form.report-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#title[aria-invalid="true"]`)))
	waitText(t, ctx, `[role="alert"]`, "Title: required")
	if got := get(t, ctx, "read the kept description", chromedp.Value(chromedp.ID("description"))); got != "Customers call: card payments time out." {
		t.Errorf("description after the refusal = %q, want what was typed", got)
	}
	if got := get(t, ctx, "read the kept impact", chromedp.Value(chromedp.ID("impact"))); got != "high" {
		t.Errorf("impact after the refusal = %q, want high", got)
	}
	if list, err := listAll(context.Background(), c); err != nil || len(list) != 0 {
		t.Fatalf("after the refused report: %d incidents, %v", len(list), err)
	}

	do(t, ctx, "submit the report",
		chromedp.SendKeys(chromedp.ID("title"), "Checkout fails for card payments"),
		chromedp.Click(chromedp.CSS(`form.report-form button[type="submit"]`)))
	u := waitLeave(t, ctx, "/report")
	loc := u.String()
	if u.Path != "/incidents/1" || u.Query().Get("notice") != "Incident #1 reported as P2." {
		t.Errorf("landed on %s, want /incidents/1 with the notice", loc)
	}
	waitText(t, ctx, "main", "Incident #1 reported as P2.")
	waitText(t, ctx, "#title", "Checkout fails for card payments")
	waitText(t, ctx, "#why", "Reported by hand")
	waitText(t, ctx, "#timeline", "reported by rita")

	inc, err := c.Incident(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Source != "manual" || inc.Priority != "P2" || inc.Impact != "high" || inc.Urgency != "medium" ||
		inc.Title != "Checkout fails for card payments" || inc.SLAPolicy != "P2" || inc.RespondBy == nil {
		t.Errorf("incident = %+v", inc)
	}
	if len(inc.Timeline) == 0 || inc.Timeline[0].Actor != "rita" ||
		!strings.HasPrefix(inc.Timeline[0].Message, "reported by rita (on behalf of alice (service desk)) as P2") {
		t.Errorf("timeline = %+v, want it to start: reported by rita", inc.Timeline)
	}
}

// waitLeave waits until the tab's page is no longer at path, and returns
// where it is: reading the location fails while a navigation replaces the
// page, so it is read again until it answers.
func waitLeave(t *testing.T, ctx context.Context, path string) *url.URL {
	t.Helper()
	deadline := time.Now().Add(browserTimeout)
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		loc, err := chromedp.Run(c, chromedp.Location())
		cancel()
		if err == nil {
			if u, err := url.Parse(loc); err == nil && u.Path != path {
				return u
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("browser: still at %s after %s", path, browserTimeout)
	return nil
}
