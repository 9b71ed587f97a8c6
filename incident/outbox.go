package incident

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// NotifyKind is a change of an incident that sinks may be told of.
type NotifyKind string

// The kinds of change sinks hear of. Policies in the config file choose
// which go to which sink.
const (
	NotifyOpened          NotifyKind = "opened"
	NotifyAcknowledged    NotifyKind = "acknowledged"
	NotifyResolved        NotifyKind = "resolved"
	NotifyReopened        NotifyKind = "reopened"
	NotifyPriorityChanged NotifyKind = "priority_changed"
	NotifySLABreached     NotifyKind = "sla_breached"
	NotifyProblemOpened   NotifyKind = "problem_opened"
	NotifyKnownError      NotifyKind = "known_error"
	NotifyComment         NotifyKind = "comment"
	// NotifyMerged: the incident was merged into another; its ticket is
	// closed with a note naming the other.
	NotifyMerged NotifyKind = "merged"
	// NotifyReleased: notifications were held (the incident flapped, or
	// opened during maintenance) and the hold ended while it is still
	// active: the sink hears of its state as it is now.
	NotifyReleased NotifyKind = "released"
)

// NotifyKinds lists every kind, in documentation order.
var NotifyKinds = []NotifyKind{NotifyOpened, NotifyAcknowledged, NotifyResolved, NotifyReopened,
	NotifyPriorityChanged, NotifySLABreached, NotifyProblemOpened, NotifyKnownError, NotifyComment,
	NotifyMerged, NotifyReleased}

// NotifyKindOf returns the kind of change a timeline entry tells sinks of,
// false for the entries no sink hears of (an alert firing, a seal, …).
func NotifyKindOf(k TimelineKind) (NotifyKind, bool) {
	switch k {
	case TimelineOpened:
		return NotifyOpened, true
	case TimelineAcknowledged:
		return NotifyAcknowledged, true
	case TimelineResolved:
		return NotifyResolved, true
	case TimelineReopened:
		return NotifyReopened, true
	case TimelinePriorityChanged:
		return NotifyPriorityChanged, true
	case TimelineSLABreached:
		return NotifySLABreached, true
	case TimelineProblemLinked:
		return NotifyProblemOpened, true
	case TimelineWorkaround:
		return NotifyKnownError, true
	case TimelineComment:
		return NotifyComment, true
	case TimelineMerged:
		return NotifyMerged, true
	}
	return "", false
}

// Coalesces reports whether a pending notification of kind k may be
// folded into the one before it while a sink is slow: it only says that the
// incident changed, and the sink hears of the incident as it is when it is
// delivered. A creation, an acknowledgement, a resolve or a comment is
// never folded away.
func (k NotifyKind) Coalesces() bool {
	return k == NotifyPriorityChanged || k == NotifySLABreached || k == NotifyReleased
}

// OutboxState is where an outbox row stands.
type OutboxState string

// The outbox states.
const (
	// OutboxPending rows wait for their delivery (NextAttemptAt).
	OutboxPending OutboxState = "pending"
	// OutboxHeld rows wait for a hold to end: the incident flaps or opened
	// during maintenance.
	OutboxHeld OutboxState = "held"
	// OutboxDead rows failed for longer than the sink's maximum age, or for
	// good; an admin may replay them. Their NextAttemptAt is when they
	// died.
	OutboxDead OutboxState = "dead"
)

// OutboxRow is one notification of one sink about one incident, written in
// the same transaction as the change it tells of (invariant 5), delivered
// in order per incident and sink, and deleted once delivered.
type OutboxRow struct {
	ID         int64
	Sink       string
	IncidentID int64
	Kind       NotifyKind
	// TimelineID is the entry the notification tells of (its message and
	// actor); 0 for a release.
	TimelineID    int64
	State         OutboxState
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
}

// OutboxStats is what the metrics say of one sink's outbox.
type OutboxStats struct {
	Pending, Held, Dead int
	// Oldest is when the oldest pending row was written (zero: none).
	// Held rows wait for their hold, not for the sink.
	Oldest time.Time
}

