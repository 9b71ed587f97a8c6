package ruletest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// Expect is a checkpoint: the incidents and problems expected at one
// simulated time, oldest first. The number of incidents (and of problems,
// when the checkpoint lists them) must match exactly; of each, only the
// fields the test gives are compared.
type Expect struct {
	// Pos is where the incidents list is written (the problems list's
	// when there is no incidents list).
	Pos       yamlfile.Pos
	incidents []expectedIncident
	// checkIncidents is false when the checkpoint lists only problems.
	checkIncidents bool
	// problemsPos is where the problems list is written; problems are
	// compared only when it is set.
	problemsPos yamlfile.Pos
	problems    []expectedProblem
}

// Actual is what a checkpoint is compared with: the records at one
// simulated time.
type Actual struct {
	// Incidents are those not merged into another, oldest first.
	Incidents []incident.Incident
	// Problems are every problem, oldest first.
	Problems []incident.Problem
	// Workarounds is the workaround each incident carries, by incident ID:
	// the message of the latest workaround entry on its timeline.
	Workarounds map[int64]string
	// Timelines are the incidents' timelines, oldest first, by incident ID:
	// where the priorities an incident had and its symptoms are read from.
	Timelines map[int64][]incident.TimelineEntry
}

// ListsProblems reports whether the checkpoint compares problems, so that
// the caller lists them only then.
func (e *Expect) ListsProblems() bool { return e.problemsPos != (yamlfile.Pos{}) }

// Problem is one difference between the expected and the actual incidents,
// at the position of the expectation it breaks.
type Problem struct {
	Pos yamlfile.Pos
	// Msg says what differs, e.g. "incident 1: state: want resolved, got open".
	Msg string
}

type expectSpec struct {
	Incidents yamlfile.Value[[]yamlfile.Value[incidentSpec]] `yaml:"incidents"`
	Problems  yamlfile.Value[[]yamlfile.Value[problemSpec]]  `yaml:"problems"`
}

// problemSpec is one expected problem as written. Every field is optional.
type problemSpec struct {
	Rule       yamlfile.Value[string] `yaml:"rule"`
	Signature  yamlfile.Value[string] `yaml:"signature"`
	State      yamlfile.Value[string] `yaml:"state"`
	Incidents  yamlfile.Value[int]    `yaml:"incidents"`
	RootCause  yamlfile.Value[string] `yaml:"root_cause"`
	Workaround yamlfile.Value[string] `yaml:"workaround"`
	ResolvedAt yamlfile.Value[string] `yaml:"resolved_at"`
	ClosedAt   yamlfile.Value[string] `yaml:"closed_at"`
}

// expectedProblem is the list of field checks of one expected problem.
type expectedProblem struct {
	pos    yamlfile.Pos
	checks []problemCheck
}

// problemCheck compares one field of a problem, as check does one of an
// incident.
type problemCheck struct {
	field string
	pos   yamlfile.Pos
	want  string
	quote bool
	got   func(pr *incident.Problem, start time.Time) string
}

// incidentSpec is one expected incident as written. Every field is optional.
type incidentSpec struct {
	Rule       yamlfile.Value[string] `yaml:"rule"`
	Key        yamlfile.Value[string] `yaml:"key"`
	State      yamlfile.Value[string] `yaml:"state"`
	Priority   yamlfile.Value[string] `yaml:"priority"`
	Impact     yamlfile.Value[string] `yaml:"impact"`
	Urgency    yamlfile.Value[string] `yaml:"urgency"`
	Alerts     yamlfile.Value[int]    `yaml:"alerts"`
	Firing     yamlfile.Value[int]    `yaml:"firing"`
	Title      yamlfile.Value[string] `yaml:"title"`
	Summary    yamlfile.Value[string] `yaml:"summary"`
	Service    yamlfile.Value[string] `yaml:"service"`
	Owner      yamlfile.Value[string] `yaml:"owner"`
	Sealed     yamlfile.Value[bool]   `yaml:"sealed"`
	OpenedAt   yamlfile.Value[string] `yaml:"opened_at"`
	ResolvedAt yamlfile.Value[string] `yaml:"resolved_at"`
	// Problem is the number of the problem the incident is linked to,
	// numbered as the problems list numbers them; 0 for none.
	Problem    yamlfile.Value[int]    `yaml:"problem"`
	Workaround yamlfile.Value[string] `yaml:"workaround"`
	// The SLA clock: the due times as offsets (or never), the policy's
	// name, and whether each target was missed.
	RespondBy       yamlfile.Value[string] `yaml:"respond_by"`
	ResolveBy       yamlfile.Value[string] `yaml:"resolve_by"`
	SLAPolicy       yamlfile.Value[string] `yaml:"sla_policy"`
	RespondBreached yamlfile.Value[bool]   `yaml:"respond_breached"`
	ResolveBreached yamlfile.Value[bool]   `yaml:"resolve_breached"`
	// Priorities are the priorities the incident had, in order: the one it
	// opened with, then each change.
	Priorities yamlfile.Value[[]yamlfile.Value[string]] `yaml:"priorities"`
	// Symptoms is how many alerts of services depending on the incident's
	// joined it as symptoms.
	Symptoms yamlfile.Value[int] `yaml:"symptoms"`
}

