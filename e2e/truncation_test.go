package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/incident"
)

// TestTruncatedGroupFetchedFromAlertmanager: a real Alertmanager whose
// webhook has max_alerts: 2 notifies a group of five alerts with two of them
// and truncatedAlerts: 3. alertbridge's anti-entropy poller (whose interval
// and grace are far too long to matter here) is poked by that notification
// and fetches the three left out from Alertmanager's API at once: the
// incident holds all five. While only the listed two resolve it stays open.
func TestTruncatedGroupFetchedFromAlertmanager(t *testing.T) {
	t.Parallel()
	amBin := mustFindAlertmanager(t)
	amAddr := mustFreeAddr(t)
	dir := t.TempDir()
	cfgFile := mustWriteFile(t, dir, "alertbridge.yml", fmt.Sprintf(`sources:
  - name: am
    type: alertmanager
    auth: {bearer: {token: e2e-truncation-token}}
    anti_entropy:
      urls: [http://%s]
      interval: 1h
      grace: 1h
      group_by: [alertname]
`, amAddr))
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	a, client, _ := mustStartAppWith(t, app.Options{Config: cfg})
	mustStartAlertmanagerAt(t, amBin, amAddr, fmt.Sprintf(`route:
  receiver: alertbridge
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: alertbridge
    webhook_configs:
      - url: http://%s/ingest/alertmanager
        send_resolved: true
        max_alerts: 2
        http_config:
          authorization: {credentials: e2e-truncation-token}
`, a.Addr()))

	alerts := make([]postableAlert, 5)
	for i := range alerts {
		alerts[i] = postableAlert{Labels: map[string]string{
			"alertname": "E2EQueueBacklog", "instance": fmt.Sprintf("worker-%d", i+1), "severity": "warning"}}
	}
	mustPostAlerts(t, "http://"+amAddr, alerts)
	ctx := context.Background()
	eventually(t, stepTimeout, func() error {
		incs, err := listAll(ctx, client)
		if err != nil {
			return err
		}
		if len(incs) != 1 || incs[0].AlertCount != 5 || incs[0].FiringCount != 5 {
			return fmt.Errorf("incidents %+v; want one with 5 alerts firing (2 notified, 3 fetched)", incs)
		}
		return nil
	})
	incs, _ := listAll(ctx, client)
	if incs[0].State != string(incident.StateOpen) {
		t.Fatalf("state %s, want open", incs[0].State)
	}
}
