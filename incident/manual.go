package incident

import (
	"context"
	"fmt"
	"sort"
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
	// ActionMerge moves all alerts of the incident into Into and closes it.
	ActionMerge Action = "merge"
	// ActionUnlink moves one alert (Source, Fingerprint) out into a new
	// incident.
	ActionUnlink Action = "unlink"
)

// Command is one manual action on one incident.
type Command struct {
	IncidentID int64
	Action     Action
	// Actor is who acts: the authenticated identity (or a source, for a
	// sender's acknowledgement). OnBehalfOf is free text the actor gave,
	// such as the body's "actor" of an API call, recorded next to Actor on
	// the timeline and never instead of it.
	Actor      string
	OnBehalfOf string
	Message    string
	// Origin is the sink whose callback asked for the command (a button
	// pressed in Slack, an issue resolved in Jira): the change is not sent
	// back to it. "" for the API, UI and CLI.
	Origin string
	// Into is the target of a merge.
	Into int64
	// Fingerprint is the alert an unlink moves out, and Source the source
	// it came in through. Source may be empty when only one source's alert
	// in the incident has the fingerprint.
	Fingerprint string
	Source      string
	// Decide, when set, says what the rules make of an alert on its own: an
	// unlinked alert's new incident takes its title, service, owner and
	// priority from it. The pipeline sets it.
	Decide func(Event) Decision
}

// AmbiguousAlertError is an unlink that names a fingerprint which alerts of
// more than one source in the incident share, and no source. It wraps
// ErrInvalid.
type AmbiguousAlertError struct {
	IncidentID  int64
	Fingerprint string
	// Sources are the sources with an alert of Fingerprint, sorted.
	Sources []string
}

// Error names the sources to choose from.
func (e *AmbiguousAlertError) Error() string {
	return fmt.Sprintf("incident %d has alerts with fingerprint %s from sources %s: name one as source",
		e.IncidentID, e.Fingerprint, strings.Join(e.Sources, ", "))
}

// Unwrap makes the error an ErrInvalid.
func (e *AmbiguousAlertError) Unwrap() error { return ErrInvalid }

// Execute carries out a manual command in tx. It returns ErrNotFound for an
// unknown incident and ErrConflict for a transition the state machine does not
// allow (acknowledging a resolved incident, resolving twice) and for any
// command on a closed incident, which is final.
func Execute(ctx context.Context, tx Tx, c Command, now time.Time) (Incident, error) {
	inc, err := tx.Incident(ctx, c.IncidentID)
	if err != nil {
		return inc, err
	}
	if inc.State == StateClosed {
		return inc, fmt.Errorf("%s incident %d: it is closed, and a closed incident is final: %w", c.Action, inc.ID, ErrConflict)
	}
	actor := strings.TrimSpace(c.Actor)
	if actor == "" {
		actor = "anonymous"
	}
	switch c.Action {
	case ActionMerge:
		return merge(ctx, tx, inc, c, actor, now)
	case ActionUnlink:
		return unlink(ctx, tx, inc, c, actor, now)
	}
	entry := TimelineEntry{IncidentID: inc.ID, At: now, Actor: actor, OnBehalfOf: strings.TrimSpace(c.OnBehalfOf), Message: c.Message}
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
	if err := tx.AddTimeline(ctx, &entry); err != nil {
		return inc, err
	}
	if c.Action == ActionComment {
		return inc, nil
	}
	// Acknowledging or resolving after the target is a breach, recorded
	// even if no sweep ran in between.
	if _, err := checkBreaches(ctx, tx, &inc, now); err != nil {
		return inc, err
	}
	return inc, tx.UpdateIncident(ctx, inc)
}

