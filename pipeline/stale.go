package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/correlate"
	"github.com/alertbridge/alertbridge/dedupe"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// staleSweepLimit bounds the stale alerts one query of a sweep resolves,
// so that a backlog never makes one transaction long; the next sweep
// takes the rest.
const staleSweepLimit = 500

// resolveStale resolves the firing alerts not repeated within their
// resolve_timeout (Alertmanager's meaning): the rule's, when it sets one,
// else their source's. Each resolves as a resolved event from its source
// would, ending at its last sighting plus the timeout, and its incident's
// timeline says why.
func (p *Pipeline) resolveStale(ctx context.Context, tx incident.Tx, set *rules.Set, db *dedupe.Batch, cb *correlate.Batch,
	now time.Time, stats *groupStats) (regrouped bool, err error) {
	var own []string // rules with their own resolve_timeout
	for _, r := range set.Rules() {
		if r.HasResolveTimeout {
			own = append(own, r.Name)
		}
	}
	type query struct {
		q       incident.StaleQuery
		timeout time.Duration
		why     string
	}
	var queries []query
	for _, name := range own {
		if d := set.Rule(name).ResolveTimeout; d > 0 {
			queries = append(queries, query{incident.StaleQuery{Rule: name}, d, "resolve_timeout of rule " + name})
		}
	}
	for _, src := range slices.Sorted(maps.Keys(p.o.ResolveTimeout)) {
		if d := p.o.ResolveTimeout[src]; d > 0 {
			queries = append(queries, query{incident.StaleQuery{Source: src, ExceptRules: own}, d, "resolve_timeout of source " + src})
		}
	}
	for _, q := range queries {
		q.q.SeenBefore, q.q.Limit = now.Add(-q.timeout), staleSweepLimit
		stale, err := tx.StaleAlerts(ctx, q.q)
		if err != nil {
			return regrouped, err
		}
		for _, st := range stale {
			a, err := tx.Alert(ctx, st.IncidentID, st.Source, st.Fingerprint)
			if err != nil {
				return regrouped, fmt.Errorf("stale alert %s/%s: %w", st.Source, st.Fingerprint, err)
			}
			ev := incident.Event{Source: st.Source, Fingerprint: st.Fingerprint, Status: incident.StatusResolved,
				Labels: a.Labels, Annotations: a.Annotations, StartsAt: st.StartsAt, EndsAt: st.LastSeenAt.Add(q.timeout),
				GeneratorURL:  a.GeneratorURL,
				ResolveReason: fmt.Sprintf("not repeated for %s (%s)", model.Duration(q.timeout), q.why)}
			rg, err := p.apply(ctx, tx, set, db, cb, ev, now, stats, map[int64]*incident.GroupNote{})
			if err != nil {
				return regrouped, fmt.Errorf("stale alert %s/%s: %w", st.Source, st.Fingerprint, err)
			}
			regrouped = regrouped || rg
		}
	}
	return regrouped, nil
}
