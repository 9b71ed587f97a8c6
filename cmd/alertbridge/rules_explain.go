package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/ingest"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

const rulesExplainUsage = `usage: alertbridge rules explain [--rules FILE]... (--alert LABELS | --payload FILE)
                                [--group-by LABELS] [--storage.path DIR] [--at TIME]

Explain what the rules do with an alert: its catalog service, the rule that
matches it, its correlation key, impact, urgency and priority, title and
summary, and the rule's window, thresholds and resolve settings. Without
--storage.path it says in words what a firing does to an incident with that
key; with it, it reads the daemon's database (read-only) and says what a
firing of the alert would do now: join, reopen or seal which incident, or
open a new one.

--alert takes a label set in Alertmanager's syntax, with or without braces:
'alertname="DiskFull", cluster="a"' or '{alertname="DiskFull"}'. Only =
is allowed: an alert has label values, not patterns. --payload takes an
Alertmanager webhook body and explains each of its alerts.

flags:
`

// explainOptions are the flags of rules explain.
type explainOptions struct {
	rules       []string
	alerts      []string
	payload     string
	groupBy     []string
	storagePath string
	at          time.Time
}

func runRulesExplain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("rules explain", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var ruleFiles, alerts stringsFlag
	flags.Var(&ruleFiles, "rules", "rule file or glob (repeatable); none: the built-in defaults")
	flags.Var(&alerts, "alert", `an alert's labels, e.g. 'alertname="DiskFull", cluster="a"' (repeatable)`)
	payload := flags.String("payload", "", "an Alertmanager webhook payload file; explains each alert in it")
	groupBy := flags.String("group-by", "alertname", "comma-separated group labels an --alert is sent with (the route's group_by; '...' for all)")
	storagePath := flags.String("storage.path", "", "the daemon's storage directory; opens its database read-only to say what a firing would do now")
	at := flags.String("at", "", "the time to explain at, RFC 3339 (default: now)")
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), rulesExplainUsage)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "alertbridge rules explain: "+format+"\n\n", args...)
		flags.Usage()
		return 2
	}
	if flags.NArg() > 0 {
		return usageErr("unexpected argument %q", flags.Arg(0))
	}
	if (len(alerts) == 0) == (*payload == "") {
		return usageErr("give --alert or --payload, not both and not neither")
	}
	o := explainOptions{rules: ruleFiles, alerts: alerts, payload: *payload, storagePath: *storagePath, at: time.Now().UTC()}
	for _, g := range strings.Split(*groupBy, ",") {
		if g = strings.TrimSpace(g); g != "" {
			o.groupBy = append(o.groupBy, g)
		}
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			return usageErr("--at: %q is not an RFC 3339 time such as 2026-01-01T00:00:00Z", *at)
		}
		o.at = t.UTC()
	}

	var events []incident.Event
	for _, a := range alerts {
		ev, err := parseAlert(a, o.groupBy, o.at)
		if err != nil {
			return usageErr("--alert %s: %v", a, err)
		}
		events = append(events, ev)
	}
	if o.payload != "" {
		data, err := os.ReadFile(o.payload)
		if err != nil {
			fmt.Fprintf(stderr, "alertbridge rules explain: %v\n", err)
			return 1
		}
		if events, err = ingest.DecodeAlertmanager(data); err != nil {
			fmt.Fprintf(stderr, "alertbridge rules explain: payload %s: %v\n", o.payload, err)
			return 1
		}
	}

	var set *rules.Set
	if len(o.rules) > 0 {
		var err error
		if set, err = rules.LoadFiles(o.rules); err != nil {
			writeErrors(stderr, err)
			return 1
		}
	}
	var st *sqlite.Store
	if o.storagePath != "" {
		var err error
		if st, err = sqlite.OpenReadOnly(ctx, filepath.Join(o.storagePath, sqlite.FileName)); err != nil {
			fmt.Fprintf(stderr, "alertbridge rules explain: %v\n", err)
			return 1
		}
		defer st.Close()
	}

	x := &explainer{w: stdout, set: set, st: st, o: o}
	if len(o.rules) == 0 {
		fmt.Fprintln(stdout, "rules: none given: the built-in defaults")
	} else {
		fmt.Fprintf(stdout, "rules: %s\n", strings.Join(set.Files(), ", "))
	}
	if st != nil {
		fmt.Fprintf(stdout, "now: %s, from %s (read-only)\n", o.at.Format(time.RFC3339), st.Path())
	}
	for _, ev := range events {
		fmt.Fprintln(stdout)
		if err := x.explain(ctx, ev); err != nil {
			fmt.Fprintf(stderr, "alertbridge rules explain: %v\n", err)
			return 1
		}
	}
	return 0
}

