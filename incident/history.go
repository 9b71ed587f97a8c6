package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// This file places what arrives out of order: a firing that started before
// the key's current incident did, or an earlier firing of an alert than the
// one known. In delivery order such a firing would have joined, opened or
// bridged incidents by its own times; here it does the same afterwards.
//
// The incidents of a key are its episodes grouped by time: sorted by start,
// an episode joins the group before it when it starts no later than that
// group's latest end plus reopen_within (a group with a firing episode has
// no end yet). An episode whose end is not known but whose alert fired
// again later ended, at the latest, when the next one started. placeHistory
// recomputes that grouping around the late episode and brings the records
// in line: it joins the episode to an incident, opens a resolved incident
// for an outage nobody had seen, moves episodes between incidents, and
// merges incidents the late firing bridges. Every permutation of one set of
// deliveries thus ends in the same incidents (docs/records.md).
//
// It regroups only incidents of rules without a window or min_alerts, and
// not a flapping incident (which stays one whatever reopen_within says):
// those depend on when events were processed, and a late firing of theirs
// simply joins the alert's (or the key's) current incident.

// regroupable reports whether a late firing of d's key may be placed by its
// own times, cur being the key's current incident.
func regroupable(d Decision, cur *Incident) bool {
	if d.Window > 0 || d.MinAlerts > 1 {
		return false
	}
	return cur == nil || (cur.Window == 0 && cur.MinAlerts <= 1 && cur.State != StatePending && cur.State != StateClosed &&
		cur.CorrelationKey == d.Key && cur.SealedAt.IsZero() && cur.FlappingSince.IsZero())
}

// applyHistory records an earlier firing of an alert than the one known,
// delivered late.
func applyHistory(ctx context.Context, tx Tx, d Decision, now time.Time) (Outcome, error) {
	ev := d.Event
	out := Outcome{State: d.Prior}
	ep, err := episodeOf(ctx, tx, ev.Source, ev.Fingerprint, ev.StartsAt, d.Key)
	if err != nil {
		return out, err
	}
	if ep.ID != 0 && !ep.StartsAt.Before(d.Prior.StartsAt) {
		// The nearest recorded firing is the current one, not this earlier.
		ep = Episode{Source: ev.Source, Fingerprint: ev.Fingerprint, StartsAt: ev.StartsAt, Key: d.Key}
	}
	changed := ep.ID == 0
	if ev.StartsAt.Before(ep.StartsAt) {
		ep.StartsAt, changed = ev.StartsAt, true
	}
	if ev.Status == StatusResolved {
		if end := endOf(ev, ep.StartsAt, now); end.After(ep.EndsAt) {
			ep.EndsAt, changed = end, true
		}
	}
	if !changed {
		return out, nil // a copy of a firing already recorded
	}
	if d.Drop {
		return out, nil // dropped alerts have no incidents to place it in
	}
	var cur *Incident
	if d.Prior.IncidentID != 0 {
		inc, err := tx.Incident(ctx, d.Prior.IncidentID)
		if err != nil {
			return out, err
		}
		cur = &inc
	}
	if !regroupable(d, cur) {
		return attachHistory(ctx, tx, ep, cur, now)
	}
	return placeHistory(ctx, tx, d, &ep, now)
}

// attachHistory records a late, earlier firing in the alert's current
// incident (rules whose grouping depends on processing time), which then
// started at the earlier of the two.
func attachHistory(ctx context.Context, tx Tx, ep Episode, cur *Incident, now time.Time) (Outcome, error) {
	out := Outcome{}
	if cur == nil {
		return out, tx.PutEpisode(ctx, &ep)
	}
	ep.IncidentID = cur.ID
	if err := tx.PutEpisode(ctx, &ep); err != nil {
		return out, err
	}
	if ep.StartsAt.Before(cur.ImpactStartedAt) {
		cur.ImpactStartedAt, cur.UpdatedAt = ep.StartsAt, now
		if err := tx.UpdateIncident(ctx, *cur); err != nil {
			return out, err
		}
	}
	out.Incident = cur
	return out, nil
}