// merge moves every alert of src into c.Into, which takes the higher of the
// two priorities; src is resolved and forwards its key to the target, so
// later alerts of src's key join the target instead of reopening src. It
// returns the target. Both timelines record it.
func merge(ctx context.Context, tx Tx, src Incident, c Command, actor string, now time.Time) (Incident, error) {
	if c.Into == 0 || c.Into == src.ID {
		return src, fmt.Errorf("merge incident %d: into: want another incident's id: %w", src.ID, ErrInvalid)
	}
	if src.MergedInto != 0 {
		return src, fmt.Errorf("merge incident %d: already merged into %d: %w", src.ID, src.MergedInto, ErrConflict)
	}
	dst, err := tx.Incident(ctx, c.Into)
	if err != nil {
		return dst, fmt.Errorf("merge into incident %d: %w", c.Into, err)
	}
	if !dst.State.Active() || dst.MergedInto != 0 {
		return dst, fmt.Errorf("merge into incident %d in state %s: %w", dst.ID, dst.State, ErrConflict)
	}
	moved, err := tx.MoveAlerts(ctx, src.ID, dst.ID)
	if err != nil {
		return dst, err
	}
	if dst.AlertCount, dst.FiringCount, err = tx.AlertCounts(ctx, dst.ID); err != nil {
		return dst, err
	}
	if src.Priority < dst.Priority {
		dst.Priority, dst.Impact, dst.Urgency = src.Priority, src.Impact, src.Urgency
	}
	dst.ImpactStartedAt = earlier(dst.ImpactStartedAt, src.ImpactStartedAt)
	dst.UpdatedAt, dst.LastEventAt, dst.ResolveDueAt = now, now, time.Time{}
	src.MergedInto, src.AlertCount, src.FiringCount, src.UpdatedAt = dst.ID, 0, 0, now
	if src.State != StateResolved {
		src.State, src.ResolvedAt, src.ResolveDueAt = StateResolved, now, time.Time{}
	}
	note := ""
	if c.Message != "" {
		note = ": " + c.Message
	}
	for _, e := range []TimelineEntry{
		{IncidentID: src.ID, At: now, Kind: TimelineMerged, Actor: actor, Message: fmt.Sprintf("merged into #%d%s", dst.ID, note)},
		{IncidentID: dst.ID, At: now, Kind: TimelineMerged, Actor: actor, Message: fmt.Sprintf("#%d merged in (%d alerts)%s", src.ID, moved, note)},
	} {
		e.OnBehalfOf = strings.TrimSpace(c.OnBehalfOf)
		if err := tx.AddTimeline(ctx, &e); err != nil {
			return dst, err
		}
	}
	if err := tx.UpdateIncident(ctx, src); err != nil {
		return dst, err
	}
	return dst, tx.UpdateIncident(ctx, dst)
}

// unlinkedAlert finds the alert an unlink names: by source and fingerprint,
// or by fingerprint alone when only one source's alert has it.
func unlinkedAlert(ctx context.Context, tx Tx, src Incident, c Command) (Alert, error) {
	if c.Source != "" {
		a, err := tx.Alert(ctx, src.ID, c.Source, c.Fingerprint)
		if err != nil {
			return a, fmt.Errorf("unlink alert %q of source %q from incident %d: %w", c.Fingerprint, c.Source, src.ID, err)
		}
		return a, nil
	}
	alerts, err := tx.AlertsByFingerprint(ctx, src.ID, c.Fingerprint)
	switch {
	case err != nil:
		return Alert{}, err
	case len(alerts) == 0:
		return Alert{}, fmt.Errorf("unlink alert %q from incident %d: %w", c.Fingerprint, src.ID, ErrNotFound)
	case len(alerts) > 1:
		amb := &AmbiguousAlertError{IncidentID: src.ID, Fingerprint: c.Fingerprint}
		for _, a := range alerts {
			amb.Sources = append(amb.Sources, a.Source)
		}
		sort.Strings(amb.Sources)
		return Alert{}, amb
	}
	return alerts[0], nil
}