// parseMatchers reads --alert the way Alertmanager reads matchers, so that a
// label set copied from a matcher or a silence works.
var parseMatchers = compat.FallbackMatchersParser(slog.New(slog.DiscardHandler))

// parseAlert turns an --alert label set into a firing event that starts at
// at, with the group labels a route grouping by groupBy would send.
func parseAlert(s string, groupBy []string, at time.Time) (incident.Event, error) {
	ms, err := parseMatchers(s, "--alert")
	if err != nil {
		return incident.Event{}, err
	}
	lset := make(map[string]string, len(ms))
	for _, m := range ms {
		if m.Type != labels.MatchEqual {
			return incident.Event{}, fmt.Errorf("%s: only = is allowed, not %s: an alert has label values, not patterns", m.Name, m.Type)
		}
		if _, dup := lset[m.Name]; dup {
			return incident.Event{}, fmt.Errorf("duplicate label %q", m.Name)
		}
		lset[m.Name] = m.Value
	}
	for k, v := range lset {
		if v == "" { // as in Prometheus, an empty label is no label
			delete(lset, k)
		}
	}
	if len(lset) == 0 {
		return incident.Event{}, errors.New("no labels")
	}
	group := make(map[string]string)
	for _, g := range groupBy {
		if g == "..." {
			for k, v := range lset {
				group[k] = v
			}
			continue
		}
		if v, ok := lset[g]; ok {
			group[g] = v
		}
	}
	return incident.Event{
		Source: "explain", Fingerprint: incident.LabelFingerprint(lset), Status: incident.StatusFiring,
		Labels: lset, Annotations: map[string]string{}, StartsAt: at, GroupLabels: group,
	}, nil
}

// explainer writes the explanation of one alert after another.
type explainer struct {
	w   io.Writer
	set *rules.Set
	st  *sqlite.Store // nil without --storage.path
	o   explainOptions
}

// line writes one "name  value" line of an alert's explanation.
func (x *explainer) line(name, format string, args ...any) {
	fmt.Fprintf(x.w, "  %-14s %s\n", name, fmt.Sprintf(format, args...))
}

