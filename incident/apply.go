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
	// Current is the incident that owns Key (see Tx.IncidentByKey) as a
	// cache knows it, nil if none.
	Current *Incident
	// NoOwner, with Current nil, says that no incident owns Key as the
	// transaction that applies d read it (the correlation cache asks the
	// transaction on a miss), so placing d reads nothing more to learn so.
	// False when nobody looked: the key is then read.
	NoOwner bool
	// Placing is where a new or refired alert goes (PlaceFiring); nil lets
	// Apply decide it itself, without the service catalog.
	Placing *Placing
	Impact  Level
	Urgency Level
	Title   string
	Summary string
	Service string
	Owner   string
	// Window is how long after an incident's last event a new alert may
	// still join it; 0 means no limit.
	Window time.Duration
	// ReopenWithin is how long after a resolve a new firing reopens the
	// incident instead of opening a new one.
	ReopenWithin time.Duration
	// Resolve and ResolveAfter say when a new incident resolves by itself.
	Resolve      ResolveMode
	ResolveAfter time.Duration
	// MinAlerts is how many distinct alerts must fire before a new incident
	// opens; below it the incident stays pending. Values below 1 mean 1.
	MinAlerts int
	// Drop discards the event: its state is remembered, no incident changes.
	Drop bool
	// Maintenance and SymptomOf are what Apply takes from the placing: a
	// maintenance change active on the service now (a new incident opened
	// during it is marked, its urgency low), and why the alert joins an
	// incident of a service its own service depends on.
	Maintenance *Change
	SymptomOf   string
	// SLA gives a newly open incident its SLA targets; nil: none.
	SLA SLATargets
	// FlapThreshold and FlapWindow: more than FlapThreshold alert resolves
	// within FlapWindow mark a new incident flapping (0: never).
	FlapThreshold int
	FlapWindow    time.Duration
}

// Outcome reports what Apply changed.
type Outcome struct {
	// Incident is the incident after the change, nil if none was touched.
	Incident *Incident
	Opened   bool
	Reopened bool
	Resolved bool
	// Sealed is the incident the window closed to new alerts, if any.
	Sealed *Incident
	// State is the alert's state after the event.
	State AlertState
	// Regrouped says that a late delivery moved alerts between incidents
	// or merged incidents (see placeHistory): cached states and owners may
	// be stale, and the caches must start afresh.
	Regrouped bool
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
		out, err = applyResolved(ctx, tx, d, d.Prior, now)
	case TransitionNew, TransitionRefired:
		if d.Drop {
			out.State = stateOf(ev, 0, now)
			if end, whole := wholeFiring(d, now); whole {
				out.State.Status, out.State.EndsAt = StatusResolved, end
			}
			err = tx.PutAlertState(ctx, out.State)
		} else {
			out, err = applyFiring(ctx, tx, d, now)
		}
	case TransitionHistory:
		out, err = applyHistory(ctx, tx, d, now)
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
		Labels: ev.Labels, Annotations: ev.Annotations, GroupLabels: ev.GroupLabels, Receiver: ev.Receiver,
		GeneratorURL: ev.GeneratorURL, StartsAt: ev.StartsAt, EndsAt: ev.EndsAt,
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
		Fingerprint: ev.Fingerprint, Source: ev.Source, Status: ev.Status, StartsAt: ev.StartsAt,
		EndsAt: ev.EndsAt, IncidentID: incidentID, LastSeenAt: now,
	}
}

// wholeFiring reports whether a new or refired event brings a whole firing,
// start and end, and when it ended: a resolve whose firing we never saw, or
// a firing that a remembered resolve (with no incident) already ended.
func wholeFiring(d Decision, now time.Time) (time.Time, bool) {
	ev := d.Event
	if ev.Status == StatusResolved {
		return endOf(ev, ev.StartsAt, now), true
	}
	p := d.Prior
	if p.Fingerprint != "" && p.Status == StatusResolved && p.IncidentID == 0 && !ev.StartsAt.After(p.EndsAt) {
		return later(p.EndsAt, ev.StartsAt), true
	}
	return time.Time{}, false
}

