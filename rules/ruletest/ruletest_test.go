package ruletest_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
	"github.com/alertbridge/alertbridge/rules/ruletest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// decodePayload is a small stand-in for ingest.DecodeAlertmanager, which
// ruletest must not import: {"alerts": [{"labels": …, "startsAt": …}]}.
func decodePayload(data []byte) ([]incident.Event, error) {
	var p struct {
		Alerts []struct {
			Labels   map[string]string `json:"labels"`
			StartsAt time.Time         `json:"startsAt"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	if len(p.Alerts) == 0 {
		return nil, errors.New("alerts: no alerts")
	}
	var out []incident.Event
	for _, a := range p.Alerts {
		out = append(out, incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(a.Labels),
			Status: incident.StatusFiring, Labels: a.Labels, StartsAt: a.StartsAt, GroupLabels: map[string]string{}})
	}
	return out, nil
}

// TestLoadErrors loads every testdata/errors/NAME.test.yml and compares the
// error output with NAME.errors.golden.
func TestLoadErrors(t *testing.T) {
	paths, err := filepath.Glob("testdata/errors/*.test.yml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".test.yml")
		t.Run(name, func(t *testing.T) {
			f, err := ruletest.Load(path, decodePayload)
			if err == nil {
				t.Fatalf("Load: got %d tests and no error, want errors", len(f.Tests))
			}
			var list yamlfile.Errors
			if !errors.As(err, &list) {
				t.Fatalf("Load: error %T is not a yamlfile.Errors", err)
			}
			checkGolden(t, strings.TrimSuffix(path, ".test.yml")+".errors.golden", err.Error()+"\n")
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := ruletest.Load("testdata/nothing.test.yml", nil)
	if got, want := fmt.Sprint(err), "testdata/nothing.test.yml: no such file or directory"; got != want {
		t.Errorf("Load: %s, want %s", got, want)
	}
}

func TestLoad(t *testing.T) {
	f, err := ruletest.Load("testdata/ok/ok.test.yml", decodePayload)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	pos := func(line, col int) yamlfile.Pos {
		return yamlfile.Pos{File: "testdata/ok/ok.test.yml", Line: line, Col: col}
	}
	a := map[string]string{"alertname": "DiskFull", "cluster": "a", "node": "n1"}
	b := map[string]string{"alertname": "DiskFull", "node": "n2"}
	c := map[string]string{"alertname": "DiskFull", "cluster": "b", "node": "n9"}
	wantSteps := []*ruletest.Step{
		{Index: 1, Pos: pos(7, 9), Events: []incident.Event{
			{Source: ruletest.Source, Fingerprint: incident.LabelFingerprint(a), Status: incident.StatusFiring, Labels: a,
				Annotations: map[string]string{"summary": "disk full"}, StartsAt: start, GeneratorURL: "http://prometheus/graph",
				GroupLabels: map[string]string{"alertname": "DiskFull", "cluster": "a"}},
			// A group label the alert lacks is left out, as Alertmanager does.
			{Source: ruletest.Source, Fingerprint: incident.LabelFingerprint(b), Status: incident.StatusResolved, Labels: b,
				Annotations: map[string]string{}, StartsAt: start, EndsAt: start,
				GroupLabels: map[string]string{"alertname": "DiskFull"}},
			// Payload times are used as written.
			{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(c), Status: incident.StatusFiring, Labels: c,
				StartsAt: start, GroupLabels: map[string]string{}},
		}},
		{Index: 2, Pos: pos(18, 9), At: 90 * time.Minute, Actions: []*ruletest.Action{
			{Pos: pos(19, 22), Kind: incident.ActionAcknowledge, Incident: 1, Actor: "alice"},
			{Pos: pos(20, 18), Kind: incident.ActionResolve, Key: `rule/disk{cluster="a"}`, Actor: "test"},
		}},
	}
	got := struct {
		RuleFiles, GroupBy []string
		Start              time.Time
		Tests              int
		Name               string
		End                time.Duration
		Steps              []*ruletest.Step
	}{f.RuleFiles, f.GroupBy, f.Start, len(f.Tests), f.Tests[0].Name, f.Tests[0].End(), f.Tests[0].Steps}
	want := got
	want.RuleFiles, want.GroupBy, want.Start = []string{"testdata/ok/rule*.yml"}, []string{"alertname", "cluster"}, start
	want.Tests, want.Name, want.End, want.Steps = 1, "everything", 90*time.Minute, wantSteps
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(ruletest.Step{}, "Expect")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if f.Rules == nil || f.Rules.Len() != 1 {
		t.Errorf("Rules = %v, want the one rule of rules.yml", f.Rules)
	}
	if f.Tests[0].Steps[0].Expect == nil || f.Tests[0].Steps[1].Expect != nil || f.Tests[0].Expect == nil {
		t.Error("expectations not where they are written")
	}
}

func TestLoadDefaults(t *testing.T) {
	f := mustParse(t, "tests:\n  - name: t\n    steps:\n      - at: 0s\n        alerts:\n          - labels: {alertname: A, x: y}\n")
	if f.Rules != nil || !f.Start.Equal(ruletest.DefaultStart) || !cmp.Equal(f.GroupBy, ruletest.DefaultGroupBy) {
		t.Errorf("Rules %v, Start %s, GroupBy %v; want nil, DefaultStart, DefaultGroupBy", f.Rules, f.Start, f.GroupBy)
	}
	ev := f.Tests[0].Steps[0].Events[0]
	if !cmp.Equal(ev.GroupLabels, map[string]string{"alertname": "A"}) || ev.Status != incident.StatusFiring || !ev.StartsAt.Equal(ruletest.DefaultStart) {
		t.Errorf("event %+v", ev)
	}
	all := mustParse(t, "group_by: ['...']\ntests:\n  - name: t\n    steps:\n      - at: 0s\n        alerts:\n          - labels: {alertname: A, x: y}\n")
	if got := all.Tests[0].Steps[0].Events[0].GroupLabels; !cmp.Equal(got, map[string]string{"alertname": "A", "x": "y"}) {
		t.Errorf(`group_by "...": group labels %v, want all labels`, got)
	}
}

func mustParse(t *testing.T, data string) *ruletest.File {
	t.Helper()
	f, err := ruletest.Parse(filepath.Join(t.TempDir(), "t.test.yml"), []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCheck(t *testing.T) {
	start := ruletest.DefaultStart
	open := incident.Incident{
		ID: 1, State: incident.StateOpen, Priority: 2, Impact: incident.LevelMedium, Urgency: incident.LevelHigh,
		Title: "Disk full on a", Summary: "s", Service: "node", Owner: "ops", Rule: "disk",
		CorrelationKey: `rule/disk@e17c8802{cluster="a"}`, OpenedAt: start.Add(time.Minute), AlertCount: 3, FiringCount: 2,
	}
	resolved := open
	resolved.ID, resolved.State, resolved.ResolvedAt, resolved.SealedAt = 2, incident.StateResolved, start.Add(time.Hour), start.Add(time.Hour)
	tests := []struct {
		name   string
		expect string
		got    []incident.Incident
		want   []string
	}{
		{
			name:   "OKAllFields",
			expect: `{rule: disk, key: 'rule/disk@e17c8802{cluster="a"}', state: open, priority: P2, impact: medium, urgency: high, alerts: 3, firing: 2, title: Disk full on a, summary: s, service: node, owner: ops, sealed: false, opened_at: 1m, resolved_at: never}`,
			got:    []incident.Incident{open},
		},
		{
			name:   "OKOnlyGivenFieldsVersionLessKey",
			expect: `{key: 'rule/disk{cluster="a"}'}`,
			got:    []incident.Incident{open},
		},
		{
			name:   "OKNone",
			expect: "",
			got:    nil,
		},
		{
			name:   "ErrCount",
			expect: "{state: open}",
			got:    []incident.Incident{open, resolved},
			want:   []string{"6:11: incidents: want 1, got 2"},
		},
		{
			name:   "ErrFields",
			expect: `{state: open, priority: p1, alerts: 2, title: Disk full on b, sealed: false, resolved_at: 30m, key: 'rule/disk{cluster="b"}'}`,
			got:    []incident.Incident{resolved},
			want: []string{
				`6:17: incident 1: key: want "rule/disk{cluster=\"b\"}", got "rule/disk@e17c8802{cluster=\"a\"}"`,
				"6:17: incident 1: state: want open, got resolved",
				"6:17: incident 1: priority: want P1, got P2",
				"6:17: incident 1: alerts: want 2, got 3",
				`6:17: incident 1: title: want "Disk full on b", got "Disk full on a"`,
				"6:17: incident 1: sealed: want false, got true",
				"6:17: incident 1: resolved_at: want 30m, got 1h",
			},
		},
		{
			name:   "ErrWrongVersion",
			expect: `{key: 'rule/disk@00000000{cluster="a"}'}`,
			got:    []incident.Incident{open},
			want:   []string{`6:17: incident 1: key: want "rule/disk@00000000{cluster=\"a\"}", got "rule/disk@e17c8802{cluster=\"a\"}"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := "[]"
			if tt.expect != "" {
				list = "\n          - " + tt.expect
			}
			f := mustParse(t, "tests:\n  - name: t\n    steps: [{at: 0s}]\n    expect:\n      incidents: "+list+"\n")
			var got []string
			for _, p := range f.Tests[0].Expect.Check(&ruletest.Actual{Incidents: tt.got}, start) {
				// Columns vary with the expectation's length; keep
				// line:col of the list or the incident's mapping.
				got = append(got, fmt.Sprintf("%d:%d: %s", p.Pos.Line, min(p.Pos.Col, 17), p.Msg))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckProblems(t *testing.T) {
	start := ruletest.DefaultStart
	open := incident.Problem{ID: 7, Name: "disk-recurring", Signature: `disk-recurring{rule="disk"}`,
		State: incident.ProblemOpen, IncidentCount: 3, OpenedAt: start}
	quiet := open
	quiet.ID, quiet.State, quiet.ResolvedAt = 8, incident.ProblemResolved, start.Add(14*24*time.Hour)
	known := open
	known.ID, known.State, known.RootCause, known.Workaround = 9, incident.ProblemKnownError, "log rotation", "restart vector"
	linked := incident.Incident{ID: 1, State: incident.StateOpen, ProblemID: 9}
	alone := incident.Incident{ID: 2, State: incident.StateOpen}
	actual := &ruletest.Actual{Incidents: []incident.Incident{linked, alone}, Problems: []incident.Problem{open, quiet, known},
		Workarounds: map[int64]string{1: "restart vector"}}
	tests := []struct {
		name   string
		expect string
		got    *ruletest.Actual
		want   []string
	}{
		{
			name: "OKAllFields",
			expect: `      problems:
        - {rule: disk-recurring, signature: 'disk-recurring{rule="disk"}', state: open, incidents: 3, resolved_at: never, closed_at: never}
        - {state: resolved, resolved_at: 14d, closed_at: never}
        - {state: known_error, root_cause: log rotation, workaround: restart vector}
`,
			got: actual,
		},
		{
			name:   "OKNone",
			expect: "      problems: []\n",
			got:    &ruletest.Actual{Incidents: []incident.Incident{alone}},
		},
		{
			name: "OKIncidentFields",
			expect: `      incidents:
        - {problem: 3, workaround: restart vector}
        - {problem: 0, workaround: ""}
`,
			got: actual,
		},
		{
			name:   "ErrCount",
			expect: "      problems: [{state: open}]\n",
			got:    actual,
			want:   []string{"5:11: problems: want 1, got 3"},
		},
		{
			name: "ErrFields",
			expect: `      problems:
        - {state: resolved, incidents: 2, signature: x}
        - {resolved_at: 7d, closed_at: 1h}
        - {workaround: reboot}
`,
			got: actual,
			want: []string{
				`6:11: problem 1: signature: want "x", got "disk-recurring{rule=\"disk\"}"`,
				"6:11: problem 1: state: want resolved, got open",
				"6:11: problem 1: incidents: want 2, got 3",
				"7:11: problem 2: resolved_at: want 1w, got 2w",
				"7:11: problem 2: closed_at: want 1h, got never",
				`8:11: problem 3: workaround: want "reboot", got "restart vector"`,
			},
		},
		{
			name: "ErrIncidentFields",
			expect: `      incidents:
        - {problem: 1, workaround: reboot}
        - {problem: 2, workaround: reboot}
`,
			got: actual,
			want: []string{
				"6:11: incident 1: problem: want 1, got 3",
				`6:11: incident 1: workaround: want "reboot", got "restart vector"`,
				"7:11: incident 2: problem: want 2, got 0",
				`7:11: incident 2: workaround: want "reboot", got ""`,
			},
		},
		{
			// Incidents are compared first, as they are written first.
			name: "ErrBothLists",
			expect: `      incidents: []
      problems: []
`,
			got:  actual,
			want: []string{"5:11: incidents: want 0, got 2", "6:11: problems: want 0, got 3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, "tests:\n  - name: t\n    steps: [{at: 0s}]\n    expect:\n"+tt.expect)
			var got []string
			for _, p := range f.Tests[0].Expect.Check(tt.got, start) {
				got = append(got, fmt.Sprintf("%d:%d: %s", p.Pos.Line, min(p.Pos.Col, 11), p.Msg))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckSLAPrioritiesSymptoms compares the SLA clock, the priorities an
// incident had and its symptoms, read from its record and its timeline.
func TestCheckSLAPrioritiesSymptoms(t *testing.T) {
	start := ruletest.DefaultStart
	late := incident.Incident{ID: 1, State: incident.StateOpen, Priority: 1}
	late.RespondBy, late.ResolveBy, late.SLAPolicy = start.Add(15*time.Minute), start.Add(4*time.Hour), "P1"
	late.RespondBreachedAt = late.RespondBy
	// Raised by an alert, then by a merge, which records no change entry.
	merged := incident.Incident{ID: 2, State: incident.StateOpen, Priority: 1}
	calm := incident.Incident{ID: 3, State: incident.StateOpen, Priority: 3}
	actual := &ruletest.Actual{Incidents: []incident.Incident{late, merged, calm}, Timelines: map[int64][]incident.TimelineEntry{
		1: {
			{Kind: incident.TimelinePriorityChanged, Message: "priority P3 → P2 by A"},
			{Kind: incident.TimelinePriorityChanged, Message: "priority P2 → P1 by B"},
			{Kind: incident.TimelineSymptom, Fingerprint: "f1", Message: "symptom of #1"},
			{Kind: incident.TimelineSymptom, Fingerprint: "f2", Message: "symptom of #1"},
			// The same alert firing again as a symptom is one symptom.
			{Kind: incident.TimelineSymptom, Fingerprint: "f1", Message: "symptom of #1"},
		},
		2: {{Kind: incident.TimelinePriorityChanged, Message: "priority P4 → P3 by A"}},
	}}
	tests := []struct {
		name   string
		expect string
		want   []string
	}{
		{
			name: "OK",
			expect: `        - {respond_by: 15m, resolve_by: 4h, sla_policy: P1, respond_breached: true, resolve_breached: false, priorities: [P3, P2, P1], symptoms: 2}
        - {respond_by: never, sla_policy: "", priorities: [P4, P3, P1], symptoms: 0}
        - {resolve_by: never, respond_breached: false, priorities: [p3]}
`,
		},
		{
			name: "ErrFields",
			expect: `        - {respond_by: 10m, resolve_by: never, sla_policy: P2, respond_breached: false, resolve_breached: true, priorities: [P1], symptoms: 1}
        - {respond_by: 1h, priorities: [P4, P1]}
        - {priorities: [P3, P3]}
`,
			want: []string{
				"6:11: incident 1: respond_by: want 10m, got 15m",
				"6:11: incident 1: resolve_by: want never, got 4h",
				`6:11: incident 1: sla_policy: want "P2", got "P1"`,
				"6:11: incident 1: respond_breached: want false, got true",
				"6:11: incident 1: resolve_breached: want true, got false",
				"6:11: incident 1: priorities: want [P1], got [P3, P2, P1]",
				"6:11: incident 1: symptoms: want 1, got 2",
				"7:11: incident 2: respond_by: want 1h, got never",
				"7:11: incident 2: priorities: want [P4, P1], got [P4, P3, P1]",
				"8:11: incident 3: priorities: want [P3, P3], got [P3]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, "tests:\n  - name: t\n    steps: [{at: 0s}]\n    expect:\n      incidents:\n"+tt.expect)
			var got []string
			for _, p := range f.Tests[0].Expect.Check(actual, start) {
				got = append(got, fmt.Sprintf("%d:%d: %s", p.Pos.Line, min(p.Pos.Col, 11), p.Msg))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeyMatches(t *testing.T) {
	tests := []struct {
		name      string
		want, got string
		match     bool
	}{
		{"OKExact", `rule/disk@e17c8802{cluster="a"}`, `rule/disk@e17c8802{cluster="a"}`, true},
		{"OKVersionLeftOut", `rule/disk{cluster="a"}`, `rule/disk@e17c8802{cluster="a"}`, true},
		{"OKGroupKey", `group{alertname="X"}`, `group{alertname="X"}`, true},
		{"OKAtInLabelValue", `rule/mail{to="a@b"}`, `rule/mail@0123abcd{to="a@b"}`, true},
		{"ErrOtherVersion", `rule/disk@00000000{cluster="a"}`, `rule/disk@e17c8802{cluster="a"}`, false},
		{"ErrOtherLabels", `rule/disk{cluster="b"}`, `rule/disk@e17c8802{cluster="a"}`, false},
		{"ErrOtherRule", `rule/dis{cluster="a"}`, `rule/disk@e17c8802{cluster="a"}`, false},
		{"ErrPrefixOnly", `rule/disk`, `rule/disk@e17c8802{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ruletest.KeyMatches(tt.want, tt.got); got != tt.match {
				t.Errorf("KeyMatches(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.match)
			}
		})
	}
}

// engine is a scripted Engine: it records the calls and serves the
// incidents it is given, so that Run's own logic (which call when, which
// incident an action means, what a failure holds) is tested apart from the
// pipeline. The binary's tests run the real pipeline.
type engine struct {
	calls     []string
	incidents []incident.Incident
	problems  []incident.Problem
	timelines map[int64][]incident.TimelineEntry
	execErr   error
}

func (e *engine) Submit(_ context.Context, at time.Time, evs []incident.Event) error {
	e.calls = append(e.calls, fmt.Sprintf("submit %s %d", at.Format(time.TimeOnly), len(evs)))
	return nil
}

func (e *engine) Advance(_ context.Context, at time.Time) error {
	e.calls = append(e.calls, "advance "+at.Format(time.TimeOnly))
	return nil
}

func (e *engine) Execute(_ context.Context, at time.Time, c incident.Command) (incident.Incident, error) {
	e.calls = append(e.calls, fmt.Sprintf("%s %d by %s at %s", c.Action, c.IncidentID, c.Actor, at.Format(time.TimeOnly)))
	return incident.Incident{}, e.execErr
}

func (e *engine) Incidents(context.Context) ([]incident.Incident, error) { return e.incidents, nil }

func (e *engine) Problems(context.Context) ([]incident.Problem, error) { return e.problems, nil }

func (e *engine) Timeline(_ context.Context, id int64) ([]incident.TimelineEntry, error) {
	return e.timelines[id], nil
}

func TestRun(t *testing.T) {
	f := mustParse(t, `tests:
  - name: flapping disk
    steps:
      - at: 0s
        alerts: [{labels: {alertname: A}}, {labels: {alertname: B}}]
      - at: 3m
        acknowledge: {key: 'rule/disk{cluster="a"}', actor: alice}
        resolve: {incident: 3}
      - at: 10m
        expect:
          incidents: [{state: resolved}, {state: open}]
    expect:
      incidents: [{state: open}]
`)
	start := ruletest.DefaultStart
	inc := func(id int64, st incident.State) incident.Incident {
		return incident.Incident{ID: id, State: st, Priority: 2, Rule: "disk", CorrelationKey: `rule/disk@e17c8802{cluster="a"}`,
			Title: "Disk full", OpenedAt: start, AlertCount: 2, FiringCount: 2}
	}
	e := &engine{incidents: []incident.Incident{inc(7, incident.StateResolved), inc(9, incident.StateOpen)}}
	res, err := f.Tests[0].Run(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{
		"submit 00:00:00 2",
		"advance 00:03:00",
		// The key's owner is the newest incident with it.
		"acknowledge 9 by alice at 00:03:00",
		"advance 00:10:00",
	}
	if diff := cmp.Diff(wantCalls, e.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if res.Passed() {
		t.Fatal("Passed, want the failing action and end-of-test expectation")
	}
	var out strings.Builder
	res.Write(&out, "  ")
	checkGolden(t, "testdata/run.golden", strings.ReplaceAll(out.String(), f.Name, "t.test.yml"))

	t.Run("ErrConflictIsAFailure", func(t *testing.T) {
		e := &engine{incidents: e.incidents, execErr: fmt.Errorf("acknowledge incident 9 in state resolved: %w", incident.ErrConflict)}
		res, err := f.Tests[0].Run(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Failures[0].Problems[0].Msg; got != "acknowledge: incident 2: acknowledge incident 9 in state resolved: conflict" {
			t.Errorf("first problem %q", got)
		}
	})
	t.Run("ErrStoreEndsTheRun", func(t *testing.T) {
		e := &engine{incidents: e.incidents, execErr: errors.New("disk I/O error")}
		if _, err := f.Tests[0].Run(context.Background(), e); err == nil || !strings.Contains(err.Error(), "disk I/O error") {
			t.Errorf("Run: %v, want the store error", err)
		}
	})
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got; run go test -update to accept):\n%s", path, diff)
	}
}

// TestRunProblems checks that a checkpoint reads the problems and each
// incident's workaround from the engine, and that a failure lists the
// actual problems only when the checkpoint lists problems.
func TestRunProblems(t *testing.T) {
	f := mustParse(t, `tests:
  - name: recurring disk
    steps:
      - at: 0s
        alerts: [{labels: {alertname: A}}]
        expect:
          incidents: [{problem: 1, workaround: restart vector}]
      - at: 14d
        expect:
          incidents: [{state: resolved}]
    expect:
      problems: [{state: resolved}]
`)
	start := ruletest.DefaultStart
	e := &engine{
		incidents: []incident.Incident{{ID: 4, State: incident.StateOpen, Priority: 3, Rule: "disk", CorrelationKey: "rule/disk{}",
			Title: "Disk full", OpenedAt: start, AlertCount: 1, FiringCount: 1, ProblemID: 2}},
		problems: []incident.Problem{{ID: 2, Name: "disk-recurring", Signature: `disk-recurring{rule="disk"}`,
			State: incident.ProblemKnownError, IncidentCount: 3, OpenedAt: start, Workaround: "restart vector"}},
		timelines: map[int64][]incident.TimelineEntry{4: {
			{Kind: incident.TimelineWorkaround, Message: "an older workaround"},
			{Kind: incident.TimelineWorkaround, Message: "restart vector"},
		}},
	}
	res, err := f.Tests[0].Run(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 2 {
		t.Fatalf("%d failures, want the two checkpoints after the first", len(res.Failures))
	}
	if res.Failures[0].ListsProblems || !res.Failures[1].ListsProblems {
		t.Errorf("ListsProblems = %v, %v; want false, true", res.Failures[0].ListsProblems, res.Failures[1].ListsProblems)
	}
	var out strings.Builder
	res.Write(&out, "  ")
	checkGolden(t, "testdata/run_problems.golden", strings.ReplaceAll(out.String(), f.Name, "t.test.yml"))
}
