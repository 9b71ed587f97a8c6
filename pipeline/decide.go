package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/alertbridge/alertbridge/correlate"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// decide fills in what the rule set says about ev: the matching rule (nil:
// none; then the set's defaults apply), the catalog service, the key,
// priority inputs, title, summary, and the rule's lifecycle settings.
//
// Impact comes from the rule, else the catalog service, else the severity
// label; urgency from the rule, else the severity label. The incident's
// service is the catalog service, else the service label, else job.
func decide(set *rules.Set, ev incident.Event, log *slog.Logger) incident.Decision {
	d, rule, svc := route(set, ev)
	d.Title, d.Summary = defaultTitle(ev), ev.Annotations["description"]
	impact, urgency := incident.SeverityLevels(ev.Labels["severity"])
	if svc != nil {
		d.Owner = svc.Owner
		if svc.Impact != "" {
			impact = svc.Impact
		}
	}
	base := rule
	if base == nil {
		base = set.Defaults()
	}
	if base != nil {
		ri, ru := base.Levels(ev.Labels)
		if ri != "" {
			impact = ri
		}
		if ru != "" {
			urgency = ru
		}
		d.Title = render(log, base, "title", base.Title, ev, d.Title)
		d.Summary = render(log, base, "summary", base.Summary, ev, d.Summary)
	}
	d.Impact, d.Urgency = impact, urgency
	d.Title, d.Summary = bounded(d.Title, MaxTitleBytes), bounded(d.Summary, MaxSummaryBytes)
	d.SLA = slaTargets(set)
	return d
}

// slaTargets are the SLA targets the set's sla section gives an incident,
// nil without a set.
func slaTargets(set *rules.Set) incident.SLATargets {
	if set == nil {
		return nil
	}
	return func(p incident.Priority, service string, opened time.Time) (time.Time, time.Time, string) {
		pol := set.SLA(p, service)
		if pol == nil {
			return time.Time{}, time.Time{}, ""
		}
		name := pol.Priority.String()
		if pol.Service != "" {
			name += " " + pol.Service
		}
		if pol.CalendarName != "" {
			name += " (" + pol.CalendarName + " hours)"
		}
		return pol.RespondBy(opened), pol.ResolveBy(opened), name
	}
}

// route is the part of decide every event needs: the matching rule, the
// service, the key, and whether to drop. Repeats, resolves and stale events
// stop here; only an alert that fires anew needs templates, priority and
// the rule's lifecycle settings.
func route(set *rules.Set, ev incident.Event) (incident.Decision, *rules.Rule, *rules.Service) {
	rule := set.Match(ev.Labels)
	svc := set.Service(ev.Labels)
	d := incident.Decision{Event: ev, Service: ev.Labels["service"]}
	if d.Service == "" {
		d.Service = ev.Labels["job"]
	}
	if svc != nil {
		d.Service = svc.Name
	}
	// The pseudo-label service in a rule's by is the incident's service.
	d.Key = boundedKey(correlate.Key(rule, ev, d.Service))
	if rule != nil {
		d.Rule, d.Drop = rule.Name, rule.Drop
	}
	// The rule's lifecycle settings: plain copies, and what placing a late
	// delivery by its own times needs on every path.
	d.ReopenWithin, d.Resolve, d.MinAlerts = DefaultReopenWithin, incident.ResolveAll, 1
	d.FlapThreshold, d.FlapWindow = rules.DefaultFlapThreshold, rules.DefaultFlapWindow
	base := rule
	if base == nil {
		base = set.Defaults()
	}
	if base != nil {
		d.Window, d.ReopenWithin, d.ResolveAfter = base.Window, base.ReopenWithin, base.ResolveAfter
		d.Resolve, d.MinAlerts = incident.ResolveMode(base.Resolve), base.MinAlerts
		d.FlapThreshold, d.FlapWindow = base.FlapThreshold, base.FlapWindow
	}
	if d.ReopenWithin <= 0 {
		d.ReopenWithin = DefaultReopenWithin
	}
	return d, rule, svc
}

// render runs a rule's template, keeping fallback when the rule has none or
// it fails. Templates were checked at load; a failure here depends on the
// data (a function given an odd value), so the incident is kept and the
// reason logged.
func render(log *slog.Logger, r *rules.Rule, field string, tmpl func(incident.Event) (string, error),
	ev incident.Event, fallback string) string {
	s, err := tmpl(ev)
	if err != nil {
		log.Warn("template failed", "rule", r.Name, "field", field, "fingerprint", ev.Fingerprint, "err", err)
		return fallback
	}
	if s == "" {
		return fallback
	}
	return s
}

// defaultTitle is "alertname: summary", or as much of it as the alert has.
func defaultTitle(ev incident.Event) string {
	name := ev.Labels["alertname"]
	if name == "" {
		name = "alert " + ev.Fingerprint
	}
	if s := ev.Annotations["summary"]; s != "" {
		return name + ": " + s
	}
	return name
}

// Decide returns what the rule set decides about ev, exactly as the pipeline
// would (`rules explain` reports it). Transition, Prior and Current are left
// for the caller.
func Decide(set *rules.Set, ev incident.Event) incident.Decision {
	return decide(set, ev, slog.New(slog.DiscardHandler))
}

// The longest title, summary and correlation key an incident gets. Labels
// and annotations are bounded at the edge, but a template or a key made of
// many of them is not: these keep every record and every sink's field a
// sane size.
const (
	MaxTitleBytes   = 1024
	MaxSummaryBytes = 16 << 10
	MaxKeyBytes     = 2048
)

// bounded cuts s to at most max bytes on a rune boundary, ending it with
// an ellipsis when it cuts.
func bounded(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// boundedKey keeps a correlation key at most MaxKeyBytes long. A longer one
// is cut and ends with a digest of the whole, so two long keys that differ
// only past the cut stay two keys.
func boundedKey(k string) string {
	if len(k) <= MaxKeyBytes {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	suffix := "…#" + hex.EncodeToString(sum[:12])
	cut := MaxKeyBytes - len(suffix)
	for cut > 0 && !utf8.RuneStart(k[cut]) {
		cut--
	}
	return k[:cut] + suffix
}

// Placement decides what the rule set makes of ev and where it would go if
// it fired anew at now, reading the store through r exactly as the writer
// does (incident.PlaceFiring): `rules explain` and the web UI's explain
// form use it, so what they predict is what the pipeline does.
func Placement(ctx context.Context, r incident.PlacementReader, set *rules.Set, ev incident.Event, now time.Time) (incident.Decision, incident.Placing, error) {
	d := decide(set, ev, slog.New(slog.DiscardHandler))
	if d.Drop {
		return d, incident.Placing{}, nil
	}
	p, err := incident.PlaceFiring(ctx, r, d, topology(set), now)
	return d, p, err
}
