package incident

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// HeartbeatState is where a heartbeat stands.
type HeartbeatState string

// The states of a heartbeat.
const (
	// HeartbeatWaiting: no beat seen yet; it is judged once a full interval
	// plus grace has passed since it was armed (or since the daemon
	// started).
	HeartbeatWaiting HeartbeatState = "waiting"
	// HeartbeatUp: the last beat came in time.
	HeartbeatUp HeartbeatState = "up"
	// HeartbeatMissing: no beat for interval plus grace; an incident is
	// open until the next beat.
	HeartbeatMissing HeartbeatState = "missing"
	// HeartbeatFailed: the sender reported a failure (the /fail endpoint);
	// an incident is open until the next beat.
	HeartbeatFailed HeartbeatState = "failed"
)

// HeartbeatKind says what a heartbeat watches.
type HeartbeatKind string

// The kinds of heartbeat.
const (
	// HeartbeatRule is a heartbeat rule of the rule files, one instance
	// per value of its by labels.
	HeartbeatRule HeartbeatKind = "rule"
	// HeartbeatSource is a source's expect_traffic_within: any request
	// from the source is a beat.
	HeartbeatSource HeartbeatKind = "source"
)

// SourceIncident is the Source of incidents that heartbeats open: no
// alert source raised them.
const SourceIncident = "heartbeat"

// BeatDebounce is how close together two beats of one heartbeat may come
// and still write only the first: a sender that beats many times a second
// (every alert of a busy source is a beat of its expect_traffic_within)
// writes its row at most once a second. A beat that changes the state is
// always written.
const BeatDebounce = time.Second

// Heartbeat is the durable state of one heartbeat instance: a heartbeat
// rule with one set of by-label values, or a source that expects traffic.
type Heartbeat struct {
	// Key identifies it: the rule's name and its by labels
	// (watchdog{cluster="eu-1"}), or "source:" and the source's name.
	Key  string
	Kind HeartbeatKind
	// Name is the heartbeat rule's name or the source's.
	Name string
	// Labels are the values of the rule's by labels; nil for a source.
	Labels map[string]string
	State  HeartbeatState
	// LastBeatAt is when the last beat was received; zero if none yet.
	LastBeatAt time.Time
	// ArmedAt is when the heartbeat was first expected: the first beat of
	// an instance, or when the sweep first saw a rule without by labels or
	// a source.
	ArmedAt time.Time
	// ChangedAt is when State last changed.
	ChangedAt time.Time
	// IncidentID is the incident a miss or a failure opened; 0 while up.
	IncidentID int64
}

// Deadline is when the heartbeat is missing unless it beats: interval plus
// grace after its last beat, its arming, or since, whichever is latest.
// since is when this daemon started judging, so that a restart (or a
// replica taking over) never counts the time it was down against a sender
// that could not reach it.
func (h Heartbeat) Deadline(interval, grace time.Duration, since time.Time) time.Time {
	base := h.LastBeatAt
	if h.ArmedAt.After(base) {
		base = h.ArmedAt
	}
	if since.After(base) {
		base = since
	}
	return base.Add(interval + grace)
}

// HeartbeatStatus is a heartbeat monitor as the API shows it: its record,
// what configures it now, and when it is next judged.
type HeartbeatStatus struct {
	Heartbeat
	Interval, Grace time.Duration
	// NextDeadline is when it is missing unless it beats; zero while
	// missing or failed (an incident is open until the next beat).
	NextDeadline time.Time
}

// HeartbeatIncident is what an incident a heartbeat opens says.
type HeartbeatIncident struct {
	Title, Service, Owner string
	Impact, Urgency       Level
	// Message is the opening timeline entry.
	Message string
	SLA     SLATargets
}

// Beat is one beat (or failure report) of a heartbeat instance.
type Beat struct {
	Key    string
	Kind   HeartbeatKind
	Name   string
	Labels map[string]string
	// Failed reports a failure: it opens an incident (Open) at once.
	Failed bool
	// Open says what the failure's incident says; used when Failed.
	Open HeartbeatIncident
}

// HeartbeatChange is what a beat or a sweep did to an incident.
type HeartbeatChange struct {
	Incident Incident
	Opened   bool
}

