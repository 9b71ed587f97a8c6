package ruletest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
	"github.com/alertbridge/alertbridge/rules"
)

// DefaultStart is the simulated start time of a test file that sets none. It
// is fixed, so that a test's outcome never depends on when it runs.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultGroupBy is the group_by of a test file that sets none: the group
// labels a sender would send are the alert's alertname, as with an
// Alertmanager route that groups by alertname.
var DefaultGroupBy = []string{"alertname"}

// groupByAll is Alertmanager's group_by for "all labels".
const groupByAll = "..."

// Source is the Source of the events made from compact alerts: the source
// payload files' alerts have too (an open /ingest/alertmanager), since an
// alert is its source and fingerprint and a compact alert with a payload
// alert's labels is that alert.
const Source = "alertmanager"

// HeartbeatSource is the source of a step's heartbeats: a heartbeats
// source named as its type.
const HeartbeatSource = "heartbeats"

// DefaultActor is the actor of a manual action that names none.
const DefaultActor = "test"

// PayloadDecoder decodes a whole webhook payload (a file's contents) into
// events, as the daemon's ingest endpoint would: ingest.DecodeAlertmanager.
type PayloadDecoder func(data []byte) ([]incident.Event, error)

// File is a loaded, valid test file.
type File struct {
	// Name is the file's name as given to Load; positions use it.
	Name string
	// RuleFiles are the rule_files patterns, resolved against the test
	// file's directory, in the order written.
	RuleFiles []string
	// Rules is the rule set the rule files compile into; nil when the file
	// names no rule files (the built-in defaults apply).
	Rules *rules.Set
	// GroupBy are the labels that compact alerts carry as group labels.
	GroupBy []string
	// Start is the simulated time that step offsets count from.
	Start time.Time
	// Tests are the tests in the order written.
	Tests []*Test
}

// Test is one named test: steps, and the incidents expected after the last.
type Test struct {
	// Name is unique within the file.
	Name string
	// Pos is where the test is defined.
	Pos yamlfile.Pos
	// Steps are in time order; at least one.
	Steps []*Step
	// Expect is checked after the last step; nil if the test has none.
	Expect *Expect

	file *File
}

// End returns the offset of the test's last step.
func (t *Test) End() time.Duration { return t.Steps[len(t.Steps)-1].At }

// Step is what happens at one simulated time.
type Step struct {
	// Index is the step's 1-based number within its test.
	Index int
	// Pos is where the step is defined.
	Pos yamlfile.Pos
	// At is the step's offset from the file's Start.
	At time.Duration
	// Events are submitted as one batch at At: the compact alerts in the
	// order written, then the payload's alerts in payload order. A step
	// without events only advances the clock.
	Events []incident.Event
	// Actions are carried out after Events, in order: acknowledge, resolve.
	Actions []*Action
	// Expect is checked after the events and actions; nil if none.
	Expect *Expect
}

// Action is a manual action on one incident.
type Action struct {
	// Pos is where the action is written.
	Pos yamlfile.Pos
	// Kind is incident.ActionAcknowledge or incident.ActionResolve.
	Kind incident.Action
	// Incident is the 1-based number of the incident, oldest first, as in
	// an expectation; 0 when Key names it.
	Incident int
	// Key names the incident by correlation key: the newest incident with
	// the key, as the store's owner lookup has it. The @version may be left
	// out (see KeyMatches).
	Key string
	// Actor is the user who acts.
	Actor string
}

// fileSpec is a test file as written.
type fileSpec struct {
	RuleFiles []yamlfile.Value[string]                   `yaml:"rule_files"`
	GroupBy   yamlfile.Value[[]yamlfile.Value[string]]   `yaml:"group_by"`
	Start     yamlfile.Value[string]                     `yaml:"start"`
	Tests     yamlfile.Value[[]yamlfile.Value[testSpec]] `yaml:"tests"`
}