func (x *explainer) explain(ctx context.Context, ev incident.Event) error {
	d := pipeline.Decide(x.set, ev)
	rule := x.set.Match(ev.Labels)
	svc := x.set.Service(ev.Labels)
	base := rule
	if base == nil {
		base = x.set.Defaults()
	}

	fmt.Fprintf(x.w, "alert %s\n", incident.FormatLabels(ev.Labels))
	x.line("fingerprint", "%s", ev.Fingerprint)
	if hb := x.set.BeatOf(ev.Labels); hb != nil {
		// Heartbeats are matched before correlation rules: a beat goes no
		// further.
		key, _ := hb.Instance(ev.Labels)
		x.line("heartbeat", "%s (%s): a beat of %s", hb.Name, hb.Pos, key)
		x.line("means", "no incident, not noise; %s is missing %s after its last beat (interval %s, grace %s)",
			key, dur(hb.Interval+hb.Grace), dur(hb.Interval), dur(hb.Grace))
		return nil
	}
	if ev.Status == incident.StatusResolved {
		x.line("status", "resolved in the payload; explained as if it fired now")
	}
	switch {
	case svc != nil:
		s := fmt.Sprintf("%s (catalog service, %s", svc.Name, svc.Pos)
		if svc.Owner != "" {
			s += "; owner " + svc.Owner
		}
		x.line("service", "%s)", s)
	case ev.Labels["service"] != "":
		x.line("service", "%s (the alert's service label; no catalog service matches)", d.Service)
	case ev.Labels["job"] != "":
		x.line("service", "%s (the alert's job label; no catalog service matches, no service label)", d.Service)
	default:
		x.line("service", "none (no catalog service matches, no service or job label)")
	}
	defaults := "the built-in defaults apply"
	if dp := x.set.Defaults(); dp != nil && dp.Pos.Line > 0 {
		defaults = fmt.Sprintf("the defaults block (%s) applies", dp.Pos)
	}
	switch {
	case rule != nil:
		x.line("rule", "%s (%s)", rule.Name, rule.Pos)
	case ev.GroupLabels != nil:
		x.line("rule", "no rule matched: %s, key from group labels", defaults)
	default:
		x.line("rule", "no rule matched: %s; no group labels, so one incident per alert", defaults)
	}
	x.line("key", "%s", d.Key)
	if d.Drop {
		x.line("action", "drop: no incident; the alert's state is remembered, so that its repeats stay dropped")
		return nil
	}

	ri, ru := incident.Level(""), incident.Level("")
	if base != nil {
		ri, ru = base.Levels(ev.Labels)
	}
	from := "defaults"
	if rule != nil {
		from = "rule " + rule.Name
	}
	sev := "no severity label"
	if s, ok := ev.Labels["severity"]; ok {
		sev = "severity=" + strconv.Quote(s)
	}
	impactFrom, urgencyFrom := sev, sev
	switch {
	case ri != "":
		impactFrom = from
	case svc != nil && svc.Impact != "":
		impactFrom = "service " + svc.Name
	}
	if ru != "" {
		urgencyFrom = from
	}
	x.line("impact", "%s (%s)", d.Impact, impactFrom)
	x.line("urgency", "%s (%s)", d.Urgency, urgencyFrom)
	x.line("priority", "%s", incident.PriorityOf(d.Impact, d.Urgency))
	x.line("title", "%s%s", d.Title, x.templateNote(base, "title", base.Title, ev))
	summary := d.Summary
	if summary == "" {
		summary = "(empty)"
	}
	x.line("summary", "%s%s", oneLine(summary), x.templateNote(base, "summary", base.Summary, ev))
	if d.Window > 0 {
		x.line("window", "%s: alerts join an incident until it has had no event for %s", dur(d.Window), dur(d.Window))
	} else {
		x.line("window", "none: an open incident takes new alerts however long it has been quiet")
	}
	if d.MinAlerts > 1 {
		x.line("min_alerts", "%d: the incident is pending until %d alerts of the key fire", d.MinAlerts, d.MinAlerts)
	} else {
		x.line("min_alerts", "1: the incident opens with the first alert")
	}
	x.line("reopen_within", "%s", dur(d.ReopenWithin))
	switch d.Resolve {
	case incident.ResolveAny:
		x.line("resolve", "any: the incident resolves as soon as one of its alerts resolves")
	case incident.ResolveManual:
		x.line("resolve", "manual: the incident resolves only by hand")
	default:
		x.line("resolve", "all: the incident resolves once all its alerts are resolved")
	}
	if d.ResolveAfter > 0 {
		x.line("resolve_after", "%s: only once the alerts have stayed resolved that long; a firing in between keeps the incident open", dur(d.ResolveAfter))
	} else {
		x.line("resolve_after", "none")
	}
	x.problems(d, ev)
	if x.st == nil {
		for i, l := range inWords(d) {
			name := ""
			if i == 0 {
				name = "if it fires"
			}
			x.line(name, "%s", l)
		}
		return nil
	}
	return x.now(ctx, ev)
}

// problems says what problem management does with an incident the alert
// opens: its signature under each problem rule, and the known errors whose
// workaround it carries. Without problem rules and known errors it says
// nothing.
func (x *explainer) problems(d incident.Decision, ev incident.Event) {
	prs := x.set.Problems()
	if prs.Empty() {
		return
	}
	n := 0
	for _, r := range prs.Rules {
		sig, ok := r.Signature(d.Rule, ev.Labels)
		if !ok {
			continue
		}
		name := ""
		if n == 0 {
			name = "problem"
		}
		n++
		x.line(name, "%s (problem rule %s): a new incident joins its open problem, or opens one if it is the %s with it within %s",
			sig, r.Name, ordinal(r.Threshold), dur(r.Window))
	}
	if n == 0 && len(prs.Rules) > 0 {
		x.line("problem", "none: no problem rule gives its incidents a signature")
	}
	var names []string
	for _, k := range prs.MatchKnownErrors(d.Rule, ev.Labels) {
		names = append(names, k.Name)
	}
	if len(names) > 0 {
		x.line("known errors", "%s: a new incident carries the workaround from its first occurrence", strings.Join(names, ", "))
	} else if len(prs.KnownErrors) > 0 {
		x.line("known errors", "none applies")
	}
}

