package rules

import (
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// DefaultReopenWithin is a rule's reopen window when it sets none.
const DefaultReopenWithin = 30 * time.Minute

// actionDrop is the one action a rule can name; no action means correlate.
const actionDrop = "drop"

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// parseMatcher accepts both the UTF-8 matcher syntax and the classic one, as
// Alertmanager does by default since 0.27, so that any matcher copied from an
// Alertmanager route works unchanged. Its warnings (an input that only the
// classic parser accepts) are not actionable for a rule author who copied a
// working route, so they are discarded.
var parseMatcher = compat.FallbackMatcherParser(slog.New(slog.DiscardHandler))

// file is the decoded form of one rule file, with positions.
type file struct {
	Correlations []yamlfile.Value[ruleSpec] `yaml:"correlations"`
}

// ruleSpec is one entry of correlations as written.
type ruleSpec struct {
	Name         yamlfile.Value[string]   `yaml:"name"`
	Matchers     []yamlfile.Value[string] `yaml:"matchers"`
	By           []yamlfile.Value[string] `yaml:"by"`
	ReopenWithin yamlfile.Value[string]   `yaml:"reopen_within"`
	Impact       yamlfile.Value[string]   `yaml:"impact"`
	Urgency      yamlfile.Value[string]   `yaml:"urgency"`
	Title        yamlfile.Value[string]   `yaml:"title"`
	Action       yamlfile.Value[string]   `yaml:"action"`
}

// decodeFile is the first pass: strict decoding with positions.
func decodeFile(name string, data []byte) (*file, yamlfile.Errors) {
	f := &file{}
	var errs yamlfile.Errors
	errs.Append(yamlfile.Decode(name, data, f))
	return f, errs
}

// applyDefaults is the second pass. Defaults are filled in here, never while
// decoding, so that validation sees the effective values.
func (f *file) applyDefaults() {
	for i := range f.Correlations {
		r := &f.Correlations[i].V
		if r.ReopenWithin.V == "" {
			r.ReopenWithin.V = model.Duration(DefaultReopenWithin).String()
		}
	}
}

// reporter collects validation errors. A position where decoding already
// reported a problem gets no second, consequential one: a list where the
// name belongs is "expected a string", not also "name: must not be empty",
// and a misspelt first key (say "naem:", at the rule's own position) is
// "unknown field", not also "name: required".
type reporter struct {
	errs  yamlfile.Errors
	taken map[yamlfile.Pos]bool
}

func newReporter(decodeErrs yamlfile.Errors) *reporter {
	r := &reporter{taken: make(map[yamlfile.Pos]bool)}
	for _, e := range decodeErrs {
		r.taken[e.Pos] = true
	}
	return r
}

func (r *reporter) add(pos yamlfile.Pos, prefix, format string, args ...any) {
	if r.taken[pos] {
		return
	}
	r.errs.Add(pos, "%s", prefix+fmt.Sprintf(format, args...))
}

// validate is the third pass: it checks and compiles every rule of f,
// reporting every problem to rep. It returns the rules with a valid name,
// which the caller checks for uniqueness across files; the rules are only
// usable when rep has no errors.
func (f *file) validate(rep *reporter) []*Rule {
	var out []*Rule
	for i, v := range f.Correlations {
		if r := v.V.compile(v.Pos, i, rep); r.Name != "" {
			out = append(out, r)
		}
	}
	return out
}

// compile checks one rule and builds it. The returned rule's Name is empty
// when the name is missing or invalid.
func (s *ruleSpec) compile(pos yamlfile.Pos, index int, rep *reporter) *Rule {
	prefix := "rule #" + strconv.Itoa(index+1) + ": "
	if s.Name.V != "" {
		prefix = "rule " + strconv.Quote(s.Name.V) + ": "
	}
	r := &Rule{Name: s.Name.V, Pos: pos, namePos: s.Name.Pos}

	switch {
	case !s.Name.IsSet():
		rep.add(pos, prefix, "name: required")
	case s.Name.V == "":
		rep.add(s.Name.Pos, prefix, "name: must not be empty")
	case !nameRE.MatchString(s.Name.V):
		rep.add(s.Name.Pos, prefix, "name: must consist of letters, digits, '_' and '-'")
		r.Name = ""
	}

	for _, m := range s.Matchers {
		if m.V == "" {
			rep.add(m.Pos, prefix, "matchers: empty matcher")
			continue
		}
		pm, err := parseMatcher(m.V, "rule file")
		if err != nil {
			rep.add(m.Pos, prefix, "matchers: %v", err)
			continue
		}
		r.matchers = append(r.matchers, pm)
	}

	seen := make(map[string]bool, len(s.By))
	for _, b := range s.By {
		switch {
		case b.V == "":
			rep.add(b.Pos, prefix, "by: empty label name")
		case seen[b.V]:
			rep.add(b.Pos, prefix, "by: duplicate label %q", b.V)
		default:
			seen[b.V] = true
			r.By = append(r.By, b.V)
		}
	}

	switch d, err := model.ParseDuration(s.ReopenWithin.V); {
	case err != nil:
		rep.add(s.ReopenWithin.Pos, prefix, "reopen_within: %v", err)
	case d == 0:
		rep.add(s.ReopenWithin.Pos, prefix, "reopen_within: must be greater than 0")
	default:
		r.ReopenWithin = time.Duration(d)
	}

	r.Impact = parseLevel(s.Impact, "impact", prefix, rep)
	r.Urgency = parseLevel(s.Urgency, "urgency", prefix, rep)

	if s.Title.V != "" {
		t, err := compileTitle(s.Title.V)
		if err != nil {
			rep.add(s.Title.Pos, prefix, "title: %v", err)
		}
		r.title = t
	}

	switch s.Action.V {
	case "":
	case actionDrop:
		r.Drop = true
		// A drop rule opens no incident, so these would silently do nothing;
		// saying so catches a misplaced action line.
		for _, v := range []struct {
			field string
			pos   yamlfile.Pos
			set   bool
		}{
			{"by", firstPos(s.By), len(s.By) > 0},
			{"reopen_within", s.ReopenWithin.Pos, s.ReopenWithin.IsSet()},
			{"impact", s.Impact.Pos, s.Impact.V != ""},
			{"urgency", s.Urgency.Pos, s.Urgency.V != ""},
			{"title", s.Title.Pos, s.Title.V != ""},
		} {
			if v.set {
				rep.add(v.pos, prefix, "%s: has no effect with action %q", v.field, actionDrop)
			}
		}
	default:
		rep.add(s.Action.Pos, prefix, "action: unknown action %q: want %q or no action (correlate)", s.Action.V, actionDrop)
	}
	return r
}

func parseLevel(v yamlfile.Value[string], field, prefix string, rep *reporter) incident.Level {
	if v.V == "" {
		return ""
	}
	l, err := incident.ParseLevel(v.V)
	if err != nil {
		rep.add(v.Pos, prefix, "%s: %v", field, err)
	}
	return l
}

func firstPos(vs []yamlfile.Value[string]) yamlfile.Pos {
	if len(vs) == 0 {
		return yamlfile.Pos{}
	}
	return vs[0].Pos
}

// matchAll reports whether every matcher matches; an absent label has the
// empty value, as in Alertmanager.
func matchAll(ms labels.Matchers, lset map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(lset[m.Name]) {
			return false
		}
	}
	return true
}
