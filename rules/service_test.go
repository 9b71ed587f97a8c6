package rules

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

func TestServices(t *testing.T) {
	s := mustParseFile(t, "testdata/full.yml")
	at := func(line, col int) yamlfile.Pos { return yamlfile.Pos{File: "full.yml", Line: line, Col: col} }
	want := []*Service{
		{Name: "checkout", Owner: "team-shop", Impact: incident.LevelHigh, DependsOn: []string{"payments-api", "postgres"},
			Labels: map[string]string{"tier": "1", "runbook": "https://runbooks.example/checkout"}, Scope: DefaultScope, Pos: at(18, 5)},
		{Name: "payments-api", Owner: "team-payments", DependsOn: []string{"postgres"}, Scope: DefaultScope, Pos: at(24, 5)},
		{Name: "postgres", Owner: "team-dba", Impact: incident.LevelHigh, Scope: DefaultScope, Pos: at(29, 5)},
		{Name: "shop.frontend", Scope: DefaultScope, Pos: at(33, 5)},
	}
	if diff := cmp.Diff(want, s.Services(), ignoreUnexported); diff != "" {
		t.Errorf("Services() mismatch (-want +got):\n%s", diff)
	}
	for _, svc := range want {
		if got := s.ServiceByName(svc.Name); got == nil || got.Name != svc.Name {
			t.Errorf("ServiceByName(%q) = %v", svc.Name, got)
		}
	}
	if got := s.ServiceByName("nope"); got != nil {
		t.Errorf("ServiceByName(nope) = %v, want nil", got)
	}
}

func TestServiceMatch(t *testing.T) {
	full := mustParseFile(t, "testdata/full.yml")
	fsys := fstest.MapFS{
		"a.yml": {Data: []byte("services: [{name: a, matchers: [x=1]}]\n")},
		"b.yml": {Data: []byte("services: [{name: b, matchers: ['x=~\".+\"']}, {name: b2, matchers: [x=1]}]\n")},
	}
	load := func(patterns ...string) *Set {
		s, err := Load(fsys, patterns)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ab, ba := load("a.yml", "b.yml"), load("b.yml", "a.yml")
	tests := []struct {
		name   string
		set    *Set
		labels map[string]string
		want   string // "" for none
	}{
		{"OneMatcher", full, map[string]string{"namespace": "checkout"}, "checkout"},
		{"FirstInListWins", full, map[string]string{"namespace": "checkout", "app": "web"}, "checkout"},
		{"LaterInList", full, map[string]string{"namespace": "pay-gw"}, "payments-api"},
		{"RegexIsAnchored", full, map[string]string{"namespace": "payments-eu"}, ""},
		{"NoMatchersMatchesNothing", full, map[string]string{"alertname": "PostgresDown"}, ""},
		{"NilLabels", full, nil, ""},
		{"FirstFileWins", ab, map[string]string{"x": "1"}, "a"},
		{"FileOrderIsLoadOrder", ba, map[string]string{"x": "1"}, "b"},
		{"SecondFile", ab, map[string]string{"x": "2"}, "b"},
		{"NilSet", nil, map[string]string{"x": "1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if svc := tt.set.Service(tt.labels); svc != nil {
				got = svc.Name
				if !svc.Matches(tt.labels) {
					t.Errorf("Service(%v) = %q, but its Matches is false", tt.labels, got)
				}
			}
			if got != tt.want {
				t.Errorf("Service(%v) = %q, want %q", tt.labels, got, tt.want)
			}
		})
	}
}

// TestServiceDependencies checks the dependency rules that the error golden
// files do not: what is allowed.
func TestServiceDependencies(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{name: "OKDiamond", yaml: "services: [{name: a, depends_on: [b, c]}, {name: b, depends_on: [d]}, {name: c, depends_on: [d]}, {name: d}]"},
		{name: "OKForwardReference", yaml: "services: [{name: a, depends_on: [b]}, {name: b}]"},
		{name: "OKTwoIndependentChains", yaml: "services: [{name: a, depends_on: [b]}, {name: b}, {name: c, depends_on: [b]}]"},
		{
			name:    "ErrCycleReportedOnce",
			yaml:    "services: [{name: a, depends_on: [b]}, {name: b, depends_on: [a]}, {name: c, depends_on: [a, b]}]",
			wantErr: `s.yml:1:63: service "b": depends_on: cycle a → b → a`,
		},
		{
			name:    "ErrTwoCycles",
			yaml:    "services: [{name: a, depends_on: [b]}, {name: b, depends_on: [a, c]}, {name: c, depends_on: [b]}]",
			wantErr: "s.yml:1:63: service \"b\": depends_on: cycle a → b → a\ns.yml:1:94: service \"c\": depends_on: cycle b → c → b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.yml", []byte(tt.yaml))
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("Parse() error:\n%s\nwant:\n%s", gotErr, tt.wantErr)
			}
		})
	}
}

func TestServiceScopeAndDependents(t *testing.T) {
	s, err := Parse("s.yml", []byte(`services:
  - {name: db}
  - {name: api, depends_on: [db], scope: [cluster, region]}
  - {name: web, depends_on: [api, db], scope: []}
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{"db": DefaultScope, "api": {"cluster", "region"}, "web": {}} {
		if diff := cmp.Diff(want, s.ServiceByName(name).Scope); diff != "" {
			t.Errorf("scope of %s (-want +got):\n%s", name, diff)
		}
	}
	if diff := cmp.Diff([]string{"api", "web"}, s.Dependents("db")); diff != "" {
		t.Errorf("dependents of db (-want +got):\n%s", diff)
	}
	_, err = Parse("s.yml", []byte("services:\n  - {name: a, scope: ['', x, x]}\n"))
	want := "s.yml:2:23: service \"a\": scope: empty label name\ns.yml:2:30: service \"a\": scope: duplicate label \"x\""
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}
