package incident

import (
	"errors"
	"fmt"
	"time"
)

// State is an incident's lifecycle state.
type State string

// The lifecycle: (pending →) open → acknowledged → resolved → closed, and
// resolved → open on a reopen. Closed is final: a resolved incident is
// closed a while after it resolved (close_after), and from then on nothing
// changes it: a new alert for its key opens a new incident, and a person's
// action on it is a conflict.
const (
	// StatePending holds alerts of a rule with min_alerts until enough of
	// them fire; a pending incident is not yet an incident anyone works on.
	StatePending      State = "pending"
	StateOpen         State = "open"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
	// StateClosed is a resolved incident that is final.
	StateClosed State = "closed"
)

// States lists every state, in lifecycle order.
var States = []State{StatePending, StateOpen, StateAcknowledged, StateResolved, StateClosed}

// ParseState parses a state name.
func ParseState(s string) (State, error) {
	switch st := State(s); st {
	case StatePending, StateOpen, StateAcknowledged, StateResolved, StateClosed:
		return st, nil
	}
	return "", fmt.Errorf("state %q: want pending, open, acknowledged, resolved or closed", s)
}

// Ended reports whether the incident's impact ended: resolved, or closed
// after it resolved. Figures of resolves (MTTR, resolve SLA attainment)
// count both.
func (s State) Ended() bool { return s == StateResolved || s == StateClosed }

// Active reports whether the incident still needs work (open or acknowledged).
func (s State) Active() bool { return s == StateOpen || s == StateAcknowledged }

// ResolveMode says when an incident resolves by itself.
type ResolveMode string

// The resolve modes.
const (
	// ResolveAll resolves once none of the incident's alerts fires (the default).
	ResolveAll ResolveMode = "all"
	// ResolveAny resolves as soon as any of its alerts resolves.
	ResolveAny ResolveMode = "any"
	// ResolveManual never resolves by itself.
	ResolveManual ResolveMode = "manual"
)

// Sentinel errors of the domain.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the requested change is not allowed in the record's current state.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the request itself is malformed.
	ErrInvalid = errors.New("invalid")
	// ErrUnavailable means the change could not be made now (overload,
	// shutdown, store down) and nothing was committed: retry later.
	ErrUnavailable = errors.New("unavailable")
)

// transitions lists the allowed state changes. Acknowledging or resolving twice
// is a conflict, so an API caller learns that someone else got there first.
var transitions = map[State][]State{
	StatePending:      {StateOpen, StateResolved},
	StateOpen:         {StateAcknowledged, StateResolved},
	StateAcknowledged: {StateResolved},
	StateResolved:     {StateOpen, StateClosed},
}

