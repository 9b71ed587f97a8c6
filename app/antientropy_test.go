package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

// TestConfiguredAntiEntropy: an alertmanager source with anti_entropy polls
// the Alertmanager API it names (here one serving a single active alert that
// never came by webhook) and the alert becomes an incident of that source.
func TestConfiguredAntiEntropy(t *testing.T) {
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/alerts" || r.Header.Get("Authorization") != "Bearer am-api-token" {
			http.Error(w, "unexpected request", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"labels":{"alertname":"LostWebhook","cluster":"eu"},"annotations":{"summary":"never delivered"},
			"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","updatedAt":%q,"generatorURL":"",
			"fingerprint":"0123456789abcdef","receivers":[{"name":"alertbridge"}],
			"status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}]`,
			time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
	}))
	defer am.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "token"), "hook-token\n")
	cfgText := fmt.Sprintf(`sources:
  - name: am-eu
    type: alertmanager
    auth: {bearer: {token_file: token}}
    anti_entropy:
      urls: [%s]
      interval: 100ms
      grace: 200ms
      group_by: [alertname, cluster]
      bearer: {token: am-api-token}
`, am.URL)
	cfg, err := config.Parse(filepath.Join(dir, "alertbridge.yml"), []byte(cfgText), config.ParseOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a := mustApp(t, app.Options{Config: cfg})
	c := &api.Client{BaseURL: "http://" + a.Addr()}
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := c.ListIncidents(context.Background(), api.ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Incidents) == 1 {
			inc := list.Incidents[0]
			if inc.Source != "am-eu" || inc.CorrelationKey != `group{alertname="LostWebhook", cluster="eu"}` || inc.State != "open" {
				t.Errorf("incident = %+v, want source am-eu, the route's group key, open", inc)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the poller opened no incident; incidents: %+v", list.Incidents)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAntiEntropyConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"ErrNotAlertmanager", "sources:\n  - name: g\n    type: grafana\n    auth: {bearer: {token: t}}\n    anti_entropy: {urls: [http://am:9093]}\n",
			"c.yml:5:19: source \"g\": anti_entropy: only an alertmanager source has one"},
		{"ErrNoURLs", "sources:\n  - name: a\n    type: alertmanager\n    auth: {bearer: {token: t}}\n    anti_entropy: {interval: 1m}\n",
			"c.yml:5:19: source \"a\": anti_entropy: urls: required"},
		{"ErrBadURL", "sources:\n  - name: a\n    type: alertmanager\n    auth: {bearer: {token: t}}\n    anti_entropy: {urls: [ftp://x]}\n",
			"c.yml:5:27: source \"a\": anti_entropy: urls: \"ftp://x\" is not an http(s) URL with a host"},
		{"ErrGrace", "sources:\n  - name: a\n    type: alertmanager\n    auth: {bearer: {token: t}}\n    anti_entropy: {urls: [http://am], grace: 0s}\n",
			"c.yml:5:46: source \"a\": anti_entropy: grace: must be greater than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("c.yml", []byte(tt.yaml), config.ParseOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