// member is an episode with the end placement uses.
type member struct {
	ep Episode
	// from is the incident the episode was in before the run (0: none).
	from int64
	// end is when it ended at the latest (its own end, or the start of its
	// alert's next firing); open means it still fires.
	end  time.Time
	open bool
	// late marks the episode being placed.
	late bool
}

// group is a set of episodes the key's incidents must follow.
type group struct {
	members []*member
	start   time.Time
	end     time.Time
	open    bool
}

// regrouping is one run of placeHistory.
type regrouping struct {
	tx  Tx
	d   Decision
	now time.Time
	ep  *Episode
	// incidents are the key's incidents in play, by ID.
	incidents map[int64]*Incident
	// rows holds the alert rows of those incidents before the run, by
	// incident and (source, fingerprint): what a moving episode brings.
	rows map[int64]map[[2]string]Alert
}

// placeHistory places ep, a firing of d's key that started before the key's
// current incident (or an earlier firing of an alert than the one known),
// by its own times. See the comment at the top of this file.
func placeHistory(ctx context.Context, tx Tx, d Decision, ep *Episode, now time.Time) (Outcome, error) {
	r := &regrouping{tx: tx, d: d, now: now, ep: ep, incidents: map[int64]*Incident{}, rows: map[int64]map[[2]string]Alert{}}
	groups, err := r.load(ctx)
	if err != nil {
		return Outcome{}, err
	}
	return r.reconcile(ctx, groups)
}

// load reads the key's incidents that the late episode's group may reach,
// widening the time range until no more are found, and returns the groups
// of their episodes and the late one.
func (r *regrouping) load(ctx context.Context) ([]*group, error) {
	reopen := r.d.ReopenWithin
	from, to := r.ep.StartsAt, later(r.ep.StartsAt, r.ep.EndsAt)
	for i := range 64 {
		incs, err := r.tx.KeyIncidents(ctx, r.d.Key, from.Add(-reopen), to.Add(reopen))
		if err != nil {
			return nil, err
		}
		grew := false
		for _, inc := range incs {
			if _, ok := r.incidents[inc.ID]; !ok {
				r.incidents[inc.ID], grew = &inc, true
			}
		}
		if !grew && i > 0 {
			break
		}
		eps, err := r.tx.Episodes(ctx, r.ids())
		if err != nil {
			return nil, err
		}
		groups, err := r.group(ctx, eps)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			from, to = earlier(from, g.start), later(to, g.end)
			if g.open {
				to = later(to, r.now)
			}
		}
	}
	for _, id := range r.ids() {
		r.rows[id] = map[[2]string]Alert{}
		for _, a := range mustAlerts(ctx, r.tx, id) {
			r.rows[id][[2]string{a.Source, a.Fingerprint}] = a
		}
	}
	eps, err := r.tx.Episodes(ctx, r.ids())
	if err != nil {
		return nil, err
	}
	return r.group(ctx, eps)
}

func (r *regrouping) ids() []int64 {
	ids := make([]int64, 0, len(r.incidents))
	for id := range r.incidents {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// group sorts the episodes (and the late one) into groups.
func (r *regrouping) group(ctx context.Context, eps []Episode) ([]*group, error) {
	all := make([]*member, 0, len(eps)+1)
	for _, e := range eps {
		if r.ep.ID != 0 && e.ID == r.ep.ID {
			continue
		}
		all = append(all, &member{ep: e, from: e.IncidentID})
	}
	all = append(all, &member{ep: *r.ep, from: r.ep.IncidentID, late: true})
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i].ep, all[j].ep
		if !a.StartsAt.Equal(b.StartsAt) {
			return a.StartsAt.Before(b.StartsAt)
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Fingerprint < b.Fingerprint
	})
	// An episode without an end ended when its alert fired next: from the
	// episodes that follow it here, else from the store, asked for all at
	// once; never, and it is open.
	var ask []*member
	for i, m := range all {
		if !m.ep.EndsAt.IsZero() {
			m.end = m.ep.EndsAt
			continue
		}
		if next := nextStart(all[i+1:], m.ep); !next.IsZero() {
			m.end = next
			continue
		}
		ask = append(ask, m)
	}
	if len(ask) > 0 {
		after := make([]Episode, len(ask))
		for i, m := range ask {
			after[i] = m.ep
		}
		next, err := r.tx.NextEpisodes(ctx, after)
		if err != nil {
			return nil, err
		}
		for i, m := range ask {
			if next[i].ID == 0 {
				m.open = true
			} else {
				m.end = next[i].StartsAt
			}
		}
	}
	var groups []*group
	var g *group
	for _, m := range all {
		if g == nil || (!g.open && m.ep.StartsAt.After(g.end.Add(r.d.ReopenWithin))) {
			g = &group{start: m.ep.StartsAt}
			groups = append(groups, g)
		}
		g.members = append(g.members, m)
		g.open = g.open || m.open
		g.end = later(g.end, m.end)
	}
	return groups, nil
}

