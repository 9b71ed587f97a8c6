package main

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// TestRulesExplain runs rules explain and compares its output with
// testdata/explain/NAME.golden. The rule files are the docs' examples, so
// that what explain says is checked against the behaviour those examples'
// tests assert.
func TestRulesExplain(t *testing.T) {
	root := repoRoot(t)
	ex := func(name string) string { return filepath.Join("docs", "examples", name) }
	disk := ex("07-disk-per-mountpoint.rules.yml")
	outbreak := ex("02-disk-outbreak.rules.yml")
	knownErrors := ex("13-known-errors.rules.yml")
	lifecycle := ex("12-problem-lifecycle.rules.yml")
	diskAlert := `alertname="NodeFilesystemAlmostOutOfSpace", cluster="a", mountpoint="/var", instance="n1:9100"`

	// The databases of daemons that ran with the rule files through the
	// history until the time explained: one per rule file and time, shared
	// by the subtests (explain only reads them).
	base := t.TempDir()
	dbs := map[string]string{}
	db := func(t *testing.T, rulesFile, at string) string {
		t.Helper()
		id := rulesFile + "@" + at
		if dir, ok := dbs[id]; ok {
			return dir
		}
		until, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(base, strconv.Itoa(len(dbs)))
		mustHistoryDB(t, dir, until, filepath.Join(root, rulesFile))
		dbs[id] = dir
		return dir
	}

	tests := []struct {
		name     string
		args     []string
		dbRules  string // the rule file of the daemon database, if any
		wantCode int
	}{
		{name: "RuleMatches", args: []string{"--rules", disk, "--alert", diskAlert}},
		{name: "NoRulesBuiltinDefaults", args: []string{"--alert", `{alertname="HighLatency", job="api", severity="critical"}`}},
		{name: "NoRuleMatchesGroupByAll", args: []string{"--rules", disk, "--group-by", "...", "--alert", `alertname=HighLatency,service=api`}},
		{name: "CatalogServiceImpact", args: []string{"--rules", ex("08-service-catalog.rules.yml"),
			"--alert", `alertname="CheckoutErrors", namespace="checkout", severity="warning"`}},
		{name: "ServiceByPerService", args: []string{"--rules", ex("01-group-by-service.rules.yml"),
			"--alert", `alertname="HighLatency", namespace="pay-gw", severity="critical"`}},
		{name: "Drop", args: []string{"--rules", ex("06-drop-noise.rules.yml"), "--alert", `alertname="InfoInhibitor"`}},
		{name: "HeartbeatBeat", args: []string{"--rules", ex("14-heartbeats.rules.yml"), "--alert", `alertname="Watchdog", cluster="eu-1"`}},
		{name: "WindowMinAlerts", args: []string{"--rules", outbreak, "--alert", diskAlert}},
		{name: "DefaultsResolveAfterTemplates", args: []string{"--rules", ex("09-defaults.rules.yml"),
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="a", instance="n1:9100", severity="page"`,
			"--alert", `alertname="SuspiciousLogin", team="security"`}},
		{name: "ResolveAny", args: []string{"--rules", ex("03-resolving.rules.yml"), "--alert", `alertname="ReplicaDown", deployment="web"`}},
		{name: "Payload", args: []string{"--rules", ex("05-titles.rules.yml"), "--payload", "cmd/alertbridge/testdata/ruletest/firing-group.json"}},

		{name: "ProblemsKnownErrors", args: []string{"--rules", knownErrors,
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="eu1", mountpoint="/var/log"`,
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="eu1", mountpoint="/data"`,
			"--alert", `alertname="HighLatency", job="api"`}},
		{name: "ProblemsNoneApplies", args: []string{"--rules", ex("12-problem-lifecycle.rules.yml"), "--alert", `alertname="HighLatency"`}},
		{name: "NowProblemJoin", dbRules: knownErrors, args: []string{"--rules", knownErrors, "--at", "2026-01-07T02:30:00Z",
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="c", mountpoint="/var"`}},
		{name: "NowProblemOfTheIncident", dbRules: knownErrors, args: []string{"--rules", knownErrors, "--at", "2026-01-07T02:30:00Z",
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="a", mountpoint="/var", instance="n9:9100"`}},
		{name: "NowProblemNone", dbRules: knownErrors, args: []string{"--rules", knownErrors, "--at", "2026-01-07T02:30:00Z",
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="c", mountpoint="/var/log"`}},
		{name: "NowProblemRuleSignature", dbRules: lifecycle, args: []string{"--rules", lifecycle, "--at", "2026-01-07T02:30:00Z",
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="c"`}},
		{name: "NowNoIncident", dbRules: disk, args: []string{"--rules", disk, "--at", "2026-01-07T02:30:00Z",
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="c", mountpoint="/var"`}},
		{name: "NowJoin", dbRules: disk, args: []string{"--rules", disk, "--at", "2026-01-07T02:30:00Z",
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="a", mountpoint="/var", instance="n9:9100"`}},
		{name: "NowRepeat", dbRules: disk, args: []string{"--rules", disk, "--at", "2026-01-07T02:30:00Z",
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="a", mountpoint="/var", instance="n1:9100", job="node", severity="warning"`}},
		{name: "NowReopen", dbRules: disk, args: []string{"--rules", disk, "--at", "2026-01-07T03:30:00Z", "--alert", diskAlert}},
		{name: "NowOpenAfterReopenWithin", dbRules: disk, args: []string{"--rules", disk, "--at", "2026-01-07T06:00:00Z", "--alert", diskAlert}},
		{name: "NowSealAndOpen", dbRules: outbreak, args: []string{"--rules", outbreak, "--at", "2026-01-07T02:30:00Z", "--alert", diskAlert}},
		{name: "NowJoinOpen", dbRules: outbreak, args: []string{"--rules", outbreak, "--at", "2026-01-07T02:20:00Z", "--alert", diskAlert}},
		{name: "NowJoinPending", dbRules: outbreak, args: []string{"--rules", outbreak, "--at", "2026-01-07T14:05:00Z",
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="b", mountpoint="/data", instance="n7:9100"`}},
		{name: "NowAfterDiscardedPending", dbRules: outbreak, args: []string{"--rules", outbreak, "--at", "2026-01-07T15:00:00Z",
			"--alert", `alertname="NodeFilesystemAlmostOutOfSpace", cluster="b", mountpoint="/data", instance="n7:9100"`}},

		{name: "ErrUsageNoAlert", args: []string{"--rules", disk}, wantCode: 2},
		{name: "ErrUsageRegexAlert", args: []string{"--alert", `alertname=~"Disk.*"`}, wantCode: 2},
		{name: "ErrUsageDuplicateLabel", args: []string{"--alert", `a="1", a="2"`}, wantCode: 2},
		{name: "ErrUsageBadAt", args: []string{"--alert", `a="1"`, "--at", "noon"}, wantCode: 2},
		{name: "ErrInvalidRules", args: []string{"--rules", "cmd/alertbridge/testdata/ruletest/bad.rules.yml", "--alert", `a="1"`}, wantCode: 1},
		{name: "ErrNoDatabase", args: []string{"--alert", `a="1"`, "--storage.path", "cmd/alertbridge/testdata/nothing"}, wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"explain"}, tt.args...)
			var dataDir string
			if tt.dbRules != "" {
				dataDir = db(t, tt.dbRules, tt.args[slices.Index(tt.args, "--at")+1])
				args = append(args, "--storage.path", dataDir)
			}
			var out strings.Builder
			t.Chdir(root)
			code := runRules(context.Background(), args, &out, &out)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d; output:\n%s", code, tt.wantCode, out.String())
			}
			got := out.String()
			if dataDir != "" {
				got = strings.ReplaceAll(got, dataDir, "DATA")
			}
			if tt.wantCode == 2 {
				got, _, _ = strings.Cut(got, "\nusage:")
			}
			checkGolden(t, filepath.Join(root, "cmd/alertbridge/testdata/explain", tt.name+".golden"), got)
		})
	}
}

// TestRulesExplainReadOnly: explain with --storage.path leaves the daemon's
// database as it was.
func TestRulesExplainReadOnly(t *testing.T) {
	root := repoRoot(t)
	disk := filepath.Join(root, "docs/examples/07-disk-per-mountpoint.rules.yml")
	dir := t.TempDir()
	mustHistoryDB(t, dir, historyEnd, disk)
	before := snapshotDB(t, dir)
	var out strings.Builder
	code := runRules(context.Background(), []string{"explain", "--rules", disk, "--storage.path", dir, "--alert", `alertname="NodeFilesystemAlmostOutOfSpace"`}, &out, &out)
	if code != 0 {
		t.Fatalf("exit status %d:\n%s", code, out.String())
	}
	checkUnchanged(t, dir, before)
}

// TestRulesExplainProblemStates: what the problem line says of a new
// incident whose signature's problem was resolved (within reopen_within
// and after it) or closed, on a daemon database where a person resolved
// and closed problems.
func TestRulesExplainProblemStates(t *testing.T) {
	root := repoRoot(t)
	lifecycle := filepath.Join(root, "docs", "examples", "12-problem-lifecycle.rules.yml")
	set, err := rules.LoadFiles([]string{lifecycle})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := t0
	var rs atomic.Pointer[rules.Set]
	rs.Store(set)
	mustProblem := func(dir string, close bool) {
		st, err := sqlite.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		p, err := pipeline.New(pipeline.Options{Store: st, Rules: &rs, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		p.Start()
		defer p.Stop(ctx) //nolint:errcheck // a test store
		// Three clusters' disks within the rule's 1d: problem #1 opens.
		for _, c := range []string{"a", "b", "c"} {
			l := map[string]string{"alertname": "NodeFilesystemAlmostOutOfSpace", "cluster": c}
			ev := incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(l), Status: incident.StatusFiring,
				Labels: l, StartsAt: now, GroupLabels: map[string]string{"alertname": l["alertname"], "cluster": c}}
			if err := p.Submit(ctx, []incident.Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
		actions := []incident.ProblemAction{incident.ProblemActionResolve}
		if close {
			actions = append(actions, incident.ProblemActionClose)
		}
		for _, a := range actions {
			if _, err := p.ExecuteProblem(ctx, incident.ProblemCommand{ProblemID: 1, Action: a, Actor: "alice"}); err != nil {
				t.Fatalf("%s problem 1: %v", a, err)
			}
		}
	}
	resolved, closed := t.TempDir(), t.TempDir()
	mustProblem(resolved, false)
	mustProblem(closed, true)

	alert := `alertname="NodeFilesystemAlmostOutOfSpace", cluster="d"`
	tests := []struct {
		name string
		data string
		at   time.Time
		want string
	}{
		{"ReopensWithinReopenWithin", resolved, t0.Add(2 * 24 * time.Hour),
			`the new incident reopens problem #1 disk-recurring{rule="disk"}, resolved 2d ago (within reopen_within 1w)`},
		{"NewProblemAfterReopenWithin", resolved, t0.Add(8 * 24 * time.Hour),
			`problem #1 disk-recurring{rule="disk"} is resolved: the new incident counts towards a new one, threshold 3 within 1d`},
		{"NewProblemAfterClose", closed, t0.Add(time.Hour),
			`problem #1 disk-recurring{rule="disk"} is closed: the new incident counts towards a new one, threshold 3 within 1d`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			args := []string{"explain", "--rules", lifecycle, "--storage.path", tt.data, "--at", tt.at.Format(time.RFC3339), "--alert", alert}
			if code := runRules(ctx, args, &out, &out); code != 0 {
				t.Fatalf("exit status %d; output:\n%s", code, out.String())
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("output:\n%s\nwant a line containing %q", out.String(), tt.want)
			}
		})
	}
}