// CanTransition reports whether from → to is allowed.
func CanTransition(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// The incident's fields come in groups that each backend maps as one, so
// that a lifecycle feature adds its fields to one group and one mapping
// per backend. They are embedded: inc.RespondBy reads as before.

// RuleSnapshot is what an incident keeps of the rule that opened it, so
// that a reload changes no open incident's behaviour.
type RuleSnapshot struct {
	ResolveMode  ResolveMode
	ResolveAfter time.Duration
	MinAlerts    int
	// Window is the rule's window (0: none), kept so a pending incident can
	// be discarded when it passes even if no further alert arrives.
	Window time.Duration
}

// SLA is an incident's service-level clock: the targets (zero: no SLA),
// set when the incident opens and again if its priority rises, the
// policy that set them, and the missed targets' times (zero: met or still
// running).
type SLA struct {
	RespondBy, ResolveBy                 time.Time
	SLAPolicy                            string
	RespondBreachedAt, ResolveBreachedAt time.Time
}

// Flapping is when the incident was marked flapping (zero: not): its
// alerts resolved more than FlapThreshold times within FlapWindow. A
// flapping incident stays one incident, and sinks hold back its
// notifications until it is stable again.
type Flapping struct {
	FlappingSince time.Time
	FlapThreshold int
	FlapWindow    time.Duration
}

// Retention is the end of an incident's life: when it became closed
// (zero: not closed), and when retention deleted its events, timeline and
// alerts (zero: they are kept), while the incident's row stays for reports.
type Retention struct {
	ClosedAt, HistoryDeletedAt time.Time
}

// Incident is one correlated incident.
type Incident struct {
	ID             int64
	State          State
	Priority       Priority
	Impact         Level
	Urgency        Level
	Title          string
	Summary        string
	Service        string
	Owner          string // the catalog service's owner / assignment group
	CorrelationKey string
	Rule           string
	Source         string
	OpenedAt       time.Time // when the record opened (processing time); zero while pending
	AcknowledgedAt time.Time // zero until acknowledged
	// ResolvedAt is when the impact ended: the latest endsAt of its alerts
	// (alert time) for an automatic resolve, the moment of a manual one;
	// never before ImpactStartedAt, AcknowledgedAt or ReopenedAt. Zero
	// while active.
	ResolvedAt time.Time
	// ImpactStartedAt is when the impact began: the earliest startsAt of
	// its alerts (alert time). MTTR counts from it.
	ImpactStartedAt time.Time
	// ReopenedAt is when the impact resumed at the last reopen: the startsAt
	// of the firing that reopened it (alert time); zero if never.
	ReopenedAt time.Time
	// UnseenFiring counts alerts of the incident's group that a truncated
	// notification (Alertmanager's max_alerts) left out while the group
	// still fired. The incident does not resolve by itself while it is
	// above zero: those alerts may still fire.
	UnseenFiring int
	// UnseenAsOf is the AsOf of the notification UnseenFiring comes from.
	UnseenAsOf time.Time
	// Labels are the labels of the alert that opened it: what notification
	// policies match on, with its priority, service and state.
	Labels    map[string]string
	UpdatedAt time.Time
	// LastEventAt is when an alert last joined, refired or resolved on the
	// incident; the rule's window counts from it. Repeats do not move it.
	LastEventAt time.Time
	// ResolveDueAt is when a scheduled automatic resolve (resolve_after)
	// happens unless an alert fires again first; zero if none is scheduled.
	ResolveDueAt time.Time
	// SealedAt is when the incident stopped accepting new alerts because its
	// window passed; a newer incident owns the key since. Zero if not sealed.
	SealedAt time.Time
	// RuleSnapshot is the rule's settings the incident keeps for its life.
	RuleSnapshot
	// Retention is when it closed, and when its history was deleted.
	Retention
	// MergedInto is the incident this one was merged into (0: none); new
	// alerts of its key go there.
	MergedInto int64
	// SLA is its service-level clock.
	SLA
	// Flapping says whether its alerts flap.
	Flapping
	// DuringMaintenance marks an incident opened inside a maintenance
	// change's window on its service: expected, so its urgency is low.
	DuringMaintenance bool
	AlertCount        int // distinct alerts ever attached
	FiringCount       int // alerts attached and currently firing
	ProblemID         int64
}

// ownsKey reports whether new alerts of the incident's key may join it.
func (inc *Incident) ownsKey() bool {
	return inc.SealedAt.IsZero() && (inc.State == StatePending || inc.State.Active())
}

// Alert is one alert as attached to one incident. An alert is identified
// by its Source and Fingerprint together: the same fingerprint sent by two
// sources is two alerts, and one source never touches the other's.
type Alert struct {
	IncidentID int64
	// Source names the configured source the alert comes in through.
	Source       string
	Fingerprint  string
	Status       Status
	Labels       map[string]string
	Annotations  map[string]string
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
	FirstSeenAt  time.Time
	LastSeenAt   time.Time
	// Count is how many notifications carried this alert.
	Count int64
}

// AlertState is the latest known state of an alert (Source, Fingerprint),
// which dedupe decides against. IncidentID is the incident the alert is
// attached to, 0 if none.
type AlertState struct {
	Fingerprint string
	// Source is the configured source the alert comes in through; with
	// Fingerprint it identifies the alert.
	Source     string
	Status     Status
	StartsAt   time.Time
	EndsAt     time.Time
	IncidentID int64
	LastSeenAt time.Time
	// Annotations is AnnotationsHash of the annotations the alert's record
	// holds, when the writer knows it: it is kept in memory only (a store
	// returns 0, unknown), so that a repeat with the same annotations can
	// be deferred (Deferrable).
	Annotations uint64
}

// Transition is dedupe's verdict on an event relative to the fingerprint's
// last known state.
type Transition string

// The dedupe transitions.
const (
	// TransitionNew is the first firing of a fingerprint.
	TransitionNew Transition = "new"
	// TransitionRepeat is a re-send of the state already known.
	TransitionRepeat Transition = "repeat"
	// TransitionResolved is firing → resolved.
	TransitionResolved Transition = "resolved"
	// TransitionRefired is resolved → firing with a newer startsAt.
	TransitionRefired Transition = "refired"
	// TransitionStale is a late copy of what is known already (or a resolve
	// of an alert never seen firing, with nothing to record); it changes
	// nothing but, within SameFiringWithin, an earlier start.
	TransitionStale Transition = "stale"
	// TransitionHistory is an earlier firing of an alert than the one known,
	// delivered late: it is recorded by its own times, in the incident those
	// times put it in.
	TransitionHistory Transition = "history"
)

// TimelineKind names what a timeline entry records.
type TimelineKind string

// Timeline entry kinds.
const (
	TimelineOpened          TimelineKind = "opened"
	TimelineAlertFiring     TimelineKind = "alert_firing"
	TimelineAlertResolved   TimelineKind = "alert_resolved"
	TimelineAcknowledged    TimelineKind = "acknowledged"
	TimelineResolved        TimelineKind = "resolved"
	TimelineReopened        TimelineKind = "reopened"
	TimelinePriorityChanged TimelineKind = "priority_changed"
	TimelineComment         TimelineKind = "comment"
	// TimelinePending: the first alert of a min_alerts rule arrived.
	TimelinePending TimelineKind = "pending"
	// TimelineSealed: the window passed; new alerts open a new incident.
	TimelineSealed TimelineKind = "sealed"
	// TimelineResolveScheduled and TimelineResolveCancelled: resolve_after
	// grace started, or an alert fired again within it.
	TimelineResolveScheduled TimelineKind = "resolve_scheduled"
	TimelineResolveCancelled TimelineKind = "resolve_cancelled"
	// TimelineChangesLinked: recent changes were linked as suspected causes.
	TimelineChangesLinked TimelineKind = "changes_linked"
	// TimelineMerged and TimelineUnlinked: a person merged incidents or moved
	// an alert out; both incidents' timelines say so.
	TimelineMerged   TimelineKind = "merged"
	TimelineUnlinked TimelineKind = "unlinked"
	// TimelineClosed: close_after passed since it resolved; it is final.
	TimelineClosed TimelineKind = "closed"
	// TimelineFlapping and TimelineStable: the incident started flapping,
	// and became stable again (one summary entry).
	TimelineFlapping TimelineKind = "flapping"
	TimelineStable   TimelineKind = "stable"
	// TimelineSLABreached: an SLA target was missed.
	TimelineSLABreached TimelineKind = "sla_breached"
	// TimelineSymptom: an alert of a dependent service joined as a symptom.
	TimelineSymptom TimelineKind = "symptom"
	// TimelineTruncated: a notification left out alerts of the group that
	// may fire (max_alerts): the incident waits for them before resolving.
	TimelineTruncated TimelineKind = "truncated"
	// TimelineMaintenance: the incident opened inside a maintenance window.
	TimelineMaintenance TimelineKind = "during_maintenance"
)

// TimelineEntry is one recorded change of an incident.
type TimelineEntry struct {
	ID         int64
	IncidentID int64
	At         time.Time
	Kind       TimelineKind
	Actor      string // "system", a source, or the authenticated identity who acted
	// OnBehalfOf is free text the acting identity gave ("for alice"),
	// recorded next to Actor and never instead of it.
	OnBehalfOf  string
	Fingerprint string // for alert entries
	Message     string
}

// EventRecord is the stored trace of one received event, kept for replay,
// backtests and noise statistics.
type EventRecord struct {
	ReceivedAt   time.Time
	Source       string
	Fingerprint  string
	Status       Status
	Labels       map[string]string
	Annotations  map[string]string
	GroupLabels  map[string]string // nil when the sender has no groups
	Receiver     string
	GeneratorURL string
	StartsAt     time.Time
	EndsAt       time.Time
	Transition   Transition
	Rule         string
	Key          string
	IncidentID   int64
}

// Event returns the event a record was made from, for replays.
func (r EventRecord) Event() Event {
	return Event{
		Source: r.Source, Fingerprint: r.Fingerprint, Status: r.Status, Labels: r.Labels,
		Annotations: r.Annotations, StartsAt: r.StartsAt, EndsAt: r.EndsAt, GeneratorURL: r.GeneratorURL,
		GroupLabels: r.GroupLabels, Receiver: r.Receiver,
	}
}

// AlertCursor is an alert's place in its incident's join order (first
// seen, then fingerprint, then source): where a page of the incident's
// alerts ends and the next one starts. The zero AlertCursor is before the
// first alert.
type AlertCursor struct {
	FirstSeenAt         time.Time
	Fingerprint, Source string
}

// Cursor returns the alert's place in its incident's join order.
func (a Alert) Cursor() AlertCursor {
	return AlertCursor{FirstSeenAt: a.FirstSeenAt, Fingerprint: a.Fingerprint, Source: a.Source}
}
