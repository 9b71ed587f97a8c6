package rules

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"text/template"
	"time"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// DefaultReopenWithin is a rule's reopen window when neither it nor the
// defaults block sets one.
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
	// Defaults is nil when the file has no defaults block (or an empty one
	// written as null).
	Defaults     yamlfile.Value[*settings]     `yaml:"defaults"`
	Services     []yamlfile.Value[serviceSpec] `yaml:"services"`
	Correlations []yamlfile.Value[ruleSpec]    `yaml:"correlations"`
	// SLA is nil when the file has no sla section (or an empty one
	// written as null).
	SLA yamlfile.Value[*slaSpec] `yaml:"sla"`
	// Problems are the problem rules, in the order written.
	Problems []yamlfile.Value[problemSpec] `yaml:"problems"`
	// KnownErrors are the known errors, in the order written.
	KnownErrors []yamlfile.Value[knownErrorSpec] `yaml:"known_errors"`
	// Heartbeats are the heartbeat rules, in the order written.
	Heartbeats []yamlfile.Value[heartbeatSpec] `yaml:"heartbeats"`
}

// settings are the fields of a correlation rule that the defaults block can
// set for all of them, as written.
type settings struct {
	Window       yamlfile.Value[string]    `yaml:"window"`
	ReopenWithin yamlfile.Value[string]    `yaml:"reopen_within"`
	Resolve      yamlfile.Value[string]    `yaml:"resolve"`
	ResolveAfter yamlfile.Value[string]    `yaml:"resolve_after"`
	MinAlerts    yamlfile.Value[*int]      `yaml:"min_alerts"`
	Impact       yamlfile.Value[levelSpec] `yaml:"impact"`
	Urgency      yamlfile.Value[levelSpec] `yaml:"urgency"`
	Title        yamlfile.Value[string]    `yaml:"title"`
	Summary      yamlfile.Value[string]    `yaml:"summary"`
	// FlapThreshold and FlapWindow: more than FlapThreshold state changes
	// within FlapWindow mark an incident flapping.
	FlapThreshold yamlfile.Value[*int]   `yaml:"flap_threshold"`
	FlapWindow    yamlfile.Value[string] `yaml:"flap_window"`
}

// The settings fields by their YAML names, for fieldSet.
const (
	fWindow        = "window"
	fReopenWithin  = "reopen_within"
	fResolve       = "resolve"
	fResolveAfter  = "resolve_after"
	fMinAlerts     = "min_alerts"
	fImpact        = "impact"
	fUrgency       = "urgency"
	fTitle         = "title"
	fSummary       = "summary"
	fFlapThreshold = "flap_threshold"
	fFlapWindow    = "flap_window"
)

// fieldSet holds settings fields by YAML name.
type fieldSet map[string]bool

// written returns the fields that s sets itself. Null and the empty string
// count as not set, so that `window: ~` means "the default".
func (s *settings) written() fieldSet {
	return fieldSet{
		fWindow:        s.Window.V != "",
		fReopenWithin:  s.ReopenWithin.V != "",
		fResolve:       s.Resolve.V != "",
		fResolveAfter:  s.ResolveAfter.V != "",
		fMinAlerts:     s.MinAlerts.V != nil,
		fImpact:        levelWritten(s.Impact.V),
		fUrgency:       levelWritten(s.Urgency.V),
		fTitle:         s.Title.V != "",
		fSummary:       s.Summary.V != "",
		fFlapThreshold: s.FlapThreshold.V != nil,
		fFlapWindow:    s.FlapWindow.V != "",
	}
}

// inherit copies from d every field that own says s does not set.
func (s *settings) inherit(d *settings, own fieldSet) {
	if !own[fWindow] {
		s.Window = d.Window
	}
	if !own[fReopenWithin] {
		s.ReopenWithin = d.ReopenWithin
	}
	if !own[fResolve] {
		s.Resolve = d.Resolve
	}
	if !own[fResolveAfter] {
		s.ResolveAfter = d.ResolveAfter
	}
	if !own[fMinAlerts] {
		s.MinAlerts = d.MinAlerts
	}
	if !own[fImpact] {
		s.Impact = d.Impact
	}
	if !own[fUrgency] {
		s.Urgency = d.Urgency
	}
	if !own[fTitle] {
		s.Title = d.Title
	}
	if !own[fSummary] {
		s.Summary = d.Summary
	}
	if !own[fFlapThreshold] {
		s.FlapThreshold = d.FlapThreshold
	}
	if !own[fFlapWindow] {
		s.FlapWindow = d.FlapWindow
	}
}

