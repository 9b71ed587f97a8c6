package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
)

// requireE2EEnv makes a missing binary fail instead of skip (CI sets it).
const requireE2EEnv = "ALERTBRIDGE_REQUIRE_E2E"

// pollInterval is how often eventually retries.
const pollInterval = 100 * time.Millisecond

// eventually calls f until it returns nil, failing the test with f's last
// error once timeout has passed. The timeout is a deadlock guard, not a
// speed assertion: keep it far above what the step needs.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %s: %v", timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// mustFindBinary returns the path of the first of names found in PATH. When
// none is, it skips the test saying what is missing and how to install it, or
// fails it when ALERTBRIDGE_REQUIRE_E2E=1.
func mustFindBinary(t testing.TB, what, debianPkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s binary not found in PATH (looked for %s); install it with `apt-get install %s`",
		what, strings.Join(names, ", "), debianPkg)
	if os.Getenv(requireE2EEnv) == "1" {
		t.Fatalf("%s (%s=1 makes this a failure)", msg, requireE2EEnv)
	}
	t.Skip(msg)
	return ""
}

// mustFreeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago, for child processes that cannot listen on :0 and report the port.
func mustFreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	return addr
}

// syncBuffer is a bytes.Buffer safe for a child's output copier and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// proc is a child process whose output is kept for the failure log.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed once Wait returned; err is set then
	err  error
}

// mustStart starts bin with args. The process is killed in t.Cleanup, and
// its output is logged there if the test failed.
func mustStart(t testing.TB, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.WaitDelay = 5 * time.Second // never hang on a pipe a grandchild holds
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s %s (pid %d) output:\n%s", name, strings.Join(args, " "), p.cmd.Process.Pid, p.out)
		}
	})
	return p
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (if the process still runs) and waits for it to exit.
func (p *proc) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// mustWaitReady polls url until it answers 200, failing early if p exits.
func mustWaitReady(t testing.TB, p *proc, url string) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		if p.exited() {
			t.Fatalf("%s exited before it was ready: %v", p.name, p.err)
		}
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
}

// mustWriteFile writes a file under dir and returns its path.
func mustWriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustStartApp embeds the daemon on 127.0.0.1:0 with a temporary SQLite
// store and no rules. Its debug log is printed if the test fails.
func mustStartApp(t testing.TB) (*app.App, *api.Client) {
	t.Helper()
	logs := &syncBuffer{}
	a, err := app.New(context.Background(), app.Options{
		ListenAddress: "127.0.0.1:0",
		StoragePath:   t.TempDir(),
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
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

// alertmanagerConfig routes every alert to alertbridge. The intervals are
// short so that a test sees first notifications, repeats and resolves within
// seconds.
const alertmanagerConfig = `route:
  receiver: alertbridge
  group_by: [alertname, cluster]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: alertbridge
    webhook_configs:
      - url: %s
        send_resolved: true
`

// mustFindAlertmanager returns the Alertmanager binary: Debian names it
// prometheus-alertmanager, upstream alertmanager.
func mustFindAlertmanager(t testing.TB) string {
	t.Helper()
	return mustFindBinary(t, "Alertmanager", "prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
}

// mustStartAlertmanager runs the Alertmanager bin (HA gossip off) sending to
// webhookURL and returns its base URL once it is ready.
func mustStartAlertmanager(t testing.TB, bin, webhookURL string) string {
	t.Helper()
	return mustStartAlertmanagerAt(t, bin, mustFreeAddr(t), fmt.Sprintf(alertmanagerConfig, webhookURL))
}

// mustStartAlertmanagerAt runs the Alertmanager bin with the config (YAML)
// on addr, HA gossip off, and returns its base URL once it is ready.
func mustStartAlertmanagerAt(t testing.TB, bin, addr, config string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := mustWriteFile(t, dir, "alertmanager.yml", config)
	p := mustStart(t, "alertmanager", bin,
		"--config.file="+cfg,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=", // empty: no HA gossip, no other ports
		"--log.level=debug",
	)
	base := "http://" + addr
	mustWaitReady(t, p, base+"/-/ready")
	return base
}

// postableAlert is an alert as POST /api/v2/alerts takes it. Leaving the
// times nil lets Alertmanager set startsAt to now, as amtool does.
type postableAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    *time.Time        `json:"startsAt,omitempty"`
	EndsAt      *time.Time        `json:"endsAt,omitempty"`
}

// mustPostAlerts posts alerts to Alertmanager's API v2.
func mustPostAlerts(t testing.TB, amURL string, alerts []postableAlert) {
	t.Helper()
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(amURL+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("post alerts to alertmanager: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post alerts to alertmanager: %s: %s", resp.Status, b)
	}
}

// listAll pages through every incident, newest first.
func listAll(ctx context.Context, c *api.Client) ([]api.Incident, error) {
	var all []api.Incident
	q := api.ListQuery{Limit: 100}
	for {
		page, err := c.ListIncidents(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Incidents...)
		if page.NextCursor == "" {
			return all, nil
		}
		q.Cursor = page.NextCursor
	}
}

// byKey groups incidents by correlation key.
func byKey(incs []api.Incident) map[string][]api.Incident {
	m := make(map[string][]api.Incident)
	for _, inc := range incs {
		m[inc.CorrelationKey] = append(m[inc.CorrelationKey], inc)
	}
	return m
}

// groupKey is the default correlation key of an Alertmanager group (no
// rules): "group" and the group labels in canonical form.
func groupKey(alertname, cluster string) string {
	if cluster == "" {
		return fmt.Sprintf("group{alertname=%q}", alertname)
	}
	return fmt.Sprintf("group{alertname=%q, cluster=%q}", alertname, cluster)
}

// counterValue reads one counter of reg by name and label values; a series
// not yet created reads as 0.
func counterValue(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// timelineKinds lists the kinds of an incident's timeline, oldest first.
func timelineKinds(inc api.Incident) []string {
	kinds := make([]string, 0, len(inc.Timeline))
	for _, e := range inc.Timeline {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}