// unlink moves one alert out of src into a new open incident of its own,
// which takes over the alert's state; both timelines record it. It returns
// the new incident.
func unlink(ctx context.Context, tx Tx, src Incident, c Command, actor string, now time.Time) (Incident, error) {
	a, err := unlinkedAlert(ctx, tx, src, c)
	if err != nil {
		return src, err
	}
	if src.AlertCount <= 1 {
		return src, fmt.Errorf("unlink the only alert of incident %d: %w", src.ID, ErrConflict)
	}
	// The alert becomes an incident of its own: what the rules make of it
	// alone (its title, service, owner and priority), not its old group's.
	ev := Event{Source: a.Source, Fingerprint: a.Fingerprint, Status: a.Status, Labels: a.Labels,
		Annotations: a.Annotations, StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL}
	d := Decision{Event: ev}
	if c.Decide != nil {
		d = c.Decide(ev)
	}
	if d.Impact == "" || d.Urgency == "" {
		d.Impact, d.Urgency = SeverityLevels(a.Labels["severity"])
	}
	if d.Title == "" {
		d.Title = alertName(ev)
	}
	if d.Service == "" {
		if d.Service = a.Labels["service"]; d.Service == "" {
			d.Service = a.Labels["job"]
		}
	}
	inc := Incident{
		State: StateOpen, Impact: d.Impact, Urgency: d.Urgency, Priority: PriorityOf(d.Impact, d.Urgency),
		Title: d.Title, Summary: d.Summary, Service: d.Service, Owner: d.Owner,
		CorrelationKey: fmt.Sprintf("unlinked/%d/%s/%s", src.ID, a.Source, a.Fingerprint),
		Rule:           d.Rule, Source: a.Source, OpenedAt: now, UpdatedAt: now, LastEventAt: now,
		ImpactStartedAt: a.StartsAt, RuleSnapshot: RuleSnapshot{ResolveMode: ResolveAll, MinAlerts: 1}, Labels: a.Labels,
	}
	if a.Status != StatusFiring {
		inc.State, inc.ResolvedAt = StateResolved, now
	}
	if err := tx.CreateIncident(ctx, &inc); err != nil {
		return src, err
	}
	if err := tx.MoveAlert(ctx, src.ID, inc.ID, a.Source, a.Fingerprint); err != nil {
		return src, err
	}
	if inc.AlertCount, inc.FiringCount, err = tx.AlertCounts(ctx, inc.ID); err != nil {
		return src, err
	}
	if src.AlertCount, src.FiringCount, err = tx.AlertCounts(ctx, src.ID); err != nil {
		return src, err
	}
	if start, _, err := tx.AlertSpan(ctx, inc.ID); err == nil && !start.IsZero() {
		inc.ImpactStartedAt = start // its earliest firing, not only the latest
	}
	src.UpdatedAt = now
	if src.FiringCount == 0 && src.State.Active() && src.ResolveMode != ResolveManual {
		src.State, src.ResolvedAt, src.ResolveDueAt = StateResolved, now, time.Time{}
	}
	note := ""
	if c.Message != "" {
		note = ": " + c.Message
	}
	for _, e := range []TimelineEntry{
		{IncidentID: src.ID, At: now, Kind: TimelineUnlinked, Actor: actor, Fingerprint: a.Fingerprint, Message: fmt.Sprintf("alert %s moved to #%d%s", a.Fingerprint, inc.ID, note)},
		{IncidentID: inc.ID, At: now, Kind: TimelineUnlinked, Actor: actor, Fingerprint: a.Fingerprint, Message: fmt.Sprintf("opened by unlinking alert %s from #%d%s", a.Fingerprint, src.ID, note)},
	} {
		e.OnBehalfOf = strings.TrimSpace(c.OnBehalfOf)
		if err := tx.AddTimeline(ctx, &e); err != nil {
			return inc, err
		}
	}
	if err := tx.UpdateIncident(ctx, src); err != nil {
		return inc, err
	}
	return inc, tx.UpdateIncident(ctx, inc)
}
