package incident

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Action is a change a person asks for through the API, UI or CLI.
type Action string

// The manual actions.
const (
	ActionAcknowledge Action = "acknowledge"
	ActionResolve     Action = "resolve"
	ActionComment     Action = "comment"
)

// Command is one manual action on one incident.
type Command struct {
	IncidentID int64
	Action     Action
	Actor      string
	Message    string
}

// Execute carries out a manual command in tx. It returns ErrNotFound for an
// unknown incident and ErrConflict for a transition the state machine does not
// allow (acknowledging a resolved incident, resolving twice).
func Execute(ctx context.Context, tx Tx, c Command, now time.Time) (Incident, error) {
	inc, err := tx.Incident(ctx, c.IncidentID)
	if err != nil {
		return inc, err
	}
	actor := strings.TrimSpace(c.Actor)
	if actor == "" {
		actor = "anonymous"
	}
	entry := TimelineEntry{IncidentID: inc.ID, At: now, Actor: actor, Message: c.Message}
	switch c.Action {
	case ActionAcknowledge:
		if !CanTransition(inc.State, StateAcknowledged) {
			return inc, fmt.Errorf("acknowledge incident %d in state %s: %w", inc.ID, inc.State, ErrConflict)
		}
		inc.State = StateAcknowledged
		if inc.AcknowledgedAt.IsZero() {
			inc.AcknowledgedAt = now
		}
		entry.Kind = TimelineAcknowledged
	case ActionResolve:
		if !CanTransition(inc.State, StateResolved) {
			return inc, fmt.Errorf("resolve incident %d in state %s: %w", inc.ID, inc.State, ErrConflict)
		}
		inc.State, inc.ResolvedAt, inc.ResolveDueAt = StateResolved, now, time.Time{}
		entry.Kind = TimelineResolved
		if entry.Message == "" {
			entry.Message = "resolved by hand"
		}
	case ActionComment:
		if strings.TrimSpace(c.Message) == "" {
			return inc, fmt.Errorf("comment on incident %d: empty message: %w", inc.ID, ErrInvalid)
		}
		entry.Kind = TimelineComment
	default:
		return inc, fmt.Errorf("unknown action %q", c.Action)
	}
	inc.UpdatedAt = now
	if c.Action != ActionComment {
		if err := tx.UpdateIncident(ctx, inc); err != nil {
			return inc, err
		}
	}
	if err := tx.AddTimeline(ctx, &entry); err != nil {
		return inc, err
	}
	return inc, nil
}