// expectedIncident is the list of field checks of one expected incident, in
// the order of the fields in incidentSpec.
type expectedIncident struct {
	pos    yamlfile.Pos
	checks []check
}

// check compares one field. want and got are rendered the same way, so that
// a message can show them side by side.
type check struct {
	field string
	pos   yamlfile.Pos
	want  string
	// quote says the value is free text, shown quoted.
	quote bool
	got   func(inc *incident.Incident, start time.Time) string
	// gotIn, when set, is used in place of got: the field needs more than
	// the incident (its problem's number, its timeline).
	gotIn func(a *Actual, inc *incident.Incident) string
	// eq compares; nil means want == got.
	eq func(want, got string) bool
}

// never stands for a zero time in opened_at and resolved_at.
const never = "never"

func (l *loader) expect(v yamlfile.Value[*expectSpec], prefix string) *Expect {
	if !v.IsSet() {
		return nil
	}
	if v.V == nil || (!v.V.Incidents.IsSet() && !v.V.Problems.IsSet()) {
		l.add(v.Pos, prefix, "incidents: required (write incidents: [] to expect none)")
		return nil
	}
	e := &Expect{Pos: v.V.Incidents.Pos, checkIncidents: v.V.Incidents.IsSet()}
	if !e.checkIncidents {
		e.Pos = v.V.Problems.Pos
	}
	for i, s := range v.V.Incidents.V {
		e.incidents = append(e.incidents, l.expectedIncident(&s.V, s.Pos, prefix+"incident "+strconv.Itoa(i+1)+": "))
	}
	if v.V.Problems.IsSet() {
		e.problemsPos = v.V.Problems.Pos
		for i, s := range v.V.Problems.V {
			e.problems = append(e.problems, l.expectedProblem(&s.V, s.Pos, prefix+"problem "+strconv.Itoa(i+1)+": "))
		}
	}
	return e
}

func (l *loader) expectedProblem(s *problemSpec, pos yamlfile.Pos, prefix string) expectedProblem {
	e := expectedProblem{pos: pos}
	str := func(field string, v yamlfile.Value[string], quote bool, got func(*incident.Problem) string) {
		if v.IsSet() {
			e.checks = append(e.checks, problemCheck{field: field, pos: v.Pos, want: v.V, quote: quote,
				got: func(pr *incident.Problem, _ time.Time) string { return got(pr) }})
		}
	}
	at := func(field string, v yamlfile.Value[string], got func(*incident.Problem) time.Time) {
		if !v.IsSet() {
			return
		}
		want := never
		if v.V != never {
			d, ok := l.offset(v, prefix+field)
			if !ok {
				return
			}
			want = formatOffset(d)
		}
		e.checks = append(e.checks, problemCheck{field: field, pos: v.Pos, want: want,
			got: func(pr *incident.Problem, start time.Time) string { return formatTime(got(pr), start) }})
	}
	str("rule", s.Rule, true, func(pr *incident.Problem) string { return pr.Name })
	str("signature", s.Signature, true, func(pr *incident.Problem) string { return pr.Signature })
	if s.State.IsSet() {
		if _, err := incident.ParseProblemState(s.State.V); err != nil {
			l.add(s.State.Pos, prefix, "state: %v", err)
		}
		str("state", s.State, false, func(pr *incident.Problem) string { return string(pr.State) })
	}
	if s.Incidents.IsSet() {
		if s.Incidents.V < 0 {
			l.add(s.Incidents.Pos, prefix, "incidents: must not be negative")
		}
		e.checks = append(e.checks, problemCheck{field: "incidents", pos: s.Incidents.Pos, want: strconv.Itoa(s.Incidents.V),
			got: func(pr *incident.Problem, _ time.Time) string { return strconv.Itoa(pr.IncidentCount) }})
	}
	str("root_cause", s.RootCause, true, func(pr *incident.Problem) string { return pr.RootCause })
	str("workaround", s.Workaround, true, func(pr *incident.Problem) string { return pr.Workaround })
	at("resolved_at", s.ResolvedAt, func(pr *incident.Problem) time.Time { return pr.ResolvedAt })
	at("closed_at", s.ClosedAt, func(pr *incident.Problem) time.Time { return pr.ClosedAt })
	return e
}