// builtinMinAlerts is a rule's min_alerts when nothing sets it.
const builtinMinAlerts = 1

// fillBuiltins sets the built-in default of every field that is still unset.
// Positions stay as they are: a built-in value has none.
func (s *settings) fillBuiltins() {
	if s.ReopenWithin.V == "" {
		s.ReopenWithin.V = model.Duration(DefaultReopenWithin).String()
	}
	if s.Resolve.V == "" {
		s.Resolve.V = string(ResolveAll)
	}
	if s.MinAlerts.V == nil {
		n := builtinMinAlerts
		s.MinAlerts.V = &n
	}
	if s.FlapThreshold.V == nil {
		n := DefaultFlapThreshold
		s.FlapThreshold.V = &n
	}
	if s.FlapWindow.V == "" {
		s.FlapWindow.V = model.Duration(DefaultFlapWindow).String()
	}
}

// The built-in flapping detection: more than 5 state changes in an hour.
const (
	DefaultFlapThreshold = 5
	DefaultFlapWindow    = time.Hour
)

// ruleSpec is one entry of correlations as written.
type ruleSpec struct {
	Name     yamlfile.Value[string]   `yaml:"name"`
	Matchers []yamlfile.Value[string] `yaml:"matchers"`
	By       []yamlfile.Value[string] `yaml:"by"`
	Action   yamlfile.Value[string]   `yaml:"action"`
	// ResolveTimeout resolves the rule's alerts that are not repeated for
	// that long, whatever their source's resolve_timeout; 0s: never.
	ResolveTimeout yamlfile.Value[string] `yaml:"resolve_timeout"`
	Settings       settings               `yaml:",inline"`

	// own is what the rule sets itself, as opposed to what it took from
	// the defaults block or the built-in defaults; applyDefaults fills it.
	own fieldSet
}

// decodeFile is the first pass: strict decoding with positions.
func decodeFile(name string, data []byte) (*file, yamlfile.Errors) {
	f := &file{}
	var errs yamlfile.Errors
	errs.Append(yamlfile.Decode(name, data, f))
	return f, errs
}

// defaultsBlock is the one defaults block of a set of files, or the
// built-in defaults when there is none.
type defaultsBlock struct {
	s   settings
	pos yamlfile.Pos // zero for the built-in defaults
}

// applyDefaults is the second pass, over all files at once since the
// defaults block in one file applies to the rules of all of them. Every
// correlation rule that is not a drop rule takes from the defaults block
// each field it does not set itself; then every rule, and the defaults
// themselves, take the built-in default of each field still unset. Defaults
// are filled in here, never while decoding, so that validation sees the
// effective values. A second defaults block is reported to rep and applies
// to nothing; it is returned in extra so that its own problems are reported
// too.
func applyDefaults(files []*file, rep *reporter) (d *defaultsBlock, extra []*defaultsBlock) {
	d = &defaultsBlock{}
	found := false
	for _, f := range files {
		if f.Defaults.V == nil {
			continue
		}
		if found {
			rep.add(f.Defaults.Pos, "", "defaults: duplicate block, first defined at %s", d.pos)
			extra = append(extra, &defaultsBlock{s: *f.Defaults.V, pos: f.Defaults.Pos})
			continue
		}
		found = true
		d.s, d.pos = *f.Defaults.V, f.Defaults.Pos
	}
	for _, f := range files {
		for i := range f.Correlations {
			r := &f.Correlations[i].V
			r.own = r.Settings.written()
			if r.Action.V != actionDrop {
				r.Settings.inherit(&d.s, r.own)
			}
			r.Settings.fillBuiltins()
		}
	}
	d.s.fillBuiltins()
	for _, e := range extra {
		e.s.fillBuiltins()
	}
	return d, extra
}

// reporter collects validation errors. A position where decoding already
// reported a problem gets no second, consequential one: a list where the
// name belongs is "expected a string", not also "name: must not be empty",
// and a misspelt first key (say "naem:", at the rule's own position) is
// "unknown field", not also "name: required". A discarding reporter drops
// everything; it compiles what a rule took from the defaults block, whose
// problems are reported once, for the block.
type reporter struct {
	errs    yamlfile.Errors
	taken   map[yamlfile.Pos]bool
	discard bool
}

