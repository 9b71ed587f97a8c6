package rules

import (
	"slices"
	"strconv"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// ProblemRules returns the problem rules in file order, then list order.
// The slice's rules share no memory with the Set.
func (s *Set) ProblemRules() []incident.ProblemRule {
	if s == nil {
		return nil
	}
	out := make([]incident.ProblemRule, len(s.problems))
	for i, r := range s.problems {
		r.Labels = slices.Clone(r.Labels)
		out[i] = r
	}
	return out
}

// problemSpec is one entry of problems as written.
type problemSpec struct {
	Name         yamlfile.Value[string]         `yaml:"name"`
	Signature    yamlfile.Value[*signatureSpec] `yaml:"signature"`
	Threshold    yamlfile.Value[*int]           `yaml:"threshold"`
	Window       yamlfile.Value[string]         `yaml:"window"`
	ReopenWithin yamlfile.Value[string]         `yaml:"reopen_within"`
	// ResolveWhenQuiet, ResolveKnownErrors and CloseAfter move a problem
	// on without a person: see incident.SweepProblems.
	ResolveWhenQuiet   yamlfile.Value[string] `yaml:"resolve_when_quiet"`
	ResolveKnownErrors yamlfile.Value[bool]   `yaml:"resolve_known_errors"`
	CloseAfter         yamlfile.Value[string] `yaml:"close_after"`
}

// signatureSpec is a problem's signature as written: exactly one of rule
// and labels.
type signatureSpec struct {
	Rule   yamlfile.Value[string]                   `yaml:"rule"`
	Labels yamlfile.Value[[]yamlfile.Value[string]] `yaml:"labels"`
}

// compileProblems checks and builds the problem rules of all files: names
// unique across files, and a signature rule must be a correlation rule of
// the set that opens incidents.
func compileProblems(files []*file, rules []*Rule, rep *reporter) []incident.ProblemRule {
	byName := make(map[string]*Rule, len(rules))
	for _, r := range rules {
		byName[r.Name] = r
	}
	var out []incident.ProblemRule
	seen := newNames("problem")
	for _, f := range files {
		for i := range f.Problems {
			v := &f.Problems[i]
			if r, ok := v.V.compile(v.Pos, i, byName, rep); ok && seen.first(r.Name, v.V.Name.Pos, rep) {
				out = append(out, r)
			}
		}
	}
	return out
}

// names remembers where each name of one kind of entry was first defined.
type names struct {
	what string
	at   map[string]yamlfile.Pos
}

func newNames(what string) *names { return &names{what: what, at: make(map[string]yamlfile.Pos)} }

// first reports whether name, defined at pos, is defined for the first
// time; a second definition is reported to rep.
func (n *names) first(name string, pos yamlfile.Pos, rep *reporter) bool {
	if prev, dup := n.at[name]; dup {
		rep.add(pos, n.what+" "+strconv.Quote(name)+": ", "name: duplicate name, first defined at %s", prev)
		return false
	}
	n.at[name] = pos
	return true
}

// compile checks one problem rule and builds it; ok is false when its name
// is missing or invalid.
func (s *problemSpec) compile(pos yamlfile.Pos, index int, rules map[string]*Rule, rep *reporter) (r incident.ProblemRule, ok bool) {
	prefix := "problem #" + strconv.Itoa(index+1) + ": "
	if s.Name.V != "" {
		prefix = "problem " + strconv.Quote(s.Name.V) + ": "
	}
	r = incident.ProblemRule{Name: s.Name.V, ReopenWithin: incident.DefaultProblemReopenWithin}
	switch {
	case required(s.Name, s.Name.V == "", pos, "name", prefix, rep):
	case !nameRE.MatchString(s.Name.V):
		rep.add(s.Name.Pos, prefix, "name: must consist of letters, digits, '_' and '-'")
	default:
		ok = true
	}

	switch sig := s.Signature.V; {
	case required(s.Signature, sig == nil, pos, "signature", prefix, rep):
	case sig.Rule.IsSet() && sig.Labels.IsSet():
		rep.add(s.Signature.Pos, prefix, "signature: want either rule or labels, not both")
	case sig.Rule.IsSet():
		r.Rule = sig.Rule.V
		switch cr := rules[sig.Rule.V]; {
		case sig.Rule.V == "":
			rep.add(sig.Rule.Pos, prefix, "signature: rule: must not be empty")
		case cr == nil:
			rep.add(sig.Rule.Pos, prefix, "signature: rule: unknown correlation rule %q", sig.Rule.V)
		case cr.Drop:
			rep.add(sig.Rule.Pos, prefix, "signature: rule: rule %q drops its alerts: it opens no incidents", sig.Rule.V)
		}
	case sig.Labels.IsSet():
		if len(sig.Labels.V) == 0 {
			rep.add(sig.Labels.Pos, prefix, "signature: labels: must not be empty")
		}
		seen := make(map[string]bool, len(sig.Labels.V))
		for _, l := range sig.Labels.V {
			switch err := checkLabelName(l.V); {
			case err != nil:
				rep.add(l.Pos, prefix, "signature: labels: %v", err)
			case seen[l.V]:
				rep.add(l.Pos, prefix, "signature: labels: duplicate label %q", l.V)
			default:
				seen[l.V] = true
				r.Labels = append(r.Labels, l.V)
			}
		}
	default:
		rep.add(s.Signature.Pos, prefix, "signature: want rule or labels")
	}

	if n := s.Threshold.V; !required(s.Threshold, n == nil, pos, "threshold", prefix, rep) {
		if *n < 2 {
			rep.add(s.Threshold.Pos, prefix, "threshold: must be at least 2")
		}
		r.Threshold = *n
	}
	r.Window = requiredDuration(s.Window, pos, fWindow, prefix, rep)
	if d := positiveDuration(s.ReopenWithin, fReopenWithin, prefix, rep); d > 0 {
		r.ReopenWithin = d
	}
	r.ResolveWhenQuiet = positiveDuration(s.ResolveWhenQuiet, "resolve_when_quiet", prefix, rep)
	r.ResolveKnownErrors = s.ResolveKnownErrors.V
	if r.ResolveKnownErrors && !s.ResolveWhenQuiet.IsSet() {
		// Without it nothing resolves by quiet, known error or not: the
		// author meant something the file does not say.
		rep.add(s.ResolveKnownErrors.Pos, prefix, "resolve_known_errors: needs resolve_when_quiet")
	}
	r.CloseAfter = positiveDuration(s.CloseAfter, "close_after", prefix, rep)
	return r, ok
}