// nextStart returns when the alert of ep fired next after it among the
// episodes that follow in rest; zero if none of them is its.
func nextStart(rest []*member, ep Episode) time.Time {
	for _, m := range rest {
		if m.ep.Source == ep.Source && m.ep.Fingerprint == ep.Fingerprint && m.ep.StartsAt.After(ep.StartsAt) {
			return m.ep.StartsAt
		}
	}
	return time.Time{}
}

// reconcile brings the key's incidents in line with the groups: each group
// becomes one incident (the oldest record among those its episodes are in,
// or a new one), episodes and alert rows move to it, and incidents left
// without episodes are merged into the one that took them.
func (r *regrouping) reconcile(ctx context.Context, groups []*group) (Outcome, error) {
	if debugRegroup {
		for _, g := range groups {
			fmt.Printf("DBG group %s open=%v end=%s\n", fmtTime(g.start), g.open, fmtTime(g.end))
			for _, m := range g.members {
				fmt.Printf("DBG   %s %s..%s from=%d late=%v open=%v\n", m.ep.Fingerprint[:4], fmtTime(m.ep.StartsAt), fmtTime(m.end), m.from, m.late, m.open)
			}
		}
		for id, inc := range r.incidents {
			fmt.Printf("DBG inc %d %s\n", id, inc.State)
		}
	}
	out := Outcome{Regrouped: true}
	taken := map[int64]bool{}
	target := make([]*Incident, len(groups))
	// The key's active incident stays the one that takes its alerts: it
	// goes to the group that still fires (there is at most one, the last),
	// so its acknowledgement and its place under the key stay.
	if last := len(groups) - 1; last >= 0 && groups[last].open {
		for _, id := range r.ids() {
			if inc := r.incidents[id]; inc.State.Active() {
				target[last], taken[id] = inc, true
				break
			}
		}
	}
	for gi, g := range groups {
		if target[gi] != nil {
			continue
		}
		var ids []int64
		for _, m := range g.members {
			if id := m.ep.IncidentID; id != 0 && r.incidents[id] != nil && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			if !taken[id] {
				target[gi], taken[id] = r.incidents[id], true
				break
			}
		}
	}
	for gi, g := range groups {
		if target[gi] != nil {
			continue
		}
		inc, err := r.open(ctx, g)
		if err != nil {
			return out, err
		}
		target[gi] = inc
		if r.contains(g) {
			out.Opened = true
		}
	}
	// Move episodes to their group's incident.
	moved := map[int64]map[int64]int{} // old incident → new incident → episodes moved
	for gi, g := range groups {
		to := target[gi]
		for _, m := range g.members {
			from := m.from
			if from == to.ID && !m.late {
				continue
			}
			m.ep.IncidentID = to.ID
			if err := r.tx.PutEpisode(ctx, &m.ep); err != nil {
				return out, err
			}
			if m.late {
				*r.ep = m.ep
			}
			if from != 0 && from != to.ID {
				if moved[from] == nil {
					moved[from] = map[int64]int{}
				}
				moved[from][to.ID]++
			}
		}
	}
	// Incidents left without episodes are merged into the one that took
	// most of them.
	for id, inc := range r.incidents {
		if taken[id] || len(moved[id]) == 0 {
			continue
		}
		into, most := int64(0), 0
		for to, n := range moved[id] {
			if n > most || n == most && to < into {
				into, most = to, n
			}
		}
		if err := r.mergeAway(ctx, inc, into); err != nil {
			return out, err
		}
		if t := r.incidents[into]; inc.Priority < t.Priority {
			t.Priority, t.Impact, t.Urgency = inc.Priority, inc.Impact, inc.Urgency
		}
	}
	for gi, g := range groups {
		inc, err := r.settle(ctx, target[gi], g, moved)
		if err != nil {
			return out, err
		}
		if r.contains(g) {
			out.Incident = inc
			out.Reopened = out.Reopened || inc.ReopenedAt.Equal(r.ep.StartsAt) && inc.State.Active()
			out.Resolved = out.Resolved || inc.State == StateResolved
		}
	}
	return out, nil
}

