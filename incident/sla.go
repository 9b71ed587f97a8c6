package incident

import (
	"context"
	"fmt"
	"time"
)

// SLATargets returns the respond and resolve targets of an incident of a
// priority and service opened at opened, and a name for the policy; zero
// times mean no SLA. The rules' sla section provides it.
type SLATargets func(p Priority, service string, opened time.Time) (respondBy, resolveBy time.Time, policy string)

// setSLA gives an open incident its targets for its current priority.
func setSLA(inc *Incident, targets SLATargets) {
	if targets == nil || inc.OpenedAt.IsZero() {
		return
	}
	inc.RespondBy, inc.ResolveBy, inc.SLAPolicy = targets(inc.Priority, inc.Service, inc.OpenedAt)
}

// checkBreaches marks the targets an incident has missed by now: respond
// when it was not acknowledged by RespondBy (or acknowledged later), resolve
// likewise. A breach is marked once, at the target time, with a timeline
// entry; resolves and acknowledgements are never blocked by it.
func checkBreaches(ctx context.Context, tx Tx, inc *Incident, now time.Time) (bool, error) {
	changed := false
	for _, t := range []struct {
		name     string
		by, done time.Time
		breached *time.Time
	}{
		{"respond", inc.RespondBy, inc.AcknowledgedAt, &inc.RespondBreachedAt},
		{"resolve", inc.ResolveBy, inc.ResolvedAt, &inc.ResolveBreachedAt},
	} {
		if t.by.IsZero() || !t.breached.IsZero() {
			continue
		}
		late := (!t.done.IsZero() && t.done.After(t.by)) || (t.done.IsZero() && now.After(t.by) && !inc.State.Ended())
		if !late {
			continue
		}
		*t.breached, changed = t.by, true
		msg := fmt.Sprintf("SLA %s target missed: due %s (%s)", t.name, t.by.UTC().Format(time.RFC3339), inc.SLAPolicy)
		if err := tx.AddTimeline(ctx, &TimelineEntry{IncidentID: inc.ID, At: now, Kind: TimelineSLABreached, Actor: "system", Message: msg}); err != nil {
			return changed, err
		}
	}
	return changed, nil
}
