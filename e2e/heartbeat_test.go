package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
)

// watchdogRules watch each cluster's Watchdog: a beat at least every 2s,
// with 1s of grace.
const watchdogRules = `heartbeats:
  - name: watchdog
    matchers: ['alertname="Watchdog"']
    by: [cluster]
    interval: 2s
    grace: 1s
    impact: high
    urgency: high
    title: 'no Watchdog from cluster {{ .Labels.cluster }} for {{ .Annotations.overdue }}'
`

// watchdogAlertmanagerConfig repeats the always-firing Watchdog every
// second, well inside the heartbeat's interval.
const watchdogAlertmanagerConfig = `route:
  receiver: alertbridge
  group_by: [alertname, cluster]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1s
receivers:
  - name: alertbridge
    webhook_configs:
      - url: %s
        send_resolved: true
`

// TestWatchdogHeartbeat is the dead man's switch with a real Alertmanager:
// its Watchdog keeps the heartbeat up and opens no incident; when the test
// kills that Alertmanager, the beats stop and an incident opens, no sooner
// than interval + grace after the last beat; a new Alertmanager's Watchdog
// resolves it.
func TestWatchdogHeartbeat(t *testing.T) {
	t.Parallel()
	amBin := mustFindAlertmanager(t)
	rulesFile := mustWriteFile(t, t.TempDir(), "rules.yml", watchdogRules)
	a, c, _ := mustStartAppWith(t, app.Options{RuleFiles: []string{rulesFile}, SweepInterval: 100 * time.Millisecond})
	webhook := "http://" + a.Addr() + "/ingest/alertmanager"
	ctx := context.Background()
	const key = `watchdog{cluster="e2e"}`
	watchdog := []postableAlert{{Labels: map[string]string{"alertname": "Watchdog", "cluster": "e2e", "severity": "none"}}}

	startAlertmanager := func() *proc {
		dir := t.TempDir()
		addr := mustFreeAddr(t)
		cfg := mustWriteFile(t, dir, "alertmanager.yml", fmt.Sprintf(watchdogAlertmanagerConfig, webhook))
		p := mustStart(t, "alertmanager", amBin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=debug")
		mustWaitReady(t, p, "http://"+addr+"/-/ready")
		mustPostAlerts(t, "http://"+addr, watchdog)
		return p
	}
	heartbeat := func() (api.Heartbeat, error) {
		list, err := c.Heartbeats(ctx)
		if err != nil {
			return api.Heartbeat{}, err
		}
		for _, hb := range list.Heartbeats {
			if hb.Key == key {
				return hb, nil
			}
		}
		return api.Heartbeat{}, fmt.Errorf("no heartbeat %s in %+v", key, list.Heartbeats)
	}
	heartbeatIncidents := func() ([]api.Incident, error) {
		all, err := listAll(ctx, c)
		if err != nil {
			return nil, err
		}
		var out []api.Incident
		for _, inc := range all {
			if inc.CorrelationKey != "heartbeat/"+key {
				return nil, fmt.Errorf("a Watchdog made incident %d (%s): a beat must never open one", inc.ID, inc.CorrelationKey)
			}
			out = append(out, inc)
		}
		return out, nil
	}
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	am := startAlertmanager()
	step("WatchdogKeepsTheHeartbeatUp", func(t *testing.T) {
		// Several beats in a row, and the heartbeat stays up throughout.
		var beats []time.Time
		eventually(t, stepTimeout, func() error {
			hb, err := heartbeat()
			if err != nil {
				return err
			}
			if hb.State != "up" {
				t.Fatalf("heartbeat %s while Alertmanager sends its Watchdog: %+v", hb.State, hb)
			}
			if hb.LastBeatAt != nil && (len(beats) == 0 || !hb.LastBeatAt.Equal(beats[len(beats)-1])) {
				beats = append(beats, *hb.LastBeatAt)
			}
			if len(beats) < 4 {
				return fmt.Errorf("%d beats seen so far", len(beats))
			}
			return nil
		})
		if incs, err := heartbeatIncidents(); err != nil || len(incs) != 0 {
			t.Fatalf("incidents %+v (%v), want none", incs, err)
		}
	})

	var opened api.Incident
	step("StoppedAlertmanagerOpensAnIncident", func(t *testing.T) {
		am.kill()
		eventually(t, stepTimeout, func() error {
			incs, err := heartbeatIncidents()
			if err != nil {
				return err
			}
			if len(incs) != 1 {
				return fmt.Errorf("heartbeat incidents %+v, want 1", incs)
			}
			opened = incs[0]
			return nil
		})
		hb, err := heartbeat()
		if err != nil {
			t.Fatal(err)
		}
		if hb.State != "missing" || hb.IncidentID == nil || *hb.IncidentID != opened.ID {
			t.Errorf("heartbeat %+v, want missing with incident %d", hb, opened.ID)
		}
		// Not before interval + grace had passed since the last beat.
		if due := hb.LastBeatAt.Add(3 * time.Second); opened.OpenedAt.Before(due) {
			t.Errorf("incident opened at %s, before the deadline %s", opened.OpenedAt, due)
		}
		if opened.State != "open" || opened.Priority != "P1" || opened.Rule != "watchdog" {
			t.Errorf("incident %+v, want open P1 of rule watchdog", opened)
		}
		if want := "no Watchdog from cluster e2e for "; len(opened.Title) <= len(want) || opened.Title[:len(want)] != want {
			t.Errorf("title %q, want it to start %q", opened.Title, want)
		}
	})

	step("WatchdogBackResolvesIt", func(t *testing.T) {
		startAlertmanager()
		eventually(t, stepTimeout, func() error {
			inc, err := c.Incident(ctx, opened.ID)
			if err != nil {
				return err
			}
			if inc.State != "resolved" {
				return fmt.Errorf("incident %d is %s", inc.ID, inc.State)
			}
			return nil
		})
		hb, err := heartbeat()
		if err != nil || hb.State != "up" {
			t.Errorf("heartbeat %+v (%v), want up", hb, err)
		}
		if incs, err := heartbeatIncidents(); err != nil || len(incs) != 1 {
			t.Errorf("incidents %+v (%v), want the one", incs, err)
		}
	})
}