// contains reports whether g holds the late episode.
func (r *regrouping) contains(g *group) bool {
	return slices.ContainsFunc(g.members, func(m *member) bool { return m.late })
}

// open records a new incident for a group no incident holds: an outage
// nobody had seen (or the part of an incident a late end split off). It is
// made like the incident its episodes came from, or, for a firing never
// recorded before, like the incident that firing would have opened.
func (r *regrouping) open(ctx context.Context, g *group) (*Incident, error) {
	var inc Incident
	var from *Incident
	for _, m := range g.members {
		if in := r.incidents[m.from]; in != nil && (from == nil || m.late) {
			from = in
		}
	}
	if from == nil {
		inc = Incident{
			Impact: r.d.Impact, Urgency: r.d.Urgency, Priority: PriorityOf(r.d.Impact, r.d.Urgency),
			Title: r.d.Title, Summary: r.d.Summary, Service: r.d.Service, Owner: r.d.Owner, Rule: r.d.Rule,
			Source: r.d.Event.Source, RuleSnapshot: RuleSnapshot{ResolveMode: r.d.Resolve, ResolveAfter: r.d.ResolveAfter}, Labels: r.d.Event.Labels, Flapping: Flapping{FlapThreshold: r.d.FlapThreshold, FlapWindow: r.d.FlapWindow},
		}
		if inc.ResolveMode == "" {
			inc.ResolveMode = ResolveAll
		}
		setSLA(&inc, r.d.SLA)
	} else {
		inc = *from
		inc.ID, inc.AcknowledgedAt, inc.ReopenedAt, inc.ProblemID = 0, time.Time{}, time.Time{}, 0
		inc.RespondBreachedAt, inc.ResolveBreachedAt, inc.FlappingSince, inc.ResolveDueAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	}
	inc.CorrelationKey, inc.MinAlerts, inc.Window, inc.MergedInto = r.d.Key, 1, 0, 0
	inc.State, inc.OpenedAt, inc.UpdatedAt, inc.LastEventAt = StateOpen, r.now, r.now, r.now
	inc.ImpactStartedAt, inc.ResolvedAt, inc.AlertCount, inc.FiringCount = g.start, time.Time{}, 0, 0
	if !g.open {
		// Resolved from the start: CreateIncident must not take the key
		// from an incident that is active.
		inc.State, inc.ResolvedAt = StateResolved, later(g.end, g.start)
	}
	if err := r.tx.CreateIncident(ctx, &inc); err != nil {
		return nil, fmt.Errorf("open incident for key %s from late deliveries: %w", r.d.Key, err)
	}
	msg := fmt.Sprintf("opened from a late delivery: the firing of %s from %s", alertName(r.d.Event), fmtTime(g.start))
	if !g.open {
		msg += " to " + fmtTime(g.end)
	}
	if err := addTimeline(ctx, r.tx, inc.ID, r.now, TimelineOpened, r.ep.Fingerprint, msg); err != nil {
		return nil, err
	}
	r.incidents[inc.ID] = &inc
	return &inc, nil
}

