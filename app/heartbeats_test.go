package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

// TestHeartbeatEndpointWired runs the daemon with a heartbeats source and
// a heartbeat rule: the endpoint takes the source's token only, a beat and
// a failure reach the monitor, and GET /api/v1/heartbeats and /metrics
// show it.
func TestHeartbeatEndpointWired(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rulesFile, []byte("heartbeats:\n  - name: nightly\n    interval: 1d\n    grace: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("c.yml", []byte(`sources:
  - name: cron
    type: heartbeats
    auth: {bearer: {token: cron-token-0123456789}}
  - name: am
    type: alertmanager
    auth: {bearer: {token: am-token-0123456789}}
    expect_traffic_within: 1h
`), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := mustApp(t, app.Options{Config: cfg, RuleFiles: []string{rulesFile}, Now: clock, SweepInterval: time.Hour})
	base := "http://" + a.Addr()
	tests := []struct {
		name, path string
		hdr        []string
		wantCode   int
	}{
		{"ErrNoToken", "/ingest/heartbeats/nightly", nil, 401},
		{"ErrAlertmanagersToken", "/ingest/heartbeats/nightly", []string{"Authorization", "Bearer am-token-0123456789"}, 403},
		{"ErrUnknownHeartbeat", "/ingest/heartbeats/weekly", []string{"Authorization", "Bearer cron-token-0123456789"}, 404},
		{"OKBeat", "/ingest/heartbeats/nightly", []string{"Authorization", "Bearer cron-token-0123456789"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := postWith(t, base+tt.path, nil, tt.hdr...)
			if code != tt.wantCode || !strings.HasPrefix(body, "{") {
				t.Errorf("POST %s: %d %s, want %d with a JSON body", tt.path, code, body, tt.wantCode)
			}
		})
	}
	c := &api.Client{BaseURL: base}
	list, err := c.Heartbeats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Heartbeats) != 1 || list.Heartbeats[0].Key != "nightly{}" || list.Heartbeats[0].State != "up" ||
		list.Heartbeats[0].NextDeadline == nil || !list.Heartbeats[0].NextDeadline.Equal(now.Add(25*time.Hour)) {
		t.Errorf("heartbeats = %+v, want nightly{} up, due in 25h", list.Heartbeats)
	}
	if code, body := postWith(t, base+"/ingest/heartbeats/nightly/fail", nil, "Authorization", "Bearer cron-token-0123456789"); code != 200 {
		t.Fatalf("fail: %d %s", code, body)
	}
	want := `# HELP alertbridge_heartbeat_up 1 while every instance of the heartbeat beats in time (or has not been due yet), 0 while one is missing or failed.
# TYPE alertbridge_heartbeat_up gauge
alertbridge_heartbeat_up{kind="rule",name="nightly"} 0
`
	if err := testutil.GatherAndCompare(a.Registry(), strings.NewReader(want), "alertbridge_heartbeat_up"); err != nil {
		t.Errorf("after a failure: %v", err)
	}
	incs, err := c.ListIncidents(context.Background(), api.ListQuery{})
	if err != nil || len(incs.Incidents) != 1 || incs.Incidents[0].Source != "heartbeat" || incs.Incidents[0].Rule != "nightly" {
		t.Errorf("incidents = %+v, %v; want the failure's", incs.Incidents, err)
	}
}
