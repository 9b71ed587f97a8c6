package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/correlate"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// sourceKeyPrefix starts the key of a source's expect_traffic_within
// monitor. Heartbeat rule keys start with the rule's name, which has no
// colon, so the two never meet.
const sourceKeyPrefix = "source:"

// beat handles ev if it is a beat: a POST to /ingest/heartbeats/{name},
// or an alert a heartbeat rule's matchers match. A beat never reaches
// dedupe or correlation: it opens no incident of its own and is not
// noise. A resolved alert that a heartbeat matches is ignored (a
// Watchdog that stops firing is judged by its missing beats). It returns
// incident.ErrNotFound (wrapped) for an endpoint beat of a heartbeat the
// rules do not have.
func (p *Pipeline) beat(ctx context.Context, tx incident.Tx, set *rules.Set, cb *correlate.Batch, ev incident.Event,
	now time.Time, stats *groupStats) (handled bool, err error) {
	var h *rules.Heartbeat
	switch {
	case ev.Heartbeat != "":
		if h = set.Heartbeat(ev.Heartbeat); h == nil {
			return true, fmt.Errorf("heartbeat %q: no such heartbeat rule: %w", ev.Heartbeat, incident.ErrNotFound)
		}
	case ev.Acknowledge:
		return false, nil
	default:
		if h = set.BeatOf(ev.Labels); h == nil {
			return false, nil
		}
		if ev.Status != incident.StatusFiring {
			return true, nil
		}
	}
	key, by := h.Instance(ev.Labels)
	b := incident.Beat{Key: key, Kind: incident.HeartbeatRule, Name: h.Name, Labels: by, Failed: ev.HeartbeatFailed}
	if b.Failed {
		b.Open = heartbeatIncident(set, h, by, 0)
		// The rule's title speaks of a missed beat; a failure is not one.
		b.Open.Title = fmt.Sprintf("heartbeat %s reported a failure", key)
		b.Open.Message = fmt.Sprintf("source %s reported a failure of heartbeat %s", ev.Source, key)
	}
	changes, err := incident.RecordBeat(ctx, tx, b, now)
	if err != nil {
		return true, fmt.Errorf("heartbeat %s: %w", key, err)
	}
	return true, p.noteHeartbeatChanges(ctx, cb, changes, stats)
}

// trafficBeats records a beat of the expect_traffic_within monitor of
// each source in events that has one: any event counts, repeats included.
func (p *Pipeline) trafficBeats(ctx context.Context, tx incident.Tx, cb *correlate.Batch, events []incident.Event,
	now time.Time, stats *groupStats) error {
	if len(p.o.ExpectTraffic) == 0 {
		return nil
	}
	var seen []string
	for _, ev := range events {
		if p.o.ExpectTraffic[ev.Source] <= 0 || slices.Contains(seen, ev.Source) {
			continue
		}
		seen = append(seen, ev.Source)
		changes, err := incident.RecordBeat(ctx, tx, incident.Beat{Key: sourceKeyPrefix + ev.Source,
			Kind: incident.HeartbeatSource, Name: ev.Source}, now)
		if err != nil {
			return fmt.Errorf("traffic of source %s: %w", ev.Source, err)
		}
		if err := p.noteHeartbeatChanges(ctx, cb, changes, stats); err != nil {
			return err
		}
	}
	return nil
}

// sweepHeartbeats judges every heartbeat monitor (incident.SweepHeartbeats)
// under the current rules and sources.
func (p *Pipeline) sweepHeartbeats(ctx context.Context, tx incident.Tx, set *rules.Set, cb *correlate.Batch,
	now time.Time, stats *groupStats) error {
	changes, err := incident.SweepHeartbeats(ctx, tx, p.heartbeatJudge(set), now)
	if err != nil {
		return err
	}
	return p.noteHeartbeatChanges(ctx, cb, changes, stats)
}

// heartbeatJudge is what the sweep needs of set and the sources.
func (p *Pipeline) heartbeatJudge(set *rules.Set) incident.HeartbeatJudge {
	j := incident.HeartbeatJudge{Since: p.since}
	for _, h := range set.Heartbeats() {
		if len(h.By) == 0 {
			key, by := h.Instance(nil)
			j.Expected = append(j.Expected, incident.Heartbeat{Key: key, Kind: incident.HeartbeatRule, Name: h.Name, Labels: by})
		}
	}
	for _, src := range slices.Sorted(maps.Keys(p.o.ExpectTraffic)) {
		if p.o.ExpectTraffic[src] > 0 {
			j.Expected = append(j.Expected, incident.Heartbeat{Key: sourceKeyPrefix + src, Kind: incident.HeartbeatSource, Name: src})
		}
	}
	j.Spec = func(hb incident.Heartbeat) (time.Duration, time.Duration, bool) {
		return HeartbeatSpec(set, p.o.ExpectTraffic, hb)
	}
	j.Open = func(hb incident.Heartbeat, overdue time.Duration) incident.HeartbeatIncident {
		if hb.Kind == incident.HeartbeatSource {
			return incident.HeartbeatIncident{
				Title:  fmt.Sprintf("no traffic from source %s for %s", hb.Name, model.Duration(overdue)),
				Impact: incident.LevelMedium, Urgency: incident.LevelHigh, SLA: slaTargets(set),
			}
		}
		h := set.Heartbeat(hb.Name)
		o := heartbeatIncident(set, h, hb.Labels, overdue)
		if t, err := h.Title(hb.Labels, overdue); err != nil {
			p.log.Warn("heartbeat title", "rule", h.Name, "err", err)
		} else {
			o.Title = t
		}
		return o
	}
	return j
}