// RecordBeat records b at now in tx. A beat of a missing or failed
// heartbeat resolves its incident, saying so on the timeline; a failure
// opens one unless one is open already. A beat of a heartbeat that is up
// and beat less than BeatDebounce ago writes nothing. It returns the
// incidents it opened or resolved.
func RecordBeat(ctx context.Context, tx Tx, b Beat, now time.Time) ([]HeartbeatChange, error) {
	hb, err := tx.HeartbeatRecord(ctx, b.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		hb = Heartbeat{Key: b.Key, Kind: b.Kind, Name: b.Name, Labels: b.Labels, State: HeartbeatWaiting, ArmedAt: now, ChangedAt: now}
	case err != nil:
		return nil, err
	}
	var out []HeartbeatChange
	if b.Failed {
		if hb.State != HeartbeatFailed {
			hb.State, hb.ChangedAt = HeartbeatFailed, now
		}
		if !activeIncident(ctx, tx, hb.IncidentID) {
			inc, err := openHeartbeatIncident(ctx, tx, hb, b.Open, now)
			if err != nil {
				return nil, err
			}
			hb.IncidentID = inc.ID
			out = append(out, HeartbeatChange{Incident: inc, Opened: true})
		}
		return out, tx.PutHeartbeatRecord(ctx, hb)
	}
	if hb.State == HeartbeatUp && now.Sub(hb.LastBeatAt) < BeatDebounce && !hb.LastBeatAt.After(now) {
		return nil, nil
	}
	if hb.State == HeartbeatMissing || hb.State == HeartbeatFailed {
		msg := fmt.Sprintf("heartbeat %s beat again", hb.Key)
		if hb.State == HeartbeatMissing && !hb.LastBeatAt.IsZero() {
			msg += fmt.Sprintf(" after %s without a beat", now.Sub(hb.LastBeatAt).Round(time.Second))
		}
		if hb.State == HeartbeatFailed {
			msg = fmt.Sprintf("heartbeat %s beat again after reporting a failure", hb.Key)
		}
		inc, ok, err := resolveHeartbeatIncident(ctx, tx, hb.IncidentID, msg, now)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, HeartbeatChange{Incident: inc})
		}
	}
	if hb.State != HeartbeatUp {
		hb.ChangedAt = now
	}
	hb.State, hb.LastBeatAt, hb.IncidentID = HeartbeatUp, now, 0
	return out, tx.PutHeartbeatRecord(ctx, hb)
}

// HeartbeatJudge is what SweepHeartbeats needs of the configuration.
type HeartbeatJudge struct {
	// Expected are the instances that are expected whether or not they
	// ever beat (rules without by labels, sources with
	// expect_traffic_within): the sweep arms those it has no record of.
	Expected []Heartbeat
	// Spec returns the interval and grace of a recorded heartbeat; ok is
	// false when nothing configures it any more (its rule was removed).
	Spec func(hb Heartbeat) (interval, grace time.Duration, ok bool)
	// Open says what the incident of a missed heartbeat says; overdue is
	// how long it has been since its last beat (or since it was armed).
	Open func(hb Heartbeat, overdue time.Duration) HeartbeatIncident
	// Since is when this daemon started judging heartbeats (see
	// Heartbeat.Deadline).
	Since time.Time
}

// SweepHeartbeats judges every recorded heartbeat at now: one whose
// deadline passed opens an incident; one nothing configures any more is
// forgotten, and the incident it had open is resolved with a timeline
// entry saying its rule was removed. It arms the expected instances it
// has no record of. It returns the incidents it opened or resolved.
func SweepHeartbeats(ctx context.Context, tx Tx, j HeartbeatJudge, now time.Time) ([]HeartbeatChange, error) {
	all, err := tx.HeartbeatRecords(ctx)
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(all))
	for _, hb := range all {
		known[hb.Key] = true
	}
	for _, e := range j.Expected {
		if known[e.Key] {
			continue
		}
		e.State, e.ArmedAt, e.ChangedAt = HeartbeatWaiting, now, now
		if err := tx.PutHeartbeatRecord(ctx, e); err != nil {
			return nil, err
		}
		all = append(all, e)
	}
	var out []HeartbeatChange
	for _, hb := range all {
		interval, grace, ok := j.Spec(hb)
		if !ok {
			why := "heartbeat rule " + hb.Name + " was removed or its by labels changed: nothing watches " + hb.Key + " any more"
			if hb.Kind == HeartbeatSource {
				why = "expect_traffic_within of source " + hb.Name + " was removed: nothing watches its traffic any more"
			}
			inc, resolved, err := resolveHeartbeatIncident(ctx, tx, hb.IncidentID, why, now)
			if err != nil {
				return nil, err
			}
			if resolved {
				out = append(out, HeartbeatChange{Incident: inc})
			}
			if err := tx.DeleteHeartbeatRecord(ctx, hb.Key); err != nil {
				return nil, err
			}
			continue
		}
		if hb.State != HeartbeatUp && hb.State != HeartbeatWaiting {
			continue // an incident is open (or was resolved by hand) until the next beat
		}
		deadline := hb.Deadline(interval, grace, j.Since)
		if now.Before(deadline) {
			continue
		}
		from := hb.LastBeatAt
		if from.IsZero() {
			from = hb.ArmedAt
		}
		o := j.Open(hb, now.Sub(from).Round(time.Second))
		if o.Message == "" {
			o.Message = missedMessage(hb, interval, grace, deadline)
		}
		inc, err := openHeartbeatIncident(ctx, tx, hb, o, now)
		if err != nil {
			return nil, err
		}
		if inc.ImpactStartedAt.Equal(now) && deadline.Before(now) {
			// The impact began when the beat was due, not when the sweep
			// noticed: MTTR counts from there.
			inc.ImpactStartedAt = deadline
			if err := tx.UpdateIncident(ctx, inc); err != nil {
				return nil, err
			}
		}
		hb.State, hb.ChangedAt, hb.IncidentID = HeartbeatMissing, now, inc.ID
		if err := tx.PutHeartbeatRecord(ctx, hb); err != nil {
			return nil, err
		}
		out = append(out, HeartbeatChange{Incident: inc, Opened: true})
	}
	return out, nil
}

