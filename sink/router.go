package sink

import (
	"slices"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertbridge/alertbridge/incident"
)

// Policy sends some changes of some incidents to some sinks.
type Policy struct {
	// Sinks are the sinks' names.
	Sinks []string
	// Matchers must all match the incident's labels (RouteLabels); none
	// matches every incident.
	Matchers labels.Matchers
	// Kinds are the changes sent; none means every kind.
	Kinds []incident.NotifyKind
	// Continue lets later policies match too; by default the first policy
	// whose matchers match decides, as an Alertmanager route does.
	Continue bool
}

// Router decides which sinks hear of a change: the config file's
// notification policies, in order.
type Router struct {
	policies []Policy
}

// NewRouter returns a router over policies. Without policies every sink in
// all hears of every change.
func NewRouter(policies []Policy, all []string) *Router {
	if len(policies) == 0 && len(all) > 0 {
		policies = []Policy{{Sinks: slices.Clone(all)}}
	}
	return &Router{policies: policies}
}

// RouteLabels are what policies match on: the labels of the alert that
// opened the incident, and, over them, the incident's priority (P1…P5),
// service, state, owner, rule and source.
func RouteLabels(inc incident.Incident) map[string]string {
	m := make(map[string]string, len(inc.Labels)+6)
	for k, v := range inc.Labels {
		m[k] = v
	}
	m["priority"], m["service"], m["state"] = inc.Priority.String(), inc.Service, string(inc.State)
	m["owner"], m["rule"], m["source"] = inc.Owner, inc.Rule, inc.Source
	return m
}

// Route returns the sinks that hear of a change of kind to inc, each once,
// in policy order.
func (r *Router) Route(inc incident.Incident, kind incident.NotifyKind) []string {
	if r == nil || len(r.policies) == 0 {
		return nil
	}
	ls := RouteLabels(inc)
	var out []string
	for _, p := range r.policies {
		if !matchAll(p.Matchers, ls) {
			continue
		}
		if len(p.Kinds) == 0 || slices.Contains(p.Kinds, kind) {
			for _, s := range p.Sinks {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
		if !p.Continue {
			break
		}
	}
	return out
}

// matchAll reports whether every matcher matches ls; a label ls lacks is
// the empty string, as in Alertmanager.
func matchAll(ms labels.Matchers, ls map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(ls[m.Name]) {
			return false
		}
	}
	return true
}
