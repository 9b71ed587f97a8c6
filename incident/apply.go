package incident

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Decision is everything the stages before Apply decided about one event: the
// dedupe transition, the correlation, and what the matching rule says.
type Decision struct {
	Event      Event
	Transition Transition
	// Prior is the fingerprint's state before this event; zero if unknown.
	Prior AlertState
	// Key is the correlation key, and Rule the rule that produced it ("" for
	// the built-in default).
	Key  string
	Rule string
	// Current is the incident that owns Key (see Tx.IncidentByKey), nil if none.
	Current *Incident
	Impact  Level
	Urgency Level
	Title   string
	Service string
	// ReopenWithin is how long after a resolve a new firing reopens the
	// incident instead of opening a new one.
	ReopenWithin time.Duration
	// Drop discards the event: its state is remembered, no incident changes.
	Drop bool
}

// Outcome reports what Apply changed.
type Outcome struct {
	// Incident is the incident after the change, nil if none was touched.
	Incident *Incident
	Opened   bool
	Reopened bool
	Resolved bool
	// State is the fingerprint's state after the event.
	State AlertState
}

// Apply carries out one decided event in tx. It records every incident state
// change on the timeline. now is the processing time.
func Apply(ctx context.Context, tx Tx, d Decision, now time.Time) (Outcome, error) {
	ev := d.Event
	var out Outcome
	var err error
	switch d.Transition {
	case TransitionStale:
		out, err = applyStale(ctx, tx, d, now)
	case TransitionRepeat:
		out, err = applyRepeat(ctx, tx, d, now)
	case TransitionResolved:
		out, err = applyResolved(ctx, tx, d, now)
	case TransitionNew, TransitionRefired:
		if d.Drop {
			out.State = stateOf(ev, 0, now)
			err = tx.PutAlertState(ctx, out.State)
		} else {
			out, err = applyFiring(ctx, tx, d, now)
		}
	default:
		return out, fmt.Errorf("apply: unknown transition %q", d.Transition)
	}
	if err != nil {
		return out, err
	}
	if d.Transition == TransitionRepeat {
		// Repeats are the bulk of all traffic (every group_interval, every HA
		// peer) and change nothing; the alert's count records them.
		return out, nil
	}
	rec := EventRecord{
		ReceivedAt: now, Source: ev.Source, Fingerprint: ev.Fingerprint, Status: ev.Status,
		Labels: ev.Labels, StartsAt: ev.StartsAt, EndsAt: ev.EndsAt,
		Transition: d.Transition, Rule: d.Rule, Key: d.Key,
	}
	if out.Incident != nil {
		rec.IncidentID = out.Incident.ID
	}
	if err := tx.AddEvent(ctx, rec); err != nil {
		return out, fmt.Errorf("record event: %w", err)
	}
	return out, nil
}

func stateOf(ev Event, incidentID int64, now time.Time) AlertState {
	return AlertState{
		Fingerprint: ev.Fingerprint, Status: ev.Status, StartsAt: ev.StartsAt,
		EndsAt: ev.EndsAt, IncidentID: incidentID, LastSeenAt: now,
	}
}

// applyStale remembers a late event only when it tells of a newer episode than
// the one known (or of a fingerprint never seen), so that an even later
// delivery of the older firing stays stale. It never touches an incident.
func applyStale(ctx context.Context, tx Tx, d Decision, now time.Time) (Outcome, error) {
	if d.Prior.Fingerprint != "" && !d.Event.StartsAt.After(d.Prior.StartsAt) {
		return Outcome{State: d.Prior}, nil
	}
	st := stateOf(d.Event, 0, now)
	return Outcome{State: st}, tx.PutAlertState(ctx, st)
}

// applyRepeat bumps the counters of a re-sent alert and nothing else.
func applyRepeat(ctx context.Context, tx Tx, d Decision, now time.Time) (Outcome, error) {
	st := d.Prior
	st.LastSeenAt = now
	if d.Event.StartsAt.After(st.StartsAt) {
		// A firing with a newer startsAt while we think it still fires: the
		// resolve in between was lost. It is still the same firing alert.
		st.StartsAt = d.Event.StartsAt
	}
	out := Outcome{State: st}
	if err := tx.PutAlertState(ctx, st); err != nil {
		return out, err
	}
	if st.IncidentID == 0 {
		return out, nil
	}
	err := tx.TouchAlert(ctx, st.IncidentID, st.Fingerprint, now, st.StartsAt, d.Event.Annotations)
	if errors.Is(err, ErrNotFound) {
		return out, nil
	}
	return out, err
}

