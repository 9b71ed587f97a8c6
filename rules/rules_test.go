package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

var (
	ignoreUnexported = cmpopts.IgnoreUnexported(Rule{}, Service{})
	ignoreVersion    = cmpopts.IgnoreFields(Rule{}, "Version")
)

func mustParse(t *testing.T, name, text string) *Set {
	t.Helper()
	s, err := Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("Parse(%s):\n%v", name, err)
	}
	return s
}

func mustParseFile(t *testing.T, path string) *Set {
	t.Helper()
	return mustParse(t, filepath.Base(path), string(mustRead(t, path)))
}

func pos(line, col int) yamlfile.Pos { return yamlfile.Pos{File: "good.yml", Line: line, Col: col} }

func TestParseGood(t *testing.T) {
	s := mustParseFile(t, "testdata/good.yml")
	want := []*Rule{
		{Name: "noise", ReopenWithin: 30 * time.Minute, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Drop: true, Pos: pos(5, 5)},
		{Name: "watchdog", ReopenWithin: 30 * time.Minute, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Drop: true, Pos: pos(9, 5)},
		{Name: "disk", By: []string{"cluster", "mountpoint"}, ReopenWithin: 2 * time.Hour, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Pos: pos(16, 5)},
		{Name: "payments-page", By: []string{"service"}, ReopenWithin: 24 * time.Hour, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Pos: pos(27, 5)},
		{Name: "ops_default", By: []string{"alertname", "env"}, ReopenWithin: 30 * time.Minute, Resolve: ResolveAll, MinAlerts: 1, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow, Pos: pos(40, 5)},
	}
	if diff := cmp.Diff(want, s.Rules(), ignoreUnexported, ignoreVersion); diff != "" {
		t.Errorf("Rules() mismatch (-want +got):\n%s", diff)
	}
	wantLevels := map[string][2]incident.Level{
		"disk":          {incident.LevelMedium, incident.LevelHigh},
		"payments-page": {incident.LevelHigh, ""},
	}
	for _, r := range s.Rules() {
		if len(r.Version) != 8 {
			t.Errorf("rule %q: Version = %q, want 8 hex digits", r.Name, r.Version)
		}
		impact, urgency := r.Levels(nil)
		if got := [2]incident.Level{impact, urgency}; got != wantLevels[r.Name] {
			t.Errorf("rule %q: Levels() = %q, want %q", r.Name, got, wantLevels[r.Name])
		}
	}
	if got := s.Files(); !cmp.Equal(got, []string{"good.yml"}) {
		t.Errorf("Files() = %q, want [good.yml]", got)
	}
}