// applyStale keeps what a late copy of a known firing tells: an earlier
// start of the same firing (another HA peer's stamp). A resolve of an alert
// never seen firing, with no duration to record, is only remembered, so that
// its firing, delivered later, is recorded as ended.
func applyStale(ctx context.Context, tx Tx, d Decision, now time.Time) (Outcome, error) {
	if d.Prior.Fingerprint == "" {
		st := stateOf(d.Event, 0, now)
		return Outcome{State: st}, tx.PutAlertState(ctx, st)
	}
	return refine(ctx, tx, d, time.Time{}, now)
}

// refine records what a copy of the alert's current firing adds: an earlier
// start within SameFiringWithin, and (end non-zero) a later end. Both HA
// peers' notifications thus end in the same record whichever came first.
func refine(ctx context.Context, tx Tx, d Decision, end time.Time, now time.Time) (Outcome, error) {
	st := d.Prior
	out := Outcome{State: st}
	start, err := earlierStart(ctx, tx, st, d.Event.StartsAt)
	if err != nil {
		return out, err
	}
	if st.Status == StatusFiring || !end.After(st.EndsAt) {
		end = st.EndsAt
	}
	if start.Equal(st.StartsAt) && end.Equal(st.EndsAt) {
		return out, nil
	}
	ep, err := currentEpisode(ctx, tx, st, d.Key)
	if err != nil {
		return out, err
	}
	ep.StartsAt, ep.EndsAt = start, end
	if err := tx.PutEpisode(ctx, &ep); err != nil {
		return out, err
	}
	st.StartsAt, st.EndsAt, st.LastSeenAt = start, end, now
	out.State = st
	if err := tx.PutAlertState(ctx, st); err != nil {
		return out, err
	}
	if st.IncidentID == 0 {
		return out, nil
	}
	a, err := tx.Alert(ctx, st.IncidentID, st.Source, st.Fingerprint)
	if err != nil {
		return out, fmt.Errorf("alert %s of incident %d: %w", st.Fingerprint, st.IncidentID, err)
	}
	a.StartsAt, a.LastSeenAt = start, now
	if st.Status == StatusResolved {
		a.EndsAt = end
	}
	if err := tx.PutAlert(ctx, a); err != nil {
		return out, err
	}
	inc, err := tx.Incident(ctx, st.IncidentID)
	if err != nil || inc.State == StateClosed { // closed is final: its times stay
		return out, err
	}
	inc.ImpactStartedAt = earlier(inc.ImpactStartedAt, start)
	if inc.State == StateResolved && end.After(inc.ResolvedAt) && inc.FiringCount == 0 {
		inc.ResolvedAt = end
	}
	if err := tx.UpdateIncident(ctx, inc); err != nil {
		return out, err
	}
	out.Incident = &inc
	return regrouped(ctx, tx, d, ep, out, now, false)
}

// regrouped runs regroupAfter for ep in out's incident, and returns its
// outcome (with out's alert state, which the regrouping kept) when it
// regrouped, else out.
func regrouped(ctx context.Context, tx Tx, d Decision, ep Episode, out Outcome, now time.Time, ended bool) (Outcome, error) {
	r, ok, err := regroupAfter(ctx, tx, d, ep, out.Incident, now, ended)
	if err != nil || !ok {
		return out, err
	}
	r.State = out.State
	if st, err := tx.AlertState(ctx, out.State.Source, out.State.Fingerprint); err == nil {
		r.State = st
	}
	r.Resolved = r.Resolved || out.Resolved
	return r, nil
}

// applyRepeat bumps the counters of a re-sent alert. A firing with a start
// well after the known one while the alert still fires means its resolve
// was lost: it is the same alert in the same incident, but a new episode.
// A copy of a resolved alert may refine the firing's times.
func applyRepeat(ctx context.Context, tx Tx, d Decision, now time.Time) (Outcome, error) {
	st := d.Prior
	ev := d.Event
	if st.Status == StatusResolved {
		return refine(ctx, tx, d, endOf(ev, st.StartsAt, now), now)
	}
	if ev.StartsAt.Before(st.StartsAt) {
		return refine(ctx, tx, d, time.Time{}, now)
	}
	st.LastSeenAt = now
	if !sameFiring(ev.StartsAt, st.StartsAt) && !ev.StartsAtClamped {
		// The resolve in between was lost: when the old firing ended is not
		// known, only that the new one started.
		if st.IncidentID != 0 {
			ep := Episode{Source: st.Source, Fingerprint: st.Fingerprint, StartsAt: ev.StartsAt, IncidentID: st.IncidentID, Key: d.Key}
			if err := recordEpisode(ctx, tx, &ep); err != nil {
				return Outcome{State: st}, err
			}
		}
		st.StartsAt = ev.StartsAt
	}
	out := Outcome{State: st}
	if err := tx.PutAlertState(ctx, st); err != nil {
		return out, err
	}
	if st.IncidentID == 0 {
		return out, nil
	}
	err := tx.TouchAlert(ctx, st.IncidentID, st.Source, st.Fingerprint, now, st.StartsAt, ev.Annotations)
	if errors.Is(err, ErrNotFound) {
		return out, nil
	}
	return out, err
}

