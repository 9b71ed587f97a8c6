package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const prometheusConfig = `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %s
alerting:
  alertmanagers:
    - api_version: v2
      static_configs:
        - targets: ['%s']
scrape_configs:
  - job_name: e2e-service
    static_configs:
      - targets: ['%s']
  - job_name: alertbridge
    static_configs:
      - targets: ['%s']
`

const prometheusRules = `groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: ServiceDown
        expr: e2e_service_up == 0
        for: 0s
        labels:
          severity: critical
        annotations:
          summary: the e2e service is down
`

// TestPrometheusAlertChain runs the whole chain: Prometheus scrapes a service,
// its alerting rule fires when the service reports down and goes to
// Alertmanager, whose webhook opens a P1 incident in alertbridge; when the
// service is back up the resolve travels the same way and resolves it.
// Prometheus scrapes alertbridge too, as an operator's would: its gzipped
// /metrics must parse, and count the incident opened and resolved.
func TestPrometheusAlertChain(t *testing.T) {
	t.Parallel()
	amBin := mustFindAlertmanager(t)
	promBin := mustFindBinary(t, "Prometheus", "prometheus", "prometheus")

	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "e2e_service_up", Help: "1 while the e2e service is up."})
	up.Set(1)
	reg := prometheus.NewRegistry()
	reg.MustRegister(up)
	svc := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})) // 127.0.0.1
	t.Cleanup(svc.Close)

	a, c := mustStartApp(t)
	am := mustStartAlertmanager(t, amBin, "http://"+a.Addr()+"/ingest/alertmanager")

	dir := t.TempDir()
	rules := mustWriteFile(t, dir, "rules.yml", prometheusRules)
	cfg := mustWriteFile(t, dir, "prometheus.yml", fmt.Sprintf(prometheusConfig,
		rules, strings.TrimPrefix(am, "http://"), strings.TrimPrefix(svc.URL, "http://"), a.Addr()))
	addr := mustFreeAddr(t)
	p := mustStart(t, "prometheus", promBin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr,
		"--rules.alert.resend-delay=1s",
		"--log.level=debug",
	)
	mustWaitReady(t, p, "http://"+addr+"/-/ready")

	ctx := context.Background()
	key := groupKey("ServiceDown", "") // the alert has no cluster label
	incidentState := func(want string) func() error {
		return func() error {
			all, err := listAll(ctx, c)
			if err != nil {
				return err
			}
			incs := byKey(all)[key]
			switch {
			case len(all) != 1 || len(incs) != 1:
				return fmt.Errorf("want exactly 1 incident with key %s, have %+v", key, all)
			case incs[0].State != want:
				return fmt.Errorf("incident %d: state %q, want %q", incs[0].ID, incs[0].State, want)
			}
			return nil
		}
	}

	up.Set(0)
	eventually(t, stepTimeout, incidentState("open"))
	all, err := listAll(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	opened := all[0]
	if opened.Priority != "P1" || opened.AlertCount != 1 {
		t.Errorf("incident %d: priority %q alert_count %d; want P1 (severity critical), 1", opened.ID, opened.Priority, opened.AlertCount)
	}

	up.Set(1)
	eventually(t, stepTimeout, incidentState("resolved"))
	inc, err := c.Incident(ctx, opened.ID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.ResolvedAt == nil || len(inc.Alerts) != 1 || inc.Alerts[0].Status != "resolved" {
		t.Fatalf("resolved incident: resolved_at %v alerts %+v; want resolved_at set and 1 resolved alert", inc.ResolvedAt, inc.Alerts)
	}
	if inc.Alerts[0].Labels["job"] != "e2e-service" {
		t.Errorf("alert labels %v: want job=e2e-service from the scrape", inc.Alerts[0].Labels)
	}

	// Prometheus's own view of alertbridge, from its scrapes.
	for query, want := range map[string]float64{
		`up{job="alertbridge"}`:                                   1,
		`alertbridge_incidents_opened_total{job="alertbridge"}`:   1,
		`alertbridge_incidents_resolved_total{job="alertbridge"}`: 1,
	} {
		eventually(t, stepTimeout, func() error {
			got, err := promQuery(ctx, "http://"+addr, query)
			if err == nil && got != want {
				err = fmt.Errorf("%s = %v in Prometheus, want %v", query, got, want)
			}
			return err
		})
	}
}

// promQuery returns the value of an instant query's one sample.
func promQuery(ctx context.Context, base, query string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("query %s: %w", query, err)
	}
	if body.Status != "success" || len(body.Data.Result) != 1 {
		return 0, fmt.Errorf("query %s: status %q (%s), %d samples; want one", query, body.Status, body.Error, len(body.Data.Result))
	}
	v, ok := body.Data.Result[0].Value[1].(string)
	if !ok {
		return 0, fmt.Errorf("query %s: value %v is not a string", query, body.Data.Result[0].Value[1])
	}
	return strconv.ParseFloat(v, 64)
}
