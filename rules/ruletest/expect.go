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

// Expect is a checkpoint: the incidents expected at one simulated time,
// oldest first. The number of incidents must match exactly; of each
// incident, only the fields the test gives are compared.
type Expect struct {
	// Pos is where the incidents list is written.
	Pos       yamlfile.Pos
	incidents []expectedIncident
}

// Problem is one difference between the expected and the actual incidents,
// at the position of the expectation it breaks.
type Problem struct {
	Pos yamlfile.Pos
	// Msg says what differs, e.g. "incident 1: state: want resolved, got open".
	Msg string
}

type expectSpec struct {
	Incidents yamlfile.Value[[]yamlfile.Value[incidentSpec]] `yaml:"incidents"`
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
	// eq compares; nil means want == got.
	eq func(want, got string) bool
}

// never stands for a zero time in opened_at and resolved_at.
const never = "never"

func (l *loader) expect(v yamlfile.Value[*expectSpec], prefix string) *Expect {
	if !v.IsSet() {
		return nil
	}
	if v.V == nil || !v.V.Incidents.IsSet() {
		l.add(v.Pos, prefix, "incidents: required (write incidents: [] to expect none)")
		return nil
	}
	e := &Expect{Pos: v.V.Incidents.Pos}
	for i, s := range v.V.Incidents.V {
		e.incidents = append(e.incidents, l.expectedIncident(&s.V, s.Pos, prefix+"incident "+strconv.Itoa(i+1)+": "))
	}
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
	return e
}

// Check compares the actual incidents, oldest first, with the expected ones;
// start is the simulated start time that offsets count from. It returns
// nothing when they agree. A different number of incidents is one problem,
// and then the incidents are not compared one by one: which expected
// incident is which actual one would be a guess.
func (e *Expect) Check(got []incident.Incident, start time.Time) []Problem {
	if len(got) != len(e.incidents) {
		return []Problem{{Pos: e.Pos, Msg: fmt.Sprintf("incidents: want %d, got %d", len(e.incidents), len(got))}}
	}
	var out []Problem
	for i, want := range e.incidents {
		inc := &got[i]
		for _, c := range want.checks {
			g := c.got(inc, start)
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
			out = append(out, Problem{Pos: c.pos, Msg: fmt.Sprintf("incident %d: %s: want %s, got %s", i+1, c.field, w, g)})
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
		fmt.Fprintf(w, "%s   %s\n", indent, strings.Join(more, " "))
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