// problemNow says which problem the incident the alert lands in belongs
// to, or would join: the daemon's records at o.at, read as
// incident.LinkProblems reads them. opens says whether a firing opens a
// new incident; else it lands in cur.
func (x *explainer) problemNow(ctx context.Context, d incident.Decision, ev incident.Event, cur *incident.Incident, opens bool) error {
	prs := x.set.Problems()
	if len(prs.Rules) == 0 {
		return nil
	}
	if !opens && cur != nil {
		if cur.ProblemID == 0 {
			x.line("problem now", "incident #%d belongs to no problem; a signature is taken when an incident opens", cur.ID)
			return nil
		}
		p, err := x.st.Problem(ctx, cur.ProblemID)
		if err != nil {
			return err
		}
		x.line("problem now", "incident #%d belongs to problem #%d %s (%s, %s)", cur.ID, p.ID, p.Signature, p.State,
			plural(p.IncidentCount, "incident"))
		return nil
	}
	now := x.o.at
	for _, r := range prs.Rules {
		sig, ok := r.Signature(d.Rule, ev.Labels)
		if !ok {
			continue
		}
		list, err := x.st.Problems(ctx, incident.ProblemFilter{Signature: sig, Limit: 1})
		if err != nil {
			return err
		}
		var s string
		switch {
		case len(list) == 0:
			s = fmt.Sprintf("no problem has had signature %s: the new incident counts towards threshold %d within %s",
				sig, r.Threshold, dur(r.Window))
		case list[0].State.Active():
			p := list[0]
			s = fmt.Sprintf("the new incident joins problem #%d %s (%s, %s)", p.ID, sig, p.State, plural(p.IncidentCount, "incident"))
			if p.State == incident.ProblemKnownError {
				s += ", and carries its workaround"
			}
		case list[0].State == incident.ProblemResolved && !now.After(list[0].ResolvedAt.Add(r.ReopenWithin)):
			p := list[0]
			s = fmt.Sprintf("the new incident reopens problem #%d %s, resolved %s ago (within reopen_within %s)",
				p.ID, sig, dur(now.Sub(p.ResolvedAt)), dur(r.ReopenWithin))
		default:
			p := list[0]
			s = fmt.Sprintf("problem #%d %s is %s: the new incident counts towards a new one, threshold %d within %s",
				p.ID, sig, p.State, r.Threshold, dur(r.Window))
		}
		// The first rule that links an incident wins, as in LinkProblems;
		// telling the others would be a guess at what the first one does.
		x.line("problem now", "%s", s)
		return nil
	}
	return nil
}

// ordinal renders 3 as "3rd".
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

// templateNote says when a rule's template fails for this alert, and so
// the incident gets the built-in text instead.
func (x *explainer) templateNote(base *rules.Rule, field string, tmpl func(incident.Event) (string, error), ev incident.Event) string {
	if base == nil {
		return ""
	}
	if _, err := tmpl(ev); err != nil {
		return fmt.Sprintf(" (the %s template failed: %v; the built-in %s is used)", field, err, field)
	}
	return ""
}

// inWords says what a firing does to the incidents of its key, without
// looking at any, a line per case.
func inWords(d incident.Decision) []string {
	join := "joins the open incident with this key, if there is one"
	if d.Window > 0 {
		join += fmt.Sprintf(" and it has had an event within %s (else that one is sealed and a new one opens)", dur(d.Window))
	}
	open := "else opens a new incident"
	if d.MinAlerts > 1 {
		open += fmt.Sprintf(", pending until %d alerts of the key fire", d.MinAlerts)
	}
	return []string{
		join,
		fmt.Sprintf("else reopens the latest incident with this key, if the alert starts within %s of its resolve", dur(d.ReopenWithin)),
		open,
	}
}

