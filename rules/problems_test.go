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
