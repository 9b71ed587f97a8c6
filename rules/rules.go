package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// ResolveMode says when an incident resolves without anyone resolving it by
// hand.
type ResolveMode string

// The resolve modes a rule can name.
const (
	// ResolveAll resolves an incident once all its alerts are resolved. It
	// is the default.
	ResolveAll ResolveMode = "all"
	// ResolveAny resolves an incident as soon as any one of its alerts
	// resolves.
	ResolveAny ResolveMode = "any"
	// ResolveManual leaves an incident open until it is resolved by hand.
	ResolveManual ResolveMode = "manual"
)

// Rule is one compiled correlation rule, or the defaults block compiled as a
// rule (see Set.Defaults). It is immutable and safe for concurrent use.
type Rule struct {
	// Name identifies the rule; it is unique within a Set. It is "" for the
	// defaults pseudo-rule.
	Name string
	// Version is 8 lowercase hex digits of a SHA-256 over the rule's
	// grouping definition only: its matchers (as written, trimmed, sorted)
	// and its by list (in order). Editing a title or a priority keeps it, so
	// open incidents keep their key; editing matchers or by changes it, so
	// the regrouped alerts start new incidents. It is "" for the defaults
	// pseudo-rule.
	Version string
	// By lists the labels whose values, with Name and Version, form the
	// correlation key. It may hold the pseudo-label "service", which stands
	// for the catalog service (see Key). Empty means every alert the rule
	// matches belongs to one incident.
	By []string
	// Window is how long after an incident's last event a new event may
	// still join it; 0 means no window (an open incident takes events
	// however long it has been quiet).
	Window time.Duration
	// ReopenWithin is how soon after resolving a new firing reopens the
	// incident instead of opening a new one. It defaults to
	// DefaultReopenWithin.
	ReopenWithin time.Duration
	// Resolve says when the incident resolves by itself; it defaults to
	// ResolveAll.
	Resolve ResolveMode
	// ResolveAfter is a grace period before an automatic resolve; 0 by
	// default, and always 0 with ResolveManual.
	ResolveAfter time.Duration
	// MinAlerts is how many distinct alerts must be firing before an
	// incident opens; at least 1, the default.
	MinAlerts int
	// FlapThreshold and FlapWindow: an incident with more than FlapThreshold
	// state changes within FlapWindow is flapping.
	FlapThreshold int
	FlapWindow    time.Duration
	// Drop means matching alerts are discarded as noise.
	Drop bool
	// ResolveTimeout, when HasResolveTimeout, replaces the source's
	// resolve_timeout for the rule's alerts: a firing alert not repeated
	// for that long resolves; 0 never.
	ResolveTimeout    time.Duration
	HasResolveTimeout bool
	// Pos is where the rule (or the defaults block) is defined, for
	// messages; zero for built-in defaults.
	Pos yamlfile.Pos

	namePos         yamlfile.Pos
	matchers        labels.Matchers
	impact, urgency level
	title, summary  *template.Template
}

// Matches reports whether all of the rule's matchers match labels. A rule
// without matchers matches everything; a missing label has the value "".
func (r *Rule) Matches(labels map[string]string) bool {
	return matchAll(r.matchers, labels)
}

// Matchers returns the rule's matchers in Alertmanager's syntax, in the
// order they were written.
func (r *Rule) Matchers() []string {
	out := make([]string, len(r.matchers))
	for i, m := range r.matchers {
		out[i] = m.String()
	}
	return out
}

// Levels returns the rule's impact and urgency for an alert's labels: a
// fixed level, or one mapped from a label through a table (with an optional
// default). Each is "" when the rule, after defaults, does not determine
// it; the caller then falls back (for impact to the service's impact, then
// to the severity label; for urgency to the severity label).
func (r *Rule) Levels(labels map[string]string) (impact, urgency incident.Level) {
	return r.impact.of(labels), r.urgency.of(labels)
}

// Title renders the rule's title template for ev. It returns "" and no error
// when the rule, after defaults, has no title template.
func (r *Rule) Title(ev incident.Event) (string, error) {
	return r.render(r.title, ev)
}

// Summary renders the rule's summary template for ev. It returns "" and no
// error when the rule, after defaults, has no summary template.
func (r *Rule) Summary(ev incident.Event) (string, error) {
	return r.render(r.summary, ev)
}

func (r *Rule) render(t *template.Template, ev incident.Event) (string, error) {
	if t == nil {
		return "", nil
	}
	s, err := execTemplate(t, alertOf(ev))
	if err != nil {
		where := "defaults"
		if r.Name != "" {
			where = fmt.Sprintf("rule %q", r.Name)
		}
		return "", fmt.Errorf("%s: %s: %w", where, t.Name(), cleanTemplateError(err))
	}
	return s, nil
}

// serviceLabel is the pseudo-label that stands for the catalog service in a
// rule's by list.
const serviceLabel = "service"

