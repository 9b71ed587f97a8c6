package rules

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

func TestParseFull(t *testing.T) {
	s := mustParseFile(t, "testdata/full.yml")
	at := func(line, col int) yamlfile.Pos { return yamlfile.Pos{File: "full.yml", Line: line, Col: col} }

	wantDefaults := &Rule{Window: time.Hour, ReopenWithin: 45 * time.Minute, Resolve: ResolveAll,
		ResolveAfter: 5 * time.Minute, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Pos: at(4, 3)}
	if diff := cmp.Diff(wantDefaults, s.Defaults(), ignoreUnexported); diff != "" {
		t.Errorf("Defaults() mismatch (-want +got):\n%s", diff)
	}

	want := []*Rule{
		// A drop rule takes nothing from the defaults block.
		{Name: "watchdog", ReopenWithin: DefaultReopenWithin, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Drop: true, Pos: at(37, 5)},
		{Name: "disk", By: []string{"cluster", "mountpoint"}, Window: 30 * time.Minute, ReopenWithin: 45 * time.Minute,
			Resolve: ResolveAll, ResolveAfter: 5 * time.Minute, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Pos: at(40, 5)},
		{Name: "per-service", By: []string{"service"}, Window: time.Hour, ReopenWithin: 45 * time.Minute,
			Resolve: ResolveAny, ResolveAfter: 5 * time.Minute, MinAlerts: 2, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Pos: at(46, 5)},
		// The defaults' grace period does not apply to a manual rule.
		{Name: "security", Window: time.Hour, ReopenWithin: 45 * time.Minute, Resolve: ResolveManual, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Pos: at(51, 5)},
	}
	if diff := cmp.Diff(want, s.Rules(), ignoreUnexported, ignoreVersion); diff != "" {
		t.Errorf("Rules() mismatch (-want +got):\n%s", diff)
	}

	ev := incident.Event{
		Labels:      map[string]string{"alertname": "NodeFilesystemAlmostOutOfSpace", "cluster": "eu1", "namespace": "checkout", "severity": "warning", "tier": "2"},
		Annotations: map[string]string{"description": "90% full"},
	}
	tests := []struct {
		name                      string
		rule                      *Rule
		wantImpact, wantUrgency   incident.Level
		wantTitle, wantSummary    string
		wantNoTitle, wantNoLevels bool
	}{
		{name: "Drop", rule: s.Rules()[0], wantNoTitle: true, wantNoLevels: true},
		{name: "OwnTitleAndImpact", rule: s.Rules()[1], wantImpact: incident.LevelMedium, wantUrgency: incident.LevelMedium,
			wantTitle: "Disk filling up on eu1", wantSummary: "90% full"},
		{name: "AllFromDefaults", rule: s.Rules()[2], wantImpact: incident.LevelMedium, wantUrgency: incident.LevelMedium,
			wantTitle: "NodeFilesystemAlmostOutOfSpace (checkout)", wantSummary: "90% full"},
		{name: "OwnSummary", rule: s.Rules()[3], wantImpact: incident.LevelMedium, wantUrgency: incident.LevelMedium,
			wantTitle: "NodeFilesystemAlmostOutOfSpace (checkout)", wantSummary: "Security: NodeFilesystemAlmostOutOfSpace"},
		{name: "Defaults", rule: s.Defaults(), wantImpact: incident.LevelMedium, wantUrgency: incident.LevelMedium,
			wantTitle: "NodeFilesystemAlmostOutOfSpace (checkout)", wantSummary: "90% full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			impact, urgency := tt.rule.Levels(ev.Labels)
			if impact != tt.wantImpact || urgency != tt.wantUrgency {
				t.Errorf("Levels() = %q, %q; want %q, %q", impact, urgency, tt.wantImpact, tt.wantUrgency)
			}
			title, err := tt.rule.Title(ev)
			if err != nil || title != tt.wantTitle {
				t.Errorf("Title() = %q, %v; want %q", title, err, tt.wantTitle)
			}
			summary, err := tt.rule.Summary(ev)
			if err != nil || summary != tt.wantSummary {
				t.Errorf("Summary() = %q, %v; want %q", summary, err, tt.wantSummary)
			}
		})
	}
}