func (l *loader) expectedIncident(s *incidentSpec, pos yamlfile.Pos, prefix string) expectedIncident {
	e := expectedIncident{pos: pos}
	str := func(field string, v yamlfile.Value[string], quote bool, got func(*incident.Incident) string) {
		if v.IsSet() {
			e.checks = append(e.checks, check{field: field, pos: v.Pos, want: v.V, quote: quote,
				got: func(inc *incident.Incident, _ time.Time) string { return got(inc) }})
		}
	}
	num := func(field string, v yamlfile.Value[int], got func(*incident.Incident) int) {
		if !v.IsSet() {
			return
		}
		if v.V < 0 {
			l.add(v.Pos, prefix, "%s: must not be negative", field)
		}
		e.checks = append(e.checks, check{field: field, pos: v.Pos, want: strconv.Itoa(v.V),
			got: func(inc *incident.Incident, _ time.Time) string { return strconv.Itoa(got(inc)) }})
	}
	parsed := func(field string, v yamlfile.Value[string], parse func(string) (string, error), got func(*incident.Incident) string) {
		if !v.IsSet() {
			return
		}
		want, err := parse(v.V)
		if err != nil {
			l.add(v.Pos, prefix, "%s: %v", field, err)
		}
		e.checks = append(e.checks, check{field: field, pos: v.Pos, want: want,
			got: func(inc *incident.Incident, _ time.Time) string { return got(inc) }})
	}
	at := func(field string, v yamlfile.Value[string], got func(*incident.Incident) time.Time) {
		if !v.IsSet() {
			return
		}
		want := never
		if v.V != never {
			d, ok := l.offset(v, prefix+field)
			if !ok {
				return
			}
			want = formatOffset(d)
		}
		e.checks = append(e.checks, check{field: field, pos: v.Pos, want: want,
			got: func(inc *incident.Incident, start time.Time) string { return formatTime(got(inc), start) }})
	}

	str("rule", s.Rule, true, func(inc *incident.Incident) string { return inc.Rule })
	if s.Key.IsSet() {
		e.checks = append(e.checks, check{field: "key", pos: s.Key.Pos, want: s.Key.V,
			got: func(inc *incident.Incident, _ time.Time) string { return inc.CorrelationKey },
			eq:  KeyMatches})
	}
	parsed("state", s.State, func(v string) (string, error) {
		st, err := incident.ParseState(v)
		return string(st), err
	}, func(inc *incident.Incident) string { return string(inc.State) })
	parsed("priority", s.Priority, func(v string) (string, error) {
		p, err := incident.ParsePriority(v)
		if err != nil {
			return v, err
		}
		return p.String(), nil
	}, func(inc *incident.Incident) string { return inc.Priority.String() })
	level := func(v string) (string, error) {
		lv, err := incident.ParseLevel(v)
		return string(lv), err
	}
	parsed("impact", s.Impact, level, func(inc *incident.Incident) string { return string(inc.Impact) })
	parsed("urgency", s.Urgency, level, func(inc *incident.Incident) string { return string(inc.Urgency) })
	num("alerts", s.Alerts, func(inc *incident.Incident) int { return inc.AlertCount })
	num("firing", s.Firing, func(inc *incident.Incident) int { return inc.FiringCount })
	str("title", s.Title, true, func(inc *incident.Incident) string { return inc.Title })
	str("summary", s.Summary, true, func(inc *incident.Incident) string { return inc.Summary })
	str("service", s.Service, true, func(inc *incident.Incident) string { return inc.Service })
	str("owner", s.Owner, true, func(inc *incident.Incident) string { return inc.Owner })
	if s.Sealed.IsSet() {
		e.checks = append(e.checks, check{field: "sealed", pos: s.Sealed.Pos, want: strconv.FormatBool(s.Sealed.V),
			got: func(inc *incident.Incident, _ time.Time) string { return strconv.FormatBool(!inc.SealedAt.IsZero()) }})
	}
	at("opened_at", s.OpenedAt, func(inc *incident.Incident) time.Time { return inc.OpenedAt })
	at("resolved_at", s.ResolvedAt, func(inc *incident.Incident) time.Time { return inc.ResolvedAt })
	if s.Problem.IsSet() {
		if s.Problem.V < 0 {
			l.add(s.Problem.Pos, prefix, "problem: must not be negative (0 is none, problems are numbered from 1)")
		}
		e.checks = append(e.checks, check{field: "problem", pos: s.Problem.Pos, want: strconv.Itoa(s.Problem.V),
			gotIn: func(a *Actual, inc *incident.Incident) string { return strconv.Itoa(a.problemNumber(inc.ProblemID)) }})
	}
	if s.Workaround.IsSet() {
		e.checks = append(e.checks, check{field: "workaround", pos: s.Workaround.Pos, want: s.Workaround.V, quote: true,
			gotIn: func(a *Actual, inc *incident.Incident) string { return a.Workarounds[inc.ID] }})
	}
	at("respond_by", s.RespondBy, func(inc *incident.Incident) time.Time { return inc.RespondBy })
	at("resolve_by", s.ResolveBy, func(inc *incident.Incident) time.Time { return inc.ResolveBy })
	str("sla_policy", s.SLAPolicy, true, func(inc *incident.Incident) string { return inc.SLAPolicy })
	for _, b := range []struct {
		field string
		v     yamlfile.Value[bool]
		got   func(*incident.Incident) time.Time
	}{
		{"respond_breached", s.RespondBreached, func(inc *incident.Incident) time.Time { return inc.RespondBreachedAt }},
		{"resolve_breached", s.ResolveBreached, func(inc *incident.Incident) time.Time { return inc.ResolveBreachedAt }},
	} {
		if b.v.IsSet() {
			got := b.got
			e.checks = append(e.checks, check{field: b.field, pos: b.v.Pos, want: strconv.FormatBool(b.v.V),
				got: func(inc *incident.Incident, _ time.Time) string { return strconv.FormatBool(!got(inc).IsZero()) }})
		}
	}
	if s.Priorities.IsSet() {
		want := make([]string, 0, len(s.Priorities.V))
		for _, v := range s.Priorities.V {
			p, err := incident.ParsePriority(v.V)
			if err != nil {
				l.add(v.Pos, prefix, "priorities: %v", err)
				continue
			}
			want = append(want, p.String())
		}
		if len(s.Priorities.V) == 0 {
			l.add(s.Priorities.Pos, prefix, "priorities: list at least the priority it opened with")
		}
		e.checks = append(e.checks, check{field: "priorities", pos: s.Priorities.Pos, want: formatList(want),
			gotIn: func(a *Actual, inc *incident.Incident) string {
				return formatList(priorities(inc, a.Timelines[inc.ID]))
			}})
	}
	if s.Symptoms.IsSet() {
		if s.Symptoms.V < 0 {
			l.add(s.Symptoms.Pos, prefix, "symptoms: must not be negative")
		}
		e.checks = append(e.checks, check{field: "symptoms", pos: s.Symptoms.Pos, want: strconv.Itoa(s.Symptoms.V),
			gotIn: func(a *Actual, inc *incident.Incident) string { return strconv.Itoa(symptoms(a.Timelines[inc.ID])) }})
	}
	return e
}

