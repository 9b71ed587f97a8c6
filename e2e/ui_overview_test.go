package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

// overviewRules give the incidents a priority from their severity and SLA
// targets, so that the overview's attainment is not empty.
const overviewRules = `correlations:
  - name: by-service
    by: [service, alertname]
sla:
  policies:
    - {priority: P1, respond: 15m, resolve: 4h}
    - {priority: P2, respond: 30m, resolve: 8h}
    - {priority: P3, respond: 4h, resolve: 3d}
    - {priority: P4, respond: 8h, resolve: 5d}
    - {priority: P5, respond: 1d, resolve: 10d}
`

// pageFigure is a figure of the overview: its data-value (as the API
// writes it) and the text shown.
type pageFigure struct {
	Value string `json:"value"`
	Text  string `json:"text"`
}

// readOverview reads the figures of the overview open in ctx by their
// data-stat names, and the window they are of.
func readOverview(t *testing.T, ctx context.Context) (figs map[string]pageFigure, since, until string) {
	t.Helper()
	figs = get(t, ctx, "read the figures", chromedp.Evaluate[map[string]pageFigure](`Object.fromEntries(
		Array.from(document.querySelectorAll("[data-stat]"), e => [e.dataset.stat, {value: e.dataset.value, text: e.textContent.trim()}]))`))
	w := get(t, ctx, "read the window", chromedp.Evaluate[map[string]string](`({...document.querySelector("#o-window").dataset})`))
	return figs, w["since"], w["until"]
}

