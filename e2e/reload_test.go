package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const reloadGoodRules = `correlations:
  - name: latency
    matchers: ['alertname="HighRequestLatency"']
    by: [cluster]
`

const reloadBadRules = `correlations:
  - name: latency
    matchers: ['alertname=~"(unclosed"']
    colour: red
`

// scrape returns the value of an unlabelled metric on a /metrics page.
func scrape(base, name string) (string, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s not on /metrics", name)
}

// TestSIGHUPReloadsRules runs the real binary: SIGHUP with a broken rule file
// keeps the running rules and reports the failure; SIGHUP with a good file
// loads it. A broken file at start stops the daemon with file:line:col.
func TestSIGHUPReloadsRules(t *testing.T) {
	bin := mustBuildDaemon(t)
	dir := t.TempDir()
	rulesPath := mustWriteFile(t, dir, "rules.yml", reloadBadRules)

	// Invalid rules at start: exit 1, every error with its position.
	bad := mustStart(t, "alertbridge", bin, "serve", "--web.listen-address="+mustFreeAddr(t),
		"--storage.path="+filepath.Join(dir, "data"), "--rules.file="+rulesPath)
	select {
	case <-bad.done:
	case <-time.After(30 * time.Second):
		t.Fatal("daemon with invalid rules did not exit")
	}
	if code := bad.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code with invalid rules = %d, want 1", code)
	}
	for _, want := range []string{rulesPath + ":3:16: ", rulesPath + ":4:5: "} {
		if !strings.Contains(bad.out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, bad.out)
		}
	}

	mustWriteFile(t, dir, "rules.yml", reloadGoodRules)
	addr := mustFreeAddr(t)
	p := mustStart(t, "alertbridge", bin, "serve", "--web.listen-address="+addr,
		"--storage.path="+filepath.Join(dir, "data"), "--rules.file="+rulesPath)
	base := "http://" + addr
	mustWaitReady(t, p, base+"/-/ready")
	hashGood, err := scrape(base, "alertbridge_rules_config_hash")
	if err != nil {
		t.Fatal(err)
	}

	hup := func(content, wantOK string) {
		t.Helper()
		mustWriteFile(t, dir, "rules.yml", content)
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, func() error {
			v, err := scrape(base, "alertbridge_rules_last_reload_successful")
			if err != nil {
				return err
			}
			if v != wantOK {
				return fmt.Errorf("last_reload_successful = %s, want %s", v, wantOK)
			}
			return nil
		})
	}
	hup(reloadBadRules, "0")
	if h, _ := scrape(base, "alertbridge_rules_config_hash"); h != hashGood {
		t.Errorf("config hash changed to %s after a failed reload; the old rules must stay", h)
	}
	if p.exited() {
		t.Fatal("daemon exited on a bad reload")
	}
	hup(strings.Replace(reloadGoodRules, "[cluster]", "[cluster, instance]", 1), "1")
	if h, _ := scrape(base, "alertbridge_rules_config_hash"); h == hashGood {
		t.Error("config hash unchanged after a good reload")
	}
}
