package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
	// Time zones are part of the rules language: a rule file valid on one
	// machine must be valid on every other, zoneinfo installed or not (a
	// scratch container has none). The machine's zoneinfo is still used
	// when present; this is the fallback, about 450 KB.

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
	"github.com/alertbridge/alertbridge/sla"
)

// SLAPolicy is one compiled entry of sla.policies: the respond and resolve
// targets of the incidents of a priority, and optionally of one service. It
// is immutable and safe for concurrent use; do not modify its Calendar.
type SLAPolicy struct {
	// Priority is the priority of the incidents the policy applies to.
	Priority incident.Priority
	// Service limits the policy to the incidents of this service; "" means
	// every service.
	Service string
	// Respond is the time to acknowledge and Resolve the time to resolve,
	// both greater than 0, Respond at most Resolve. They are business time
	// on Calendar.
	Respond, Resolve time.Duration
	// Calendar is the business-hours calendar the targets count on; nil
	// means 24x7.
	Calendar *sla.Calendar
	// CalendarName is the name Calendar has in sla.calendars; "" for 24x7.
	CalendarName string
	// Pos is where the policy is defined, for messages.
	Pos yamlfile.Pos
}

// RespondBy returns when an incident opened at opened must be acknowledged.
func (p *SLAPolicy) RespondBy(opened time.Time) time.Time {
	return p.Calendar.AddBusiness(opened, p.Respond)
}

// ResolveBy returns when an incident opened at opened must be resolved.
func (p *SLAPolicy) ResolveBy(opened time.Time) time.Time {
	return p.Calendar.AddBusiness(opened, p.Resolve)
}

// matches reports whether the policy applies to an incident.
func (p *SLAPolicy) matches(prio incident.Priority, service string) bool {
	return p.Priority == prio && (p.Service == "" || p.Service == service)
}

// SLA returns the first policy (in the order written) whose priority is p
// and whose service is empty or service, or nil if there is none or s is
// nil: such an incident has no SLA targets.
func (s *Set) SLA(p incident.Priority, service string) *SLAPolicy {
	if s == nil {
		return nil
	}
	for _, pol := range s.slaPolicies {
		if pol.matches(p, service) {
			return pol
		}
	}
	return nil
}

// SLAPolicies returns the SLA policies in the order written.
func (s *Set) SLAPolicies() []*SLAPolicy {
	if s == nil {
		return nil
	}
	return slices.Clone(s.slaPolicies)
}

// slaSpec is the sla section as written.
type slaSpec struct {
	Calendars map[string]yamlfile.Value[calendarSpec] `yaml:"calendars"`
	Policies  []yamlfile.Value[policySpec]            `yaml:"policies"`
}

// calendarSpec is one entry of sla.calendars as written.
type calendarSpec struct {
	TimeZone yamlfile.Value[string]                   `yaml:"time_zone"`
	Days     yamlfile.Value[[]yamlfile.Value[string]] `yaml:"days"`
	Hours    yamlfile.Value[string]                   `yaml:"hours"`
	Holidays []yamlfile.Value[string]                 `yaml:"holidays"`
}

// policySpec is one entry of sla.policies as written.
type policySpec struct {
	Priority yamlfile.Value[string] `yaml:"priority"`
	Service  yamlfile.Value[string] `yaml:"service"`
	Respond  yamlfile.Value[string] `yaml:"respond"`
	Resolve  yamlfile.Value[string] `yaml:"resolve"`
	Calendar yamlfile.Value[string] `yaml:"calendar"`
}

// compileSLA checks and builds the one sla section of all files. A second
// section is an error and applies to nothing, but its own problems are
// reported too.
func compileSLA(files []*file, rep *reporter) []*SLAPolicy {
	var first *yamlfile.Value[*slaSpec]
	var out []*SLAPolicy
	for _, f := range files {
		if f.SLA.V == nil {
			continue
		}
		if first != nil {
			rep.add(f.SLA.Pos, "", "sla: duplicate section, first defined at %s", first.Pos)
			f.SLA.V.compile(rep)
			continue
		}
		first = &f.SLA
		out = f.SLA.V.compile(rep)
	}
	return out
}

// compile checks the section and builds its policies.
func (s *slaSpec) compile(rep *reporter) []*SLAPolicy {
	// A calendar with problems is nil here, so that the policies naming it
	// get no second, consequential error.
	cals := make(map[string]*sla.Calendar, len(s.Calendars))
	for name, v := range s.Calendars {
		prefix := "sla: calendar " + strconv.Quote(name) + ": "
		if !nameRE.MatchString(name) {
			rep.add(v.Pos, prefix, "name must consist of letters, digits, '_' and '-'")
		}
		cals[name] = v.V.compile(v.Pos, prefix, rep)
	}

	var out []*SLAPolicy
	var numbers []int // the policy number of each of out, for messages
	for i, v := range s.Policies {
		prefix := "sla: policy #" + strconv.Itoa(i+1) + ": "
		p, ok := v.V.compile(v.Pos, prefix, cals, rep)
		if !ok {
			continue
		}
		for j, q := range out {
			if q.matches(p.Priority, p.Service) {
				rep.add(v.Pos, prefix, "never applies: policy #%d at %s, before it, takes all its incidents", numbers[j], q.Pos)
				break
			}
		}
		out = append(out, p)
		numbers = append(numbers, i+1)
	}
	return out
}