// mergeAway merges an incident whose episodes all went elsewhere into into.
func (r *regrouping) mergeAway(ctx context.Context, inc *Incident, into int64) error {
	inc.MergedInto, inc.AlertCount, inc.FiringCount, inc.UpdatedAt = into, 0, 0, r.now
	if inc.State != StateResolved {
		inc.State, inc.ResolvedAt, inc.ResolveDueAt = StateResolved, r.now, time.Time{}
	}
	for _, a := range r.rows[inc.ID] {
		if err := r.tx.DeleteAlert(ctx, inc.ID, a.Source, a.Fingerprint); err != nil {
			return err
		}
	}
	for _, e := range []TimelineEntry{
		{IncidentID: inc.ID, Kind: TimelineMerged, Message: fmt.Sprintf("merged into #%d: a late delivery showed its alerts fired together with that incident's", into)},
		{IncidentID: into, Kind: TimelineMerged, Message: fmt.Sprintf("#%d merged in: a late delivery showed its alerts fired together with this incident's", inc.ID)},
	} {
		e.At, e.Actor = r.now, "system"
		if err := r.tx.AddTimeline(ctx, &e); err != nil {
			return err
		}
	}
	return r.tx.UpdateIncident(ctx, *inc)
}

// mustAlerts returns an incident's alert rows, or none on an error (which
// the caller's next write reports).
func mustAlerts(ctx context.Context, tx Tx, id int64) []Alert {
	as, _ := tx.IncidentAlerts(ctx, id)
	return as
}