// priorities lists the priorities inc had, from its timeline: the one it
// opened with, then each change. A merge that raised it records no change
// entry of its own; the current priority closes the list then.
func priorities(inc *incident.Incident, timeline []incident.TimelineEntry) []string {
	var out []string
	for _, e := range timeline {
		if e.Kind != incident.TimelinePriorityChanged {
			continue
		}
		from, to, ok := incident.ParsePriorityChange(e.Message)
		if !ok {
			continue
		}
		if len(out) == 0 {
			out = append(out, from.String())
		}
		out = append(out, to.String())
	}
	if cur := inc.Priority.String(); len(out) == 0 || out[len(out)-1] != cur {
		out = append(out, cur)
	}
	return out
}

// symptoms counts the distinct alerts that joined an incident as symptoms,
// by its timeline: each has a symptom entry, whether it arrived after its
// cause's incident opened or was re-homed into it when the cause opened.
func symptoms(timeline []incident.TimelineEntry) int {
	fps := make(map[string]bool)
	for _, e := range timeline {
		if e.Kind == incident.TimelineSymptom {
			fps[e.Fingerprint] = true
		}
	}
	return len(fps)
}

// formatList renders a list as the YAML flow sequence a test writes.
func formatList(l []string) string { return "[" + strings.Join(l, ", ") + "]" }