// compile checks one policy and builds it; ok is false when its priority
// is missing or invalid, so that it cannot be checked against the others.
func (s *policySpec) compile(pos yamlfile.Pos, prefix string, cals map[string]*sla.Calendar, rep *reporter) (p *SLAPolicy, ok bool) {
	p = &SLAPolicy{Service: s.Service.V, CalendarName: s.Calendar.V, Pos: pos}
	if required(s.Priority, s.Priority.V == "", pos, "priority", prefix, rep) {
		// Reported.
	} else if prio, err := incident.ParsePriority(s.Priority.V); err != nil {
		rep.add(s.Priority.Pos, prefix, "%v", err)
	} else {
		p.Priority, ok = prio, true
	}

	p.Respond = requiredDuration(s.Respond, pos, fRespond, prefix, rep)
	p.Resolve = requiredDuration(s.Resolve, pos, fResolve, prefix, rep)
	if p.Respond > 0 && p.Resolve > 0 && p.Respond > p.Resolve {
		rep.add(s.Respond.Pos, prefix, "respond: must not be longer than resolve (%s)", s.Resolve.V)
	}

	if name := s.Calendar.V; name != "" {
		cal, known := cals[name]
		if !known {
			rep.add(s.Calendar.Pos, prefix, "calendar: unknown calendar %q", name)
		}
		p.Calendar = cal
	}
	return p, ok
}

// fRespond is the name of a policy's respond target; its resolve target
// shares fResolve with the rule field.
const fRespond = "respond"

// requiredDuration is positiveDuration for a field that must be set; pos is
// where the field's mapping is, for "required".
func requiredDuration(v yamlfile.Value[string], pos yamlfile.Pos, field, prefix string, rep *reporter) time.Duration {
	if required(v, v.V == "", pos, field, prefix, rep) {
		return 0
	}
	return positiveDuration(v, field, prefix, rep)
}

// required reports a field that must be set and is missing (at pos, where
// the field's mapping is) or empty (at v.Pos), and returns whether it did.
// A value that decoding rejected (a list for a string) is empty and already
// reported at its own position, so the reporter drops the second error.
func required[T any](v yamlfile.Value[T], empty bool, pos yamlfile.Pos, field, prefix string, rep *reporter) bool {
	switch {
	case !v.IsSet():
		rep.add(pos, prefix, "%s: required", field)
	case empty:
		rep.add(v.Pos, prefix, "%s: must not be empty", field)
	default:
		return false
	}
	return true
}

// weekdays are the names of days in sla.calendars.*.days.
var weekdays = map[string]time.Weekday{
	"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
	"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday,
}

// compile checks one calendar and builds it; it returns nil when the
// calendar has a problem.
func (s *calendarSpec) compile(pos yamlfile.Pos, prefix string, rep *reporter) *sla.Calendar {
	c := &sla.Calendar{}
	bad := false
	fail := func(pos yamlfile.Pos, format string, args ...any) {
		rep.add(pos, prefix, format, args...)
		bad = true
	}

	switch tz := s.TimeZone.V; {
	case required(s.TimeZone, tz == "", pos, "time_zone", prefix, rep):
		bad = true
	case tz == "Local":
		// The machine's zone would make due times depend on where the
		// daemon runs.
		fail(s.TimeZone.Pos, `time_zone: "Local" is not allowed: name a zone such as Europe/Berlin or UTC`)
	default:
		loc, err := time.LoadLocation(tz)
		if err != nil {
			fail(s.TimeZone.Pos, "time_zone: unknown time zone %q", tz)
		}
		c.Location = loc
	}

	if required(s.Days, len(s.Days.V) == 0, pos, "days", prefix, rep) {
		bad = true
	}
	for _, d := range s.Days.V {
		wd, ok := weekdays[d.V]
		switch {
		case !ok:
			fail(d.Pos, "days: unknown day %q: want mon, tue, wed, thu, fri, sat or sun", d.V)
		case c.Days[wd]:
			fail(d.Pos, "days: duplicate day %q", d.V)
		default:
			c.Days[wd] = true
		}
	}

	if required(s.Hours, s.Hours.V == "", pos, "hours", prefix, rep) {
		bad = true
	} else if start, end, err := parseHours(s.Hours.V); err != nil {
		fail(s.Hours.Pos, "hours: %v", err)
	} else {
		c.Start, c.End = start, end
	}

	for _, h := range s.Holidays {
		d, err := sla.ParseDate(h.V)
		switch {
		case err != nil:
			fail(h.Pos, "holidays: %v", err)
		case c.Holidays[d]:
			fail(h.Pos, "holidays: duplicate date %s", d)
		default:
			if c.Holidays == nil {
				c.Holidays = make(map[sla.Date]bool)
			}
			c.Holidays[d] = true
		}
	}

	if bad {
		return nil
	}
	return c
}

var hoursRE = regexp.MustCompile(`^([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})$`)

// parseHours parses a business window such as "09:00-17:00". The end may be
// 24:00, the next midnight; it must be after the start.
func parseHours(s string) (start, end time.Duration, err error) {
	m := hoursRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("%q: want HH:MM-HH:MM, e.g. \"09:00-17:00\"", s)
	}
	clock := func(hh, mm string, endOfDay bool) (time.Duration, error) {
		h, _ := strconv.Atoi(hh)
		min, _ := strconv.Atoi(mm)
		if h > 24 || min > 59 || h == 24 && (min > 0 || !endOfDay) {
			return 0, fmt.Errorf("%q: %s:%s is not a time of day", s, hh, mm)
		}
		return time.Duration(h)*time.Hour + time.Duration(min)*time.Minute, nil
	}
	if start, err = clock(m[1], m[2], false); err != nil {
		return 0, 0, err
	}
	if end, err = clock(m[3], m[4], true); err != nil {
		return 0, 0, err
	}
	if end <= start {
		return 0, 0, fmt.Errorf("%q: the end must be after the start (hours over midnight are not supported)", s)
	}
	return start, end, nil
}
