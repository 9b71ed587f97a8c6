package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/alertbridge/alertbridge/app"
)

// lockedBuffer is a log destination the daemon's goroutines may share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestStartsWithNoRulesWhenTheGlobMatchesNothing: an empty rules directory
// (a fresh install, the systemd unit's /etc/alertbridge/rules/*.yml) must
// not stop the daemon, or a supervisor restarts it for ever; it runs on the
// built-in defaults, says so naming the glob, and picks the rules up on
// reload once files are there.
func TestStartsWithNoRulesWhenTheGlobMatchesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rules")
	glob := filepath.Join(dir, "*.yml")
	var logs lockedBuffer
	a := mustApp(t, app.Options{
		RuleFiles: []string{glob},
		Logger:    slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	resp, err := http.Get("http://" + a.Addr() + "/-/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/-/ready = %d, want 200 with no rules", resp.StatusCode)
	}
	want := "level=WARN msg=\"rule file pattern matches no files, loading no rules from it\" component=app pattern=" + glob
	if !strings.Contains(logs.String(), want) {
		t.Errorf("logs lack %q:\n%s", want, logs.String())
	}

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "latency.yml"), goodRules)
	if err := a.Reload(); err != nil {
		t.Fatalf("reload with the glob matching a file: %v", err)
	}
	if v := metric(t, a.Registry(), "alertbridge_rules_last_reload_successful", nil); v != 1 {
		t.Errorf("last_reload_successful = %v, want 1", v)
	}
}

// TestRefusesToStartOnAMissingRuleFile: a plain name is not a glob; a
// missing one is a typo or a lost file, and starting without its rules
// would hide that.
func TestRefusesToStartOnAMissingRuleFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yml")
	_, err := app.New(context.Background(), app.Options{ListenAddress: "127.0.0.1:0", StoragePath: t.TempDir(), RuleFiles: []string{path}})
	if err == nil || !strings.Contains(err.Error(), path+": no such file or directory") {
		t.Fatalf("New with a missing rule file: error = %v, want no such file or directory", err)
	}
}
