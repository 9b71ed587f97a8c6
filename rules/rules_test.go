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

var ignoreUnexported = cmpopts.IgnoreUnexported(Rule{})

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
		{Name: "noise", ReopenWithin: 30 * time.Minute, Drop: true, Pos: pos(5, 5)},
		{Name: "watchdog", ReopenWithin: 30 * time.Minute, Drop: true, Pos: pos(9, 5)},
		{Name: "disk", By: []string{"cluster", "mountpoint"}, ReopenWithin: 2 * time.Hour,
			Impact: incident.LevelMedium, Urgency: incident.LevelHigh, Pos: pos(16, 5)},
		{Name: "payments-page", By: []string{"service"}, ReopenWithin: 24 * time.Hour,
			Impact: incident.LevelHigh, Pos: pos(27, 5)},
		{Name: "ops_default", By: []string{"alertname", "env"}, ReopenWithin: 30 * time.Minute, Pos: pos(40, 5)},
	}
	if diff := cmp.Diff(want, s.Rules(), ignoreUnexported); diff != "" {
		t.Errorf("Rules() mismatch (-want +got):\n%s", diff)
	}
	if got := s.Files(); !cmp.Equal(got, []string{"good.yml"}) {
		t.Errorf("Files() = %q, want [good.yml]", got)
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Rule
	}{
		{
			name: "ReopenWithinDefault",
			yaml: "correlations: [{name: r}]",
			want: Rule{Name: "r", ReopenWithin: DefaultReopenWithin},
		},
		{
			name: "ReopenWithinNullIsDefault",
			yaml: "correlations: [{name: r, reopen_within: ~, impact: ~, title: ~, action: ~}]",
			want: Rule{Name: "r", ReopenWithin: DefaultReopenWithin},
		},
		{
			name: "ReopenWithinDays",
			yaml: "correlations: [{name: r, reopen_within: 1d12h}]",
			want: Rule{Name: "r", ReopenWithin: 36 * time.Hour},
		},
		{
			name: "LevelsSet",
			yaml: "correlations: [{name: r, impact: low, urgency: medium}]",
			want: Rule{Name: "r", ReopenWithin: DefaultReopenWithin, Impact: incident.LevelLow, Urgency: incident.LevelMedium},
		},
		{
			name: "EmptyByAndMatchers",
			yaml: "correlations: [{name: r, by: [], matchers: []}]",
			want: Rule{Name: "r", ReopenWithin: DefaultReopenWithin},
		},
		{
			name: "Drop",
			yaml: "correlations: [{name: r, action: drop}]",
			want: Rule{Name: "r", ReopenWithin: DefaultReopenWithin, Drop: true},
		},
		{
			name: "MergeKeyOverridden",
			yaml: "correlations:\n  - &base {name: base, by: [a, b], impact: high}\n  - <<: *base\n    name: r\n",
			want: Rule{Name: "r", By: []string{"a", "b"}, ReopenWithin: DefaultReopenWithin, Impact: incident.LevelHigh},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, "r.yml", tt.yaml)
			// The rule under test is the last; earlier ones are anchors.
			got := *s.Rules()[s.Len()-1]
			got.Pos = yamlfile.Pos{}
			if diff := cmp.Diff(tt.want, got, ignoreUnexported); diff != "" {
				t.Errorf("rule mismatch (-want +got):\n%s", diff)
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
  - name: all
`)
	disk, all := s.Rules()[0], s.Rules()[1]
	tests := []struct {
		name   string
		rule   *Rule
		labels map[string]string
		want   string
	}{
		{"SortedByLabelName", disk, map[string]string{"kind": "disk", "cluster": "eu1", "mountpoint": "/", "instance": "a"}, `disk{cluster="eu1", mountpoint="/"}`},
		{"MissingLabelIsEmpty", disk, map[string]string{"cluster": "eu1"}, `disk{cluster="eu1", mountpoint=""}`},
		{"ValuesQuoted", disk, map[string]string{"cluster": `a"b`, "mountpoint": "/"}, `disk{cluster="a\"b", mountpoint="/"}`},
		{"EmptyByIsOneKey", all, map[string]string{"cluster": "eu1"}, "all{}"},
		{"EmptyByNilLabels", all, nil, "all{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.Key(incident.Event{Labels: tt.labels}); got != tt.want {
				t.Errorf("Key() = %q, want %q", got, tt.want)
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
}

// TestConcurrentUse runs Match, Key and Title from many goroutines, for the
// race detector: the daemon shares one Set between its workers.
func TestConcurrentUse(t *testing.T) {
	s := mustParseFile(t, "testdata/good.yml")
	ev := incident.Event{Labels: map[string]string{"alertname": "NodeFilesystemAlmostOutOfSpace", "cluster": "eu1", "mountpoint": "/"}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				r := s.Match(ev.Labels)
				if r == nil {
					t.Error("Match: no rule")
					return
				}
				r.Key(ev)
				if _, err := r.Title(ev); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
