package app_test

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/app"
)

// TestRulesPage: the UI's Rules page lists the running rules, explains a
// label set with the daemon's own placement (the incident it would join),
// refuses a bad label set with 400, and reports a failed reload while the
// running rules stay.
func TestRulesPage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yml")
	writeFile(t, path, `correlations:
  - name: per-cluster
    matchers: ['cluster=~".+"']
    by: [cluster]
  - name: noise
    matchers: ['alertname="Watchdog"']
    action: drop
`)
	a := mustApp(t, app.Options{RuleFiles: []string{path}})
	base := "http://" + a.Addr()
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(p string) (int, string) {
		t.Helper()
		resp, err := hc.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/rules")
	if code != http.StatusOK {
		t.Fatalf("rules page: %d", code)
	}
	for _, w := range []string{"per-cluster", "cluster=~", "noise", ">drop<", "rules.yml", "none since start"} {
		if !strings.Contains(body, w) {
			t.Errorf("the rules page lacks %q", w)
		}
	}
	explain := func(labels string) (int, string) {
		return get("/rules?labels=" + url.QueryEscape(labels))
	}
	code, body = explain("alertname=\"DiskFull\"\ncluster=\"eu-1\"\nseverity=\"critical\"")
	if code != http.StatusOK || !strings.Contains(body, "opens a new incident: none has had this key") || !strings.Contains(body, `per-cluster@`) {
		t.Errorf("explain before any incident: %d\n%s", code, body)
	}
	resp, err := hc.Post(base+"/ingest/alertmanager", "application/json", strings.NewReader(`{"version":"4","status":"firing","receiver":"r","groupKey":"{}:{cluster=\"eu-1\"}",
		"groupLabels":{"cluster":"eu-1"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","truncatedAlerts":0,
		"alerts":[{"status":"firing","labels":{"alertname":"HighLatency","cluster":"eu-1"},"annotations":{},"startsAt":"`+time.Now().UTC().Format(time.RFC3339)+`","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"aaaa"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ingest: %d", resp.StatusCode)
	}
	code, body = explain(`{alertname="DiskFull", cluster="eu-1"}`)
	if code != http.StatusOK || !strings.Contains(body, "joins the incident with this key") || !strings.Contains(body, `href="/incidents/1"`) {
		t.Errorf("explain with incident 1 open: %d\n%s", code, body)
	}
	code, body = explain(`alertname="Watchdog"`)
	if code != http.StatusOK || !strings.Contains(body, "dropped as noise") {
		t.Errorf("explain a dropped alert: %d", code)
	}
	for _, bad := range []string{`alertname=~"Disk.*"`, `{alertname="a", alertname="b"}`, `="x"`, strings.Repeat("a", 17<<10)} {
		if code, body := explain(bad); code != http.StatusBadRequest || !strings.Contains(body, "labels: ") {
			t.Errorf("explain %.40q: %d, want 400 saying what is wrong", bad, code)
		}
	}

	writeFile(t, path, "correlations:\n  - name: broken\n    by: [cluster\n")
	if err := a.Reload(); err == nil {
		t.Fatal("a broken rule file reloaded")
	}
	_, body = get("/rules")
	for _, w := range []string{"failed", "the running rules were kept", "per-cluster"} {
		if !strings.Contains(body, w) {
			t.Errorf("after a failed reload the page lacks %q", w)
		}
	}
}
