package pipeline

import (
	"log/slog"

	"github.com/alertbridge/alertbridge/correlate"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// decide fills in what the matching rule (nil: none) says about ev: the key,
// priority inputs, title, service, reopen window and whether to drop it.
func decide(rule *rules.Rule, ev incident.Event, log *slog.Logger) incident.Decision {
	d := incident.Decision{Event: ev, Key: correlate.Key(rule, ev), ReopenWithin: DefaultReopenWithin}
	d.Impact, d.Urgency = incident.SeverityLevels(ev.Labels["severity"])
	d.Service = ev.Labels["service"]
	if d.Service == "" {
		d.Service = ev.Labels["job"]
	}
	d.Title = defaultTitle(ev)
	if rule == nil {
		return d
	}
	d.Rule = rule.Name
	d.Drop = rule.Drop
	if rule.ReopenWithin > 0 {
		d.ReopenWithin = rule.ReopenWithin
	}
	if rule.Impact != "" {
		d.Impact = rule.Impact
	}
	if rule.Urgency != "" {
		d.Urgency = rule.Urgency
	}
	title, err := rule.Title(ev)
	switch {
	case err != nil:
		// The template was checked at load; a failure here is data-dependent
		// (e.g. a function given an odd value). Keep the incident, say why.
		log.Warn("title template failed", "rule", rule.Name, "fingerprint", ev.Fingerprint, "err", err)
	case title != "":
		d.Title = title
	}
	return d
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