// problemNumber is the 1-based number of the problem with id, oldest
// first, as expectations number problems; 0 for none (or one not listed).
func (a *Actual) problemNumber(id int64) int {
	for i := range a.Problems {
		if a.Problems[i].ID == id {
			return i + 1
		}
	}
	return 0
}

// Check compares the actual incidents, oldest first, with the expected ones;
// start is the simulated start time that offsets count from. It returns
// nothing when they agree. A different number of incidents is one problem,
// and then the incidents are not compared one by one: which expected
// incident is which actual one would be a guess.
func (e *Expect) Check(a *Actual, start time.Time) []Problem {
	out := e.checkProblems(a, start)
	if !e.checkIncidents {
		return out
	}
	got := a.Incidents
	if len(got) != len(e.incidents) {
		return append([]Problem{{Pos: e.Pos, Msg: fmt.Sprintf("incidents: want %d, got %d", len(e.incidents), len(got))}}, out...)
	}
	var incs []Problem
	for i, want := range e.incidents {
		inc := &got[i]
		for _, c := range want.checks {
			var g string
			if c.gotIn != nil {
				g = c.gotIn(a, inc)
			} else {
				g = c.got(inc, start)
			}
			same := g == c.want
			if c.eq != nil {
				same = c.eq(c.want, g)
			}
			if same {
				continue
			}
			w := c.want
			if c.quote || c.field == "key" {
				w, g = strconv.Quote(w), strconv.Quote(g)
			}
			incs = append(incs, Problem{Pos: c.pos, Msg: fmt.Sprintf("incident %d: %s: want %s, got %s", i+1, c.field, w, g)})
		}
	}
	// Incidents first, as they are written first.
	return append(incs, out...)
}

// checkProblems compares the problems, when the checkpoint lists them, as
// Check compares incidents.
func (e *Expect) checkProblems(a *Actual, start time.Time) []Problem {
	if !e.ListsProblems() {
		return nil
	}
	if len(a.Problems) != len(e.problems) {
		return []Problem{{Pos: e.problemsPos, Msg: fmt.Sprintf("problems: want %d, got %d", len(e.problems), len(a.Problems))}}
	}
	var out []Problem
	for i, want := range e.problems {
		for _, c := range want.checks {
			g := c.got(&a.Problems[i], start)
			if g == c.want {
				continue
			}
			w := c.want
			if c.quote {
				w, g = strconv.Quote(w), strconv.Quote(g)
			}
			out = append(out, Problem{Pos: c.pos, Msg: fmt.Sprintf("problem %d: %s: want %s, got %s", i+1, c.field, w, g)})
		}
	}
	return out
}

// versionRE finds the @version of a rule's correlation key: 8 hex digits
// after the rule's name, before its labels.
var versionRE = regexp.MustCompile(`^(rule/[A-Za-z0-9_-]+)@[0-9a-f]{8}(\{.*)$`)