// now says what a firing of the alert would do at o.at, given the incidents
// in the daemon's database: the pipeline's own placement decision
// (pipeline.Placement), read from there.
func (x *explainer) now(ctx context.Context, ev incident.Event) error {
	now := x.o.at
	// A firing now: a payload's alert may be resolved, or have started long
	// ago, and placement compares when the firing started with the resolve.
	ev.Status, ev.StartsAt, ev.EndsAt = incident.StatusFiring, now, time.Time{}
	d, p, err := pipeline.Placement(ctx, x.st, x.set, ev, now)
	if err != nil {
		return err
	}
	cur := p.Owner
	if cur == nil && p.Kind != incident.PlaceSymptom {
		s := "no incident has had this key: a firing opens a new incident"
		if d.MinAlerts > 1 {
			s += fmt.Sprintf(", pending until %d alerts fire", d.MinAlerts)
		}
		x.line("now", "%s", s)
		x.maintenance(p)
		return x.problemNow(ctx, d, ev, nil, true)
	}
	describe := func(inc *incident.Incident) string {
		return fmt.Sprintf("#%d (%s, %s, %s, %d firing)", inc.ID, inc.State, inc.Priority, plural(inc.AlertCount, "alert"), inc.FiringCount)
	}
	var s string
	opensNew := false
	switch p.Kind {
	case incident.PlaceJoin:
		desc := describe(cur)
		firing, err := x.firingSources(ctx, cur.ID, d.Event.Fingerprint)
		if err != nil {
			return err
		}
		s = fmt.Sprintf("a firing joins incident %s; its last event was %s ago", desc, dur(now.Sub(cur.LastEventAt)))
		switch {
		case len(firing) > 0:
			// An alert is (source, fingerprint), and explain cannot know
			// which source would send it: say which ones already do.
			s = fmt.Sprintf("the alert already fires on incident %s from source %s: a notification of it from there is a repeat and changes nothing (from another source it is another alert, which joins)",
				desc, strings.Join(firing, ", "))
		case cur.State == incident.StatePending && cur.FiringCount+1 >= cur.MinAlerts:
			s += fmt.Sprintf(", and opens it: %d firing reaches min_alerts %d", cur.FiringCount+1, cur.MinAlerts)
		case cur.State == incident.StatePending:
			s += fmt.Sprintf("; it stays pending: %d of min_alerts %d firing", cur.FiringCount+1, cur.MinAlerts)
		}
	case incident.PlaceSymptom:
		s = fmt.Sprintf("a firing joins incident %s as a %s", describe(p.Target), p.SymptomOf)
	case incident.PlaceReopen:
		s = fmt.Sprintf("a firing reopens incident %s, resolved %s ago (within reopen_within %s)",
			describe(cur), dur(now.Sub(cur.ResolvedAt)), dur(d.ReopenWithin))
	case incident.PlaceSealAndOpen:
		opensNew = true
		s = fmt.Sprintf("a firing seals incident %s, which has had no event for %s (longer than window %s), and opens a new incident",
			describe(cur), dur(now.Sub(cur.LastEventAt)), dur(d.Window))
	case incident.PlaceHistory:
		s = fmt.Sprintf("a firing that started then predates incident %s: it is placed among the key's incidents by its own times", describe(cur))
	default:
		opensNew = true
		why := fmt.Sprintf("resolved %s ago, longer than reopen_within %s", dur(now.Sub(cur.ResolvedAt)), dur(d.ReopenWithin))
		switch {
		case cur.OpenedAt.IsZero() && !cur.SealedAt.IsZero():
			why = fmt.Sprintf("discarded while pending %s ago: its window passed before min_alerts fired", dur(now.Sub(cur.SealedAt)))
		case cur.OpenedAt.IsZero():
			why = "discarded while pending: it never reached min_alerts"
		case !cur.SealedAt.IsZero():
			why = fmt.Sprintf("sealed %s ago: its window had passed", dur(now.Sub(cur.SealedAt)))
		}
		s = fmt.Sprintf("a firing opens a new incident: the last one with this key, %s, was %s", describe(cur), why)
	}
	if opensNew && d.MinAlerts > 1 {
		s += fmt.Sprintf("; the new one is pending until %d alerts fire", d.MinAlerts)
	}
	x.line("now", "%s", s)
	x.maintenance(p)
	if cur != nil && now.Before(cur.UpdatedAt) {
		x.line("", "(the incident changed at %s, after --at: the database is newer than the time explained)", cur.UpdatedAt.Format(time.RFC3339))
	}
	if p.Kind == incident.PlaceSymptom {
		cur = p.Target
	}
	return x.problemNow(ctx, d, ev, cur, opensNew)
}

// maintenance notes a maintenance window on the alert's service.
func (x *explainer) maintenance(p incident.Placing) {
	if m := p.Maintenance; m != nil {
		x.line("", "during maintenance %q on %s: an incident it opens is marked as expected, its urgency low", m.Summary, m.Service)
	}
}

// plural renders "1 alert", "2 alerts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// firingSources returns the sources whose alert with fingerprint fires on
// the incident already, sorted.
func (x *explainer) firingSources(ctx context.Context, incidentID int64, fingerprint string) ([]string, error) {
	alerts, err := x.st.Alerts(ctx, incidentID)
	if err != nil {
		return nil, err
	}
	var sources []string
	for _, a := range alerts {
		if a.Fingerprint == fingerprint && a.Status == incident.StatusFiring {
			sources = append(sources, a.Source)
		}
	}
	slices.Sort(sources)
	return sources, nil
}

// dur renders a duration as a Prometheus duration, to the second.
func dur(d time.Duration) string {
	if d < 0 {
		return "-" + model.Duration(-d.Round(time.Second)).String()
	}
	return model.Duration(d.Round(time.Second)).String()
}

// oneLine keeps a multi-line summary on its line, as Go would quote it but
// without the quotes.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\r") {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