// Key returns the correlation key of ev under r: the rule's name and
// version followed by the values of its by labels in Alertmanager's label
// set form, e.g. disk@0a1b2c3d{cluster="eu1", mountpoint="/"}. The
// pseudo-label "service" takes the value of service, the catalog service
// the alert belongs to ("" if none); any other missing label counts as "".
func (r *Rule) Key(ev incident.Event, service string) string {
	sub := make(map[string]string, len(r.By))
	for _, l := range r.By {
		if l == serviceLabel {
			sub[l] = service
		} else {
			sub[l] = ev.Labels[l]
		}
	}
	return r.Name + "@" + r.Version + incident.FormatLabels(sub)
}

// version computes Rule.Version. Each part is length-prefixed, so that no
// two different definitions hash the same input. Changing this function
// changes every rule's key and so orphans every open incident: don't.
func version(matchers, by []string) string {
	ms := make([]string, len(matchers))
	for i, m := range matchers {
		ms[i] = strings.TrimSpace(m)
	}
	slices.Sort(ms)
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "matcher %d:%s\n", len(m), m)
	}
	for _, b := range by {
		fmt.Fprintf(h, "by %d:%s\n", len(b), b)
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}

// Set is a loaded, valid set of rules in evaluation order (file order, then
// list order within a file), with the service catalog and the defaults. It
// is immutable and safe for concurrent use; a nil *Set has no rules and no
// services.
type Set struct {
	rules    []*Rule
	services []*Service
	byName   map[string]*Service
	// dependents are, by service name, the services that depend on it,
	// directly, in catalog order.
	dependents map[string][]string
	defaults   *Rule
	// slaPolicies are the SLA policies in the order written.
	slaPolicies []*SLAPolicy
	// problems are the problem rules in file order, then list order.
	problems []incident.ProblemRule
	// knownErrors are the known errors in file order, then list order.
	knownErrors []incident.KnownError
	// heartbeats are the heartbeat rules in file order, then list order.
	heartbeats []*Heartbeat
	files      []string
	hash       string
}

// Match returns the first rule whose matchers all match labels, or nil if
// none does.
func (s *Set) Match(labels map[string]string) *Rule {
	if s == nil {
		return nil
	}
	for _, r := range s.rules {
		if r.Matches(labels) {
			return r
		}
	}
	return nil
}

// Rule returns the correlation rule called name, or nil.
func (s *Set) Rule(name string) *Rule {
	if s == nil {
		return nil
	}
	for _, r := range s.rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Defaults returns the defaults block compiled as a Rule with Name "", no
// matchers, no by labels and Version "", for the alerts no rule matches:
// its Window, ReopenWithin, Resolve, ResolveAfter, MinAlerts, Levels, Title
// and Summary apply to them. A Set without a defaults block returns the
// built-in defaults (ReopenWithin DefaultReopenWithin, Resolve ResolveAll,
// MinAlerts 1, everything else unset). A nil *Set returns nil.
func (s *Set) Defaults() *Rule {
	if s == nil {
		return nil
	}
	return s.defaults
}

// Service returns the first catalog service (file order, then list order)
// whose matchers all match labels, or nil if there is none or s is nil. A
// service without matchers matches no alert.
func (s *Set) Service(labels map[string]string) *Service {
	if s == nil {
		return nil
	}
	for _, svc := range s.services {
		if svc.Matches(labels) {
			return svc
		}
	}
	return nil
}

// ServiceByName returns the catalog service called name, or nil if there is
// none.
func (s *Set) ServiceByName(name string) *Service {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// Dependents returns the catalog services that depend on the service
// called name directly, in catalog order.
func (s *Set) Dependents(name string) []string {
	if s == nil {
		return nil
	}
	return s.dependents[name]
}

// Services returns the catalog services in file order, then list order.
func (s *Set) Services() []*Service {
	if s == nil {
		return nil
	}
	return slices.Clone(s.services)
}

// Hash returns the hex SHA-256 of the loaded files' contents, concatenated
// in load order; for a single file it equals sha256sum's. The daemon exports
// it as its config hash metric.
func (s *Set) Hash() string {
	if s == nil {
		return hashOf(nil)
	}
	return s.hash
}

// Len returns the number of rules.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rules)
}

// Rules returns the rules in evaluation order.
func (s *Set) Rules() []*Rule {
	if s == nil {
		return nil
	}
	return slices.Clone(s.rules)
}

// Files returns the names of the loaded files in load order, as they appear
// in positions.
func (s *Set) Files() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.files)
}

// Load reads the rule files that patterns name within fsys and compiles them
// into a Set. A pattern is a file name or an fs.Glob pattern; a pattern that
// matches no file is an error, and a file that several patterns match is read
// once. Files are read in pattern order (glob matches in lexical order); no
// patterns at all give an empty Set.
//
// On failure the Set is nil and the error lists every problem in every file,
// sorted by position. The error is a yamlfile.Errors (one file:line:col:
// message a line); errors.As gets the list back.
func Load(fsys fs.FS, patterns []string) (*Set, error) {
	set, _, err := loader{
		read: func(name string) ([]byte, error) { return fs.ReadFile(fsys, name) },
		glob: func(pattern string) ([]string, error) { return fs.Glob(fsys, pattern) },
	}.load(patterns)
	return set, err
}