// applyResolved resolves the alert's firing (prior) on its incident and, as
// the incident's resolve mode says, resolves the incident or schedules its
// resolve.
func applyResolved(ctx context.Context, tx Tx, d Decision, prior AlertState, now time.Time) (Outcome, error) {
	ev := d.Event
	st := prior
	// Another peer's earlier stamp of the same firing moves its start.
	start, err := earlierStart(ctx, tx, st, ev.StartsAt)
	if err != nil {
		return Outcome{State: st}, err
	}
	lost := false
	switch {
	case ev.StartsAt.After(start) && !sameFiring(ev.StartsAt, start) && !ev.StartsAtClamped:
		// The resolve of a later firing than the one known: the resolve in
		// between was lost (or is late). When the known firing ended is not
		// known; this one is recorded as its own, as a firing would have.
		if st.IncidentID != 0 {
			next := Episode{Source: st.Source, Fingerprint: st.Fingerprint, StartsAt: ev.StartsAt, IncidentID: st.IncidentID, Key: d.Key}
			if err := recordEpisode(ctx, tx, &next); err != nil {
				return Outcome{State: st}, err
			}
		}
		start, st.StartsAt, lost = ev.StartsAt, ev.StartsAt, true
	}
	endsAt := endOf(ev, start, now)
	ep, err := currentEpisode(ctx, tx, st, d.Key)
	if err != nil {
		return Outcome{State: st}, err
	}
	// ended: the resolve only ends a recorded firing that had no end, from
	// the start it had (see regroupAfter).
	ended := ep.ID != 0 && ep.EndsAt.IsZero() && ep.StartsAt.Equal(start) && !lost
	ep.StartsAt, ep.EndsAt = start, endsAt
	if err := tx.PutEpisode(ctx, &ep); err != nil {
		return Outcome{State: st}, err
	}
	st.Status, st.StartsAt, st.EndsAt, st.LastSeenAt = StatusResolved, start, endsAt, now
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
	a, err := tx.Alert(ctx, inc.ID, st.Source, st.Fingerprint)
	if err != nil {
		return out, fmt.Errorf("alert %s of incident %d: %w", st.Fingerprint, inc.ID, err)
	}
	wasFiring := a.Status == StatusFiring
	a.Status, a.StartsAt, a.EndsAt, a.LastSeenAt, a.Annotations = StatusResolved, start, endsAt, now, ev.Annotations
	a.Count++
	if err := tx.PutAlert(ctx, a); err != nil {
		return out, err
	}
	if inc.State == StateClosed {
		return out, nil // the alert's own record, and nothing of the incident: closed is final
	}
	inc.ImpactStartedAt = earlier(inc.ImpactStartedAt, start)
	if !wasFiring {
		return out, tx.UpdateIncident(ctx, inc)
	}
	inc.FiringCount--
	inc.UpdatedAt, inc.LastEventAt = now, now
	msg := alertName(ev) + " resolved"
	if ev.ResolveReason != "" {
		msg += ": " + ev.ResolveReason
	}
	if err := addTimeline(ctx, tx, inc.ID, now, TimelineAlertResolved, st.Fingerprint, msg); err != nil {
		return out, err
	}
	if err := detectFlapping(ctx, tx, &inc, st.Source, st.Fingerprint, now); err != nil {
		return out, err
	}
	switch {
	case inc.State == StatePending && inc.FiringCount <= 0:
		// It never became an incident: close it quietly.
		inc.FiringCount, inc.State, inc.ResolvedAt = 0, StateResolved, now
		msg := fmt.Sprintf("discarded: all alerts resolved before %d fired together (min_alerts)", inc.MinAlerts)
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineResolved, "", msg); err != nil {
			return out, err
		}
	case inc.State.Active() && resolveTriggered(inc):
		if inc.ResolveAfter > 0 {
			if inc.ResolveDueAt.IsZero() {
				inc.ResolveDueAt = endsAt.Add(inc.ResolveAfter)
				msg := fmt.Sprintf("resolving at %s unless an alert fires again (resolve_after %s)",
					inc.ResolveDueAt.UTC().Format(time.RFC3339), inc.ResolveAfter)
				if err := addTimeline(ctx, tx, inc.ID, now, TimelineResolveScheduled, "", msg); err != nil {
					return out, err
				}
			}
			break
		}
		out.Resolved = true
		msg := "all alerts resolved"
		if inc.ResolveMode == ResolveAny {
			msg = alertName(ev) + " resolved (resolve: any)"
		}
		if err := resolve(ctx, tx, &inc, endsAt, now, msg); err != nil {
			return out, err
		}
	}
	if inc.FiringCount < 0 {
		inc.FiringCount = 0
	}
	if err := tx.UpdateIncident(ctx, inc); err != nil {
		return out, err
	}
	out.Incident = &inc
	return regrouped(ctx, tx, d, ep, out, now, ended)
}

