package rules

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func TestParseProblems(t *testing.T) {
	s := mustParseFile(t, "testdata/problems.yml")
	want := []incident.ProblemRule{
		{Name: "disk-recurring", Rule: "disk", Threshold: 3, Window: 24 * time.Hour, ReopenWithin: incident.DefaultProblemReopenWithin},
		{Name: "oom-per-service", Labels: []string{"service", "alertname"}, Threshold: 2, Window: time.Hour, ReopenWithin: 72 * time.Hour,
			ResolveWhenQuiet: 14 * 24 * time.Hour, ResolveKnownErrors: true, CloseAfter: 30 * 24 * time.Hour},
	}
	if diff := cmp.Diff(want, s.ProblemRules()); diff != "" {
		t.Errorf("ProblemRules() mismatch (-want +got):\n%s", diff)
	}
	var none *Set
	if got := none.ProblemRules(); got != nil {
		t.Errorf("nil Set: ProblemRules() = %v, want nil", got)
	}
}

func TestProblemSignature(t *testing.T) {
	byRule := incident.ProblemRule{Name: "disk-recurring", Rule: "disk"}
	byLabels := incident.ProblemRule{Name: "oom", Labels: []string{"service", "alertname"}}
	labels := map[string]string{"alertname": "OOMKilled", "service": "api", "pod": "api-1"}
	tests := []struct {
		name   string
		r      incident.ProblemRule
		rule   string
		labels map[string]string
		want   string
		ok     bool
	}{
		{name: "Rule", r: byRule, rule: "disk", want: `disk-recurring{rule="disk"}`, ok: true},
		{name: "OtherRuleNoMatch", r: byRule, rule: "cpu"},
		{name: "Labels", r: byLabels, labels: labels, want: `oom{alertname="OOMKilled", service="api"}`, ok: true},
		{name: "MissingLabelNoMatch", r: byLabels, labels: map[string]string{"alertname": "OOMKilled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.r.Signature(tt.rule, tt.labels)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Signature = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseKnownErrors(t *testing.T) {
	s, err := Parse("rules.yml", []byte(`correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
problems:
  - name: oom
    signature: {labels: [service, alertname]}
    threshold: 2
    window: 1h
known_errors:
  - name: oom-api
    # Written in any order and spacing: kept as the problem rule signs.
    signature: 'oom{ service = "api", alertname="OOMKilled" }'
    root_cause: ' a leak in the image cache '
    workaround: ' restart the api pods '
    runbook_url: https://runbooks.example.com/oom
  - name: var-log
    matchers: ['alertname="DiskFull"', 'mountpoint=~"/var/log.*"']
    workaround: systemctl restart vector
`))
	if err != nil {
		t.Fatal(err)
	}
	got := s.Problems().KnownErrors
	if len(got) != 2 {
		t.Fatalf("%d known errors, want 2", len(got))
	}
	check := func(what string, want, got any) {
		t.Helper()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}
	check("by signature", incident.KnownError{Name: "oom-api", Signature: `oom{alertname="OOMKilled", service="api"}`,
		RootCause: "a leak in the image cache", Workaround: "restart the api pods", RunbookURL: "https://runbooks.example.com/oom"},
		got[0])
	check("by matchers: signature", "", got[1].Signature)
	tests := []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"OKMatch", map[string]string{"alertname": "DiskFull", "mountpoint": "/var/log/app"}, true},
		{"OtherMountpoint", map[string]string{"alertname": "DiskFull", "mountpoint": "/data"}, false},
		{"MissingLabel", map[string]string{"alertname": "DiskFull"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m := got[1].Matches(tt.labels); m != tt.want {
				t.Errorf("Matches(%v) = %v, want %v", tt.labels, m, tt.want)
			}
		})
	}
	var none *Set
	if !none.Problems().Empty() {
		t.Error("nil Set: Problems() not empty")
	}
}