// Ticket is what a sink made of an incident: the external record (a Jira
// key, a ServiceNow sys_id, a Slack channel and message ts, a PagerDuty or
// Opsgenie alias) that later notifications update rather than create anew.
type Ticket struct {
	IncidentID int64
	Sink       string
	// ExternalID identifies the record in the sink's tool.
	ExternalID string
	// URL links to it, when the tool has one.
	URL string
	// Data is whatever else the sink needs to update it (a Slack channel).
	Data      map[string]string
	UpdatedAt time.Time
}

// Outbox is the part of a write transaction that keeps notifications.
type Outbox interface {
	// AddOutbox appends a row and sets its ID.
	AddOutbox(ctx context.Context, r *OutboxRow) error
	// PendingOutbox counts a sink's pending and held rows.
	PendingOutbox(ctx context.Context, sink string) (int, error)
	// HasPendingOutbox reports whether a sink has a pending or held row
	// for an incident.
	HasPendingOutbox(ctx context.Context, sink string, incidentID int64) (bool, error)
	// ReleaseHeld turns an incident's held rows into one pending row of
	// kind (a release, or its resolve) per sink that held any, and returns
	// how many sinks it released.
	ReleaseHeld(ctx context.Context, incidentID int64, kind NotifyKind, now time.Time) (int, error)
	// HeldIncidents returns the incidents with held rows.
	HeldIncidents(ctx context.Context) ([]int64, error)
	// DeleteOutbox removes delivered (or coalesced) rows.
	DeleteOutbox(ctx context.Context, ids []int64) error
	// RescheduleOutbox records a failed attempt: the row is tried again at
	// next, or, when dead, kept as a dead letter. ErrNotFound for an
	// unknown row.
	RescheduleOutbox(ctx context.Context, id int64, attempts int, next time.Time, lastErr string, dead bool) error
	// ReplayOutbox puts a dead letter back in line, due at now. It returns
	// ErrNotFound for an unknown row and ErrConflict for one not dead.
	ReplayOutbox(ctx context.Context, id int64, now time.Time) (OutboxRow, error)
	// PutTicket records what a sink made of an incident.
	PutTicket(ctx context.Context, t Ticket) error
	// PurgeDeadOutbox forgets at most limit dead letters that died
	// (NextAttemptAt) before before, and returns how many.
	PurgeDeadOutbox(ctx context.Context, before time.Time, limit int) (int, error)
}

// Route says which sinks hear of a change of kind to inc: the config file's
// notification policies.
type Route func(inc Incident, kind NotifyKind) []string

// Noted is a timeline entry a transaction wrote, and the sink its change
// came from ("" for any other origin): a change a responder made in a tool
// is not sent back to that tool, so no loop can form.
type Noted struct {
	Entry  TimelineEntry
	Origin string
}

// EnqueueOptions bound the outbox.
type EnqueueOptions struct {
	// MaxPending is how many pending or held rows a sink may have before
	// changes that only say the incident changed (NotifyKind.Coalesces)
	// are left out for an incident that already has a row waiting: its
	// delivery will carry the incident as it is then. Creations,
	// acknowledgements, resolves and comments are always written. 0 means
	// no bound.
	MaxPending int
}

// EnqueueStats counts what Enqueue did.
type EnqueueStats struct {
	// Written counts rows by sink; Held those of them written held.
	Written, Held map[string]int
	// Coalesced counts changes left out because their sink's outbox was
	// over MaxPending and the incident had a row waiting.
	Coalesced map[string]int
	// Released counts sinks whose held rows were released.
	Released int
}

func (s *EnqueueStats) add(m *map[string]int, sink string) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[sink]++
}

