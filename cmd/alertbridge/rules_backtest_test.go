package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

func TestRulesBacktest(t *testing.T) {
	root := repoRoot(t)
	t.Chdir(root)
	ex := func(name string) string { return filepath.Join("docs", "examples", name) }
	disk, outbreak := ex("07-disk-per-mountpoint.rules.yml"), ex("02-disk-outbreak.rules.yml")
	until := historyEnd.Format(time.RFC3339)

	// A daemon that ran a week without rules, and one that ran with disk.
	builtin, withDisk := t.TempDir(), t.TempDir()
	mustHistoryDB(t, builtin, historyEnd)
	mustHistoryDB(t, withDisk, historyEnd, disk)

	tests := []struct {
		name     string
		data     string
		args     []string
		wantCode int
	}{
		{name: "AgainstBuiltinDefaults", data: builtin, args: []string{"--rules", disk, "--until", until}},
		{name: "AgainstCurrentRules", data: withDisk, args: []string{"--current", disk, "--rules", outbreak, "--until", until}},
		{name: "SameRulesNoDifference", data: withDisk, args: []string{"--current", disk, "--rules", disk, "--until", until}},
		{name: "ProblemRules", data: withDisk, args: []string{"--current", disk, "--rules", ex("12-problem-lifecycle.rules.yml"), "--until", until}},
		// The Watchdog dropped as noise, as docs/rules.md once advised
		// (now a heartbeat watches it).
		{name: "DropRules", data: builtin, args: []string{"--rules", "cmd/alertbridge/testdata/backtest/drop-watchdog.rules.yml", "--until", until}},
		{name: "SinceTime", data: builtin, args: []string{"--rules", disk, "--since", "2026-01-06T00:00:00Z", "--until", until}},
		{name: "NoEvents", data: builtin, args: []string{"--rules", disk, "--since", "1h", "--until", "2025-01-01T00:00:00Z"}},
		{name: "ErrUsageNoRules", data: builtin, args: []string{"--until", until}, wantCode: 2},
		{name: "ErrUsageSince", data: builtin, args: []string{"--rules", disk, "--since", "last week"}, wantCode: 2},
		{name: "ErrUsageSinceAfterUntil", data: builtin, args: []string{"--rules", disk, "--since", "2026-02-01T00:00:00Z", "--until", until}, wantCode: 2},
		{name: "ErrInvalidRules", data: builtin, args: []string{"--rules", "cmd/alertbridge/testdata/ruletest/bad.rules.yml"}, wantCode: 1},
		{name: "ErrNoDatabase", data: filepath.Join(builtin, "nothing"), args: []string{"--rules", disk}, wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshotDB(t, tt.data)
			args := append([]string{"backtest", "--storage.path", tt.data}, tt.args...)
			var out strings.Builder
			code := runRules(context.Background(), args, &out, &out)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d; output:\n%s", code, tt.wantCode, out.String())
			}
			got := strings.ReplaceAll(out.String(), tt.data, "DATA")
			if tt.wantCode == 2 {
				got, _, _ = strings.Cut(got, "\nusage:")
			}
			checkGolden(t, filepath.Join(root, "cmd/alertbridge/testdata/backtest", tt.name+".golden"), got)
			checkUnchanged(t, tt.data, before)
		})
	}
}

// TestRulesBacktestNextToDaemon backtests a database that a daemon still
// has open, with committed transactions in its write-ahead log: neither the
// database file nor the log changes.
func TestRulesBacktestNextToDaemon(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mustHistoryDB(t, dir, historyEnd)
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := pipeline.NewReplayer(st, nil, historyEnd, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	l := map[string]string{"alertname": "Late", "cluster": "a"}
	if err := r.Submit(ctx, historyEnd, []incident.Event{{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(l),
		Status: incident.StatusFiring, Labels: l, StartsAt: historyEnd, GroupLabels: l}}); err != nil {
		t.Fatal(err)
	}
	before := snapshotDB(t, dir)
	if len(before[sqlite.FileName+"-wal"]) == 0 {
		t.Fatal("no write-ahead log to check: the test does not test what it says")
	}
	var out strings.Builder
	code := runRules(context.Background(), []string{"backtest", "--storage.path", dir, "--rules", filepath.Join(repoRoot(t), "docs/examples/07-disk-per-mountpoint.rules.yml"),
		"--since", historyEnd.Format(time.RFC3339), "--until", historyEnd.Add(time.Hour).Format(time.RFC3339)}, &out, &out)
	if code != 0 {
		t.Fatalf("exit status %d:\n%s", code, out.String())
	}
	// The event still in the log is replayed.
	if !strings.Contains(out.String(), ": 1 events received") {
		t.Errorf("output does not show the one event in the write-ahead log:\n%s", out.String())
	}
	checkUnchanged(t, dir, before)
}

// snapshotDB returns the bytes of the database file and its write-ahead log
// in dir, by file name; a missing file is missing from the map.
func snapshotDB(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case os.IsNotExist(err):
		case err != nil:
			t.Fatal(err)
		default:
			out[name] = data
		}
	}
	return out
}

// checkUnchanged fails unless the database file and its write-ahead log
// hold the bytes they held before. The -shm index is not compared: SQLite
// readers update it by design. A log that did not exist may appear, empty:
// SQLite creates the -wal and -shm files when it opens a WAL database
// read-only and they are missing (see the report on sqlite.OpenReadOnly).
func checkUnchanged(t *testing.T, dir string, before map[string][]byte) {
	t.Helper()
	after := snapshotDB(t, dir)
	for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal"} {
		b, inBefore := before[name]
		a, inAfter := after[name]
		switch {
		case !inBefore && inAfter && len(a) == 0 && name != sqlite.FileName:
		case inBefore != inAfter:
			t.Errorf("%s: existed before: %v, after: %v", name, inBefore, inAfter)
		case !bytes.Equal(a, b):
			t.Errorf("%s changed (%d bytes before, %d after)", name, len(b), len(a))
		}
	}
}