func newReporter(decodeErrs yamlfile.Errors) *reporter {
	r := &reporter{taken: make(map[yamlfile.Pos]bool)}
	for _, e := range decodeErrs {
		r.taken[e.Pos] = true
	}
	return r
}

var discardReporter = &reporter{discard: true}

func (r *reporter) add(pos yamlfile.Pos, prefix, format string, args ...any) {
	if r.discard || r.taken[pos] {
		return
	}
	r.errs.Add(pos, "%s", prefix+fmt.Sprintf(format, args...))
}

// compile checks the defaults block and builds it as the defaults
// pseudo-rule. Everything in the block is its own; what it does not set is
// built in, and valid.
func (d *defaultsBlock) compile(rep *reporter) *Rule {
	r := &Rule{Pos: d.pos}
	own := fieldSet{}
	for _, f := range []string{fWindow, fReopenWithin, fResolve, fResolveAfter, fMinAlerts, fImpact, fUrgency, fTitle,
		fSummary, fFlapThreshold, fFlapWindow} {
		own[f] = true
	}
	d.s.compile(r, "defaults: ", own, rep)
	return r
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

	r.matchers = compileMatchers(s.Matchers, prefix, rep)

	r.By = compileBy(s.By, prefix, rep)

	written := make([]string, len(s.Matchers))
	for i, m := range s.Matchers {
		written[i] = m.V
	}
	r.Version = version(written, r.By)

	s.Settings.compile(r, prefix, s.own, rep)
	if s.ResolveTimeout.V != "" {
		switch d, err := model.ParseDuration(s.ResolveTimeout.V); {
		case err != nil:
			rep.add(s.ResolveTimeout.Pos, prefix, "resolve_timeout: %v", err)
		case s.Action.V == actionDrop:
			rep.add(s.ResolveTimeout.Pos, prefix, "resolve_timeout: has no effect with action %q", actionDrop)
		default:
			r.ResolveTimeout, r.HasResolveTimeout = time.Duration(d), true
		}
	}

	switch s.Action.V {
	case "":
	case actionDrop:
		r.Drop = true
		// A drop rule opens no incident, so these would silently do nothing;
		// saying so catches a misplaced action line.
		st := &s.Settings
		for _, v := range []struct {
			field string
			pos   yamlfile.Pos
		}{
			{"by", firstPos(s.By)},
			{fWindow, st.Window.Pos},
			{fReopenWithin, st.ReopenWithin.Pos},
			{fResolve, st.Resolve.Pos},
			{fResolveAfter, st.ResolveAfter.Pos},
			{fMinAlerts, st.MinAlerts.Pos},
			{fImpact, st.Impact.Pos},
			{fUrgency, st.Urgency.Pos},
			{fTitle, st.Title.Pos},
			{fSummary, st.Summary.Pos},
			{fFlapThreshold, st.FlapThreshold.Pos},
			{fFlapWindow, st.FlapWindow.Pos},
		} {
			if v.field == "by" && len(s.By) > 0 || s.own[v.field] {
				rep.add(v.pos, prefix, "%s: has no effect with action %q", v.field, actionDrop)
			}
		}
	default:
		rep.add(s.Action.Pos, prefix, "action: unknown action %q: want %q or no action (correlate)", s.Action.V, actionDrop)
	}
	return r
}