// HeartbeatSpec returns the interval and grace of a heartbeat monitor under
// set and the sources' expect_traffic_within; ok is false when nothing
// configures it any more (its rule was removed, or its by labels changed,
// so that its beats now make another instance). A source's monitor has no
// grace: its
// expect_traffic_within is all the time it gets.
func HeartbeatSpec(set *rules.Set, expect map[string]time.Duration, hb incident.Heartbeat) (interval, grace time.Duration, ok bool) {
	if hb.Kind == incident.HeartbeatSource {
		d := expect[hb.Name]
		return d, 0, d > 0
	}
	h := set.Heartbeat(hb.Name)
	if h == nil {
		return 0, 0, false
	}
	if key, _ := h.Instance(hb.Labels); key != hb.Key {
		// The rule's by labels changed: this instance will never beat
		// again under its old key.
		return 0, 0, false
	}
	return h.Interval, h.Grace, true
}

// heartbeatIncident is what an incident of heartbeat rule h says, but its
// title and message.
func heartbeatIncident(set *rules.Set, h *rules.Heartbeat, by map[string]string, overdue time.Duration) incident.HeartbeatIncident {
	impact, urgency := h.Levels(by)
	o := incident.HeartbeatIncident{Service: h.Service, Impact: impact, Urgency: urgency, SLA: slaTargets(set)}
	if svc := set.ServiceByName(h.Service); svc != nil {
		o.Owner = svc.Owner
		if o.Impact == "" {
			o.Impact = svc.Impact
		}
	}
	o.Title, _ = h.Title(by, overdue)
	return o
}

// noteHeartbeatChanges records the incidents a beat or a sweep opened or
// resolved in the correlation cache and the metrics.
func (p *Pipeline) noteHeartbeatChanges(ctx context.Context, cb *correlate.Batch, changes []incident.HeartbeatChange, stats *groupStats) error {
	for _, c := range changes {
		if err := cb.Record(ctx, c.Incident); err != nil {
			return err
		}
		stats.count(c.Opened, false)
		if !c.Opened {
			stats.finished(c.Incident, false)
		}
	}
	return nil
}

// HeartbeatStatuses says, of the recorded heartbeat monitors hbs, what
// configures each under the current rules and sources and when it is next
// judged. A monitor nothing configures any more (the next sweep forgets
// it) is left out.
func (p *Pipeline) HeartbeatStatuses(hbs []incident.Heartbeat) []incident.HeartbeatStatus {
	set := p.o.Rules.Load()
	out := make([]incident.HeartbeatStatus, 0, len(hbs))
	for _, hb := range hbs {
		interval, grace, ok := HeartbeatSpec(set, p.o.ExpectTraffic, hb)
		if !ok {
			continue
		}
		s := incident.HeartbeatStatus{Heartbeat: hb, Interval: interval, Grace: grace}
		if hb.State == incident.HeartbeatUp || hb.State == incident.HeartbeatWaiting {
			s.NextDeadline = hb.Deadline(interval, grace, p.since)
		}
		out = append(out, s)
	}
	return out
}

// HeartbeatReader reads the recorded heartbeat monitors; the store
// implements it.
type HeartbeatReader interface {
	HeartbeatRecords(ctx context.Context) ([]incident.Heartbeat, error)
}

// HeartbeatLister lists the heartbeat monitors that R records with their
// deadlines under P's rules: what GET /api/v1/heartbeats and the metrics
// show.
type HeartbeatLister struct {
	R HeartbeatReader
	P *Pipeline
}

// Heartbeats returns the monitors by key, with the store's error.
func (l HeartbeatLister) Heartbeats(ctx context.Context) ([]incident.HeartbeatStatus, error) {
	hbs, err := l.R.HeartbeatRecords(ctx)
	if err != nil {
		return nil, err
	}
	return l.P.HeartbeatStatuses(hbs), nil
}