// missedMessage is the opening timeline entry of a missed heartbeat.
func missedMessage(hb Heartbeat, interval, grace time.Duration, deadline time.Time) string {
	last := "no beat received yet"
	if !hb.LastBeatAt.IsZero() {
		last = "last beat at " + hb.LastBeatAt.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("heartbeat %s missed: %s; expected every %s with %s grace, due by %s",
		hb.Key, last, interval, grace, deadline.UTC().Format(time.RFC3339))
}

// HeartbeatKey is the correlation key of a heartbeat's incidents: a prefix
// no alert's key has, so that no alert ever joins one.
func HeartbeatKey(key string) string { return "heartbeat/" + key }

// openHeartbeatIncident opens the incident of a missed or failed
// heartbeat. When an active incident already holds its key (another
// replica opened it, or one was left open), that one is returned.
func openHeartbeatIncident(ctx context.Context, tx Tx, hb Heartbeat, o HeartbeatIncident, now time.Time) (Incident, error) {
	impact, urgency := o.Impact, o.Urgency
	if impact == "" {
		impact = LevelMedium
	}
	if urgency == "" {
		urgency = LevelHigh
	}
	inc := Incident{
		State: StateOpen, Impact: impact, Urgency: urgency, Priority: PriorityOf(impact, urgency),
		Title: o.Title, Service: o.Service, Owner: o.Owner, CorrelationKey: HeartbeatKey(hb.Key), Rule: hb.Name,
		Source: SourceIncident, Labels: hb.Labels, OpenedAt: now, UpdatedAt: now, LastEventAt: now, ImpactStartedAt: now,
		// Only a beat (or a person) resolves it: it has no alerts.
		RuleSnapshot: RuleSnapshot{ResolveMode: ResolveManual, MinAlerts: 1},
	}
	if inc.Title == "" {
		inc.Title = "no heartbeat from " + hb.Key
	}
	setSLA(&inc, o.SLA)
	if err := tx.CreateIncident(ctx, &inc); err != nil {
		if errors.Is(err, ErrConflict) {
			if cur, err := tx.IncidentByKey(ctx, inc.CorrelationKey); err == nil && cur.State.Active() {
				return cur, nil
			}
		}
		return inc, fmt.Errorf("open heartbeat incident: %w", err)
	}
	e := TimelineEntry{IncidentID: inc.ID, At: now, Kind: TimelineOpened, Actor: "system", Message: o.Message}
	if err := tx.AddTimeline(ctx, &e); err != nil {
		return inc, err
	}
	return inc, nil
}

// activeIncident reports whether incident id exists and is open or
// acknowledged.
func activeIncident(ctx context.Context, tx Tx, id int64) bool {
	if id == 0 {
		return false
	}
	inc, err := tx.Incident(ctx, id)
	return err == nil && inc.State.Active()
}

// resolveHeartbeatIncident resolves incident id, if it is still active,
// with a timeline entry saying why.
func resolveHeartbeatIncident(ctx context.Context, tx Tx, id int64, why string, now time.Time) (Incident, bool, error) {
	if id == 0 {
		return Incident{}, false, nil
	}
	inc, err := tx.Incident(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return inc, false, nil
	}
	if err != nil || !inc.State.Active() {
		return inc, false, err
	}
	inc.State, inc.ResolvedAt, inc.UpdatedAt, inc.LastEventAt = StateResolved, now, now, now
	if err := tx.UpdateIncident(ctx, inc); err != nil {
		return inc, false, err
	}
	e := TimelineEntry{IncidentID: inc.ID, At: now, Kind: TimelineResolved, Actor: "system", Message: why}
	if err := tx.AddTimeline(ctx, &e); err != nil {
		return inc, false, err
	}
	return inc, true, nil
}