// compile checks the settings (after defaults) and stores them in r. Only
// the fields in own are reported to rep: the others are built-in, or came
// from the defaults block, whose problems are reported for the block.
func (s *settings) compile(r *Rule, prefix string, own fieldSet, rep *reporter) {
	on := func(field string) *reporter {
		if own[field] {
			return rep
		}
		return discardReporter
	}

	r.Window = positiveDuration(s.Window, fWindow, prefix, on(fWindow))
	r.ReopenWithin = positiveDuration(s.ReopenWithin, fReopenWithin, prefix, on(fReopenWithin))
	r.ResolveAfter = positiveDuration(s.ResolveAfter, fResolveAfter, prefix, on(fResolveAfter))

	switch m := ResolveMode(s.Resolve.V); m {
	case ResolveAll, ResolveAny, ResolveManual:
		r.Resolve = m
	default:
		on(fResolve).add(s.Resolve.Pos, prefix, "resolve: unknown mode %q: want all, any or manual", s.Resolve.V)
	}
	if r.Resolve == ResolveManual && r.ResolveAfter > 0 {
		switch {
		case !own[fResolveAfter]:
			// A grace period from the defaults block does not apply to a
			// rule that resolves by hand only.
		case !own[fResolve]:
			rep.add(s.ResolveAfter.Pos, prefix, "resolve_after: has no effect with resolve %q (from defaults at %s)", ResolveManual, s.Resolve.Pos)
		default:
			rep.add(s.ResolveAfter.Pos, prefix, "resolve_after: has no effect with resolve %q", ResolveManual)
		}
		r.ResolveAfter = 0
	}

	if n := s.MinAlerts.V; n != nil {
		if *n < 1 {
			on(fMinAlerts).add(s.MinAlerts.Pos, prefix, "min_alerts: must be at least 1")
		}
		r.MinAlerts = *n
	}

	if n := s.FlapThreshold.V; n != nil {
		if *n < 1 {
			on(fFlapThreshold).add(s.FlapThreshold.Pos, prefix, "flap_threshold: must be at least 1")
		}
		r.FlapThreshold = *n
	}
	r.FlapWindow = positiveDuration(s.FlapWindow, fFlapWindow, prefix, on(fFlapWindow))

	r.impact = compileLevel(s.Impact, fImpact, prefix, on(fImpact))
	r.urgency = compileLevel(s.Urgency, fUrgency, prefix, on(fUrgency))
	r.title = compileTemplateField(s.Title, tmplTitle, prefix, on(fTitle))
	r.summary = compileTemplateField(s.Summary, tmplSummary, prefix, on(fSummary))
}

// positiveDuration parses a Prometheus duration that must be greater than 0
// when given; "" gives 0.
func positiveDuration(v yamlfile.Value[string], field, prefix string, rep *reporter) time.Duration {
	if v.V == "" {
		return 0
	}
	d, err := model.ParseDuration(v.V)
	switch {
	case err != nil:
		rep.add(v.Pos, prefix, "%s: %v", field, err)
	case d <= 0:
		rep.add(v.Pos, prefix, "%s: must be greater than 0", field)
	}
	return time.Duration(d)
}

func compileTemplateField(v yamlfile.Value[string], name, prefix string, rep *reporter) *template.Template {
	if v.V == "" {
		return nil
	}
	t, err := compileTemplate(name, v.V)
	if err != nil {
		rep.add(v.Pos, prefix, "%s: %v", name, err)
	}
	return t
}

// compileMatchers parses a list of Alertmanager matchers, reporting each bad
// one.
func compileMatchers(ms []yamlfile.Value[string], prefix string, rep *reporter) labels.Matchers {
	var out labels.Matchers
	for _, m := range ms {
		if m.V == "" {
			rep.add(m.Pos, prefix, "matchers: empty matcher")
			continue
		}
		pm, err := parseMatcher(m.V, "rule file")
		if err != nil {
			rep.add(m.Pos, prefix, "matchers: %v", err)
			continue
		}
		out = append(out, pm)
	}
	return out
}

// checkLabelName accepts what Alertmanager accepts in group_by by default
// since 0.27: any non-empty UTF-8 string, so that OpenTelemetry-style names
// such as service.name work as they do in matchers.
func checkLabelName(name string) error {
	switch {
	case name == "":
		return errors.New("empty label name")
	case !model.UTF8Validation.IsValidLabelName(name):
		return fmt.Errorf("invalid label name %q", name)
	}
	return nil
}

// compileBy checks a by list: label names, each once, and not "...".
func compileBy(by []yamlfile.Value[string], prefix string, rep *reporter) []string {
	var out []string
	seen := make(map[string]bool, len(by))
	for _, b := range by {
		switch err := checkLabelName(b.V); {
		case err != nil:
			rep.add(b.Pos, prefix, "by: %v", err)
		case b.V == "...":
			// Alertmanager's group_by takes "..." for "all labels"; here
			// it would silently be a label of that name.
			rep.add(b.Pos, prefix, `by: "..." (all labels) is not supported; list the labels`)
		case seen[b.V]:
			rep.add(b.Pos, prefix, "by: duplicate label %q", b.V)
		default:
			seen[b.V] = true
			out = append(out, b.V)
		}
	}
	return out
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