// TestDefaultsInheritance checks that a correlation rule takes from the
// defaults block each field it does not set itself, and only those.
func TestDefaultsInheritance(t *testing.T) {
	tests := []struct {
		name     string
		defaults string // the defaults block, flow style
		rule     string // the rule's fields after name, flow style
		want     Rule   // Name, Pos and Version are not compared
	}{
		{
			name:     "WindowFromDefaults",
			defaults: "{window: 10m}",
			rule:     "{}",
			want:     Rule{Window: 10 * time.Minute, ReopenWithin: DefaultReopenWithin, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow},
		},
		{
			name:     "OwnWindowWins",
			defaults: "{window: 10m}",
			rule:     "{window: 2m}",
			want:     Rule{Window: 2 * time.Minute, ReopenWithin: DefaultReopenWithin, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow},
		},
		{
			name:     "NullTakesDefault",
			defaults: "{window: 10m, min_alerts: 3}",
			rule:     "{window: ~, min_alerts: ~}",
			want:     Rule{Window: 10 * time.Minute, ReopenWithin: DefaultReopenWithin, Resolve: ResolveAll, MinAlerts: 3, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow},
		},
		{
			name:     "EveryField",
			defaults: "{window: 1h, reopen_within: 2h, resolve: any, resolve_after: 3m, min_alerts: 4}",
			rule:     "{}",
			want:     Rule{Window: time.Hour, ReopenWithin: 2 * time.Hour, Resolve: ResolveAny, ResolveAfter: 3 * time.Minute, MinAlerts: 4, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow},
		},
		{
			name:     "EveryFieldOwn",
			defaults: "{window: 1h, reopen_within: 2h, resolve: any, resolve_after: 3m, min_alerts: 4}",
			rule:     "{window: 5m, reopen_within: 6m, resolve: all, resolve_after: 7m, min_alerts: 8}",
			want:     Rule{Window: 5 * time.Minute, ReopenWithin: 6 * time.Minute, Resolve: ResolveAll, ResolveAfter: 7 * time.Minute, MinAlerts: 8, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow},
		},
		{
			name:     "ManualRuleDropsDefaultGrace",
			defaults: "{resolve_after: 3m}",
			rule:     "{resolve: manual}",
			want:     Rule{ReopenWithin: DefaultReopenWithin, Resolve: ResolveManual, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow},
		},
		{
			name:     "OwnGraceWithDefaultResolve",
			defaults: "{resolve: any}",
			rule:     "{resolve_after: 1m}",
			want:     Rule{ReopenWithin: DefaultReopenWithin, Resolve: ResolveAny, ResolveAfter: time.Minute, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow},
		},
		{
			name:     "DropRuleTakesNothing",
			defaults: "{window: 1h, reopen_within: 2h, resolve: any, min_alerts: 4}",
			rule:     "{action: drop}",
			want:     Rule{ReopenWithin: DefaultReopenWithin, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Drop: true},
		},
		{
			name:     "EmptyDefaultsBlock",
			defaults: "{}",
			rule:     "{}",
			want:     Rule{ReopenWithin: DefaultReopenWithin, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, "d.yml", "defaults: "+tt.defaults+"\ncorrelations:\n  - name: r\n    <<: "+tt.rule+"\n")
			got := *s.Rules()[0]
			got.Name, got.Pos = "", yamlfile.Pos{}
			if diff := cmp.Diff(tt.want, got, ignoreUnexported, ignoreVersion); diff != "" {
				t.Errorf("rule mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefaultsAcrossFiles checks that one file's defaults block applies to
// the rules of every loaded file, before and after it.
func TestDefaultsAcrossFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yml": {Data: []byte("correlations: [{name: a}]\n")},
		"b.yml": {Data: []byte("defaults: {window: 7m, title: 'T {{ .Labels.x }}'}\ncorrelations: [{name: b}]\n")},
		"c.yml": {Data: []byte("correlations: [{name: c, window: 1m}]\n")},
	}
	s, err := Load(fsys, []string{"*.yml"})
	if err != nil {
		t.Fatal(err)
	}
	ev := incident.Event{Labels: map[string]string{"x": "1"}}
	for i, want := range []time.Duration{7 * time.Minute, 7 * time.Minute, time.Minute} {
		r := s.Rules()[i]
		if r.Window != want {
			t.Errorf("rule %q: Window = %v, want %v", r.Name, r.Window, want)
		}
		if title, err := r.Title(ev); err != nil || title != "T 1" {
			t.Errorf("rule %q: Title() = %q, %v; want %q", r.Name, title, err, "T 1")
		}
	}
}

func TestSetDefaults(t *testing.T) {
	builtin := &Rule{ReopenWithin: DefaultReopenWithin, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow}
	tests := []struct {
		name string
		yaml string
		want *Rule
	}{
		{name: "NoBlockIsBuiltin", yaml: "correlations: [{name: r, window: 5m}]", want: builtin},
		{name: "EmptyFileIsBuiltin", yaml: "", want: builtin},
		{name: "NullBlockIsBuiltin", yaml: "defaults: ~", want: builtin},
		{
			name: "Block",
			yaml: "defaults: {window: 5m, reopen_within: 1h, resolve: manual, min_alerts: 2}",
			want: &Rule{Window: 5 * time.Minute, ReopenWithin: time.Hour, Resolve: ResolveManual, MinAlerts: 2, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, "d.yml", tt.yaml).Defaults()
			if got == nil {
				t.Fatal("Defaults() = nil")
			}
			c := *got
			c.Pos = yamlfile.Pos{}
			if diff := cmp.Diff(tt.want, &c, ignoreUnexported); diff != "" {
				t.Errorf("Defaults() mismatch (-want +got):\n%s", diff)
			}
			impact, urgency := got.Levels(map[string]string{"severity": "critical"})
			title, _ := got.Title(incident.Event{})
			summary, _ := got.Summary(incident.Event{})
			if impact != "" || urgency != "" || title != "" || summary != "" || !got.Matches(nil) {
				t.Errorf("Defaults(): levels %q/%q, title %q, summary %q; want none", impact, urgency, title, summary)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	ev := incident.Event{
		Labels:      map[string]string{"alertname": "DiskFull", "re": "("},
		Annotations: map[string]string{"description": "the disk is full"},
	}
	tests := []struct {
		name    string
		yaml    string
		defs    bool // test the defaults pseudo-rule instead of rule r
		want    string
		wantErr string
	}{
		{name: "NoSummary", yaml: "correlations: [{name: r}]", want: ""},
		{name: "Rendered", yaml: "correlations: [{name: r, summary: '{{ .Labels.alertname }}: {{ .Annotations.description }}'}]", want: "DiskFull: the disk is full"},
		{name: "LongerThanATitle", yaml: "correlations: [{name: r, summary: '{{ range 5000 }}x{{ end }}'}]", want: strings.Repeat("x", 5000)},
		{
			name:    "ErrRule",
			yaml:    "correlations: [{name: r, summary: '{{ reReplaceAll .Labels.re \"\" \"x\" }}'}]",
			wantErr: `rule "r": summary: <reReplaceAll .Labels.re "" "x">: error calling reReplaceAll: regexp: Compile(` + "`(`" + `): error parsing regexp: missing closing ): ` + "`(`",
		},
		{
			name:    "ErrDefaults",
			yaml:    "defaults: {summary: '{{ reReplaceAll .Labels.re \"\" \"x\" }}'}",
			defs:    true,
			wantErr: `defaults: summary: <reReplaceAll .Labels.re "" "x">: error calling reReplaceAll: regexp: Compile(` + "`(`" + `): error parsing regexp: missing closing ): ` + "`(`",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, "s.yml", tt.yaml)
			r := s.Defaults()
			if !tt.defs {
				r = s.Rules()[0]
			}
			got, err := r.Summary(ev)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("Summary() = %q, %q; want %q, %q", got, gotErr, tt.want, tt.wantErr)
			}
		})
	}
}

func TestFlapSettings(t *testing.T) {
	s := mustParse(t, "r.yml", `defaults:
  flap_threshold: 3
correlations:
  - name: inherits
  - name: own
    flap_threshold: 10
    flap_window: 15m
`)
	got := map[string][2]any{}
	for _, r := range s.Rules() {
		got[r.Name] = [2]any{r.FlapThreshold, r.FlapWindow}
	}
	want := map[string][2]any{"inherits": {3, DefaultFlapWindow}, "own": {10, 15 * time.Minute}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"correlations: [{name: r, flap_threshold: 0}]", "r.yml:1:42: rule \"r\": flap_threshold: must be at least 1"},
		{"correlations: [{name: r, flap_window: 0s}]", "r.yml:1:39: rule \"r\": flap_window: must be greater than 0"},
		{"correlations: [{name: r, action: drop, flap_window: 1m}]", "flap_window: has no effect with action \"drop\""},
	} {
		if _, err := Parse("r.yml", []byte(bad.yaml)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v, want %q", bad.yaml, err, bad.want)
		}
	}
}