type testSpec struct {
	Name   yamlfile.Value[string]                     `yaml:"name"`
	Steps  yamlfile.Value[[]yamlfile.Value[stepSpec]] `yaml:"steps"`
	Expect yamlfile.Value[*expectSpec]                `yaml:"expect"`
}

type stepSpec struct {
	At      yamlfile.Value[string]      `yaml:"at"`
	Alerts  []yamlfile.Value[alertSpec] `yaml:"alerts"`
	Payload yamlfile.Value[string]      `yaml:"payload"`
	// Heartbeats are POSTs to /ingest/heartbeats/{name} (and its /fail).
	Heartbeats  []yamlfile.Value[beatSpec]  `yaml:"heartbeats"`
	Acknowledge yamlfile.Value[*actionSpec] `yaml:"acknowledge"`
	Resolve     yamlfile.Value[*actionSpec] `yaml:"resolve"`
	Expect      yamlfile.Value[*expectSpec] `yaml:"expect"`
}

type alertSpec struct {
	Labels       yamlfile.Value[map[string]yamlfile.Value[string]] `yaml:"labels"`
	Annotations  map[string]string                                 `yaml:"annotations"`
	Status       yamlfile.Value[string]                            `yaml:"status"`
	StartsAt     yamlfile.Value[string]                            `yaml:"starts_at"`
	EndsAt       yamlfile.Value[string]                            `yaml:"ends_at"`
	GeneratorURL string                                            `yaml:"generator_url"`
}

// beatSpec is a POST to /ingest/heartbeats/{name}: name is the heartbeat
// rule, labels the body's labels, fail the /fail endpoint.
type beatSpec struct {
	Name   yamlfile.Value[string]                            `yaml:"name"`
	Labels yamlfile.Value[map[string]yamlfile.Value[string]] `yaml:"labels"`
	Fail   bool                                              `yaml:"fail"`
}

type actionSpec struct {
	Incident yamlfile.Value[int]    `yaml:"incident"`
	Key      yamlfile.Value[string] `yaml:"key"`
	Actor    yamlfile.Value[string] `yaml:"actor"`
}

// Load reads and validates the test file at path (in the operating system's
// syntax) and loads the rule files it names, relative to its directory.
// Payload files are read and decoded with decode; a nil decode makes every
// payload step an error.
//
// On failure the error lists every problem, in the test file and in the rule
// files, sorted by position: a yamlfile.Errors.
func Load(path string, decode PayloadDecoder) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, yamlfile.Errors{{Pos: yamlfile.Pos{File: path}, Msg: unwrapPathError(err).Error()}}
	}
	return Parse(path, data, decode)
}

