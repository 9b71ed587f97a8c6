package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// cancelOn is a command's output that cancels its context once the output
// holds a text: "after the first test passed", without sleeping.
type cancelOn struct {
	mu     sync.Mutex
	b      bytes.Buffer
	text   string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if w.text != "" && strings.Contains(w.b.String(), w.text) {
		w.cancel()
	}
	return n, err
}

func (w *cancelOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestRulesCancelled: Ctrl-C (main's signal context, cancelled) stops rules
// test and rules backtest with exit status 130 and says so; what was done
// before stays printed.
func TestRulesCancelled(t *testing.T) {
	root := repoRoot(t)
	data := t.TempDir()
	mustHistoryDB(t, data, historyEnd)
	payloads := filepath.Join(root, "cmd/alertbridge/testdata/ruletest/payloads.test.yml")
	backtest := []string{"rules", "backtest", "--storage.path", data, "--rules",
		filepath.Join(root, "docs/examples/07-disk-per-mountpoint.rules.yml"), "--until", historyEnd.Format(time.RFC3339)}
	dbPath := filepath.Join(data, "alertbridge.db")

	tests := []struct {
		name string
		args []string
		// cancelAt cancels when stdout holds it; "": cancelled from the start.
		cancelAt   string
		wantStdout string
		wantStderr string
	}{
		{
			name:       "TestBeforeStart",
			args:       []string{"rules", "test", payloads},
			wantStdout: "0 passed, 0 failed, interrupted\n",
			wantStderr: "alertbridge rules test: interrupted\n",
		},
		{
			name:       "TestAfterFirstTest",
			args:       []string{"rules", "test", payloads},
			cancelAt:   "PASS a group",
			wantStdout: "PASS a group that fires, partly resolves and resolves\n1 passed, 0 failed, interrupted\n",
			wantStderr: "alertbridge rules test: interrupted\n",
		},
		{
			name:       "BacktestBeforeStart",
			args:       backtest,
			wantStderr: "alertbridge rules backtest: interrupted\n",
		},
		{
			name:     "BacktestAfterHeader",
			args:     backtest,
			cancelAt: "new:     ",
			wantStdout: "backtest of " + dbPath + " (read-only): 89 events received from 2026-01-01T00:00:00Z to 2026-01-08T00:00:00Z\n" +
				"current: the built-in defaults (no --current given)\n" +
				"new:     " + filepath.Join(root, "docs/examples/07-disk-per-mountpoint.rules.yml") + "\n\n",
			wantStderr: "alertbridge rules backtest: interrupted after 0 of 89 events\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelAt == "" {
				cancel()
			}
			stdout := &cancelOn{text: tt.cancelAt, cancel: cancel}
			var stderr strings.Builder
			code := run(ctx, tt.args, stdout, &stderr)
			if code != exitInterrupted {
				t.Errorf("exit %d, want %d", code, exitInterrupted)
			}
			checkOutput(t, "stdout", stdout.String(), tt.wantStdout)
			checkOutput(t, "stderr", stderr.String(), tt.wantStderr)
		})
	}
}

// TestProgress: on a terminal, nothing during the first second, then the
// count, the share and the rate once a second, rewriting one line; nothing
// at all elsewhere.
func TestProgress(t *testing.T) {
	type step struct {
		at time.Duration // since the start
		n  int           // done since the step before
	}
	tests := []struct {
		name     string
		total    int
		steps    []step
		terminal bool
		want     string
	}{
		{"QuietUnderASecond", 100, []step{{100 * time.Millisecond, 50}, {900 * time.Millisecond, 50}}, true, ""},
		{"OnceASecond", 1000, []step{{500 * time.Millisecond, 100}, {time.Second, 100}, {1500 * time.Millisecond, 300},
			{2 * time.Second, 200}, {3500 * time.Millisecond, 300}}, true,
			"\r200/1000 events replayed (20%), 200/s\x1b[K\r700/1000 events replayed (70%), 350/s\x1b[K" +
				"\r1000/1000 events replayed (100%), 286/s\x1b[K\n"},
		{"NoTotal", 0, []step{{2 * time.Second, 4}}, true, "\r4/0 events replayed, 2/s\x1b[K\n"},
		{"FinishShowsTheLastCount", 10, []step{{time.Second, 5}, {1500 * time.Millisecond, 5}}, true,
			"\r5/10 events replayed (50%), 5/s\x1b[K\r10/10 events replayed (100%), 7/s\x1b[K\n"},
		{"NotATerminal", 10, []step{{time.Second, 5}, {2 * time.Second, 5}}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			now := start
			var out strings.Builder
			p := newProgressAt(&out, "events replayed", tt.total, func() time.Time { return now })
			p.show = tt.terminal
			for _, s := range tt.steps {
				now = start.Add(s.at)
				p.add(s.n)
			}
			p.finish()
			if got := out.String(); got != tt.want {
				t.Errorf("progress output %q, want %q", got, tt.want)
			}
			want := 0
			for _, s := range tt.steps {
				want += s.n
			}
			if p.done != want {
				t.Errorf("done %d, want %d (counted shown or not)", p.done, want)
			}
		})
	}
}