func resolveTriggered(inc Incident) bool {
	if inc.UnseenFiring > 0 {
		// A truncated notification left out alerts that may still fire.
		return false
	}
	switch inc.ResolveMode {
	case ResolveManual:
		return false
	case ResolveAny:
		return true
	}
	return inc.FiringCount <= 0
}

// resolve moves an active incident to resolved. endedAt is when the alert
// that resolved it ended (alert time). The impact ended with the latest end
// of its alerts; the record says so, but never before the impact started,
// the incident was acknowledged or last reopened, so MTTR is never
// negative and a late resolve never predates what people did.
func resolve(ctx context.Context, tx Tx, inc *Incident, endedAt, now time.Time, msg string) error {
	_, last, err := tx.AlertSpan(ctx, inc.ID)
	if err != nil {
		return err
	}
	inc.State, inc.ResolveDueAt = StateResolved, time.Time{}
	inc.ResolvedAt = later(endedAt, last, inc.ImpactStartedAt, inc.AcknowledgedAt, inc.ReopenedAt)
	if inc.ResolvedAt.IsZero() {
		inc.ResolvedAt = now
	}
	if err := addTimeline(ctx, tx, inc.ID, now, TimelineResolved, "", msg); err != nil {
		return err
	}
	_, err = checkBreaches(ctx, tx, inc, now)
	return err
}