// LoadFiles is Load for paths in the operating system's syntax: absolute, or
// relative to the working directory, "../" included. Positions name the
// files as the patterns spell them, so messages show what the user typed.
func LoadFiles(patterns []string) (*Set, error) {
	set, _, err := loader{read: os.ReadFile, glob: filepath.Glob}.load(patterns)
	return set, err
}

// LoadFilesAllowEmpty is LoadFiles as the daemon loads the rule files it is
// configured with (--rules.file, rule_files): a glob that matches no file is
// not an error but yields no rules, and is returned in unmatched so that the
// caller can warn. Prometheus treats its rule_files globs the same way: an
// empty rules directory is a state a fresh install starts in, and failing on
// it would make a supervisor restart the daemon for ever. A name without glob
// characters that does not exist, and a malformed glob, are still errors: they
// are typos, never "no rules yet".
func LoadFilesAllowEmpty(patterns []string) (set *Set, unmatched []string, err error) {
	return loader{read: os.ReadFile, glob: filepath.Glob, allowEmpty: true}.load(patterns)
}

// Parse compiles one rule file, named name in positions. It is Load for a
// single file's contents, for tests and fuzzing.
func Parse(name string, data []byte) (*Set, error) {
	return compile([]source{{name: name, data: data}})
}

// source is one rule file's name and contents.
type source struct {
	name string
	data []byte
}

// loader reads rule files through read and expands globs through glob;
// allowEmpty makes a glob that matches nothing not an error.
type loader struct {
	read       func(string) ([]byte, error)
	glob       func(string) ([]string, error)
	allowEmpty bool
}

func (l loader) load(patterns []string) (_ *Set, unmatched []string, _ error) {
	var errs yamlfile.Errors
	var srcs []source
	seen := make(map[string]bool)
	for _, p := range patterns {
		names := []string{p}
		// A plain name is read directly, so that a missing file is reported
		// as such and not as "matches no files".
		if strings.ContainsAny(p, `*?[\`) {
			var err error
			names, err = l.glob(p)
			switch {
			case err != nil:
				errs.Add(yamlfile.Pos{File: p}, "bad pattern: %v", err)
				continue
			case len(names) == 0 && l.allowEmpty:
				unmatched = append(unmatched, p)
				continue
			case len(names) == 0:
				errs.Add(yamlfile.Pos{File: p}, "pattern matches no files")
				continue
			}
		}
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			data, err := l.read(name)
			if err != nil {
				errs.Add(yamlfile.Pos{File: name}, "%v", unwrapPathError(err))
				continue
			}
			srcs = append(srcs, source{name: name, data: data})
		}
	}
	set, err := compile(srcs)
	errs.Append(err)
	if err := errs.Err(); err != nil {
		return nil, nil, err
	}
	return set, unmatched, nil
}

// unwrapPathError drops the path and operation from a file error: the
// message is already prefixed with the file name as the user wrote it.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// compile runs the three passes over srcs: it decodes every file, applies
// the defaults block (which may be in any file) to the rules of all of them,
// then validates and compiles the defaults, the service catalog and the
// rules, the sla section and the problem rules, checking that names are
// unique across files.
func compile(srcs []source) (*Set, error) {
	s := &Set{}
	var decodeErrs yamlfile.Errors
	files := make([]*file, 0, len(srcs))
	h := sha256.New()
	for _, src := range srcs {
		h.Write(src.data)
		s.files = append(s.files, src.name)
		f, errs := decodeFile(src.name, src.data)
		decodeErrs = append(decodeErrs, errs...)
		files = append(files, f)
	}

	rep := newReporter(decodeErrs)
	defaults, extra := applyDefaults(files, rep)

	s.defaults = defaults.compile(rep)
	for _, e := range extra {
		e.compile(rep)
	}
	s.services, s.byName = compileServices(files, rep)
	s.dependents = make(map[string][]string)
	for _, svc := range s.services {
		for _, dep := range svc.DependsOn {
			s.dependents[dep] = append(s.dependents[dep], svc.Name)
		}
	}
	s.slaPolicies = compileSLA(files, rep)
	first := make(map[string]*Rule)
	for _, f := range files {
		for i, v := range f.Correlations {
			r := v.V.compile(v.Pos, i, rep)
			if r.Name == "" {
				continue
			}
			if prev, ok := first[r.Name]; ok {
				rep.add(r.namePos, "", "rule %q: name: duplicate name, first defined at %s", r.Name, prev.namePos)
				continue
			}
			first[r.Name] = r
			s.rules = append(s.rules, r)
		}
	}
	s.problems = compileProblems(files, s.rules, rep)
	s.knownErrors = compileKnownErrors(files, s.problems, rep)
	s.heartbeats = compileHeartbeats(files, s.byName, rep)
	if err := append(decodeErrs, rep.errs...).Err(); err != nil {
		return nil, err
	}
	s.hash = hex.EncodeToString(h.Sum(nil))
	return s, nil
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
