package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// mustStartUIApp embeds the daemon with a fast live list.
func mustStartUIApp(t testing.TB, o app.Options) (*app.App, *api.Client) {
	t.Helper()
	logs := &syncBuffer{}
	o.ListenAddress = "127.0.0.1:0"
	if o.StoragePath == "" {
		o.StoragePath = storetest.SQLiteDir(t)
	}
	if o.UIPoll == 0 {
		o.UIPoll = 200 * time.Millisecond
	}
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(context.Background(), o)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	a.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Errorf("app.Stop: %v", err)
		}
		if t.Failed() {
			t.Logf("alertbridge log:\n%s", logs)
		}
	})
	return a, &api.Client{BaseURL: "http://" + a.Addr(), HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// TestUILiveListFromAlertmanager: alerts a real Alertmanager sends appear
// in the open incident list without a reload; the filter is in the URL and
// survives a reload.
func TestUILiveListFromAlertmanager(t *testing.T) {
	t.Parallel()
	b := mustBrowser(t)
	am := mustFindAlertmanager(t)
	a, _ := mustStartUIApp(t, app.Options{})
	base := "http://" + a.Addr()
	amURL := mustStartAlertmanager(t, am, base+"/ingest/alertmanager")
	ctx := b.tab()

	do(t, ctx, "open the list", chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(chromedp.CSS("#live")))
	get(t, ctx, "mark the page", chromedp.Evaluate[bool](`window.notReloaded = true`))
	waitText(t, ctx, "#live", "No incidents match.")

	mustPostAlerts(t, amURL, []postableAlert{
		{Labels: map[string]string{"alertname": "DiskFull", "cluster": "eu-1", "severity": "critical", "service": "db"},
			Annotations: map[string]string{"summary": "disk full on db-1"}},
		{Labels: map[string]string{"alertname": "HighLatency", "cluster": "eu-1", "severity": "warning", "service": "api"},
			Annotations: map[string]string{"summary": "p99 above 500ms"}},
	})
	waitText(t, ctx, "#live table", "DiskFull")
	waitText(t, ctx, "#live table", "HighLatency")
	if !get(t, ctx, "check no reload", chromedp.Evaluate[bool](`window.notReloaded === true`)) {
		t.Error("the page reloaded: the rows should arrive in place")
	}
	if got := textOf(t, ctx, `[data-count="open"]`); got != "2" {
		t.Errorf("open count = %q, want 2", got)
	}

	// Filter by priority P1 (critical × high urgency) through the form.
	do(t, ctx, "filter by P1",
		chromedp.SetValue(chromedp.ID("f-priority"), "P1"),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#live")))
	waitURL(t, ctx, "priority=P1")
	waitText(t, ctx, "#live table", "DiskFull")
	if loc := get(t, ctx, "read the URL", chromedp.Location()); !strings.Contains(loc, "priority=P1") {
		t.Fatalf("filter not in the URL: %s", loc)
	}
	check := func(when string) {
		t.Helper()
		waitText(t, ctx, "#live table", "DiskFull")
		if s := textOf(t, ctx, "#live"); strings.Contains(s, "HighLatency") {
			t.Errorf("%s: the P1 filter shows HighLatency (P3)", when)
		}
	}
	check("after filtering")
	do(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#live")))
	check("after a reload")
	if sel := get(t, ctx, "read the select", chromedp.Value(chromedp.ID("f-priority"))); sel != "P1" {
		t.Errorf("priority select after reload = %q, want P1", sel)
	}
}

// waitURL waits until the tab's location contains want. Reading the
// location fails while a navigation replaces the page, so it is read
// again until it answers.
func waitURL(t testing.TB, ctx context.Context, want string) {
	t.Helper()
	deadline := time.Now().Add(browserTimeout)
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		loc, err := chromedp.Run(c, chromedp.Location())
		cancel()
		if err == nil && strings.Contains(loc, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("browser: the location never contained %q", want)
}
