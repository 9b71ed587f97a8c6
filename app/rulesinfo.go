package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/web"
)

// reloads remembers when the running rules were loaded and how the last
// reload went, for the UI's Rules page.
type reloads struct {
	mu       sync.Mutex
	loadedAt time.Time
	last     web.ReloadResult
}

func (r *reloads) record(at time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = web.ReloadResult{At: at}
	if err != nil {
		r.last.Err = err.Error()
		return
	}
	r.loadedAt = at
}

// rulesInfo is the UI's view of the running rules: what `alertbridge rules
// explain --storage.path` says, from the daemon's own rule set and store.
type rulesInfo struct{ a *App }

// RuleSet describes the running rules.
func (ri rulesInfo) RuleSet() web.RuleSet {
	set := ri.a.rules.Load()
	ri.a.reloads.mu.Lock()
	out := web.RuleSet{Files: set.Files(), Services: len(set.Services()), LoadedAt: ri.a.reloads.loadedAt, Reload: ri.a.reloads.last}
	ri.a.reloads.mu.Unlock()
	for _, r := range set.Rules() {
		out.Rules = append(out.Rules, web.RuleSummary{Name: r.Name, Pos: r.Pos.String(), Matchers: r.Matchers(), By: r.By, Drop: r.Drop})
	}
	return out
}

// Explain places a firing of an alert with labels now, as the writer would
// (pipeline.Placement), grouped by alertname as a default route does.
func (ri rulesInfo) Explain(ctx context.Context, labels map[string]string) (web.Explanation, error) {
	set := ri.a.rules.Load()
	now := ri.a.o.Now()
	ev := incident.Event{Source: "explain", Fingerprint: incident.LabelFingerprint(labels), Status: incident.StatusFiring,
		Labels: labels, Annotations: map[string]string{}, StartsAt: now, GroupLabels: map[string]string{}}
	if n, ok := labels["alertname"]; ok {
		ev.GroupLabels["alertname"] = n
	}
	d, p, err := pipeline.Placement(ctx, ri.a.store, set, ev, now)
	if err != nil {
		return web.Explanation{}, err
	}
	x := web.Explanation{Labels: labels, Service: d.Service, Rule: d.Rule, Key: d.Key, Drop: d.Drop, Impact: d.Impact,
		Urgency: d.Urgency, Priority: incident.PriorityOf(d.Impact, d.Urgency), Title: d.Title}
	if r := set.Match(labels); r != nil {
		x.RulePos = r.Pos.String()
	}
	if d.Drop {
		return x, nil
	}
	describe := func(inc *incident.Incident) string {
		return fmt.Sprintf("(%s, %s, %d alerts, %d firing)", inc.State, inc.Priority, inc.AlertCount, inc.FiringCount)
	}
	switch {
	case p.Kind == incident.PlaceSymptom && p.Target != nil:
		x.Outcome, x.IncidentID = "joins as a "+p.SymptomOf+" "+describe(p.Target)+":", p.Target.ID
	case p.Owner == nil:
		x.Outcome = "opens a new incident: none has had this key"
	case p.Kind == incident.PlaceJoin:
		x.Outcome, x.IncidentID = "joins the incident with this key "+describe(p.Owner)+":", p.Owner.ID
	case p.Kind == incident.PlaceReopen:
		x.Outcome, x.IncidentID = "reopens the incident with this key "+describe(p.Owner)+", resolved within reopen_within:", p.Owner.ID
	case p.Kind == incident.PlaceSealAndOpen:
		x.Outcome, x.IncidentID = "opens a new incident: its window passed, so it seals", p.Owner.ID
	default:
		x.Outcome, x.IncidentID = "opens a new incident: the last one with this key is over", p.Owner.ID
	}
	if d.MinAlerts > 1 && (p.Owner == nil || p.Kind == incident.PlaceSealAndOpen || p.Kind == incident.PlaceOpen) {
		x.Outcome += fmt.Sprintf(" (pending until %d alerts fire)", d.MinAlerts)
	}
	if m := p.Maintenance; m != nil {
		x.Outcome += fmt.Sprintf("; during maintenance %q on %s, so its urgency is low", m.Summary, m.Service)
	}
	return x, nil
}