// applyFiring attaches a new or refired alert to the incident that owns its
// key, reopening a recently resolved one, or opens a new incident. A whole
// firing (a resolve whose firing was never seen) is attached, then resolved.
// A firing that started before the key's current incident did is placed by
// its own times among the key's incidents (placeHistory).
func applyFiring(ctx context.Context, tx Tx, d Decision, now time.Time) (Outcome, error) {
	ev := d.Event
	var out Outcome
	// Where it goes was decided once (PlaceFiring), on incidents read in
	// this transaction: the correlation cache only names the owner, so a
	// stale cache entry can never corrupt counters or state.
	p := d.Placing
	if p == nil {
		placing, err := PlaceFiring(ctx, tx, d, Topology{}, now)
		if err != nil {
			return out, err
		}
		p = &placing
	}
	cur := p.Owner
	if p.Kind == PlaceSymptom || p.Kind == PlaceJoin || p.Kind == PlaceReopen {
		cur = p.Target
	}
	d.SymptomOf = p.SymptomOf
	if p.Maintenance != nil {
		// Expected: planned work on the service. Its incident is marked,
		// and urgent it is not.
		d.Maintenance, d.Urgency = p.Maintenance, LevelLow
	}
	end, whole := wholeFiring(d, now)
	if p.Kind == PlaceHistory {
		ep := Episode{Source: ev.Source, Fingerprint: ev.Fingerprint, StartsAt: ev.StartsAt, EndsAt: end, Key: d.Key}
		out, err := placeHistory(ctx, tx, d, &ep, now)
		if err != nil {
			return out, err
		}
		// This firing is the alert's latest: its state follows it.
		out.State = stateOf(ev, ep.IncidentID, now)
		out.State.Status, out.State.EndsAt = StatusFiring, time.Time{}
		if whole {
			out.State.Status, out.State.EndsAt = StatusResolved, end
		}
		return out, tx.PutAlertState(ctx, out.State)
	}
	var inc Incident
	switch p.Kind {
	case PlaceSealAndOpen:
		if err := seal(ctx, tx, cur, d.Window, now); err != nil {
			return out, err
		}
		out.Sealed = cur
		var err error
		if inc, err = create(ctx, tx, d, now); err != nil {
			return out, err
		}
		out.Opened = inc.State == StateOpen
	case PlaceJoin, PlaceSymptom:
		inc = *cur
	case PlaceReopen:
		inc = *cur
		inc.State, inc.ResolvedAt, inc.ResolveDueAt, inc.ReopenedAt = StateOpen, time.Time{}, time.Time{}, ev.StartsAt
		out.Reopened = true
		msg := fmt.Sprintf("reopened by %s within reopen window %s", alertName(ev), d.ReopenWithin)
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineReopened, ev.Fingerprint, msg); err != nil {
			return out, err
		}
	default:
		var err error
		if inc, err = create(ctx, tx, d, now); err != nil {
			return out, err
		}
		out.Opened = inc.State == StateOpen
	}

	a, err := tx.Alert(ctx, inc.ID, ev.Source, ev.Fingerprint)
	switch {
	case errors.Is(err, ErrNotFound):
		a = Alert{IncidentID: inc.ID, Source: ev.Source, Fingerprint: ev.Fingerprint, FirstSeenAt: now}
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
	ep := Episode{Source: ev.Source, Fingerprint: ev.Fingerprint, StartsAt: ev.StartsAt, IncidentID: inc.ID, Key: d.Key}
	if err := recordEpisode(ctx, tx, &ep); err != nil {
		return out, err
	}
	inc.ImpactStartedAt = earlier(inc.ImpactStartedAt, ev.StartsAt)
	if err := addTimeline(ctx, tx, inc.ID, now, TimelineAlertFiring, ev.Fingerprint, alertName(ev)+" firing"); err != nil {
		return out, err
	}
	if d.SymptomOf != "" {
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineSymptom, ev.Fingerprint, d.SymptomOf); err != nil {
			return out, err
		}
	}
	if !inc.ResolveDueAt.IsZero() {
		inc.ResolveDueAt = time.Time{}
		msg := alertName(ev) + " fired again: scheduled resolve cancelled"
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineResolveCancelled, ev.Fingerprint, msg); err != nil {
			return out, err
		}
	}
	if inc.State == StatePending && inc.FiringCount >= max(inc.MinAlerts, 1) {
		inc.State, inc.OpenedAt, out.Opened = StateOpen, now, true
		setSLA(&inc, d.SLA)
		msg := fmt.Sprintf("opened: %d alerts firing (min_alerts %d) as %s", inc.FiringCount, inc.MinAlerts, inc.Priority)
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineOpened, ev.Fingerprint, msg); err != nil {
			return out, err
		}
	}

	// Escalate, never de-escalate: a more severe alert joining raises the
	// incident's priority; a milder one leaves it.
	if p := PriorityOf(d.Impact, d.Urgency); p < inc.Priority {
		msg := priorityChangedMessage(inc.Priority, p, alertName(ev))
		inc.Priority, inc.Impact, inc.Urgency = p, d.Impact, d.Urgency
		setSLA(&inc, d.SLA) // the higher priority's targets, from the same opening time
		if err := addTimeline(ctx, tx, inc.ID, now, TimelinePriorityChanged, ev.Fingerprint, msg); err != nil {
			return out, err
		}
	}
	inc.UpdatedAt, inc.LastEventAt = now, now
	if err := tx.UpdateIncident(ctx, inc); err != nil {
		return out, err
	}
	out.Incident = &inc
	out.State = stateOf(ev, inc.ID, now)
	out.State.Status, out.State.EndsAt = StatusFiring, time.Time{}
	if err := tx.PutAlertState(ctx, out.State); err != nil {
		return out, err
	}
	if !whole {
		return out, nil
	}
	// A whole firing: it resolves as soon as it is recorded.
	resolved := d
	resolved.Event.Status, resolved.Event.EndsAt = StatusResolved, end
	r, err := applyResolved(ctx, tx, resolved, out.State, now)
	if err != nil {
		return out, err
	}
	out.State, out.Resolved = r.State, r.Resolved
	if r.Incident != nil {
		out.Incident = r.Incident
	}
	return out, nil
}