// Parse is Load for a test file's contents; name is its path, which
// positions use and which rule and payload files are relative to.
func Parse(name string, data []byte, decode PayloadDecoder) (*File, error) {
	var spec fileSpec
	var decodeErrs yamlfile.Errors
	decodeErrs.Append(yamlfile.Decode(name, data, &spec))
	l := &loader{
		dir:    filepath.Dir(name),
		decode: decode,
		taken:  make(map[yamlfile.Pos]bool),
		f:      &File{Name: name, Start: DefaultStart, GroupBy: slices.Clone(DefaultGroupBy)},
	}
	for _, e := range decodeErrs {
		l.taken[e.Pos] = true
	}
	l.file(&spec)
	errs := append(decodeErrs, l.errs...)
	if len(l.f.RuleFiles) > 0 {
		// The rule files' problems are reported with the test file's.
		set, err := rules.LoadFiles(l.f.RuleFiles)
		errs.Append(err)
		l.f.Rules = set
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return l.f, nil
}

// loader is the validation pass over a decoded test file.
type loader struct {
	dir    string
	decode PayloadDecoder
	f      *File
	errs   yamlfile.Errors
	// taken are the positions decoding already reported a problem at; a
	// consequential problem there is not reported again.
	taken map[yamlfile.Pos]bool
}

func (l *loader) add(pos yamlfile.Pos, prefix, format string, args ...any) {
	if l.taken[pos] {
		return
	}
	l.errs.Add(pos, "%s", prefix+fmt.Sprintf(format, args...))
}

func (l *loader) file(spec *fileSpec) {
	for _, p := range spec.RuleFiles {
		if p.V == "" {
			l.add(p.Pos, "", "rule_files: empty file name")
			continue
		}
		name := p.V
		if !filepath.IsAbs(name) {
			name = filepath.Join(l.dir, name)
		}
		l.f.RuleFiles = append(l.f.RuleFiles, name)
	}

	if spec.GroupBy.IsSet() {
		l.f.GroupBy = []string{}
		seen := make(map[string]bool)
		for _, g := range spec.GroupBy.V {
			switch {
			case g.V == groupByAll && len(spec.GroupBy.V) > 1:
				l.add(g.Pos, "", `group_by: "..." (all labels) must be the only entry`)
			case g.V == "" || !model.UTF8Validation.IsValidLabelName(g.V):
				l.add(g.Pos, "", "group_by: invalid label name %q", g.V)
			case seen[g.V]:
				l.add(g.Pos, "", "group_by: duplicate label %q", g.V)
			default:
				seen[g.V] = true
				l.f.GroupBy = append(l.f.GroupBy, g.V)
			}
		}
	}

	if spec.Start.V != "" {
		t, err := time.Parse(time.RFC3339Nano, spec.Start.V)
		if err != nil {
			l.add(spec.Start.Pos, "", "start: %q is not an RFC 3339 time such as 2026-01-01T00:00:00Z", spec.Start.V)
		} else {
			l.f.Start = t.UTC()
		}
	}

	if len(spec.Tests.V) == 0 {
		pos := spec.Tests.Pos
		if !spec.Tests.IsSet() {
			pos = yamlfile.Pos{File: l.f.Name}
		}
		l.add(pos, "", "tests: no tests")
	}
	names := make(map[string]yamlfile.Pos)
	for i, ts := range spec.Tests.V {
		t := l.test(&ts.V, ts.Pos, i)
		if t == nil {
			continue
		}
		if prev, ok := names[t.Name]; ok {
			l.add(ts.V.Name.Pos, "", "test %q: name: duplicate name, first defined at %s", t.Name, prev)
			continue
		}
		names[t.Name] = ts.V.Name.Pos
		l.f.Tests = append(l.f.Tests, t)
	}
}

func (l *loader) test(spec *testSpec, pos yamlfile.Pos, index int) *Test {
	prefix := "test #" + strconv.Itoa(index+1) + ": "
	if spec.Name.V != "" {
		prefix = "test " + strconv.Quote(spec.Name.V) + ": "
	}
	t := &Test{Name: spec.Name.V, Pos: pos, file: l.f}
	if spec.Name.V == "" {
		l.add(pos, prefix, "name: required")
	}
	if len(spec.Steps.V) == 0 {
		p := spec.Steps.Pos
		if !spec.Steps.IsSet() {
			p = pos
		}
		l.add(p, prefix, "steps: at least one step is required")
	}
	var prev *Step
	for i, ss := range spec.Steps.V {
		s := l.step(&ss.V, ss.Pos, i, prev, prefix)
		t.Steps = append(t.Steps, s)
		prev = s
	}
	t.Expect = l.expect(spec.Expect, prefix+"expect: ")
	if t.Name == "" || len(t.Steps) == 0 {
		return nil
	}
	return t
}

func (l *loader) step(spec *stepSpec, pos yamlfile.Pos, index int, prev *Step, prefix string) *Step {
	s := &Step{Index: index + 1, Pos: pos}
	prefix += "step " + strconv.Itoa(s.Index) + ": "
	switch {
	case !spec.At.IsSet():
		l.add(pos, prefix, "at: required")
	default:
		d, ok := l.offset(spec.At, prefix+"at")
		if !ok {
			break
		}
		s.At = d
		if prev != nil && d < prev.At {
			l.add(spec.At.Pos, prefix, "at: %s is before the previous step's %s: the clock cannot go back",
				formatOffset(d), formatOffset(prev.At))
		}
	}
	if prev != nil && s.At < prev.At {
		s.At = prev.At // keep later steps' checks meaningful
	}

	for _, a := range spec.Alerts {
		if ev, ok := l.alert(&a.V, a.Pos, s.At, prefix); ok {
			s.Events = append(s.Events, ev)
		}
	}
	if spec.Payload.IsSet() {
		s.Events = append(s.Events, l.payload(spec.Payload, prefix)...)
	}
	for _, b := range spec.Heartbeats {
		if ev, ok := l.beat(&b.V, b.Pos, s.At, prefix); ok {
			s.Events = append(s.Events, ev)
		}
	}
	for _, a := range []struct {
		kind incident.Action
		spec yamlfile.Value[*actionSpec]
	}{
		{incident.ActionAcknowledge, spec.Acknowledge},
		{incident.ActionResolve, spec.Resolve},
	} {
		if a.spec.IsSet() {
			if act := l.action(a.kind, a.spec, prefix); act != nil {
				s.Actions = append(s.Actions, act)
			}
		}
	}
	s.Expect = l.expect(spec.Expect, prefix+"expect: ")
	return s
}

// offset parses an offset from the start: a Prometheus duration, 0 included.
func (l *loader) offset(v yamlfile.Value[string], field string) (time.Duration, bool) {
	if v.V == "" {
		l.add(v.Pos, "", "%s: empty duration", field)
		return 0, false
	}
	d, err := model.ParseDuration(v.V)
	if err != nil {
		l.add(v.Pos, "", "%s: %v", field, err)
		return 0, false
	}
	return time.Duration(d), true
}

// beat is a heartbeat endpoint's event, as ingest makes it.
func (l *loader) beat(spec *beatSpec, pos yamlfile.Pos, at time.Duration, prefix string) (incident.Event, bool) {
	ok := true
	switch {
	case !spec.Name.IsSet():
		l.add(pos, prefix, "heartbeats: name: required")
		ok = false
	case !heartbeatNameRE.MatchString(spec.Name.V):
		l.add(spec.Name.Pos, prefix, "heartbeats: name: must consist of letters, digits, '_' and '-'")
		ok = false
	}
	labels := make(map[string]string, len(spec.Labels.V))
	for name, v := range spec.Labels.V {
		if name == "" || !model.UTF8Validation.IsValidLabelName(name) {
			l.add(v.Pos, prefix, "heartbeats: labels: invalid label name %q", name)
			ok = false
		}
		labels[name] = v.V
	}
	return incident.Event{Source: HeartbeatSource, Fingerprint: spec.Name.V, Status: incident.StatusFiring,
		Labels: labels, StartsAt: l.f.Start.Add(at), Heartbeat: spec.Name.V, HeartbeatFailed: spec.Fail}, ok
}

// heartbeatNameRE is what the rule files accept as a heartbeat's name.
var heartbeatNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func (l *loader) alert(spec *alertSpec, pos yamlfile.Pos, at time.Duration, prefix string) (incident.Event, bool) {
	ok := true
	labels := make(map[string]string, len(spec.Labels.V))
	switch {
	case !spec.Labels.IsSet():
		l.add(pos, prefix, "alert: labels: required")
		ok = false
	case len(spec.Labels.V) == 0:
		l.add(spec.Labels.Pos, prefix, "alert: labels: must not be empty")
		ok = false
	}
	for name, v := range spec.Labels.V {
		if name == "" || !model.UTF8Validation.IsValidLabelName(name) {
			l.add(v.Pos, prefix, "alert: labels: invalid label name %q", name)
			ok = false
		}
		labels[name] = v.V
	}

	status := incident.StatusFiring
	if spec.Status.V != "" {
		status = incident.Status(spec.Status.V)
		if !status.Valid() {
			l.add(spec.Status.Pos, prefix, "alert: status: unknown status %q: want firing or resolved", spec.Status.V)
			ok = false
		}
	}

	startsAt, endsAt := at, at
	if spec.StartsAt.IsSet() {
		d, good := l.offset(spec.StartsAt, prefix+"alert: starts_at")
		ok = ok && good
		startsAt = d
		if good && d > at {
			l.add(spec.StartsAt.Pos, prefix, "alert: starts_at: %s is after the step's at %s: an alert cannot start in the future",
				formatOffset(d), formatOffset(at))
			ok = false
		}
	}
	if spec.EndsAt.IsSet() {
		d, good := l.offset(spec.EndsAt, prefix+"alert: ends_at")
		ok = ok && good
		endsAt = d
		switch {
		case !good:
		case status == incident.StatusFiring:
			l.add(spec.EndsAt.Pos, prefix, "alert: ends_at: only a resolved alert has one (add status: resolved)")
			ok = false
		case d < startsAt:
			l.add(spec.EndsAt.Pos, prefix, "alert: ends_at: %s is before starts_at %s", formatOffset(d), formatOffset(startsAt))
			ok = false
		}
	}
	if !ok {
		return incident.Event{}, false
	}

	start := l.f.Start
	ev := incident.Event{
		Source:       Source,
		Fingerprint:  incident.LabelFingerprint(labels),
		Status:       status,
		Labels:       labels,
		Annotations:  spec.Annotations,
		StartsAt:     start.Add(startsAt),
		GeneratorURL: spec.GeneratorURL,
		GroupLabels:  groupLabels(l.f.GroupBy, labels),
	}
	if ev.Annotations == nil {
		ev.Annotations = map[string]string{}
	}
	if status == incident.StatusResolved {
		ev.EndsAt = start.Add(endsAt)
	}
	return ev, true
}

// groupLabels are the labels of by that the alert has, as Alertmanager sends
// them: a label the alert lacks is left out. By "..." means all labels.
func groupLabels(by []string, labels map[string]string) map[string]string {
	out := make(map[string]string, len(by))
	if len(by) == 1 && by[0] == groupByAll {
		for k, v := range labels {
			out[k] = v
		}
		return out
	}
	for _, k := range by {
		if v, ok := labels[k]; ok {
			out[k] = v
		}
	}
	return out
}

// payload reads and decodes a payload file. Its times are used as written.
func (l *loader) payload(v yamlfile.Value[string], prefix string) []incident.Event {
	if v.V == "" {
		l.add(v.Pos, prefix, "payload: empty file name")
		return nil
	}
	name := v.V
	if !filepath.IsAbs(name) {
		name = filepath.Join(l.dir, name)
	}
	if l.decode == nil {
		l.add(v.Pos, prefix, "payload %s: payload files are not supported here", v.V)
		return nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		l.add(v.Pos, prefix, "payload %s: %v", name, unwrapPathError(err))
		return nil
	}
	evs, err := l.decode(data)
	if err != nil {
		l.add(v.Pos, prefix, "payload %s: %v", name, err)
		return nil
	}
	return evs
}

func (l *loader) action(kind incident.Action, v yamlfile.Value[*actionSpec], prefix string) *Action {
	prefix += string(kind) + ": "
	if v.V == nil {
		l.add(v.Pos, prefix, "want incident: N or key: KEY")
		return nil
	}
	spec := v.V
	a := &Action{Pos: v.Pos, Kind: kind, Incident: spec.Incident.V, Key: spec.Key.V, Actor: spec.Actor.V}
	if a.Actor == "" {
		a.Actor = DefaultActor
	}
	switch {
	case spec.Incident.IsSet() && spec.Key.IsSet():
		l.add(spec.Key.Pos, prefix, "key: give incident or key, not both")
		return nil
	case spec.Incident.IsSet():
		if a.Incident < 1 {
			l.add(spec.Incident.Pos, prefix, "incident: must be at least 1 (incidents are numbered from 1, oldest first)")
			return nil
		}
	case spec.Key.IsSet():
		if a.Key == "" {
			l.add(spec.Key.Pos, prefix, "key: must not be empty")
			return nil
		}
	default:
		l.add(v.Pos, prefix, "want incident: N or key: KEY")
		return nil
	}
	return a
}
