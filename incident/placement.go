package incident

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// This file is the one place that decides where a new or refired alert
// goes: the pipeline acts on it, and `rules explain` reports it, both from
// the same reads, so explain never predicts another incident than the
// pipeline makes.

// The placements PlaceFiring adds to Place's.
const (
	// PlaceSymptom: the alert's service depends on a service with an active
	// incident in the same scope; it joins that incident as a symptom.
	PlaceSymptom Placement = "symptom"
	// PlaceHistory: the alert started before the key's current incident
	// did; it is placed among the key's incidents by its own times.
	PlaceHistory Placement = "history"
)

// Placing is where a new or refired alert goes, and why.
type Placing struct {
	Kind Placement
	// Owner is the incident that owns the alert's key, read in the
	// transaction with merges followed; nil when none ever had it.
	Owner *Incident
	// Target is the incident the alert joins or reopens: Owner, or for a
	// symptom the upstream incident. nil when it opens one (or history).
	Target *Incident
	// SymptomOf says why the alert joins Target as a symptom.
	SymptomOf string
	// Maintenance is a maintenance change active on the alert's service:
	// an incident it opens is expected, and its urgency low.
	Maintenance *Change
}

// Topology is what placement needs of the service catalog; its functions
// may be nil (no catalog).
type Topology struct {
	// DependsOn returns the services a service depends on, directly.
	DependsOn Dependencies
	// Dependents returns the services that depend on a service, directly.
	Dependents func(service string) []string
	// Scope returns the labels an alert of a service shares with the
	// incident of a service it depends on, to be its symptom.
	Scope func(service string) []string
}

// PlacementReader is what placement reads: a write transaction (Tx), or a
// read-only view of the store (rules explain, the web UI).
type PlacementReader interface {
	Incident(ctx context.Context, id int64) (Incident, error)
	// IncidentByKey returns ErrNotFound when no incident ever had the key.
	IncidentByKey(ctx context.Context, key string) (Incident, error)
	ActiveIncidentsFor(ctx context.Context, services []string) ([]Incident, error)
	// ActiveMaintenance returns ErrNotFound when none is active.
	ActiveMaintenance(ctx context.Context, service string, at time.Time) (Change, error)
	IncidentAlerts(ctx context.Context, incidentID int64) ([]Alert, error)
}

// PlaceFiring decides where d's alert, firing anew at now, goes. d.Current
// may name the key's owner as a cache knows it; it is read afresh. It
// returns what it read; the store's errors wrapped.
func PlaceFiring(ctx context.Context, r PlacementReader, d Decision, topo Topology, now time.Time) (Placing, error) {
	var p Placing
	cur, err := owner(ctx, r, d)
	if err != nil {
		return p, err
	}
	p.Owner = cur
	if cur != nil && regroupable(d, cur) && d.Event.StartsAt.Before(cur.ImpactStartedAt) {
		p.Kind = PlaceHistory
	} else {
		p.Kind = Place(cur, d, now)
	}
	switch p.Kind {
	case PlaceJoin, PlaceReopen:
		p.Target = cur
	case PlaceOpen:
		up, why, err := symptomOf(ctx, r, d, topo, now)
		if err != nil {
			return p, err
		}
		if up != nil {
			p.Kind, p.Target, p.SymptomOf = PlaceSymptom, up, why
		}
	}
	if d.Service != "" {
		m, err := r.ActiveMaintenance(ctx, d.Service, now)
		switch {
		case err == nil:
			p.Maintenance = &m
		case !errors.Is(err, ErrNotFound):
			return p, err
		}
	}
	return p, nil
}

// owner reads the incident that owns d's key afresh (d.Current only names
// it; d.NoOwner says the transaction found none), following merges: a
// merged incident forwards its key to the incident it went into.
func owner(ctx context.Context, r PlacementReader, d Decision) (*Incident, error) {
	var cur Incident
	var err error
	switch {
	case d.Current != nil:
		cur, err = r.Incident(ctx, d.Current.ID)
	case d.NoOwner:
		return nil, nil
	default:
		cur, err = r.IncidentByKey(ctx, d.Key)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("incident for key %s: %w", d.Key, err)
	}
	for hops := 0; cur.MergedInto != 0 && hops < 8; hops++ {
		into := cur.MergedInto
		if cur, err = r.Incident(ctx, into); err != nil {
			return nil, fmt.Errorf("follow merge into incident %d: %w", into, err)
		}
	}
	return &cur, nil
}

