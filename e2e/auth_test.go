package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// The credentials of TestAlertmanagerAuth; none may show in the daemon's log.
const (
	e2eToken    = "e2e-bearer-token-0f4c2a9d"
	e2eUser     = "alertmanager"
	e2ePassword = "e2e-basic-password-7b1e5c3a"
)

// authDaemonConfig requires Alertmanager's credentials: a bearer token from
// a file, or basic auth with a password from a file, each naming its
// source.
const authDaemonConfig = `sources:
  - name: am-bearer
    type: alertmanager
    auth:
      bearer:
        token_file: token
  - name: am-basic
    type: alertmanager
    auth:
      basic:
        username: ` + e2eUser + `
        password_file: password
`

// authAlertmanagerConfig routes by the "via" label to three receivers that
// send to alertbridge with Alertmanager's own http_config: a bearer token
// (authorization), basic auth, and a wrong bearer token.
const authAlertmanagerConfig = `route:
  receiver: bearer
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['via="basic"']
      receiver: basic
    - matchers: ['via="wrong"']
      receiver: wrong
receivers:
  - name: bearer
    webhook_configs:
      - url: %[1]s
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: ` + e2eToken + `
  - name: basic
    webhook_configs:
      - url: %[1]s
        send_resolved: true
        http_config:
          basic_auth:
            username: ` + e2eUser + `
            password: ` + e2ePassword + `
  - name: wrong
    webhook_configs:
      - url: %[1]s
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: not-the-token
`

// TestAlertmanagerAuth has a real Alertmanager send with its http_config to a
// daemon whose config file requires credentials: bearer and basic auth each
// open an incident that names its source, and a wrong token gets a 403,
// which Alertmanager does not retry, and stores nothing.
func TestAlertmanagerAuth(t *testing.T) {
	t.Parallel()
	amBin := mustFindAlertmanager(t)
	dir := t.TempDir()
	mustWriteFile(t, dir, "token", e2eToken+"\n")
	mustWriteFile(t, dir, "password", e2ePassword+"\n")
	cfg := mustWriteFile(t, dir, "alertbridge.yml", authDaemonConfig)
	a, c, logs := mustStartAppWith(t, app.Options{ConfigFile: cfg})
	am := mustStartAlertmanagerConfig(t, amBin, fmt.Sprintf(authAlertmanagerConfig, "http://"+a.Addr()+"/ingest/alertmanager"))
	ctx := context.Background()

	alert := func(name, via string) postableAlert {
		return postableAlert{
			Labels:      map[string]string{"alertname": name, "via": via, "severity": "critical", "instance": "db-1:9100"},
			Annotations: map[string]string{"summary": "sent with " + via},
		}
	}
	mustPostAlerts(t, am, []postableAlert{
		alert("E2EAuthBearer", "bearer"), alert("E2EAuthBasic", "basic"), alert("E2EAuthWrong", "wrong"),
	})

	wantSource := map[string]string{
		groupKey("E2EAuthBearer", ""): "am-bearer",
		groupKey("E2EAuthBasic", ""):  "am-basic",
	}
	eventually(t, stepTimeout, func() error {
		all, err := listAll(ctx, c)
		if err != nil {
			return err
		}
		keys := byKey(all)
		for key, src := range wantSource {
			incs := keys[key]
			switch {
			case len(incs) != 1:
				return fmt.Errorf("%d incidents with key %s, want 1; have %+v", len(incs), key, all)
			case incs[0].Source != src || incs[0].State != "open":
				return fmt.Errorf("incident %d: source %q state %q, want %s, open", incs[0].ID, incs[0].Source, incs[0].State, src)
			}
		}
		return nil
	})

	// The wrong token: Alertmanager counts a failed notification (it does
	// not retry a 4xx), alertbridge counts a forbidden request, and nothing
	// is stored for it.
	eventually(t, stepTimeout, func() error {
		if n := counterValue(t, a.Registry(), "alertbridge_ingest_rejected_total",
			map[string]string{"source": "alertmanager", "reason": "forbidden"}); n < 1 {
			return fmt.Errorf("forbidden requests %v, want at least 1", n)
		}
		failed, err := alertmanagerCounter(am+"/metrics", `alertmanager_notifications_failed_total{integration="webhook"`)
		if err != nil {
			return err
		}
		if failed < 1 {
			return fmt.Errorf("alertmanager failed notifications %v, want at least 1", failed)
		}
		return nil
	})
	all, err := listAll(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Errorf("%d incidents, want 2 (nothing for the wrong token): %+v", len(all), all)
	}
	if n := counterValue(t, a.Registry(), "alertbridge_ingest_rejected_total",
		map[string]string{"source": "alertmanager", "reason": "unauthorized"}); n != 0 {
		t.Errorf("unauthorized requests %v, want 0: Alertmanager sent credentials every time", n)
	}
	for _, sec := range []string{e2eToken, e2ePassword} {
		if strings.Contains(logs.String(), sec) {
			t.Errorf("the daemon's log contains the secret %q", sec)
		}
	}
	if !strings.Contains(logs.String(), "reason=forbidden") {
		t.Errorf("the forbidden request is not logged:\n%s", logs)
	}
}

// mustStartAppWith embeds the daemon with o on 127.0.0.1:0 and a temporary
// SQLite store; it returns its debug log too, printed if the test fails.
func mustStartAppWith(t testing.TB, o app.Options) (*app.App, *api.Client, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	o.ListenAddress = "127.0.0.1:0"
	o.StoragePath = storetest.SQLiteDir(t)
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
	return a, &api.Client{BaseURL: "http://" + a.Addr(), HTTP: &http.Client{Timeout: 10 * time.Second}}, logs
}

// mustStartAlertmanagerConfig runs the Alertmanager bin (HA gossip off) with
// the configuration config and returns its base URL once it is ready.
func mustStartAlertmanagerConfig(t testing.TB, bin, config string) string {
	t.Helper()
	return mustStartAlertmanagerAt(t, bin, mustFreeAddr(t), config)
}

// alertmanagerCounter sums the samples of Alertmanager's /metrics whose line
// starts with prefix.
func alertmanagerCounter(url, prefix string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum, nil
}
