package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestServeRefusesInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertbridge.yml")
	if err := os.WriteFile(cfg, []byte("sources:\n  - name: a\n    type: nagios\nlimits: {max_json_depth: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := runServe(context.Background(), []string{"--config.file=" + cfg, "--web.listen-address=127.0.0.1:0", "--storage.path=" + dir}, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, &stderr)
	}
	want := "alertbridge: refusing to start:\n" +
		cfg + `:3:11: source "a": type: unknown type "nagios", want one of alertmanager, grafana, pagerduty, events, changes, heartbeats` + "\n" +
		cfg + ":4:26: limits: max_json_depth: must be at least 4\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", &stderr, want)
	}
}

func TestServeConfigAndFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertbridge.yml")
	if err := os.WriteFile(cfg, []byte("storage: {path: from-file}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// serve runs until the daemon has started, then stops.
	serve := func(args ...string) (int, string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := &stopWhenListening{cancel: cancel}
		return runServe(ctx, args, w), w.String()
	}
	flagDir := filepath.Join(dir, "from-flag")
	if code, stderr := serve("--config.file="+cfg, "--web.listen-address=127.0.0.1:0", "--storage.path="+flagDir); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(flagDir, "alertbridge.db")); err != nil {
		t.Errorf("--storage.path not used: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-file")); err == nil {
		t.Error("storage.path of the file used although --storage.path was given")
	}
	code, stderr := serve("--config.file="+cfg, "--web.listen-address=127.0.0.1:0")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-file", "alertbridge.db")); err != nil {
		t.Errorf("storage.path of the file not used without the flag: %v", err)
	}
	if !strings.Contains(stderr, "ingest endpoints are open to anyone") {
		t.Errorf("no warning about open endpoints:\n%s", stderr)
	}
}

// stopWhenListening is the daemon's log output; it cancels the daemon's
// context once the daemon logs that it listens.
type stopWhenListening struct {
	mu     sync.Mutex
	b      bytes.Buffer
	cancel context.CancelFunc
}

func (w *stopWhenListening) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte("msg=listening")) {
		w.cancel()
	}
	return w.b.Write(p)
}

func (w *stopWhenListening) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestServeRefusesASecondDaemon starts two daemons on one storage path: the
// second exits 1 saying which path and lock file, and the first runs on.
func TestServeRefusesASecondDaemon(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan struct{})
	first := &notifyWhenListening{listening: listening}
	done := make(chan int, 1)
	go func() {
		done <- runServe(ctx, []string{"--web.listen-address=127.0.0.1:0", "--storage.path=" + dir}, first)
	}()
	select {
	case <-listening:
	case code := <-done:
		t.Fatalf("the first daemon exited %d:\n%s", code, first)
	}

	var stderr bytes.Buffer
	code := runServe(context.Background(), []string{"--web.listen-address=127.0.0.1:0", "--storage.path=" + dir}, &stderr)
	want := "alertbridge: storage path " + dir + " is in use by another alertbridge (lock file " + filepath.Join(dir, "lock") +
		", held by pid "
	if code != 1 || !strings.Contains(stderr.String(), want) {
		t.Errorf("second daemon: exit %d, stderr:\n%s\nwant exit 1 and %q", code, &stderr, want)
	}

	cancel()
	if code := <-done; code != 0 {
		t.Errorf("the first daemon exited %d:\n%s", code, first)
	}
}

// notifyWhenListening is a daemon's log output; it closes listening once
// the daemon logs that it listens.
type notifyWhenListening struct {
	mu        sync.Mutex
	b         bytes.Buffer
	listening chan struct{}
	once      sync.Once
}

func (w *notifyWhenListening) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte("msg=listening")) {
		w.once.Do(func() { close(w.listening) })
	}
	return w.b.Write(p)
}

func (w *notifyWhenListening) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