// symptomOf finds, for an alert of d's service about to open an incident,
// an active incident of a service it depends on (directly or not) that it
// should join instead: the nearest dependency's newest incident in the
// alert's scope whose last event is within d.Window (0: any). It returns
// the incident and the reason, or nil.
func symptomOf(ctx context.Context, r PlacementReader, d Decision, topo Topology, now time.Time) (*Incident, string, error) {
	if d.Service == "" || topo.DependsOn == nil {
		return nil, "", nil
	}
	order, via := Upstream(d.Service, topo.DependsOn)
	if len(order) == 0 {
		return nil, "", nil
	}
	active, err := r.ActiveIncidentsFor(ctx, order)
	if err != nil {
		return nil, "", fmt.Errorf("incidents upstream of %s: %w", d.Service, err)
	}
	rank := make(map[string]int, len(order))
	for i, s := range order {
		rank[s] = i
	}
	scope := scopeOf(topo, d.Service)
	var best *Incident
	for i := range active {
		inc := &active[i]
		if d.Window > 0 && now.Sub(inc.LastEventAt) > d.Window {
			continue
		}
		if best != nil && rank[inc.Service] >= rank[best.Service] {
			continue
		}
		in, err := inScope(ctx, r, inc.ID, scope, d.Event.Labels)
		if err != nil {
			return nil, "", err
		}
		if in {
			best = inc
		}
	}
	if best == nil {
		return nil, "", nil
	}
	reason := fmt.Sprintf("symptom of #%d on %s: %s", best.ID, best.Service, dependsChain(via[best.Service], best.Service))
	return best, reason, nil
}

func scopeOf(topo Topology, service string) []string {
	if topo.Scope == nil {
		return nil
	}
	return topo.Scope(service)
}

// inScope reports whether an alert with labels may be a symptom of (or a
// cause of) incident id: some alert of the incident agrees with it on every
// scope label both carry. A label only one side has cannot tell them apart.
func inScope(ctx context.Context, r PlacementReader, id int64, scope []string, labels map[string]string) (bool, error) {
	if len(scope) == 0 {
		return true, nil
	}
	alerts, err := r.IncidentAlerts(ctx, id)
	if err != nil {
		return false, err
	}
	for _, a := range alerts {
		if sameScope(scope, labels, a.Labels) {
			return true, nil
		}
	}
	return len(alerts) == 0, nil
}

func sameScope(scope []string, a, b map[string]string) bool {
	for _, l := range scope {
		va, oka := a[l]
		vb, okb := b[l]
		if oka && okb && va != vb {
			return false
		}
	}
	return true
}

// DefaultSymptomLead is how long before its cause's incident opens a
// symptom's incident may have started and still be re-homed into it, when
// the cause's rule sets no window.
const DefaultSymptomLead = 15 * time.Minute

// RehomeSymptoms merges into cause, an incident that just opened for an
// alert (labels) of its service, the active incidents of services that
// depend on that service (directly or not) which opened first: their alerts
// fired before their cause's, or with it. Delivered in either order, a
// symptom and its cause thus end in one incident. Only incidents in scope,
// and whose impact started at most lead before the cause's (DefaultSymptomLead
// when lead is 0), are taken. Both timelines say so. It returns the merged
// incidents.
func RehomeSymptoms(ctx context.Context, tx Tx, cause *Incident, labels map[string]string, topo Topology, lead time.Duration,
	now time.Time) ([]Incident, error) {
	if cause.Service == "" || topo.Dependents == nil {
		return nil, nil
	}
	if lead <= 0 {
		lead = DefaultSymptomLead
	}
	// Walk the dependents breadth first, remembering how each is reached.
	via := map[string][]string{cause.Service: nil}
	order := []string{cause.Service}
	for i := 0; i < len(order); i++ {
		for _, d := range topo.Dependents(order[i]) {
			if _, seen := via[d]; !seen {
				via[d] = append(append([]string(nil), via[order[i]]...), order[i])
				order = append(order, d)
			}
		}
	}
	if len(order) == 1 {
		return nil, nil
	}
	active, err := tx.ActiveIncidentsFor(ctx, order[1:])
	if err != nil {
		return nil, fmt.Errorf("incidents downstream of %s: %w", cause.Service, err)
	}
	var merged []Incident
	for i := range active {
		sym := active[i]
		if sym.ID == cause.ID || sym.MergedInto != 0 || sym.ImpactStartedAt.Before(cause.ImpactStartedAt.Add(-lead)) {
			continue
		}
		in, err := inScope(ctx, tx, sym.ID, scopeOf(topo, sym.Service), labels)
		if err != nil {
			return nil, err
		}
		if !in {
			continue
		}
		chain := dependsChain(reversed(append(via[sym.Service], sym.Service)[1:]), cause.Service)
		msg := fmt.Sprintf("a symptom of #%d on %s, which opened after it: %s", cause.ID, cause.Service, chain)
		alerts, err := tx.IncidentAlerts(ctx, sym.ID)
		if err != nil {
			return nil, err
		}
		dst, err := merge(ctx, tx, sym, Command{Into: cause.ID, Message: msg}, "system", now)
		if err != nil {
			return nil, err
		}
		// Each moved alert is a symptom on the cause's timeline, as it
		// would be had it fired after the cause: the records end the same
		// in either order.
		for _, a := range alerts {
			if err := addTimeline(ctx, tx, cause.ID, now, TimelineSymptom, a.Fingerprint, msg); err != nil {
				return nil, err
			}
		}
		*cause = dst
		sym.MergedInto = cause.ID
		merged = append(merged, sym)
	}
	return merged, nil
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