// Enqueue writes, in tx, the outbox rows of the changes the noted entries
// tell of (invariant 5): one row per sink that route names for the
// incident as it stands at the end of the transaction, except the sink the
// change came from. Rows of an incident whose notifications are held
// (Held) are written held; the held rows of one whose hold ended are
// released first, as one release, or its resolve.
func Enqueue(ctx context.Context, tx Tx, route Route, noted []Noted, now time.Time, o EnqueueOptions) (EnqueueStats, error) {
	var st EnqueueStats
	if route == nil || len(noted) == 0 {
		return st, nil
	}
	incs := map[int64]*Incident{}
	held := map[int64]bool{}
	pending := map[string]int{}
	for _, n := range noted {
		kind, ok := NotifyKindOf(n.Entry.Kind)
		if !ok && n.Entry.Kind != TimelineStable {
			continue
		}
		inc, seen := incs[n.Entry.IncidentID]
		if !seen {
			i, err := tx.Incident(ctx, n.Entry.IncidentID)
			if err != nil {
				return st, fmt.Errorf("incident %d of timeline entry %d: %w", n.Entry.IncidentID, n.Entry.ID, err)
			}
			inc = &i
			incs[i.ID] = inc
			h, err := Held(ctx, tx, i, now)
			if err != nil {
				return st, err
			}
			held[i.ID] = h
			if !h {
				r, err := tx.ReleaseHeld(ctx, i.ID, releaseKind(i), now)
				if err != nil {
					return st, err
				}
				st.Released += r
			}
		}
		if !ok {
			continue // stable: the release above is all it asks for
		}
		for _, s := range route(*inc, kind) {
			if s == n.Origin {
				continue
			}
			if o.MaxPending > 0 && kind.Coalesces() {
				c, ok := pending[s]
				if !ok {
					var err error
					if c, err = tx.PendingOutbox(ctx, s); err != nil {
						return st, err
					}
				}
				pending[s] = c
				if c >= o.MaxPending {
					waiting, err := tx.HasPendingOutbox(ctx, s, inc.ID)
					if err != nil {
						return st, err
					}
					if waiting {
						st.add(&st.Coalesced, s)
						continue
					}
				}
			}
			r := OutboxRow{Sink: s, IncidentID: inc.ID, Kind: kind, TimelineID: n.Entry.ID, State: OutboxPending,
				CreatedAt: now, NextAttemptAt: now}
			if held[inc.ID] {
				r.State = OutboxHeld
				st.add(&st.Held, s)
			}
			if err := tx.AddOutbox(ctx, &r); err != nil {
				return st, err
			}
			st.add(&st.Written, s)
			if _, ok := pending[s]; ok {
				pending[s]++
			}
		}
	}
	return st, nil
}

// Held reports whether inc's notifications are held: it flaps, or it
// opened during a maintenance window of its service that is still on.
func Held(ctx context.Context, tx Tx, inc Incident, now time.Time) (bool, error) {
	if !inc.FlappingSince.IsZero() {
		return true, nil
	}
	if !inc.DuringMaintenance {
		return false, nil
	}
	_, err := tx.ActiveMaintenance(ctx, inc.Service, now)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("maintenance of %s: %w", inc.Service, err)
}

// releaseKind is what a sink hears when inc's hold ends: its resolve when
// it resolved meanwhile, else a release.
func releaseKind(inc Incident) NotifyKind {
	if inc.State.Ended() {
		return NotifyResolved
	}
	return NotifyReleased
}

// ReleaseHolds releases the held notifications of every incident whose
// hold ended by now without a change of its own to notice it: a
// maintenance window closed. The sweep calls it.
func ReleaseHolds(ctx context.Context, tx Tx, now time.Time) (int, error) {
	ids, err := tx.HeldIncidents(ctx)
	if err != nil {
		return 0, err
	}
	released := 0
	for _, id := range ids {
		inc, err := tx.Incident(ctx, id)
		if err != nil {
			return released, fmt.Errorf("incident %d with held notifications: %w", id, err)
		}
		h, err := Held(ctx, tx, inc, now)
		if err != nil || h {
			if err != nil {
				return released, err
			}
			continue
		}
		n, err := tx.ReleaseHeld(ctx, id, releaseKind(inc), now)
		if err != nil {
			return released, err
		}
		released += n
	}
	return released, nil
}