// TestBuiltinDefaults checks what a rule gets when neither it nor a
// defaults block sets a field.
func TestBuiltinDefaults(t *testing.T) {
	// builtin fills in the built-in defaults a test case does not set.
	builtin := func(r Rule) Rule {
		if r.ReopenWithin == 0 {
			r.ReopenWithin = DefaultReopenWithin
		}
		if r.Resolve == "" {
			r.Resolve = ResolveAll
		}
		if r.MinAlerts == 0 {
			r.MinAlerts = 1
		}
		if r.FlapThreshold == 0 {
			r.FlapThreshold, r.FlapWindow = DefaultFlapThreshold, DefaultFlapWindow
		}
		return r
	}
	tests := []struct {
		name        string
		yaml        string
		want        Rule
		wantImpact  incident.Level
		wantUrgency incident.Level
	}{
		{
			name: "ReopenWithinDefault",
			yaml: "correlations: [{name: r}]",
			want: builtin(Rule{Name: "r"}),
		},
		{
			name: "NullIsDefault",
			yaml: "correlations: [{name: r, reopen_within: ~, window: ~, resolve: ~, resolve_after: ~, min_alerts: ~, impact: ~, title: ~, summary: ~, action: ~}]",
			want: builtin(Rule{Name: "r"}),
		},
		{
			name: "ReopenWithinDays",
			yaml: "correlations: [{name: r, reopen_within: 1d12h}]",
			want: builtin(Rule{Name: "r", ReopenWithin: 36 * time.Hour}),
		},
		{
			name:        "LevelsSet",
			yaml:        "correlations: [{name: r, impact: low, urgency: medium}]",
			want:        builtin(Rule{Name: "r"}),
			wantImpact:  incident.LevelLow,
			wantUrgency: incident.LevelMedium,
		},
		{
			name: "NewFieldsSet",
			yaml: "correlations: [{name: r, window: 15m, resolve: any, resolve_after: 2m, min_alerts: 3}]",
			want: builtin(Rule{Name: "r", Window: 15 * time.Minute, Resolve: ResolveAny, ResolveAfter: 2 * time.Minute, MinAlerts: 3, FlapThreshold: DefaultFlapThreshold, FlapWindow: DefaultFlapWindow}),
		},
		{
			name: "Manual",
			yaml: "correlations: [{name: r, resolve: manual}]",
			want: builtin(Rule{Name: "r", Resolve: ResolveManual}),
		},
		{
			name: "EmptyByAndMatchers",
			yaml: "correlations: [{name: r, by: [], matchers: []}]",
			want: builtin(Rule{Name: "r"}),
		},
		{
			name: "Drop",
			yaml: "correlations: [{name: r, action: drop}]",
			want: builtin(Rule{Name: "r", Drop: true}),
		},
		{
			name:       "MergeKeyOverridden",
			yaml:       "correlations:\n  - &base {name: base, by: [a, b], impact: high}\n  - <<: *base\n    name: r\n",
			want:       builtin(Rule{Name: "r", By: []string{"a", "b"}}),
			wantImpact: incident.LevelHigh,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, "r.yml", tt.yaml)
			// The rule under test is the last; earlier ones are anchors.
			r := s.Rules()[s.Len()-1]
			got := *r
			got.Pos = yamlfile.Pos{}
			if diff := cmp.Diff(tt.want, got, ignoreUnexported, ignoreVersion); diff != "" {
				t.Errorf("rule mismatch (-want +got):\n%s", diff)
			}
			impact, urgency := r.Levels(map[string]string{"severity": "critical"})
			if impact != tt.wantImpact || urgency != tt.wantUrgency {
				t.Errorf("Levels() = %q, %q; want %q, %q", impact, urgency, tt.wantImpact, tt.wantUrgency)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	good := mustParseFile(t, "testdata/good.yml")
	special := mustParse(t, "special.yml", `
correlations:
  - name: utf8
    matchers: ['"service.name"="checkout"', 'team=~"sre|ops"']
  - name: catch-all
`)
	tests := []struct {
		name   string
		set    *Set
		labels map[string]string
		want   string // "" for no rule
	}{
		{"FirstRuleWins", good, map[string]string{"severity": "info", "team": "ops"}, "noise"},
		{"RegexAlternative", good, map[string]string{"alertname": "InfoInhibitor"}, "watchdog"},
		{"RegexIsAnchored", good, map[string]string{"alertname": "WatchdogX"}, ""},
		{"AllMatchersMatch", good, map[string]string{"alertname": "NodeFilesystemAlmostOutOfSpace", "severity": "warning"}, "disk"},
		{"MissingLabelIsEmpty", good, map[string]string{"alertname": "NodeFilesystemFilesOutOfSpace"}, "disk"},
		{"OneMatcherFails", good, map[string]string{"alertname": "NodeFilesystemAlmostOutOfSpace", "severity": "none"}, ""},
		{"LaterRule", good, map[string]string{"team": "payments", "severity": "page"}, "payments-page"},
		{"NoRuleMatches", good, map[string]string{"team": "payments", "severity": "warning"}, ""},
		{"ClassicSyntax", good, map[string]string{"team": "ops", "alertname": "X"}, "ops_default"},
		{"NilLabels", good, nil, ""},
		{"UTF8LabelName", special, map[string]string{"service.name": "checkout", "team": "sre"}, "utf8"},
		{"NoMatchersMatchesAll", special, map[string]string{"service.name": "cart"}, "catch-all"},
		{"NoMatchersMatchesNil", special, nil, "catch-all"},
		{"NilSet", nil, map[string]string{"team": "ops"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if r := tt.set.Match(tt.labels); r != nil {
				got = r.Name
			}
			if got != tt.want {
				t.Errorf("Match(%v) = %q, want %q", tt.labels, got, tt.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	s := mustParse(t, "key.yml", `
correlations:
  - name: disk
    matchers: [kind=disk]
    by: [mountpoint, cluster]
  - name: svc
    matchers: [kind=svc]
    by: [service, cluster]
  - name: all
`)
	disk, svc, all := s.Rules()[0], s.Rules()[1], s.Rules()[2]
	tests := []struct {
		name    string
		rule    *Rule
		labels  map[string]string
		service string
		want    string
	}{
		{"SortedByLabelName", disk, map[string]string{"kind": "disk", "cluster": "eu1", "mountpoint": "/", "instance": "a"}, "", `disk@` + disk.Version + `{cluster="eu1", mountpoint="/"}`},
		{"MissingLabelIsEmpty", disk, map[string]string{"cluster": "eu1"}, "", `disk@` + disk.Version + `{cluster="eu1", mountpoint=""}`},
		{"ValuesQuoted", disk, map[string]string{"cluster": `a"b`, "mountpoint": "/"}, "", `disk@` + disk.Version + `{cluster="a\"b", mountpoint="/"}`},
		{"ServiceArgumentIgnoredWithoutServiceInBy", disk, map[string]string{"cluster": "eu1", "mountpoint": "/"}, "checkout", `disk@` + disk.Version + `{cluster="eu1", mountpoint="/"}`},
		{"ServicePseudoLabel", svc, map[string]string{"cluster": "eu1"}, "checkout", `svc@` + svc.Version + `{cluster="eu1", service="checkout"}`},
		{"ServicePseudoLabelNotTheLabel", svc, map[string]string{"cluster": "eu1", "service": "cart"}, "checkout", `svc@` + svc.Version + `{cluster="eu1", service="checkout"}`},
		{"NoCatalogServiceIsEmpty", svc, map[string]string{"cluster": "eu1", "service": "cart"}, "", `svc@` + svc.Version + `{cluster="eu1", service=""}`},
		{"EmptyByIsOneKey", all, map[string]string{"cluster": "eu1"}, "", "all@" + all.Version + "{}"},
		{"EmptyByNilLabels", all, nil, "x", "all@" + all.Version + "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.Key(incident.Event{Labels: tt.labels}, tt.service); got != tt.want {
				t.Errorf("Key() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	const base = `
correlations:
  - name: disk
    matchers: ['alertname=~"Disk.*"', severity!=none]
    by: [cluster, mountpoint]
    title: 'Disk {{ .Labels.cluster }}'
    impact: high
`
	baseVersion := mustParse(t, "v.yml", base).Rules()[0].Version
	tests := []struct {
		name     string
		old, new string // replaced in base
		wantSame bool
	}{
		{"SameTextSame", "", "", true},
		{"TitleChangeSame", "'Disk {{ .Labels.cluster }}'", "'Full: {{ .Labels.cluster }}'", true},
		{"ImpactChangeSame", "impact: high", "impact: {label: severity, map: {critical: high}}", true},
		{"NewFieldsSame", "impact: high", "window: 5m\n    reopen_within: 1h\n    resolve: any\n    min_alerts: 2\n    summary: s", true},
		{"NameChangeSame", "name: disk", "name: disk2", true},
		{"MatcherOrderSame", `['alertname=~"Disk.*"', severity!=none]`, `[severity!=none, 'alertname=~"Disk.*"']`, true},
		{"MatcherSpaceTrimmedSame", `severity!=none]`, `'  severity!=none '] `, true},
		{"MatcherChangeDiffers", "severity!=none", "severity!=info", false},
		{"MatcherAddedDiffers", "severity!=none]", "severity!=none, team=ops]", false},
		{"MatcherSpellingDiffers", "severity!=none", `severity!="none"`, false},
		{"ByChangeDiffers", "[cluster, mountpoint]", "[cluster, device]", false},
		{"ByOrderDiffers", "[cluster, mountpoint]", "[mountpoint, cluster]", false},
		{"ByAddedDiffers", "[cluster, mountpoint]", "[cluster, mountpoint, service]", false},
		{"ByMovedToMatchersDiffers", "by: [cluster, mountpoint]", "by: [cluster]", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(base, tt.old, tt.new, 1)
			if text == base && tt.old != "" {
				t.Fatalf("%q not found in base", tt.old)
			}
			got := mustParse(t, "v.yml", text).Rules()[0].Version
			if (got == baseVersion) != tt.wantSame {
				t.Errorf("Version = %s, base %s; want same: %v", got, baseVersion, tt.wantSame)
			}
		})
	}
}

// TestVersionPinned pins the version of one rule. Any change to how Version
// is computed changes every key and orphans every open incident: if this
// fails, undo the change.
func TestVersionPinned(t *testing.T) {
	r := mustParse(t, "v.yml", "correlations: [{name: r, matchers: [b=2, 'a=\"1\"'], by: [x, service]}]").Rules()[0]
	if r.Version != "6cb68301" {
		t.Errorf("Version = %q, want %q", r.Version, "6cb68301")
	}
}

func TestLevels(t *testing.T) {
	critical := map[string]string{"severity": "critical", "tier": "1"}
	tests := []struct {
		name        string
		fields      string // YAML of the rule's fields after name
		defaults    string // YAML of the defaults block, if any
		labels      map[string]string
		wantImpact  incident.Level
		wantUrgency incident.Level
	}{
		{name: "Unset", fields: "{}", labels: critical},
		{name: "Fixed", fields: "{impact: high, urgency: low}", labels: critical, wantImpact: incident.LevelHigh, wantUrgency: incident.LevelLow},
		{
			name:   "Mapped",
			fields: "{impact: {label: tier, map: {'1': high, '2': medium}}, urgency: {label: severity, map: {critical: high, warning: medium}, default: low}}",
			labels: critical, wantImpact: incident.LevelHigh, wantUrgency: incident.LevelHigh,
		},
		{
			name:   "MappedMissWithDefault",
			fields: "{urgency: {label: severity, map: {critical: high}, default: low}}",
			labels: map[string]string{"severity": "warning"}, wantUrgency: incident.LevelLow,
		},
		{
			name:   "MappedMissingLabelGetsDefault",
			fields: "{urgency: {label: severity, map: {critical: high}, default: medium}}",
			labels: nil, wantUrgency: incident.LevelMedium,
		},
		{
			name:   "MappedMissWithoutDefaultIsEmpty",
			fields: "{impact: {label: severity, map: {critical: high}}, urgency: medium}",
			labels: map[string]string{"severity": "warning"}, wantUrgency: incident.LevelMedium,
		},
		{
			name:   "MappedIsCaseSensitive",
			fields: "{impact: {label: severity, map: {critical: high}}}",
			labels: map[string]string{"severity": "Critical"},
		},
		{
			name:   "MappedEmptyValue",
			fields: "{impact: {label: env, map: {'': low, prod: high}}}",
			labels: critical, wantImpact: incident.LevelLow,
		},
		{
			name: "FromDefaults", fields: "{impact: low}",
			defaults: "{impact: high, urgency: {label: severity, map: {critical: high}}}",
			labels:   critical, wantImpact: incident.LevelLow, wantUrgency: incident.LevelHigh,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "correlations:\n  - name: r\n    <<: " + tt.fields + "\n"
			if tt.defaults != "" {
				text += "defaults: " + tt.defaults + "\n"
			}
			r := mustParse(t, "levels.yml", text).Rules()[0]
			impact, urgency := r.Levels(tt.labels)
			if impact != tt.wantImpact || urgency != tt.wantUrgency {
				t.Errorf("Levels(%v) = %q, %q; want %q, %q", tt.labels, impact, urgency, tt.wantImpact, tt.wantUrgency)
			}
		})
	}
}

func TestTitle(t *testing.T) {
	ev := incident.Event{
		Fingerprint:  "abc123",
		Status:       incident.StatusFiring,
		Labels:       map[string]string{"alertname": "DiskFull", "service": "checkout", "cluster": "eu1", "re": "("},
		Annotations:  map[string]string{"summary": "disk 95% full"},
		StartsAt:     time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		GeneratorURL: "http://prom/graph",
	}
	tests := []struct {
		name    string
		title   string // YAML scalar, as written after "title: "
		ev      incident.Event
		want    string
		wantErr string
	}{
		{name: "NoTitle", title: "", ev: ev, want: ""},
		{name: "LabelsAndAnnotations", title: `'{{ .Labels.alertname }} on {{ .Labels.cluster }}: {{ .Annotations.summary }}'`, ev: ev, want: "DiskFull on eu1: disk 95% full"},
		{name: "AlertmanagerFuncs", title: `'{{ .Labels.service | toUpper }} {{ .Labels.alertname | toLower | title }} {{ stringSlice "a" "b" | join "+" }}'`, ev: ev, want: "CHECKOUT Diskfull a+b"},
		{name: "SortedPairs", title: `'{{ range .Labels.SortedPairs }}{{ .Name }} {{ end }}'`, ev: ev, want: "alertname cluster re service"},
		{name: "AlertFields", title: `'{{ .Status }} {{ .Fingerprint }} {{ .StartsAt.Format "2006-01-02" }} {{ .EndsAt.IsZero }} {{ .GeneratorURL }}'`, ev: ev, want: "firing abc123 2026-03-04 true http://prom/graph"},
		{name: "MissingLabelIsEmpty", title: `'[{{ .Labels.nope }}]'`, ev: ev, want: "[]"},
		{name: "NilMaps", title: `'[{{ .Labels.alertname }}{{ .Annotations.summary }}]'`, ev: incident.Event{}, want: "[]"},
		{name: "SpaceTrimmed", title: "|\n      {{ .Labels.alertname }}\n", ev: ev, want: "DiskFull"},
		{name: "ErrFunctionFails", title: `'{{ reReplaceAll .Labels.re "" "x" }}'`, ev: ev, wantErr: `rule "r": title: <reReplaceAll .Labels.re "" "x">: error calling reReplaceAll: regexp: Compile(` + "`(`" + `): error parsing regexp: missing closing ): ` + "`(`"},
		{name: "ErrTooLong", title: `'{{ .Labels.x }}{{ .Labels.x }}'`, ev: incident.Event{Labels: map[string]string{"x": strings.Repeat("x", 3000)}}, wantErr: `rule "r": title: longer than 4096 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "correlations:\n  - name: r\n"
			if tt.title != "" {
				text += "    title: " + tt.title + "\n"
			}
			r := mustParse(t, "title.yml", text).Rules()[0]
			got, err := r.Title(tt.ev)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("Title() = %q, %q; want %q, %q", got, gotErr, tt.want, tt.wantErr)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"rules/a.yml":     {Data: []byte("correlations: [{name: a1}, {name: a2}]\n")},
		"rules/b.yml":     {Data: []byte("correlations: [{name: b1}]\n")},
		"rules/empty.yml": {Data: nil},
		"other/c.yml":     {Data: []byte("correlations: [{name: c1}]\n")},
		"bad/dup.yml":     {Data: []byte("correlations: [{name: a1}]\n")},
	}
	tests := []struct {
		name      string
		patterns  []string
		wantFiles []string
		wantRules []string
		wantErr   string
	}{
		{
			name:      "OKGlobInLexicalOrder",
			patterns:  []string{"rules/*.yml"},
			wantFiles: []string{"rules/a.yml", "rules/b.yml", "rules/empty.yml"},
			wantRules: []string{"a1", "a2", "b1"},
		},
		{
			name:      "OKPatternOrder",
			patterns:  []string{"other/c.yml", "rules/b.yml", "rules/a.yml"},
			wantFiles: []string{"other/c.yml", "rules/b.yml", "rules/a.yml"},
			wantRules: []string{"c1", "b1", "a1", "a2"},
		},
		{
			name:      "OKFileMatchedTwiceReadOnce",
			patterns:  []string{"rules/b.yml", "rules/*.yml"},
			wantFiles: []string{"rules/b.yml", "rules/a.yml", "rules/empty.yml"},
			wantRules: []string{"b1", "a1", "a2"},
		},
		{
			name:      "OKEmptyFile",
			patterns:  []string{"rules/empty.yml"},
			wantFiles: []string{"rules/empty.yml"},
		},
		{
			name:     "OKNoPatterns",
			patterns: nil,
		},
		{
			name:     "ErrMissingFile",
			patterns: []string{"rules/a.yml", "rules/nope.yml"},
			wantErr:  "rules/nope.yml: file does not exist",
		},
		{
			name:     "ErrNoMatch",
			patterns: []string{"rules/*.yaml"},
			wantErr:  "rules/*.yaml: pattern matches no files",
		},
		{
			name:     "ErrBadPattern",
			patterns: []string{"rules/[.yml"},
			wantErr:  "rules/[.yml: bad pattern: syntax error in pattern",
		},
		{
			name:     "ErrDuplicateNameAcrossFiles",
			patterns: []string{"rules/a.yml", "bad/dup.yml"},
			wantErr:  `bad/dup.yml:1:23: rule "a1": name: duplicate name, first defined at rules/a.yml:1:23`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(fsys, tt.patterns)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
				var list yamlfile.Errors
				if !errors.As(err, &list) {
					t.Errorf("error %T is not a yamlfile.Errors", err)
				}
				if s != nil {
					t.Errorf("got a Set with the error, want nil")
				}
			}
			if gotErr != tt.wantErr {
				t.Fatalf("Load() error = %q, want %q", gotErr, tt.wantErr)
			}
			if err != nil {
				return
			}
			var names []string
			for _, r := range s.Rules() {
				names = append(names, r.Name)
			}
			if diff := cmp.Diff(tt.wantRules, names); diff != "" {
				t.Errorf("rule order mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantFiles, s.Files()); diff != "" {
				t.Errorf("Files() mismatch (-want +got):\n%s", diff)
			}
			if s.Len() != len(tt.wantRules) {
				t.Errorf("Len() = %d, want %d", s.Len(), len(tt.wantRules))
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	mustWrite(t, good, "correlations: [{name: g}]\n")
	mustWrite(t, bad, "correlations: [{name: b, by: [x, x]}]\n")
	t.Chdir(sub)

	tests := []struct {
		name     string
		patterns []string
		wantErr  string
	}{
		{name: "OKAbsolute", patterns: []string{good}},
		{name: "OKParent", patterns: []string{"../good.yml"}},
		{name: "OKGlob", patterns: []string{"../g*.yml"}},
		{name: "ErrNamedAsTypedAbsolute", patterns: []string{bad}, wantErr: bad + `:1:34: rule "b": by: duplicate label "x"`},
		{name: "ErrNamedAsTypedRelative", patterns: []string{"./../bad.yml"}, wantErr: `./../bad.yml:1:34: rule "b": by: duplicate label "x"`},
		{name: "ErrMissing", patterns: []string{"nope.yml"}, wantErr: "nope.yml: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFiles(tt.patterns)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("LoadFiles(%q) error = %q, want %q", tt.patterns, gotErr, tt.wantErr)
			}
		})
	}
}

func TestLoadFilesAllowEmpty(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	mustWrite(t, good, "correlations: [{name: g}]\n")
	emptyGlob := filepath.Join(dir, "rules.d", "*.yml") // the directory does not exist either

	tests := []struct {
		name          string
		patterns      []string
		wantRules     int
		wantUnmatched []string
		wantErr       string
	}{
		{name: "OKGlobMatchesNothing", patterns: []string{emptyGlob}, wantUnmatched: []string{emptyGlob}},
		{name: "OKGlobMatchesNothingBesideAFile", patterns: []string{good, emptyGlob}, wantRules: 1, wantUnmatched: []string{emptyGlob}},
		{name: "OKEveryGlobMatches", patterns: []string{filepath.Join(dir, "*.yml")}, wantRules: 1},
		{name: "ErrMissingFile", patterns: []string{filepath.Join(dir, "nope.yml"), emptyGlob}, wantErr: filepath.Join(dir, "nope.yml") + ": no such file or directory"},
		{name: "ErrBadPattern", patterns: []string{filepath.Join(dir, "[.yml")}, wantErr: filepath.Join(dir, "[.yml") + ": bad pattern: syntax error in pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, unmatched, err := LoadFilesAllowEmpty(tt.patterns)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Fatalf("LoadFilesAllowEmpty(%q) error = %q, want %q", tt.patterns, gotErr, tt.wantErr)
			}
			if err != nil {
				if set != nil || unmatched != nil {
					t.Errorf("got a Set %v and unmatched %q with the error, want neither", set, unmatched)
				}
				return
			}
			if set == nil || set.Len() != tt.wantRules {
				t.Errorf("LoadFilesAllowEmpty(%q) rules = %d, want %d", tt.patterns, set.Len(), tt.wantRules)
			}
			if diff := cmp.Diff(tt.wantUnmatched, unmatched); diff != "" {
				t.Errorf("unmatched mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// LoadFiles, which rules check, rules test and the tools use, stays
	// strict: a glob given to check that checks nothing is a mistake.
	if _, err := LoadFiles([]string{emptyGlob}); err == nil || err.Error() != emptyGlob+": pattern matches no files" {
		t.Errorf("LoadFiles(%q) error = %v, want pattern matches no files", emptyGlob, err)
	}
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHash(t *testing.T) {
	a := []byte("correlations: [{name: a}]\n")
	b := []byte("correlations: [{name: b}]\n")
	fsys := fstest.MapFS{"a.yml": {Data: a}, "b.yml": {Data: b}}
	sum := func(parts ...[]byte) string {
		h := sha256.New()
		for _, p := range parts {
			h.Write(p)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	load := func(patterns ...string) *Set {
		s, err := Load(fsys, patterns)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name string
		set  *Set
		want string
	}{
		{"OneFileIsSha256sum", load("a.yml"), sum(a)},
		{"FilesInLoadOrder", load("a.yml", "b.yml"), sum(a, b)},
		{"OrderMatters", load("b.yml", "a.yml"), sum(b, a)},
		{"ParseSameAsLoad", mustParse(t, "x.yml", string(a)), sum(a)},
		{"NilSet", nil, sum()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.Hash(); got != tt.want {
				t.Errorf("Hash() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNilSet(t *testing.T) {
	var s *Set
	if s.Len() != 0 || s.Rules() != nil || s.Files() != nil || s.Match(map[string]string{"a": "b"}) != nil {
		t.Errorf("nil Set: Len=%d Rules=%v Files=%v, want an empty set", s.Len(), s.Rules(), s.Files())
	}
	if s.Services() != nil || s.Service(map[string]string{"a": "b"}) != nil || s.ServiceByName("a") != nil || s.Defaults() != nil {
		t.Errorf("nil Set: Services=%v Defaults=%v, want none", s.Services(), s.Defaults())
	}
}

// TestConcurrentUse runs Match, Key and Title from many goroutines, for the
// race detector: the daemon shares one Set between its workers.
func TestConcurrentUse(t *testing.T) {
	s := mustParseFile(t, "testdata/full.yml")
	ev := incident.Event{Labels: map[string]string{"alertname": "NodeFilesystemAlmostOutOfSpace", "cluster": "eu1", "mountpoint": "/", "namespace": "checkout"}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				r := s.Match(ev.Labels)
				if r == nil {
					t.Error("Match: no rule")
					return
				}
				r.Key(ev, s.Service(ev.Labels).Name)
				r.Levels(ev.Labels)
				if _, err := r.Title(ev); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Defaults().Summary(ev); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