// applyResolved resolves the alert on its incident and resolves the incident
// once no alert of it fires any more.
func applyResolved(ctx context.Context, tx Tx, d Decision, now time.Time) (Outcome, error) {
	ev := d.Event
	endsAt := ev.EndsAt
	if endsAt.IsZero() || endsAt.After(now) {
		endsAt = now
	}
	st := d.Prior
	st.Status, st.StartsAt, st.EndsAt, st.LastSeenAt = StatusResolved, ev.StartsAt, endsAt, now
	out := Outcome{State: st}
	if err := tx.PutAlertState(ctx, st); err != nil {
		return out, err
	}
	if st.IncidentID == 0 {
		return out, nil
	}
	inc, err := tx.Incident(ctx, st.IncidentID)
	if err != nil {
		return out, fmt.Errorf("incident %d of alert %s: %w", st.IncidentID, st.Fingerprint, err)
	}
	a, err := tx.Alert(ctx, inc.ID, st.Fingerprint)
	if err != nil {
		return out, fmt.Errorf("alert %s of incident %d: %w", st.Fingerprint, inc.ID, err)
	}
	wasFiring := a.Status == StatusFiring
	a.Status, a.EndsAt, a.LastSeenAt, a.Annotations = StatusResolved, endsAt, now, ev.Annotations
	a.Count++
	if err := tx.PutAlert(ctx, a); err != nil {
		return out, err
	}
	if !wasFiring {
		return out, nil
	}
	inc.FiringCount--
	inc.UpdatedAt = now
	if err := addTimeline(ctx, tx, inc.ID, now, TimelineAlertResolved, st.Fingerprint, alertName(ev)+" resolved"); err != nil {
		return out, err
	}
	if inc.FiringCount <= 0 && inc.State.Active() {
		inc.FiringCount = 0
		inc.State = StateResolved
		// The incident ended when its last alert did, which a late delivery
		// reports after the fact; but never before the incident was opened,
		// so time-to-resolve is never negative.
		inc.ResolvedAt = endsAt
		if inc.ResolvedAt.Before(inc.OpenedAt) {
			inc.ResolvedAt = inc.OpenedAt
		}
		out.Resolved = true
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineResolved, "", "all alerts resolved"); err != nil {
			return out, err
		}
	}
	if err := tx.UpdateIncident(ctx, inc); err != nil {
		return out, err
	}
	out.Incident = &inc
	return out, nil
}

// applyFiring attaches a new or refired alert to the incident that owns its
// key, reopening a recently resolved one, or opens a new incident.
func applyFiring(ctx context.Context, tx Tx, d Decision, now time.Time) (Outcome, error) {
	ev := d.Event
	var out Outcome
	var inc Incident
	cur := d.Current
	if cur != nil {
		// The correlation cache only names the incident; its counters and
		// state are read inside this transaction, so a stale cache entry can
		// never corrupt them.
		fresh, err := tx.Incident(ctx, cur.ID)
		if err != nil {
			return out, fmt.Errorf("incident %d for key %s: %w", cur.ID, d.Key, err)
		}
		cur = &fresh
	}
	switch {
	case cur != nil && cur.State.Active():
		inc = *cur
	case cur != nil && !ev.StartsAt.After(cur.ResolvedAt.Add(d.ReopenWithin)):
		inc = *cur
		inc.State = StateOpen
		inc.ResolvedAt = time.Time{}
		out.Reopened = true
		msg := fmt.Sprintf("reopened by %s within reopen window %s", alertName(ev), d.ReopenWithin)
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineReopened, ev.Fingerprint, msg); err != nil {
			return out, err
		}
	default:
		inc = Incident{
			State: StateOpen, Impact: d.Impact, Urgency: d.Urgency,
			Priority: PriorityOf(d.Impact, d.Urgency), Title: d.Title, Service: d.Service,
			CorrelationKey: d.Key, Rule: d.Rule, Source: ev.Source, OpenedAt: now, UpdatedAt: now,
		}
		if err := tx.CreateIncident(ctx, &inc); err != nil {
			return out, fmt.Errorf("open incident for key %s: %w", d.Key, err)
		}
		out.Opened = true
		msg := fmt.Sprintf("opened by %s as %s", alertName(ev), inc.Priority)
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineOpened, ev.Fingerprint, msg); err != nil {
			return out, err
		}
	}

	a, err := tx.Alert(ctx, inc.ID, ev.Fingerprint)
	switch {
	case errors.Is(err, ErrNotFound):
		a = Alert{IncidentID: inc.ID, Fingerprint: ev.Fingerprint, FirstSeenAt: now}
		inc.AlertCount++
	case err != nil:
		return out, err
	}
	if a.Status != StatusFiring {
		inc.FiringCount++
	}
	a.Status, a.Labels, a.Annotations = StatusFiring, ev.Labels, ev.Annotations
	a.StartsAt, a.EndsAt, a.GeneratorURL, a.LastSeenAt = ev.StartsAt, time.Time{}, ev.GeneratorURL, now
	a.Count++
	if err := tx.PutAlert(ctx, a); err != nil {
		return out, err
	}
	if err := addTimeline(ctx, tx, inc.ID, now, TimelineAlertFiring, ev.Fingerprint, alertName(ev)+" firing"); err != nil {
		return out, err
	}

	// Escalate, never de-escalate: a more severe alert joining raises the
	// incident's priority; a milder one leaves it.
	if p := PriorityOf(d.Impact, d.Urgency); !out.Opened && p < inc.Priority {
		msg := fmt.Sprintf("priority %s → %s by %s", inc.Priority, p, alertName(ev))
		inc.Priority, inc.Impact, inc.Urgency = p, d.Impact, d.Urgency
		if err := addTimeline(ctx, tx, inc.ID, now, TimelinePriorityChanged, ev.Fingerprint, msg); err != nil {
			return out, err
		}
	}
	inc.UpdatedAt = now
	if err := tx.UpdateIncident(ctx, inc); err != nil {
		return out, err
	}
	out.Incident = &inc
	out.State = stateOf(ev, inc.ID, now)
	return out, tx.PutAlertState(ctx, out.State)
}

func alertName(ev Event) string {
	if n := ev.Labels["alertname"]; n != "" {
		return n
	}
	return ev.Fingerprint
}

func addTimeline(ctx context.Context, tx Tx, id int64, at time.Time, kind TimelineKind, fp, msg string) error {
	return tx.AddTimeline(ctx, &TimelineEntry{IncidentID: id, At: at, Kind: kind, Actor: "system", Fingerprint: fp, Message: msg})
}
