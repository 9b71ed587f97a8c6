package yamlfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

type testFile struct {
	Rules        []Value[testRule]                         `yaml:"rules"`
	Labels       map[string]string                         `yaml:"labels"`
	Count        int                                       `yaml:"count"`
	Ratio        float64                                   `yaml:"ratio"`
	Enabled      *bool                                     `yaml:"enabled"`
	Timeout      time.Duration                             `yaml:"timeout"`
	Raw          yaml.Node                                 `yaml:"raw"`
	Level        Value[ScalarOrMapping[string, testTable]] `yaml:"level"`
	Limit        ScalarOrMapping[int, map[string]int]      `yaml:"limit"`
	Skipped      string                                    `yaml:"-"`
	Untagged     string
	TestEmbedded `yaml:",inline"`
}

type TestEmbedded struct {
	Extra Value[string] `yaml:"extra"`
}

type testTable struct {
	From Value[string]            `yaml:"from"`
	Map  map[string]Value[string] `yaml:"map"`
}

type testRule struct {
	Name Value[string]   `yaml:"name"`
	Tags []Value[string] `yaml:"tags"`
}

func p(line, col int) Pos { return Pos{File: "f.yml", Line: line, Col: col} }

func TestDecode(t *testing.T) {
	yes := true
	tests := []struct {
		name    string
		yaml    string
		want    testFile
		wantErr string
	}{
		{name: "OKEmptyFile", yaml: ""},
		{name: "OKOnlyComments", yaml: "# nothing here\n"},
		{name: "OKEmptyDocument", yaml: "---\n"},
		{name: "OKNullDocument", yaml: "~\n"},
		{
			name: "OKPositions",
			yaml: "rules:\n  - name: a\n    tags: [x, 'y']\n  - name: b\n",
			want: testFile{Rules: []Value[testRule]{
				{Pos: p(2, 5), V: testRule{Name: Value[string]{"a", p(2, 11)}, Tags: []Value[string]{{"x", p(3, 12)}, {"y", p(3, 15)}}}},
				{Pos: p(4, 5), V: testRule{Name: Value[string]{"b", p(4, 11)}}},
			}},
		},
		{
			name: "OKScalarsMapsInline",
			yaml: "labels: {a: '1', b: 2}\ncount: 3\nratio: 0.5\nenabled: true\ntimeout: 1m30s\nextra: e\nuntagged: u\n",
			want: testFile{
				Labels: map[string]string{"a": "1", "b": "2"}, Count: 3, Ratio: 0.5, Enabled: &yes,
				Timeout: 90 * time.Second, Untagged: "u", TestEmbedded: TestEmbedded{Extra: Value[string]{"e", p(6, 8)}},
			},
		},
		{
			name: "OKNullLeavesZeroButIsSet",
			yaml: "rules:\n  - name: ~\n    tags:\nenabled: null\n",
			want: testFile{Rules: []Value[testRule]{{Pos: p(2, 5), V: testRule{Name: Value[string]{"", p(2, 11)}}}}},
		},
		{
			name: "OKAliasesAndMerge",
			yaml: "rules:\n  - &a {name: a, tags: [t]}\n  - <<: *a\n    name: b\n  - *a\n",
			want: testFile{Rules: []Value[testRule]{
				{Pos: p(2, 5), V: testRule{Name: Value[string]{"a", p(2, 15)}, Tags: []Value[string]{{"t", p(2, 25)}}}},
				{Pos: p(3, 5), V: testRule{Name: Value[string]{"b", p(4, 11)}, Tags: []Value[string]{{"t", p(2, 25)}}}},
				// An alias's Value is where the alias is; what it holds is
				// where the anchor is.
				{Pos: p(5, 5), V: testRule{Name: Value[string]{"a", p(2, 15)}, Tags: []Value[string]{{"t", p(2, 25)}}}},
			}},
		},
		{
			name: "OKScalarOrMappingScalar",
			yaml: "level: high\nlimit: 3\n",
			want: testFile{
				Level: Value[ScalarOrMapping[string, testTable]]{V: ScalarOrMapping[string, testTable]{Scalar: "high"}, Pos: p(1, 8)},
				Limit: ScalarOrMapping[int, map[string]int]{Scalar: 3},
			},
		},
		{
			name: "OKScalarOrMappingMapping",
			yaml: "level:\n  from: severity\n  map: {critical: high}\nlimit: {a: 1}\n",
			want: testFile{
				Level: Value[ScalarOrMapping[string, testTable]]{Pos: p(2, 3), V: ScalarOrMapping[string, testTable]{IsMapping: true, Mapping: testTable{
					From: Value[string]{"severity", p(2, 9)},
					Map:  map[string]Value[string]{"critical": {"high", p(3, 19)}},
				}}},
				Limit: ScalarOrMapping[int, map[string]int]{IsMapping: true, Mapping: map[string]int{"a": 1}},
			},
		},
		{
			name: "OKScalarOrMappingNullAndAlias",
			yaml: "raw: &t {from: x}\nlevel: *t\nlimit: ~\n",
			want: testFile{
				Level: Value[ScalarOrMapping[string, testTable]]{Pos: p(2, 8), V: ScalarOrMapping[string, testTable]{IsMapping: true, Mapping: testTable{
					From: Value[string]{"x", p(1, 16)},
				}}},
			},
		},
		{
			name:    "ErrScalarOrMappingList",
			yaml:    "level: [high]\nlimit: [1]\n",
			wantErr: "f.yml:1:8: level: expected a string or a mapping, found a list\nf.yml:2:8: limit: expected an integer or a mapping, found a list",
		},
		{
			name:    "ErrScalarOrMappingBranches",
			yaml:    "level: {from: x, to: y}\nlimit: many\n",
			wantErr: "f.yml:1:18: unknown field \"to\"\nf.yml:2:8: limit: expected an integer, found \"many\"",
		},
		{
			name:    "ErrQuotedNumber",
			yaml:    "count: '1'\nenabled: \"true\"\n",
			wantErr: "f.yml:1:8: count: expected an integer, found the quoted string \"1\"\nf.yml:2:10: enabled: expected a boolean, found the quoted string \"true\"",
		},
		{
			name:    "ErrFractionIntoInteger",
			yaml:    "count: 1.5\nlimit: 2.0\n",
			wantErr: "f.yml:1:8: count: expected an integer, found \"1.5\"\nf.yml:2:8: limit: expected an integer, found \"2.0\"",
		},
		{
			name:    "ErrUnknownField",
			yaml:    "rules:\n  - name: a\n    tag: [x]\nfoo: 1\n",
			wantErr: "f.yml:3:5: unknown field \"tag\"\nf.yml:4:1: unknown field \"foo\"",
		},
		{
			name:    "ErrSkippedFieldIsUnknown",
			yaml:    "skipped: x\n",
			wantErr: `f.yml:1:1: unknown field "skipped"`,
		},
		{
			name:    "ErrDuplicateKey",
			yaml:    "count: 1\nlabels: {a: x, a: y}\ncount: 2\n",
			wantErr: "f.yml:2:16: duplicate key \"a\", first at line 2\nf.yml:3:1: duplicate key \"count\", first at line 1",
		},
		{
			name:    "ErrKinds",
			yaml:    "rules: {name: a}\nlabels: [a]\ncount: [1]\n",
			wantErr: "f.yml:1:8: rules: expected a list, found a mapping\nf.yml:2:9: labels: expected a mapping, found a list\nf.yml:3:8: count: expected an integer, found a list",
		},
		{
			name:    "ErrListElementKinds",
			yaml:    "rules:\n  - x\n  - name: [a]\n    tags: [[b], {c: d}]\n",
			wantErr: "f.yml:2:5: rules: expected a mapping, found \"x\"\nf.yml:3:11: name: expected a string, found a list\nf.yml:4:12: tags: expected a string, found a list\nf.yml:4:17: tags: expected a string, found a mapping",
		},
		{
			name:    "ErrScalarValues",
			yaml:    "count: many\nenabled: maybe\nratio: x\ntimeout: soon\n",
			wantErr: "f.yml:1:8: count: expected an integer, found \"many\"\nf.yml:2:10: enabled: expected a boolean, found \"maybe\"\nf.yml:3:8: ratio: expected a number, found \"x\"\nf.yml:4:10: timeout: expected an integer, found \"soon\"",
		},
		{
			name:    "ErrTopLevelNotMapping",
			yaml:    "- a\n",
			wantErr: "f.yml:1:1: expected a mapping, found a list",
		},
		{
			name:    "ErrNonStringKey",
			yaml:    "? [a]\n: b\n",
			wantErr: "f.yml:1:3: expected a string key, found a list",
		},
		{
			name:    "ErrTwoDocuments",
			yaml:    "count: 1\n---\ncount: 2\n",
			wantErr: "f.yml:2:1: a file must hold one YAML document, found another",
		},
		{
			name:    "ErrSyntaxFirstLine",
			yaml:    "a: b: c\n",
			wantErr: "f.yml:1: yaml: mapping values are not allowed in this context",
		},
		{
			name:    "ErrSyntaxScannerLine",
			yaml:    "count: 1\nlabels: \"\\q\"\n",
			wantErr: "f.yml:2: yaml: found unknown escape character",
		},
		{
			name:    "ErrSyntaxParserLine",
			yaml:    "count: 1\nrules:\n  - [a\n",
			wantErr: "f.yml:3: yaml: did not find expected ',' or ']'",
		},
		{
			name:    "ErrSyntaxBadUTF8",
			yaml:    "count: 1\nlabels: {a: \xff}\n",
			wantErr: "f.yml:2:13: yaml: invalid leading UTF-8 octet",
		},
		{
			name:    "ErrSyntaxControlCharacter",
			yaml:    "count: 1\nlabels: {a: é\x01}\n",
			wantErr: "f.yml:2:14: yaml: control characters are not allowed",
		},
		{
			name:    "ErrUnknownAnchor",
			yaml:    "count: 1\nrules: [*nope]\n",
			wantErr: "f.yml:2:9: yaml: unknown anchor 'nope' referenced",
		},
		{
			name:    "ErrAliasedMappingAsString",
			yaml:    "labels: &a {x: *a}\n",
			wantErr: "f.yml:1:9: x: expected a string, found a mapping",
		},
		{
			name:    "ErrMergeNotMapping",
			yaml:    "labels: {<<: [x]}\n",
			wantErr: "f.yml:1:15: expected a mapping to merge, found \"x\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got testFile
			err := Decode("f.yml", []byte(tt.yaml), &got)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Fatalf("Decode() error:\n%s\nwant:\n%s", gotErr, tt.wantErr)
			}
			if err != nil {
				var list Errors
				if !errors.As(err, &list) {
					t.Errorf("error %T is not an Errors", err)
				}
				return
			}
			got.Raw = yaml.Node{}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRawNode(t *testing.T) {
	var got testFile
	if err := Decode("f.yml", []byte("raw: {anything: [goes]}\n"), &got); err != nil {
		t.Fatal(err)
	}
	if got.Raw.Kind != yaml.MappingNode || got.Raw.Line != 1 || got.Raw.Column != 6 {
		t.Errorf("Raw = kind %d at %d:%d, want a mapping at 1:6", got.Raw.Kind, got.Raw.Line, got.Raw.Column)
	}
}

// nest is a list of lists of any depth, so that a document's aliases and
// nesting are followed by the decoder itself and not by yaml.v3.
type nest []nest

// TestDecodeLimits feeds documents whose walk would take exponential time
// (nested aliases, "billion laughs") or never end (an alias to its own
// ancestor), and wants a prompt error instead.
func TestDecodeLimits(t *testing.T) {
	var laughs strings.Builder
	laughs.WriteString("l:\n  - &a0 []\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&laughs, "  - &a%d [%s]\n", i, strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9)+fmt.Sprintf("*a%d", i-1))
	}
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{
			name:    "ErrBillionLaughs",
			yaml:    laughs.String(),
			wantErr: "aliases expand to too many nodes (more than 65536 beyond the document's own)",
		},
		{
			name:    "ErrDeepNesting",
			yaml:    "l: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n",
			wantErr: "f.yml:1:104: document nested more than 100 levels deep (or an alias refers to itself)",
		},
		{
			name:    "ErrAliasCycle",
			yaml:    "l: &a [*a]\n",
			wantErr: "f.yml:1:8: document nested more than 100 levels deep (or an alias refers to itself)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				L nest `yaml:"l"`
			}
			err := Decode("f.yml", []byte(tt.yaml), &got)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Decode() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
