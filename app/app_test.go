package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// The captured Alertmanager v0.35.0 bodies live with the decoder's golden tests.
const fixtures = "../ingest/testdata/alertmanager"

// mustApp starts a daemon with o on a free port of 127.0.0.1, in a fresh
// directory unless o names one, stopped when t ends.
func mustApp(t testing.TB, o app.Options) *app.App {
	t.Helper()
	o.ListenAddress = "127.0.0.1:0"
	if o.StoragePath == "" {
		o.StoragePath = storetest.SQLiteDir(t)
	}
	a, err := app.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	t.Cleanup(func() {
		if err := a.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return a
}

func post(t *testing.T, a *app.App, path string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+a.Addr()+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

// TestCapturedDeliveries replays the main capture in the order Alertmanager
// sent it (deliveries.log) and checks the incidents an SRE would expect.
func TestCapturedDeliveries(t *testing.T) {
	a := mustApp(t, app.Options{})
	for _, name := range []string{
		"firing-immediate-old-startsAt", "firing-group", "group-by-all", "truncated", "firing-new-alerts-added",
		"repeat-notification", "firing-group-updated", "resolved-partial", "truncated-resolved",
		"resolved-all-prometheus-style", "resolved-all", "group-by-all-resolved",
	} {
		if code, body := post(t, a, "/ingest/alertmanager", fixture(t, name)); code != http.StatusOK {
			t.Fatalf("%s: %d %s", name, code, body)
		}
	}
	c := &api.Client{BaseURL: "http://" + a.Addr()}
	list, err := c.ListIncidents(context.Background(), api.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, inc := range list.Incidents {
		got[inc.CorrelationKey] = fmt.Sprintf("%s %s alerts=%d firing=%d", inc.State, inc.Priority, inc.AlertCount, inc.FiringCount)
	}
	want := map[string]string{
		`group{alertname="HighRequestLatency", cluster="eu-west-1"}`: "resolved P3 alerts=4 firing=0",
		`group{alertname="DiskAlmostFull", cluster="us-east-1"}`:     "resolved P1 alerts=2 firing=0",
		// max_alerts: 2 truncated the group: 3 of the 5 never reached us.
		`group{alertname="QueueBacklog"}`: "resolved P3 alerts=2 firing=0",
		// group_by: ['...']: every alert is its own group.
		`group{alertname="CertificateExpiring", cluster="eu-west-1", instance="lb-2:443", job="api-server", scenario="groupall", severity="info"}`: "resolved P5 alerts=1 firing=0",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
	if n := metric(t, a.Registry(), "alertbridge_dedupe_decisions_total", map[string]string{"transition": "repeat"}); n < 3 {
		t.Errorf("repeat decisions = %v, want ≥ 3 (repeat-notification re-sent 3 alerts)", n)
	}
}

func TestIngestRejectsBadInputAndStoresNothing(t *testing.T) {
	a := mustApp(t, app.Options{MaxBodyBytes: 4096})
	tests := []struct {
		name  string
		body  string
		code  int
		where string
	}{
		{"ErrMalformed", `{"version":"4",`, 400, ""},
		{"ErrVersion", `{"version":"3","alerts":[]}`, 400, "version"},
		{"ErrNoLabels", `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{},"startsAt":"2026-11-28T20:13:05Z"}]}`, 400, "alerts[0].labels"},
		{"ErrTooLarge", `{"version":"4","alerts":[` + strings.Repeat(" ", 5000) + `]}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, a, "/ingest/alertmanager", []byte(tt.body))
			var e api.Error
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q is not the JSON error shape: %v", body, err)
			}
			if code != tt.code || e.Error == "" || (tt.where != "" && e.Where != tt.where) {
				t.Errorf("got %d %+v, want %d where=%q", code, e, tt.code, tt.where)
			}
		})
	}
	c := &api.Client{BaseURL: "http://" + a.Addr()}
	list, err := c.ListIncidents(context.Background(), api.ListQuery{})
	if err != nil || len(list.Incidents) != 0 {
		t.Errorf("after bad input: %d incidents (%v), want 0", len(list.Incidents), err)
	}
}

func TestOperationalEndpointsAndMetricNames(t *testing.T) {
	a := mustApp(t, app.Options{})
	post(t, a, "/ingest/alertmanager", fixture(t, "firing-group"))
	for _, p := range []string{"/-/healthy", "/-/ready"} {
		resp, err := http.Get("http://" + a.Addr() + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d", p, resp.StatusCode)
		}
	}
	resp, err := http.Get("http://" + a.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{
		`alertbridge_ingest_events_total{outcome="accepted",source="alertmanager"} 3`,
		`alertbridge_dedupe_decisions_total{transition="new"} 3`,
		"alertbridge_correlate_cache_hits_total", "alertbridge_correlate_cache_misses_total",
		"alertbridge_correlate_cache_evictions_total", "alertbridge_incidents_opened_total 1",
		"alertbridge_incidents_resolved_total 0", `alertbridge_incidents_open{priority="P3"} 1`,
		"alertbridge_ingest_duration_seconds_bucket", "alertbridge_rules_last_reload_successful 1",
		"process_resident_memory_bytes", "go_goroutines",
		"alertbridge_store_wal_bytes", "alertbridge_store_wal_frames",
		`alertbridge_store_wal_checkpoints_total{by="background"}`, `alertbridge_store_wal_checkpoints_total{by="writer"}`,
	} {
		if !strings.Contains(string(b), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// The three alerts' commit appended pages to the WAL.
	if m := regexp.MustCompile(`(?m)^alertbridge_store_wal_pages_written_total (\d+)$`).FindSubmatch(b); m == nil || string(m[1]) == "0" {
		t.Errorf("/metrics: alertbridge_store_wal_pages_written_total is %q; want a count above 0", m)
	}
}

// A scraper that accepts gzip, as Prometheus does, gets the scrape gzipped
// and whole: every family parses, the alerts' counts among them.
func TestMetricsGzipped(t *testing.T) {
	a := mustApp(t, app.Options{})
	post(t, a, "/ingest/alertmanager", fixture(t, "firing-group"))
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(app.GetGzipped(t, "http://"+a.Addr()+"/metrics")))
	if err != nil {
		t.Fatalf("the gunzipped scrape does not parse: %v", err)
	}
	var accepted float64
	for _, m := range families["alertbridge_ingest_events_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "outcome" && l.GetValue() == "accepted" {
				accepted += m.GetCounter().GetValue()
			}
		}
	}
	if accepted != 3 || families["go_goroutines"] == nil {
		t.Errorf("%d families, %v events accepted; want go_goroutines and 3 accepted", len(families), accepted)
	}
}

const goodRules = `correlations:
  - name: latency
    matchers: ['alertname="HighRequestLatency"']
    by: [alertname]
    impact: high
    urgency: high
    title: 'Latency in {{ .Labels.cluster }}'
`

const badRules = `correlations:
  - name: latency
    matchers: ['alertname=~"(unclosed"']
    by: [alertname]
    colour: red
`

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRefusesToStartOnInvalidRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yml")
	writeFile(t, path, badRules)
	_, err := app.New(context.Background(), app.Options{ListenAddress: "127.0.0.1:0", StoragePath: t.TempDir(), RuleFiles: []string{path}})
	if err == nil {
		t.Fatal("started with invalid rules")
	}
	for _, want := range []string{path + ":3:16: ", path + ":5:5: "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks position %q", err, want)
		}
	}
}

func TestReloadKeepsGoodRulesOnBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yml")
	writeFile(t, path, goodRules)
	a := mustApp(t, app.Options{RuleFiles: []string{path}})
	reload := func() int {
		resp, err := http.Post("http://"+a.Addr()+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	writeFile(t, path, badRules)
	if code := reload(); code != http.StatusInternalServerError {
		t.Errorf("reload of a bad file = %d, want 500", code)
	}
	if v := metric(t, a.Registry(), "alertbridge_rules_last_reload_successful", nil); v != 0 {
		t.Errorf("last_reload_successful = %v, want 0", v)
	}
	// The good rules still decide.
	post(t, a, "/ingest/alertmanager", fixture(t, "firing-group"))
	c := &api.Client{BaseURL: "http://" + a.Addr()}
	list, err := c.ListIncidents(context.Background(), api.ListQuery{})
	if err != nil || len(list.Incidents) != 1 {
		t.Fatalf("incidents = %+v, %v", list, err)
	}
	if inc := list.Incidents[0]; inc.Rule != "latency" || inc.Priority != "P1" || inc.Title != "Latency in eu-west-1" {
		t.Errorf("incident = %+v, want rule latency, P1, templated title", inc)
	}
	hashBefore := metric(t, a.Registry(), "alertbridge_rules_config_hash", nil)
	writeFile(t, path, strings.Replace(goodRules, "impact: high", "impact: low", 1))
	if code := reload(); code != http.StatusOK {
		t.Errorf("reload of a good file = %d, want 200", code)
	}
	if v := metric(t, a.Registry(), "alertbridge_rules_last_reload_successful", nil); v != 1 {
		t.Errorf("last_reload_successful = %v, want 1", v)
	}
	if metric(t, a.Registry(), "alertbridge_rules_config_hash", nil) == hashBefore {
		t.Error("config hash did not change with the rules")
	}
}

// TestReloadUnderConcurrentIngest swaps rule sets while notifications flow;
// with -race it proves the swap is safe, and every event sees one whole set.
func TestReloadUnderConcurrentIngest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yml")
	writeFile(t, path, goodRules)
	a := mustApp(t, app.Options{RuleFiles: []string{path}})
	body := fixture(t, "firing-group")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if code, b := post(t, a, "/ingest/alertmanager", body); code != 200 {
					t.Errorf("ingest during reload: %d %s", code, b)
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		writeFile(t, path, strings.Replace(goodRules, "latency", fmt.Sprintf("latency-%d", i%2), 1))
		if err := a.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestStopDrainsInFlight stops the daemon while requests are being answered:
// every request that got a 200 is in the store after a restart.
func TestStopDrainsInFlight(t *testing.T) {
	dir := t.TempDir()
	a, err := app.New(context.Background(), app.Options{ListenAddress: "127.0.0.1:0", StoragePath: dir})
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; ; j++ {
				cluster := fmt.Sprintf("c%d-%d", i, j)
				body := fmt.Sprintf(`{"version":"4","status":"firing","receiver":"r","groupLabels":{"cluster":%q},
					"alerts":[{"status":"firing","labels":{"alertname":"X","cluster":%q},"startsAt":"2026-11-28T20:13:05Z","endsAt":"0001-01-01T00:00:00Z"}]}`, cluster, cluster)
				resp, err := http.Post("http://"+a.Addr()+"/ingest/alertmanager", "application/json", strings.NewReader(body))
				if err != nil {
					return // the server has closed its listener
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked[cluster] = true
					mu.Unlock()
				}
			}
		}(i)
	}
	time.Sleep(300 * time.Millisecond) // let traffic build; the assertions do not depend on timing
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	b := mustApp(t, app.Options{StoragePath: dir})
	c := &api.Client{BaseURL: "http://" + b.Addr()}
	stored := map[string]bool{}
	for cursor := ""; ; {
		list, err := c.ListIncidents(context.Background(), api.ListQuery{Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, inc := range list.Incidents {
			stored[strings.TrimSuffix(strings.TrimPrefix(inc.CorrelationKey, `group{cluster="`), `"}`)] = true
		}
		if cursor = list.NextCursor; cursor == "" {
			break
		}
	}
	if len(acked) == 0 {
		t.Fatal("no request was acknowledged before stop")
	}
	for k := range acked {
		if !stored[k] {
			t.Errorf("acknowledged group %s is not in the store", k)
		}
	}
}

// TestStopBeforeStart: a daemon built but never started stops at once,
// freeing its listener and its store (whose lock another may then take).
func TestStopBeforeStart(t *testing.T) {
	dir := t.TempDir()
	a, err := app.New(context.Background(), app.Options{ListenAddress: "127.0.0.1:0", StoragePath: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := a.Addr()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Stop(ctx); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if ln, err := net.Listen("tcp", addr); err != nil {
		t.Errorf("the listener is still held: %v", err)
	} else {
		ln.Close()
	}
	b, err := app.New(context.Background(), app.Options{ListenAddress: "127.0.0.1:0", StoragePath: dir})
	if err != nil {
		t.Fatalf("the store is still held: %v", err)
	}
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestNewUndoesWhatItSetUp: a New that fails after opening the store (here
// at the listener) closes what it opened, so the store can be opened again.
func TestNewUndoesWhatItSetUp(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := app.New(context.Background(), app.Options{ListenAddress: busy.Addr().String(), StoragePath: dir}); err == nil {
		t.Fatal("New on a taken address succeeded")
	}
	a, err := app.New(context.Background(), app.Options{ListenAddress: "127.0.0.1:0", StoragePath: dir})
	if err != nil {
		t.Fatalf("after a failed New the store is still held: %v", err)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
