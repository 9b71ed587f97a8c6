package incident

import (
	"context"
	"fmt"
	"time"
)

// NoteGroup records what a notification says of the group of incident id:
// how many of its alerts it left out while the group fired (Alertmanager's
// max_alerts). While some may fire unseen, the incident does not resolve by
// itself, even when every alert it lists has resolved; a later notification
// that lists the whole group, or says it resolved, lifts that, and resolves
// the incident if nothing it knows fires. A notification older than the one
// the incident heard last changes nothing. It returns the incident when it
// changed, nil otherwise.
func NoteGroup(ctx context.Context, tx Tx, id int64, g GroupNote, now time.Time) (*Incident, bool, error) {
	inc, err := tx.Incident(ctx, id)
	if err != nil {
		return nil, false, err
	}
	unseen := g.UnseenFiring()
	switch {
	case g.AsOf.Before(inc.UnseenAsOf), unseen == 0 && inc.UnseenFiring == 0:
		return nil, false, nil
	case unseen > 0 && !inc.State.Active():
		// A resolved incident heard the group resolve (or all its alerts
		// end) already: a truncated firing notification now is an older
		// one, delivered late.
		return nil, false, nil
	}
	if unseen > 0 && inc.UnseenFiring == 0 && inc.State.Active() {
		msg := fmt.Sprintf("the notification left out %d alerts of the group (max_alerts): it does not resolve while they may fire", unseen)
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineTruncated, "", msg); err != nil {
			return nil, false, err
		}
	}
	inc.UnseenFiring, inc.UnseenAsOf, inc.UpdatedAt = unseen, g.AsOf, now
	resolved := false
	if unseen == 0 && inc.State.Active() && inc.ResolveAfter == 0 && resolveTriggered(inc) {
		msg := "all alerts resolved (the group's notification lists them all again)"
		if g.Status == StatusResolved {
			msg = "all alerts resolved (the group resolved)"
		}
		if err := resolve(ctx, tx, &inc, g.AsOf, now, msg); err != nil {
			return nil, false, err
		}
		resolved = true
	}
	return &inc, resolved, tx.UpdateIncident(ctx, inc)
}