// settle rewrites an incident after its episodes changed: one alert row per
// alert (its latest firing in the incident), the counters, when the impact
// started and ended, and its state.
func (r *regrouping) settle(ctx context.Context, inc *Incident, g *group, moved map[int64]map[int64]int) (*Incident, error) {
	rows := r.rows[inc.ID]
	latest := map[[2]string]*member{}
	for _, m := range g.members {
		k := [2]string{m.ep.Source, m.ep.Fingerprint}
		if l := latest[k]; l == nil || m.ep.StartsAt.After(l.ep.StartsAt) {
			latest[k] = m
		}
	}
	for k, a := range rows {
		if latest[k] == nil {
			if err := r.tx.DeleteAlert(ctx, inc.ID, a.Source, a.Fingerprint); err != nil {
				return nil, err
			}
		}
	}
	gainedOpen := false
	for k, m := range latest {
		a, ok := rows[k]
		if !ok {
			a = r.rowFrom(m, inc.ID)
		}
		if m.open && m.from != inc.ID {
			gainedOpen = true
		}
		a.IncidentID, a.StartsAt, a.Status, a.EndsAt = inc.ID, m.ep.StartsAt, StatusResolved, m.end
		if m.open {
			a.Status, a.EndsAt = StatusFiring, time.Time{}
		}
		if err := r.tx.PutAlert(ctx, a); err != nil {
			return nil, err
		}
		if err := r.repoint(ctx, m.ep, inc.ID); err != nil {
			return nil, err
		}
	}
	var err error
	if inc.AlertCount, inc.FiringCount, err = r.tx.AlertCounts(ctx, inc.ID); err != nil {
		return nil, err
	}
	inc.ImpactStartedAt, inc.UpdatedAt = g.start, r.now
	if ro := inc.ReopenedAt; !ro.IsZero() && (ro.Before(g.start) || !g.open && ro.After(g.end)) {
		inc.ReopenedAt = time.Time{} // the firing that reopened it went to another incident
	}
	for from, tos := range moved {
		if n := tos[inc.ID]; n > 0 && from != inc.ID {
			msg := fmt.Sprintf("%d earlier firings moved in from #%d: a late delivery showed when they fired", n, from)
			if err := addTimeline(ctx, r.tx, inc.ID, r.now, TimelineMerged, "", msg); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case inc.State == StateResolved && g.open && gainedOpen:
		inc.State, inc.ResolvedAt, inc.ReopenedAt = StateOpen, time.Time{}, r.ep.StartsAt
		msg := fmt.Sprintf("reopened: %s fires, and a late delivery showed it started before this incident ended", alertName(r.d.Event))
		if err := addTimeline(ctx, r.tx, inc.ID, r.now, TimelineReopened, r.ep.Fingerprint, msg); err != nil {
			return nil, err
		}
	case inc.State.Active() && !g.open && inc.ResolveMode != ResolveManual && inc.UnseenFiring == 0:
		inc.State, inc.ResolveDueAt = StateResolved, time.Time{}
		inc.ResolvedAt = later(g.end, g.start, inc.AcknowledgedAt, inc.ReopenedAt)
		if err := addTimeline(ctx, r.tx, inc.ID, r.now, TimelineResolved, "", "all alerts resolved (delivered late)"); err != nil {
			return nil, err
		}
	case inc.State == StateResolved && !g.open:
		inc.ResolvedAt = later(g.end, g.start, inc.AcknowledgedAt, inc.ReopenedAt)
	}
	if inc.ResolvedAt.IsZero() && inc.State == StateResolved {
		inc.ResolvedAt = r.now
	}
	if r.contains(g) {
		kind := TimelineAlertResolved
		msg := fmt.Sprintf("%s fired from %s to %s (delivered late)", alertName(r.d.Event), fmtTime(r.ep.StartsAt), fmtTime(r.ep.EndsAt))
		if r.ep.EndsAt.IsZero() {
			kind, msg = TimelineAlertFiring, fmt.Sprintf("%s fired from %s (delivered late)", alertName(r.d.Event), fmtTime(r.ep.StartsAt))
		}
		if err := addTimeline(ctx, r.tx, inc.ID, r.now, kind, r.ep.Fingerprint, msg); err != nil {
			return nil, err
		}
		if p := PriorityOf(r.d.Impact, r.d.Urgency); p < inc.Priority && r.d.Impact != "" {
			msg := priorityChangedMessage(inc.Priority, p, alertName(r.d.Event))
			inc.Priority, inc.Impact, inc.Urgency = p, r.d.Impact, r.d.Urgency
			setSLA(inc, r.d.SLA)
			if err := addTimeline(ctx, r.tx, inc.ID, r.now, TimelinePriorityChanged, r.ep.Fingerprint, msg); err != nil {
				return nil, err
			}
		}
	}
	if err := r.tx.UpdateIncident(ctx, *inc); err != nil {
		return nil, err
	}
	return inc, nil
}

// rowFrom returns the alert row an episode moving into incident into
// brings: its row in the incident it comes from, else one made from the
// late event (its own alert), else a bare one.
func (r *regrouping) rowFrom(m *member, into int64) Alert {
	k := [2]string{m.ep.Source, m.ep.Fingerprint}
	if a, ok := r.rows[m.from][k]; ok {
		a.IncidentID = into
		return a
	}
	for _, rows := range r.rows {
		if a, ok := rows[k]; ok {
			a.IncidentID = into
			return a
		}
	}
	ev := r.d.Event
	if m.late {
		return Alert{IncidentID: into, Source: ev.Source, Fingerprint: ev.Fingerprint, Labels: ev.Labels,
			Annotations: ev.Annotations, GeneratorURL: ev.GeneratorURL, FirstSeenAt: r.now, LastSeenAt: r.now, Count: 1}
	}
	return Alert{IncidentID: into, Source: m.ep.Source, Fingerprint: m.ep.Fingerprint, FirstSeenAt: r.now, LastSeenAt: r.now}
}

// repoint makes the alert's state name incident id when ep is the alert's
// latest firing.
func (r *regrouping) repoint(ctx context.Context, ep Episode, id int64) error {
	st, err := r.tx.AlertState(ctx, ep.Source, ep.Fingerprint)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case !st.StartsAt.Equal(ep.StartsAt) || st.IncidentID == id:
		return nil
	}
	st.IncidentID = id
	return r.tx.PutAlertState(ctx, st)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return strings.TrimSuffix(t.UTC().Format(time.RFC3339Nano), "Z") + "Z"
}