// statsFigures flattens GET /api/v1/stats's answer into the page's names:
// objects and arrays joined with ".", the backlog by age, null as "", and
// numbers as written; the request's echo (since, until, service, priority)
// left out.
func statsFigures(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("stats: %v: %s", err, body)
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

// sameFigure compares two figures as numbers where both are numbers. The
// oldest open incident's age counts from each request's own now, so the
// page's and the API's may differ by the time between them (a minute at
// most here); every other figure must be equal.
func sameFigure(name, a, b string) bool {
	fa, errA := strconv.ParseFloat(a, 64)
	fb, errB := strconv.ParseFloat(b, 64)
	switch {
	case errA != nil || errB != nil:
		return a == b
	case name == "oldest_open_age_seconds":
		return math.Abs(fa-fb) < 60
	}
	return fa == fb
}

// TestUIOverviewEqualsAPIStats: the overview's figures, as Chromium shows
// them, equal GET /api/v1/stats's for the same window, after alerts came in
// and some of their incidents were acknowledged and resolved; the period
// and filter are chosen through the page's form.
func TestUIOverviewEqualsAPIStats(t *testing.T) {
	t.Parallel()
	b := mustBrowser(t)
	rules := mustWriteFile(t, t.TempDir(), "rules.yml", overviewRules)
	cfg, err := config.Parse("alertbridge.yml", []byte(""), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, c := mustStartUIApp(t, app.Options{Config: cfg, RuleFiles: []string{rules}})
	base := "http://" + a.Addr()
	ctx := context.Background()

	type event struct {
		Labels   map[string]string `json:"labels"`
		Severity string            `json:"severity"`
		Summary  string            `json:"summary"`
		StartsAt string            `json:"starts_at"`
	}
	now := time.Now().UTC()
	events := []event{
		{map[string]string{"alertname": "DiskFull", "service": "db", "instance": "db-1"}, "critical", "disk full on db-1", now.Add(-20 * time.Minute).Format(time.RFC3339)},
		{map[string]string{"alertname": "DiskFull", "service": "db", "instance": "db-2"}, "critical", "disk full on db-2", now.Add(-10 * time.Minute).Format(time.RFC3339)},
		{map[string]string{"alertname": "CheckoutErrors", "service": "checkout", "instance": "web-1"}, "warning", "5xx above 2%", now.Add(-5 * time.Minute).Format(time.RFC3339)},
		{map[string]string{"alertname": "HighLatency", "service": "search", "instance": "search-1"}, "info", "p99 above 800ms", now.Format(time.RFC3339)},
		{map[string]string{"alertname": "CertExpiring", "service": "edge", "instance": "lb-1"}, "warning", "cert expires in 7d", now.Format(time.RFC3339)},
	}
	for _, ev := range events {
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(base+"/ingest/events", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST /ingest/events: %d", resp.StatusCode)
		}
	}
	var incs []api.Incident
	eventually(t, 30*time.Second, func() error {
		incs, err = listAll(ctx, c)
		if err == nil && len(incs) != 4 {
			err = fmt.Errorf("%d incidents, want 4", len(incs))
		}
		return err
	})
	// Acknowledge the disk and checkout incidents, resolve checkout and
	// latency; the certificate stays open.
	for _, inc := range incs {
		switch {
		case strings.Contains(inc.Title, "DiskFull"), strings.Contains(inc.Title, "CheckoutErrors"):
			if _, err := c.Acknowledge(ctx, inc.ID, api.ActionRequest{Message: "on it"}); err != nil {
				t.Fatal(err)
			}
		}
		switch {
		case strings.Contains(inc.Title, "CheckoutErrors"), strings.Contains(inc.Title, "HighLatency"):
			if _, err := c.Resolve(ctx, inc.ID, api.ActionRequest{Message: "fixed"}); err != nil {
				t.Fatal(err)
			}
		}
	}

	// compare checks the overview open in tab against the API for the
	// window the page shows; it returns the page's figures.
	compare := func(tab context.Context, filter url.Values) map[string]pageFigure {
		t.Helper()
		figs, since, until := readOverview(t, tab)
		if since == "" || until == "" {
			t.Fatalf("the overview shows no window (since %q, until %q)", since, until)
		}
		q := url.Values{"since": {since}, "until": {until}}
		for k, v := range filter {
			q[k] = v
		}
		resp, err := http.Get(base + "/api/v1/stats?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/stats?%s: %d %s", q.Encode(), resp.StatusCode, body)
		}
		want := statsFigures(t, body)
		got := map[string]string{}
		for k, f := range figs {
			got[k] = f.Value
			// Counts are shown as they are.
			if isCount(k) && f.Text != f.Value {
				t.Errorf("%s shows %q, its value is %s", k, f.Text, f.Value)
			}
		}
		for k := range merged(want, got) {
			w, inAPI := want[k]
			g, onPage := got[k]
			if inAPI != onPage || !sameFigure(k, w, g) {
				t.Errorf("%s: the page shows %q (shown: %t), the API says %q (there: %t)", k, g, onPage, w, inAPI)
			}
		}
		return figs
	}

	tab := b.tab()
	do(t, tab, "open the overview", chromedp.Navigate(base+"/overview?period=7d"), chromedp.WaitVisible(chromedp.CSS("#o-window")))
	figs := compare(tab, nil)
	// The data must exercise the figures, not compare empty with empty.
	for name, want := range map[string]string{"opened": "4", "resolved": "2", "open_now": "2", "mtta.count": "2", "mttr.count": "2",
		"noise.events": "5", "noise.alerts": "5", "noise.incidents": "4"} {
		if figs[name].Value != want {
			t.Errorf("%s = %q, want %s", name, figs[name].Value, want)
		}
	}
	for _, name := range []string{"mtta.mean_seconds", "mttr.p90_seconds", "sla_respond_attainment", "sla_resolve_attainment"} {
		if figs[name].Value == "" || figs[name].Text == "–" {
			t.Errorf("%s is empty: the data should give it a value", name)
		}
	}
	if got := textOf(t, tab, `[data-stat="sla_resolve_attainment"]`); got != "100.0%" {
		t.Errorf("SLA resolve attainment shows %q, want 100.0%%", got)
	}
	if n := get(t, tab, "count the per-day bars", chromedp.Evaluate[int](`document.querySelectorAll("#o-h-per-day ~ svg rect").length`)); n == 0 {
		t.Error("the per-day chart draws no bar")
	}

	// Choose 24h and the checkout service through the form.
	do(t, tab, "filter the overview",
		chromedp.SetValue(chromedp.ID("o-period"), "24h"),
		chromedp.SetValue(chromedp.ID("o-service"), "checkout"),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)))
	// The old page stays visible until the new one replaces it: wait for
	// the new location before reading anything.
	waitURL(t, tab, "period=24h")
	if loc := get(t, tab, "read the URL", chromedp.Location()); !strings.Contains(loc, "period=24h") || !strings.Contains(loc, "service=checkout") {
		t.Fatalf("the filter is not in the URL: %s", loc)
	}
	waitText(t, tab, "#o-window", "checkout")
	figs = compare(tab, url.Values{"service": {"checkout"}})
	if figs["opened"].Value != "1" || figs["resolved"].Value != "1" {
		t.Errorf("checkout in 24h: opened %q resolved %q, want 1 and 1", figs["opened"].Value, figs["resolved"].Value)
	}
}

// merged is the keys of a and b.
func merged(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// isCount says whether the figure named k is a count, shown as its value.
func isCount(k string) bool {
	switch {
	case k == "opened", k == "resolved", k == "open_now", strings.HasSuffix(k, ".count"), strings.HasPrefix(k, "backlog."),
		k == "noise.events", k == "noise.alerts", k == "noise.incidents", strings.HasSuffix(k, ".incidents"):
		return true
	}
	return false
}