// Placement is what a new or refired alert does with the incident that owns
// its key.
type Placement string

// The placements.
const (
	// PlaceJoin: it joins the key's pending, open or acknowledged incident.
	PlaceJoin Placement = "join"
	// PlaceReopen: it reopens the key's incident, resolved within
	// reopen_within and not yet closed.
	PlaceReopen Placement = "reopen"
	// PlaceOpen: it opens a new incident (pending first with min_alerts).
	PlaceOpen Placement = "open"
	// PlaceSealAndOpen: the key's incident is past its window; it is sealed
	// and the alert opens a new incident.
	PlaceSealAndOpen Placement = "seal_and_open"
)

// Place decides where a firing alert goes given the incident that owns its
// key (nil: none). Apply acts on it; `rules explain` reports it.
func Place(cur *Incident, d Decision, now time.Time) Placement {
	switch {
	case cur == nil, cur.State == StateClosed: // closed is final: never reopened
		return PlaceOpen
	case cur.ownsKey() && d.Window > 0 && now.Sub(cur.LastEventAt) > d.Window:
		return PlaceSealAndOpen
	case cur.ownsKey():
		return PlaceJoin
	case cur.SealedAt.IsZero() && !cur.OpenedAt.IsZero() &&
		(!cur.FlappingSince.IsZero() || !d.Event.StartsAt.After(cur.ResolvedAt.Add(d.ReopenWithin))):
		// A flapping incident stays one incident, whatever reopen_within says.
		return PlaceReopen
	}
	return PlaceOpen
}

// create opens a new incident for d's key: open at once, or pending when the
// rule wants more than one alert firing first.
func create(ctx context.Context, tx Tx, d Decision, now time.Time) (Incident, error) {
	inc := Incident{
		State: StateOpen, Impact: d.Impact, Urgency: d.Urgency, Priority: PriorityOf(d.Impact, d.Urgency),
		Title: d.Title, Summary: d.Summary, Service: d.Service, Owner: d.Owner, CorrelationKey: d.Key,
		Rule: d.Rule, Source: d.Event.Source, OpenedAt: now, UpdatedAt: now, LastEventAt: now, Labels: d.Event.Labels, RuleSnapshot: RuleSnapshot{ResolveMode: d.Resolve, ResolveAfter: d.ResolveAfter, MinAlerts: max(d.MinAlerts, 1), Window: d.Window}, Flapping: Flapping{FlapThreshold: d.FlapThreshold, FlapWindow: d.FlapWindow},
	}
	if inc.ResolveMode == "" {
		inc.ResolveMode = ResolveAll
	}
	if inc.MinAlerts > 1 {
		inc.State, inc.OpenedAt = StatePending, time.Time{}
	}
	setSLA(&inc, d.SLA)
	inc.DuringMaintenance = d.Maintenance != nil
	if err := tx.CreateIncident(ctx, &inc); err != nil {
		return inc, fmt.Errorf("open incident for key %s: %w", d.Key, err)
	}
	kind, msg := TimelineOpened, fmt.Sprintf("opened by %s as %s", alertName(d.Event), inc.Priority)
	if inc.State == StatePending {
		kind, msg = TimelinePending, fmt.Sprintf("pending: opens once %d alerts fire (min_alerts)", inc.MinAlerts)
	}
	if err := addTimeline(ctx, tx, inc.ID, now, kind, d.Event.Fingerprint, msg); err != nil {
		return inc, err
	}
	if m := d.Maintenance; m != nil {
		msg := fmt.Sprintf("during maintenance %q on %s (started %s): urgency low", m.Summary, m.Service,
			m.StartedAt.UTC().Format(time.RFC3339))
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineMaintenance, "", msg); err != nil {
			return inc, err
		}
	}
	return inc, nil
}

// seal closes an incident to new alerts because its window passed. A pending
// incident that never reached min_alerts within its window is discarded.
func seal(ctx context.Context, tx Tx, inc *Incident, window time.Duration, now time.Time) error {
	inc.SealedAt, inc.UpdatedAt = now, now
	msg := fmt.Sprintf("no event for longer than window %s: new alerts open a new incident", window)
	if inc.State == StatePending {
		inc.State, inc.ResolvedAt = StateResolved, now
		msg = fmt.Sprintf("discarded: fewer than %d alerts fired within window %s (min_alerts)", inc.MinAlerts, window)
	}
	if err := addTimeline(ctx, tx, inc.ID, now, TimelineSealed, "", msg); err != nil {
		return err
	}
	return tx.UpdateIncident(ctx, *inc)
}