// KeyMatches reports whether an expected correlation key matches an actual
// one. The expected key may leave out the rule's @version, which is a hash
// that changes whenever the rule's matchers or by change:
// rule/disk{cluster="a"} matches rule/disk@e17c8802{cluster="a"}. With a
// version, the keys must be equal.
func KeyMatches(want, got string) bool {
	if want == got {
		return true
	}
	name, _, _ := strings.Cut(want, "{")
	if strings.Contains(name, "@") {
		return false
	}
	return versionRE.ReplaceAllString(got, "$1$2") == want
}

// WriteIncidents writes a compact listing of incidents, oldest first and
// numbered as expectations number them, each line starting with indent.
// Times are offsets from start.
func WriteIncidents(w io.Writer, list []incident.Incident, start time.Time, indent string) {
	if len(list) == 0 {
		fmt.Fprintf(w, "%s(no incidents)\n", indent)
		return
	}
	for i := range list {
		inc := &list[i]
		fmt.Fprintf(w, "%s%d. %s %s rule=%q key=%s alerts=%d firing=%d\n", indent, i+1, inc.State, inc.Priority,
			inc.Rule, inc.CorrelationKey, inc.AlertCount, inc.FiringCount)
		var more []string
		more = append(more, "title="+strconv.Quote(inc.Title))
		if inc.Service != "" {
			more = append(more, "service="+strconv.Quote(inc.Service))
		}
		if inc.Owner != "" {
			more = append(more, "owner="+strconv.Quote(inc.Owner))
		}
		more = append(more, "opened_at="+formatTime(inc.OpenedAt, start))
		if !inc.ResolvedAt.IsZero() {
			more = append(more, "resolved_at="+formatTime(inc.ResolvedAt, start))
		}
		if !inc.SealedAt.IsZero() {
			more = append(more, "sealed_at="+formatTime(inc.SealedAt, start))
		}
		for _, t := range []struct {
			name         string
			by, breached time.Time
		}{{"respond_by", inc.RespondBy, inc.RespondBreachedAt}, {"resolve_by", inc.ResolveBy, inc.ResolveBreachedAt}} {
			if !t.by.IsZero() {
				v := t.name + "=" + formatTime(t.by, start)
				if !t.breached.IsZero() {
					v += "(breached)"
				}
				more = append(more, v)
			}
		}
		fmt.Fprintf(w, "%s   %s\n", indent, strings.Join(more, " "))
	}
}

// WriteProblems writes a compact listing of problems, oldest first and
// numbered as expectations number them, each line starting with indent.
func WriteProblems(w io.Writer, list []incident.Problem, start time.Time, indent string) {
	if len(list) == 0 {
		fmt.Fprintf(w, "%s(no problems)\n", indent)
		return
	}
	for i := range list {
		pr := &list[i]
		more := []string{"opened_at=" + formatTime(pr.OpenedAt, start)}
		if !pr.ResolvedAt.IsZero() {
			more = append(more, "resolved_at="+formatTime(pr.ResolvedAt, start))
		}
		if !pr.ClosedAt.IsZero() {
			more = append(more, "closed_at="+formatTime(pr.ClosedAt, start))
		}
		if pr.Workaround != "" {
			more = append(more, "workaround="+strconv.Quote(pr.Workaround))
		}
		fmt.Fprintf(w, "%s%d. %s rule=%q signature=%s incidents=%d\n%s   %s\n", indent, i+1, pr.State, pr.Name,
			pr.Signature, pr.IncidentCount, indent, strings.Join(more, " "))
	}
}

// formatTime renders t as an offset from start; the zero time is "never".
func formatTime(t, start time.Time) string {
	if t.IsZero() {
		return never
	}
	return formatOffset(t.Sub(start))
}

// formatOffset renders an offset as a Prometheus duration, e.g. 1h30m.
func formatOffset(d time.Duration) string {
	if d < 0 {
		return "-" + model.Duration(-d).String()
	}
	return model.Duration(d).String()
}

// unwrapPathError drops the path and operation from a file error: the
// message already names the file as the user wrote it.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
