package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

// screenshotsDirEnv names the directory TestScreenshots writes to; the
// test runs only when it is set (make screenshots).
const screenshotsDirEnv = "ALERTBRIDGE_SCREENSHOTS_DIR"

// screenshotRules give the screenshots a catalog, a problem rule and SLA
// targets to show.
const screenshotRules = `services:
  - name: checkout
    owner: payments
    matchers: ['service="checkout"']
    depends_on: [db]
  - name: db
    owner: dba
    matchers: ['service="db"']
correlations:
  - name: by-service
    by: [service, alertname]
    reopen_within: 30m
problems:
  - name: disk-recurring
    signature:
      labels: [alertname, service]
    threshold: 2
    window: 1d
sla:
  policies:
    - {priority: P1, respond: 15m, resolve: 4h}
    - {priority: P2, respond: 30m, resolve: 8h}
    - {priority: P3, respond: 4h, resolve: 3d}
`

// TestScreenshots renders every page of the UI over a small, realistic
// data set and writes docs/images/*.png (make screenshots);
// ALERTBRIDGE_SCREENSHOTS_ONLY=incidents,problem limits it to some pages.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv(screenshotsDirEnv)
	if dir == "" {
		t.Skip("set " + screenshotsDirEnv + " (make screenshots) to write the UI's screenshots")
	}
	b := mustBrowser(t)
	tmp := t.TempDir()
	rules := mustWriteFile(t, tmp, "rules.yml", screenshotRules)
	cfg, err := config.Parse("alertbridge.yml", []byte(""), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, c := mustStartUIApp(t, app.Options{Config: cfg, RuleFiles: []string{rules}, ExternalURL: "https://alertbridge.example"})
	base := "http://" + a.Addr()
	ctx := context.Background()
	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	post("/ingest/changes", fmt.Sprintf(`{"service": "db", "id": "migrate-42", "summary": "Migrate db schema 42", "started_at": %q, "finished_at": %q}`, at(-50*time.Minute), at(-45*time.Minute)))
	post("/ingest/changes", fmt.Sprintf(`{"service": "search", "id": "deploy-88", "summary": "Deploy search v3.1 (new ranking)", "url": "https://ci.example.com/88", "started_at": %q, "finished_at": %q}`, at(-15*time.Minute), at(-13*time.Minute)))
	post("/ingest/changes", fmt.Sprintf(`{"service": "checkout", "id": "deploy-1942", "summary": "Deploy checkout v2.14.0", "url": "https://ci.example.com/1942", "started_at": %q}`, at(-20*time.Minute)))
	type event struct {
		Labels   map[string]string `json:"labels"`
		Severity string            `json:"severity"`
		Summary  string            `json:"summary"`
		Status   string            `json:"status,omitempty"`
		StartsAt string            `json:"starts_at"`
		EndsAt   string            `json:"ends_at,omitempty"`
	}
	lab := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, ev := range []event{
		{lab("alertname", "DiskFull", "service", "db", "instance", "db-1"), "critical", "Disk 97% full on db-1", "resolved", at(-90 * time.Minute), at(-70 * time.Minute)},
		{lab("alertname", "DiskFull", "service", "db", "instance", "db-2"), "critical", "Disk 95% full on db-2", "", at(-30 * time.Minute), ""},
		{lab("alertname", "CheckoutErrors", "service", "checkout", "instance", "web-1"), "warning", "5xx above 2% on checkout", "", at(-25 * time.Minute), ""},
		{lab("alertname", "CheckoutErrors", "service", "checkout", "instance", "web-2"), "warning", "5xx above 2% on checkout", "", at(-24 * time.Minute), ""},
		{lab("alertname", "HighLatency", "service", "search", "instance", "search-1"), "info", "p99 above 800ms", "", at(-10 * time.Minute), ""},
	} {
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		post("/ingest/events", string(body))
	}
	// A call to the service desk that no alert tells of.
	if _, err := c.Report(ctx, api.ReportRequest{Title: "Customers cannot pay by card", Service: "checkout",
		Description: "Several calls since 20:00: the payment step times out.", Impact: "high", Urgency: "medium",
		OnBehalfOf: "service desk"}); err != nil {
		t.Fatal(err)
	}
	list, err := listAll(ctx, c)
	if err != nil || len(list) == 0 {
		t.Fatalf("incidents: %v %v", list, err)
	}
	for _, inc := range list {
		switch {
		case strings.Contains(inc.Title, "CheckoutErrors"):
			if _, err := c.Acknowledge(ctx, inc.ID, api.ActionRequest{Message: "rolling back deploy-1942"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Comment(ctx, inc.ID, api.ActionRequest{Message: "rollback running, errors dropping"}); err != nil {
				t.Fatal(err)
			}
		}
	}

	pages := []struct{ name, path string }{
		{"overview", "/overview"},
		{"incidents", "/incidents?state=all"},
		{"incident", fmt.Sprintf("/incidents/%d", list[len(list)-1].ID)},
		{"problems", "/problems"},
		{"problem", "/problems/1"},
		{"changes", "/changes"},
		{"rules", "/rules?labels=" + "alertname%3DDiskFull%0Aservice%3Ddb"},
		{"report", "/report"},
	}
	only := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("ALERTBRIDGE_SCREENSHOTS_ONLY"), ",") {
		if n != "" {
			only[n] = true
		}
	}
	tab := b.tab()
	for _, p := range pages {
		if len(only) == 0 || only[p.name] {
			shoot(t, tab, filepath.Join(dir, p.name+".png"), base+p.path, 1280, 900)
		}
	}
	if len(only) == 0 || only["incidents-phone"] {
		shoot(t, tab, filepath.Join(dir, "incidents-phone.png"), base+"/incidents?state=all", 390, 844)
	}
}

// shoot writes a PNG of the page at url in a width×height viewport.
func shoot(t *testing.T, ctx context.Context, path, url string, width, height int64) {
	t.Helper()
	do(t, ctx, "open "+url, chromedp.EmulateViewport(width, height), chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("main")))
	png := get(t, ctx, "screenshot "+url, chromedp.CaptureScreenshot())
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}