// SweepBatch is the most incidents one Sweep carries out (DueIncidents
// returns at most as many). A sweep runs in the writer's transaction, which
// ingest waits behind: after a downtime, or when a storm's incidents reach
// their SLA targets together, thousands come due at once, and one
// transaction for all of them held ingest back: about 245 ms for 3,000
// (issue 13), 22 ms for a batch. A caller that gets SweepBatch back sweeps
// again for the rest.
const SweepBatch = 256

// Sweep carries out what is due at now: the scheduled resolves of incidents
// whose alerts all stayed resolved for their resolve_after grace, and the
// discarding of pending incidents whose window passed before min_alerts
// fired; at most SweepBatch incidents, the lowest IDs first. It returns the
// incidents it changed, and which of them it resolved.
func Sweep(ctx context.Context, tx Tx, now time.Time) (changed, resolved []Incident, err error) {
	due, err := tx.DueIncidents(ctx, now)
	if err != nil {
		return nil, nil, err
	}
	for i := range due {
		inc := &due[i]
		if inc.State == StatePending {
			if err := seal(ctx, tx, inc, inc.Window, now); err != nil {
				return nil, nil, err
			}
			continue
		}
		if !inc.FlappingSince.IsZero() && now.Sub(inc.LastEventAt) > inc.FlapWindow {
			if err := settle(ctx, tx, inc, now); err != nil {
				return nil, nil, err
			}
		}
		if !inc.ResolveDueAt.IsZero() && !inc.ResolveDueAt.After(now) {
			endedAt := inc.ResolveDueAt.Add(-inc.ResolveAfter)
			msg := fmt.Sprintf("no alert fired again within resolve_after %s", inc.ResolveAfter)
			if err := resolve(ctx, tx, inc, endedAt, now, msg); err != nil {
				return nil, nil, err
			}
			resolved = append(resolved, *inc)
		} else if _, err := checkBreaches(ctx, tx, inc, now); err != nil {
			return nil, nil, err
		}
		inc.UpdatedAt = now
		if err := tx.UpdateIncident(ctx, *inc); err != nil {
			return nil, nil, err
		}
	}
	return due, resolved, nil
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

// detectFlapping marks an incident flapping once the alert that just
// resolved (source, fingerprint) has resolved more than FlapThreshold times
// within FlapWindow. The count follows the alert across incidents (the
// event trace), so an alert whose every refire came after reopen_within,
// each opening a ticket of its own, is caught too; from then on its refires
// reopen this one. Another source's resolves of the same fingerprint are
// another alert's and do not count.
func detectFlapping(ctx context.Context, tx Tx, inc *Incident, source, fingerprint string, now time.Time) error {
	if inc.FlapThreshold <= 0 || inc.FlapWindow <= 0 || !inc.FlappingSince.IsZero() {
		return nil
	}
	n, err := tx.CountResolves(ctx, source, fingerprint, now.Add(-inc.FlapWindow))
	if err != nil {
		return err
	}
	n++ // this resolve is recorded in the trace after Apply's changes
	if n <= inc.FlapThreshold {
		return nil
	}
	inc.FlappingSince = now
	msg := fmt.Sprintf("flapping: an alert resolved %d times within %s; it stays one incident and notifications are held back until it is stable", n, inc.FlapWindow)
	return addTimeline(ctx, tx, inc.ID, now, TimelineFlapping, "", msg)
}

// settle ends flapping after a quiet flap window, with one summary entry.
func settle(ctx context.Context, tx Tx, inc *Incident, now time.Time) error {
	n, err := tx.CountTimeline(ctx, inc.ID, TimelineAlertResolved, inc.FlappingSince)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("stable again after flapping since %s: %d more alert resolves, now %s",
		inc.FlappingSince.UTC().Format(time.RFC3339), n, inc.State)
	inc.FlappingSince = time.Time{}
	return addTimeline(ctx, tx, inc.ID, now, TimelineStable, "", msg)
}
