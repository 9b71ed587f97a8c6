package incident

import "testing"

func TestKnownErrorEntry(t *testing.T) {
	tests := []struct {
		name string
		k    KnownError
		want string
	}{
		{"WorkaroundOnly", KnownError{Name: "ke", Workaround: "restart"}, "restart (known error ke)"},
		{"RootCause", KnownError{Name: "ke", Workaround: "restart", RootCause: "leak"}, "restart (known error ke; root cause: leak)"},
		{"Runbook", KnownError{Name: "ke", Workaround: "restart", RunbookURL: "https://r/ke"}, "restart (known error ke; runbook: https://r/ke)"},
		{"All", KnownError{Name: "ke", Workaround: "restart", RootCause: "leak", RunbookURL: "https://r/ke"},
			"restart (known error ke; root cause: leak; runbook: https://r/ke)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.k.Entry(); got != tt.want {
				t.Errorf("Entry() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMatchKnownErrors(t *testing.T) {
	p := Problems{
		Rules: []ProblemRule{{Name: "disk-recurring", Rule: "disk"}, {Name: "oom", Labels: []string{"service"}}},
		KnownErrors: []KnownError{
			{Name: "by-rule", Signature: `disk-recurring{rule="disk"}`},
			{Name: "by-labels", Signature: `oom{service="api"}`},
			{Name: "by-matchers", Matches: func(l map[string]string) bool { return l["cluster"] == "eu1" }},
		},
	}
	tests := []struct {
		name   string
		rule   string
		labels map[string]string
		want   []string
	}{
		{"None", "cpu", map[string]string{"cluster": "eu2"}, nil},
		{"Signature", "disk", map[string]string{"cluster": "eu2"}, []string{"by-rule"}},
		{"AllInFileOrder", "disk", map[string]string{"cluster": "eu1", "service": "api"}, []string{"by-rule", "by-labels", "by-matchers"}},
		{"OtherSignatureValue", "cpu", map[string]string{"service": "web"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, k := range p.MatchKnownErrors(tt.rule, tt.labels) {
				got = append(got, k.Name)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("MatchKnownErrors = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("MatchKnownErrors = %v, want %v", got, tt.want)
				}
			}
		})
	}
}