// regroupAfter checks, after ep's times changed in the fast path (a resolve,
// or a copy that moved its start or end), whether the key's incidents still
// follow their episodes' times, and regroups them if not. A resolve
// delivered late can split an incident that later firings joined only
// because this one still seemed to fire; a later end or earlier start can
// bridge two. It returns the regrouping's outcome, or ok false when nothing
// had to change.
//
// ended says that ep was recorded open (no end, from the same start) and
// now ends: a resolve. When another alert of the incident still fires from
// early enough to hold it together (heldTogether), the incident's episodes
// group as they did before, and the history is not read.
func regroupAfter(ctx context.Context, tx Tx, d Decision, ep Episode, inc *Incident, now time.Time, ended bool) (out Outcome, ok bool, err error) {
	if inc == nil || !regroupable(d, inc) {
		return out, false, nil
	}
	if ended && ep.IncidentID == inc.ID && !noSkips.Load() {
		held, err := heldTogether(ctx, tx, d, ep, now)
		if err != nil {
			return out, false, err
		}
		if held {
			skippedRegroups.Add(1)
			return out, false, nil
		}
	}
	r := &regrouping{tx: tx, d: d, now: now, ep: &ep, incidents: map[int64]*Incident{}, rows: map[int64]map[[2]string]Alert{}}
	eps, err := tx.Episodes(ctx, []int64{inc.ID})
	if err != nil {
		return out, false, err
	}
	groups, err := r.group(ctx, eps)
	if err != nil {
		return out, false, err
	}
	split := len(groups) > 1
	bridge := false
	if !split && len(groups) == 1 {
		g := groups[0]
		to := g.end
		if g.open {
			to = now
		}
		if bridge, err = tx.OtherKeyIncident(ctx, d.Key, inc.ID, g.start.Add(-d.ReopenWithin), to.Add(d.ReopenWithin)); err != nil {
			return out, false, err
		}
	}
	if !split && !bridge {
		return out, false, nil
	}
	out, err = placeHistory(ctx, tx, d, &ep, now)
	return out, true, err
}

// heldTogether reports whether the resolve of ep (recorded open from the
// same start, and ending now at ep.EndsAt) leaves its incident as it was:
// ep's alert has fired no later episode; another episode of the incident
// is open and started no later than ep's end plus reopen_within; and no
// other incident of the key meets the incident's span (from its earliest
// start, less reopen_within, to now plus reopen_within). Sorted by start,
// the episodes before ep group as before (ep's end does not reach back);
// those after it up to the open one start within reopen_within of ep's
// end, so they join ep's group as they did while ep had no end; and from
// the open one on the group has no end, as it had from ep on. So the
// episodes group as they did before the resolve (one group, as every
// earlier change left them), the group is still open, and the full
// regrouping's bridge check would read the same incidents.
func heldTogether(ctx context.Context, tx Tx, d Decision, ep Episode, now time.Time) (bool, error) {
	first, open, err := tx.HoldingEpisode(ctx, ep.IncidentID, ep.ID, ep.EndsAt.Add(d.ReopenWithin))
	if err != nil || !open {
		return false, err
	}
	next, err := tx.NextEpisodes(ctx, []Episode{ep})
	if err != nil || next[0].ID != 0 {
		return false, err
	}
	other, err := tx.OtherKeyIncident(ctx, d.Key, ep.IncidentID, first.Add(-d.ReopenWithin), now.Add(d.ReopenWithin))
	return !other, err
}

// skippedRegroups counts the resolves that did not read their incident's
// history (heldTogether), for tests that must know the path was taken.
var skippedRegroups atomic.Int64

// SkippedRegroups returns how many resolves have skipped regrouping their
// incident since the process started.
func SkippedRegroups() int64 { return skippedRegroups.Load() }

// noSkips makes every resolve regroup in full, for tests that compare the
// records with and without the skip (SetRegroupSkips).
var noSkips atomic.Bool

// SetRegroupSkips lets resolves skip regrouping (heldTogether), the
// default, or not; it returns what restores the setting before. Tests
// compare the records both ways.
func SetRegroupSkips(on bool) (restore func()) {
	was := noSkips.Swap(!on)
	return func() { noSkips.Store(was) }
}

var debugRegroup = false
