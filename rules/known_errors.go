package rules

import (
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// Problems returns the problem rules and the known errors, in file order,
// then list order. They share no memory with the Set.
func (s *Set) Problems() incident.Problems {
	if s == nil {
		return incident.Problems{}
	}
	return incident.Problems{Rules: s.ProblemRules(), KnownErrors: slices.Clone(s.knownErrors)}
}

// knownErrorSpec is one entry of known_errors as written.
type knownErrorSpec struct {
	Name       yamlfile.Value[string]                   `yaml:"name"`
	Signature  yamlfile.Value[string]                   `yaml:"signature"`
	Matchers   yamlfile.Value[[]yamlfile.Value[string]] `yaml:"matchers"`
	RootCause  yamlfile.Value[string]                   `yaml:"root_cause"`
	Workaround yamlfile.Value[string]                   `yaml:"workaround"`
	RunbookURL yamlfile.Value[string]                   `yaml:"runbook_url"`
}

// parseSignature parses the labels of a signature as written,
// {label="value", ...}, with the parser of Alertmanager's matcher lists.
var parseSignature = compat.FallbackMatchersParser(slog.New(slog.DiscardHandler))

// compileKnownErrors checks and builds the known errors of all files: names
// and signatures unique across files, and a signature one of the problem
// rules can make.
func compileKnownErrors(files []*file, problems []incident.ProblemRule, rep *reporter) []incident.KnownError {
	byName := make(map[string]incident.ProblemRule, len(problems))
	for _, r := range problems {
		byName[r.Name] = r
	}
	var out []incident.KnownError
	firstName := make(map[string]yamlfile.Pos)
	firstSig := make(map[string]yamlfile.Pos)
	for _, f := range files {
		for i := range f.KnownErrors {
			v := &f.KnownErrors[i]
			k, ok := v.V.compile(v.Pos, i, byName, rep)
			if !ok {
				continue
			}
			prefix := "known error " + strconv.Quote(k.Name) + ": "
			if prev, dup := firstName[k.Name]; dup {
				rep.add(v.V.Name.Pos, prefix, "name: duplicate name, first defined at %s", prev)
				continue
			}
			firstName[k.Name] = v.V.Name.Pos
			if k.Signature != "" {
				if prev, dup := firstSig[k.Signature]; dup {
					rep.add(v.V.Signature.Pos, prefix, "signature: %s has a known error already, at %s", k.Signature, prev)
					continue
				}
				firstSig[k.Signature] = v.V.Signature.Pos
			}
			out = append(out, k)
		}
	}
	return out
}

// compile checks one known error and builds it; ok is false when it has
// any problem.
func (s *knownErrorSpec) compile(pos yamlfile.Pos, index int, problems map[string]incident.ProblemRule,
	rep *reporter) (k incident.KnownError, ok bool) {
	prefix := "known error #" + strconv.Itoa(index+1) + ": "
	if s.Name.V != "" {
		prefix = "known error " + strconv.Quote(s.Name.V) + ": "
	}
	before := len(rep.errs)
	k = incident.KnownError{Name: s.Name.V, RootCause: strings.TrimSpace(s.RootCause.V),
		Workaround: strings.TrimSpace(s.Workaround.V), RunbookURL: s.RunbookURL.V}
	switch {
	case required(s.Name, s.Name.V == "", pos, "name", prefix, rep):
	case !nameRE.MatchString(s.Name.V):
		rep.add(s.Name.Pos, prefix, "name: must consist of letters, digits, '_' and '-'")
	}

	switch {
	case s.Signature.IsSet() && s.Matchers.IsSet():
		rep.add(s.Matchers.Pos, prefix, "matchers: want either signature or matchers, not both")
	case s.Signature.IsSet():
		k.Signature = compileSignature(s.Signature, problems, prefix, rep)
	case s.Matchers.IsSet():
		if len(s.Matchers.V) == 0 {
			rep.add(s.Matchers.Pos, prefix, "matchers: must not be empty: a known error for every alert is no knowledge")
		}
		ms := compileMatchers(s.Matchers.V, prefix, rep)
		k.Matches = func(l map[string]string) bool { return matchAll(ms, l) }
	default:
		rep.add(pos, prefix, "want signature or matchers")
	}

	required(s.Workaround, k.Workaround == "", pos, "workaround", prefix, rep)
	if s.RootCause.IsSet() && k.RootCause == "" {
		rep.add(s.RootCause.Pos, prefix, "root_cause: must not be empty (leave it out if it is not known)")
	}
	if s.RunbookURL.IsSet() {
		u, err := url.Parse(s.RunbookURL.V)
		switch {
		case err != nil:
			rep.add(s.RunbookURL.Pos, prefix, "runbook_url: %v", err)
		case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			rep.add(s.RunbookURL.Pos, prefix, "runbook_url: want an http or https URL, got %q", s.RunbookURL.V)
		}
	}
	return k, len(rep.errs) == before
}

// compileSignature checks a signature as written, e.g.
// disk-recurring{rule="disk"} or oom{alertname="OOMKilled", service="api"},
// against the problem rule it names, and returns it in the form the rule
// makes (labels sorted, values quoted), so that spacing and order as
// written do not matter.
func compileSignature(v yamlfile.Value[string], problems map[string]incident.ProblemRule, prefix string, rep *reporter) string {
	name, rest, found := strings.Cut(v.V, "{")
	if !found || !strings.HasSuffix(rest, "}") || name == "" {
		rep.add(v.Pos, prefix, `signature: want PROBLEM-RULE{label="value", ...}, as the problem's signature reads, got %q`, v.V)
		return ""
	}
	r, ok := problems[name]
	if !ok {
		rep.add(v.Pos, prefix, "signature: unknown problem rule %q", name)
		return ""
	}
	ms, err := parseSignature("{"+rest, "rule file")
	if err != nil {
		rep.add(v.Pos, prefix, "signature: %v", err)
		return ""
	}
	vals := make(map[string]string, len(ms))
	for _, m := range ms {
		if m.Type != labels.MatchEqual || m.Value == "" {
			rep.add(v.Pos, prefix, "signature: %s: want label=\"value\" with a value: a signature is values, not a matcher", m)
			return ""
		}
		vals[m.Name] = m.Value
	}
	want := r.Labels
	if r.Rule != "" {
		want = []string{"rule"}
	}
	var got []string
	for l := range vals {
		got = append(got, l)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		rep.add(v.Pos, prefix, "signature: problem rule %q signs by %s, not %s", name, strings.Join(want, ", "), orNothing(got))
		return ""
	}
	if r.Rule != "" && vals["rule"] != r.Rule {
		rep.add(v.Pos, prefix, "signature: problem rule %q signs only incidents of rule %q, not %q", name, r.Rule, vals["rule"])
		return ""
	}
	return name + incident.FormatLabels(vals)
}

func orNothing(l []string) string {
	if len(l) == 0 {
		return "no labels"
	}
	return strings.Join(l, ", ")
}
