package incident

import (
	"context"
	"time"
)

// AlertKey names an alert: its source and fingerprint (DESIGN's alert
// identity).
type AlertKey struct{ Source, Fingerprint string }

// AlertStatesReader is a Tx that reads the states of many alerts at once:
// dedupe asks it for a notification's alerts that its cache does not hold,
// rather than for each alert by AlertState.
type AlertStatesReader interface {
	// AlertStates returns the states stored of the alerts keys names, in
	// any order; an alert without one is left out.
	AlertStates(ctx context.Context, keys []AlertKey) ([]AlertState, error)
}

// Tx is one write transaction of the store. Everything an ingest batch changes
// (alert states, alerts, incidents, timeline, the event trace) goes through one
// Tx, so it commits or rolls back as a whole (invariants 1 and 5).
type Tx interface {
	Outbox
	// AlertState returns the last known state of source's alert with
	// fingerprint, or ErrNotFound. An alert is (source, fingerprint): the
	// same fingerprint from another source is another alert.
	AlertState(ctx context.Context, source, fingerprint string) (AlertState, error)
	// PutAlertState stores the state of the alert (s.Source, s.Fingerprint).
	PutAlertState(ctx context.Context, s AlertState) error
	// IncidentByKey returns the incident that currently owns a correlation key:
	// the active one if there is one, else the most recently resolved one.
	// It returns ErrNotFound when no incident ever had the key.
	IncidentByKey(ctx context.Context, key string) (Incident, error)
	// Incident returns one incident, or ErrNotFound.
	Incident(ctx context.Context, id int64) (Incident, error)
	// CreateIncident inserts inc and sets its ID. It returns ErrConflict when an
	// active incident already holds inc.CorrelationKey (invariant 2).
	CreateIncident(ctx context.Context, inc *Incident) error
	// UpdateIncident stores inc by ID. It returns ErrNotFound for an unknown ID
	// and ErrConflict if reopening would give a key two active incidents.
	UpdateIncident(ctx context.Context, inc Incident) error
	// Alert returns an incident's alert by source and fingerprint, or
	// ErrNotFound.
	Alert(ctx context.Context, incidentID int64, source, fingerprint string) (Alert, error)
	// AlertsByFingerprint returns an incident's alerts with fingerprint, one
	// per source, by source; none is not an error.
	AlertsByFingerprint(ctx context.Context, incidentID int64, fingerprint string) ([]Alert, error)
	// PutAlert inserts or replaces an incident's alert (a.Source, a.Fingerprint).
	PutAlert(ctx context.Context, a Alert) error
	// TouchAlert records a repeat of an incident's alert: count+1, the new
	// last-seen time, startsAt and annotations. It returns ErrNotFound when
	// the incident has no such alert.
	TouchAlert(ctx context.Context, incidentID int64, source, fingerprint string, seen, startsAt time.Time, annotations map[string]string) error
	// TouchAlerts records deferred repeats (see Touch): for each, the
	// alert state's last-seen time and the incident's alert's last-seen
	// time become the later of theirs and Seen, and the alert's count grows
	// by Count. An alert no longer in the incident, or no longer known, is
	// skipped: a touch never creates a row.
	TouchAlerts(ctx context.Context, touches []Touch) error
	// AddTimeline appends an entry and sets its ID.
	AddTimeline(ctx context.Context, e *TimelineEntry) error
	// AddEvent appends to the event trace.
	AddEvent(ctx context.Context, e EventRecord) error
	// ChangeByExternalID returns the change a source recorded under an
	// external ID, or ErrNotFound.
	ChangeByExternalID(ctx context.Context, source, externalID string) (Change, error)
	// PutChange inserts a change, or updates the one with the same Source
	// and ExternalID (a redelivery), and sets its ID.
	PutChange(ctx context.Context, c *Change) error
	// ChangesFor returns the changes on any of services that started in
	// [from, to], oldest first.
	ChangesFor(ctx context.Context, services []string, from, to time.Time) ([]Change, error)
	// ActiveMaintenance returns a maintenance change on service whose window
	// covers at (started, and not finished or finished after at), or ErrNotFound.
	ActiveMaintenance(ctx context.Context, service string, at time.Time) (Change, error)
	// ActiveIncidentsFor returns the unsealed open or acknowledged incidents
	// of any of services, newest first.
	ActiveIncidentsFor(ctx context.Context, services []string) ([]Incident, error)
	// MoveAlerts moves every alert of incident from to incident to (an alert
	// both have, the same source and fingerprint, keeps the target's row),
	// repoints their states, moves their episodes, and returns how many
	// alerts moved.
	MoveAlerts(ctx context.Context, from, to int64) (int, error)
	// MoveAlert moves one alert between incidents, with its episodes, and
	// repoints its state.
	// It returns ErrNotFound when incident from has no such alert.
	MoveAlert(ctx context.Context, from, to int64, source, fingerprint string) error
	// AlertCounts returns an incident's distinct and firing alerts.
	AlertCounts(ctx context.Context, incidentID int64) (alerts, firing int, err error)
	// CountTimeline counts an incident's timeline entries of a kind at or
	// after since.
	CountTimeline(ctx context.Context, incidentID int64, kind TimelineKind, since time.Time) (int, error)
	// CountResolves counts the recorded resolves (event trace) of source's
	// alert with fingerprint received at or after since.
	CountResolves(ctx context.Context, source, fingerprint string, since time.Time) (int, error)
	// PutEpisode inserts e when its ID is 0 (and sets it), else updates it
	// by ID. It returns ErrConflict when another episode of the alert has
	// e's StartsAt.
	PutEpisode(ctx context.Context, e *Episode) error
	// RecordEpisode inserts e (ID 0) or, when another firing of the alert
	// already starts exactly at e.StartsAt (a redelivery), updates that
	// one in the same statement: its incident and key become e's, its end
	// e's unless e's is zero. It sets e.ID and e.EndsAt to the row's.
	RecordEpisode(ctx context.Context, e *Episode) error
	// EpisodeNear returns the alert's episode whose StartsAt is nearest at,
	// at most within away, or ErrNotFound.
	EpisodeNear(ctx context.Context, source, fingerprint string, at time.Time, within time.Duration) (Episode, error)
	// NextEpisodes returns, for each of after, the first episode of its
	// alert (Source, Fingerprint) starting strictly after its StartsAt, or
	// the zero Episode (ID 0) when there is none: for many alerts at once,
	// in one statement where a statement is a round trip.
	NextEpisodes(ctx context.Context, after []Episode) ([]Episode, error)
	// HoldingEpisode returns when the incident's earliest episode started
	// (zero when it has none), and whether it holds an open episode other
	// than except that started at or before by: one with no end whose
	// alert has no later episode. A resolve asks it before reading the
	// incident's whole history to regroup it.
	HoldingEpisode(ctx context.Context, incidentID, except int64, by time.Time) (first time.Time, open bool, err error)
	// Episodes returns the episodes of the incidents, by start.
	Episodes(ctx context.Context, incidentIDs []int64) ([]Episode, error)
	// KeyIncidents returns the incidents with key, not merged into another
	// and not closed (closed is final: no late delivery regroups it),
	// whose impact (from ImpactStartedAt to ResolvedAt, open while active)
	// meets [from, to], oldest first.
	KeyIncidents(ctx context.Context, key string, from, to time.Time) ([]Incident, error)
	// OtherKeyIncident reports whether KeyIncidents(key, from, to) would
	// return an incident other than except.
	OtherKeyIncident(ctx context.Context, key string, except int64, from, to time.Time) (bool, error)
	// AlertSpan returns the earliest start and the latest known end of an
	// incident's episodes (zero times when it has none).
	AlertSpan(ctx context.Context, incidentID int64) (start, end time.Time, err error)
	// IncidentAlerts returns an incident's alerts.
	IncidentAlerts(ctx context.Context, incidentID int64) ([]Alert, error)
	// DeleteAlert removes an incident's alert row (its episodes moved away).
	DeleteAlert(ctx context.Context, incidentID int64, source, fingerprint string) error
	// LinkChange records a change as a suspected cause of an incident.
	LinkChange(ctx context.Context, l ChangeLink) error
	// DueIncidents returns the open or acknowledged incidents whose scheduled
	// resolve (ResolveDueAt) is at or before now or whose SLA target passed
	// unmarked or that flapped but have been quiet for their flap window,
	// and the unsealed pending incidents whose window (LastEventAt
	// + Window) passed by now: at most SweepBatch of them, by ID.
	DueIncidents(ctx context.Context, now time.Time) ([]Incident, error)
	// ClosableIncidents returns at most limit resolved (not closed)
	// incidents that resolved at or before resolvedBefore, oldest resolve
	// first.
	ClosableIncidents(ctx context.Context, resolvedBefore time.Time, limit int) ([]Incident, error)
	// DeleteHistory deletes at most limit rows (marking an incident counts
	// as one) of the history retention
	// forgets: the events no incident holds received before before, and
	// the events, timeline entries, alerts, alert episodes and alert
	// states of the incidents closed before before, one incident
	// after the other, oldest close first. An incident whose history is
	// all gone gets HistoryDeletedAt now. The incident rows themselves,
	// their tickets, signatures, change links and problems stay.
	DeleteHistory(ctx context.Context, before time.Time, limit int, now time.Time) (HistoryDeleted, error)

	// Problem returns one problem, or ErrNotFound.
	Problem(ctx context.Context, id int64) (Problem, error)
	// ProblemBySignature returns the newest problem with a signature, or
	// ErrNotFound.
	ProblemBySignature(ctx context.Context, signature string) (Problem, error)
	// CreateProblem inserts p and sets its ID. It returns ErrConflict when an
	// open or known-error problem already has p.Signature.
	CreateProblem(ctx context.Context, p *Problem) error
	// UpdateProblem stores p by ID. It returns ErrNotFound for an unknown ID
	// and ErrConflict if it would give a signature two active problems.
	UpdateProblem(ctx context.Context, p Problem) error
	// AddProblemEntry appends to a problem's timeline and sets the entry's ID.
	AddProblemEntry(ctx context.Context, e *ProblemEntry) error
	// AddIncidentSignature records an incident's signature under a problem
	// rule; recording the same incident and rule again replaces it.
	AddIncidentSignature(ctx context.Context, s IncidentSignature) error
	// UnlinkedSignatures returns the records with signature of incidents
	// that opened at or after since and belong to no problem, oldest first.
	UnlinkedSignatures(ctx context.Context, signature string, since time.Time) ([]IncidentSignature, error)
	// SetIncidentProblem links an incident to a problem. It returns
	// ErrNotFound for an unknown incident.
	SetIncidentProblem(ctx context.Context, incidentID, problemID int64) error
	// ActiveProblemIncidents returns the open and acknowledged incidents
	// linked to a problem, oldest first.
	ActiveProblemIncidents(ctx context.Context, problemID int64) ([]Incident, error)
	// QuietProblems returns the problems of problem rule name in one of
	// states that have been quiet since quietSince: their latest incident
	// opened at or before it, and none of their incidents is still pending,
	// open or acknowledged, or was resolved after it. Oldest first.
	QuietProblems(ctx context.Context, name string, states []ProblemState, quietSince time.Time) ([]Problem, error)
	// ResolvedProblems returns the resolved (not closed) problems of problem
	// rule name that were resolved at or before before, oldest first.
	ResolvedProblems(ctx context.Context, name string, before time.Time) ([]Problem, error)

	// UseNonce records that source presented nonce, to be remembered until
	// expires. It returns ErrReplay when source presented the same nonce
	// before and it has not expired by now.
	UseNonce(ctx context.Context, source, nonce string, expires, now time.Time) error
	// DeleteExpiredNonces forgets at most limit nonces that expired by now,
	// and returns how many it forgot.
	DeleteExpiredNonces(ctx context.Context, now time.Time, limit int) (int, error)
	// StaleAlerts returns at most q.Limit firing alerts of incidents that
	// were last seen at or before q.SeenBefore, oldest first, of q.Source (any
	// if "") whose incident's rule is q.Rule (any if "") and none of
	// q.ExceptRules.
	StaleAlerts(ctx context.Context, q StaleQuery) ([]AlertState, error)
	// HeartbeatRecord returns the heartbeat monitor with key, or
	// ErrNotFound. (Heartbeat monitors are the rule files' heartbeats and
	// the sources' expect_traffic_within; Heartbeat below is the store's
	// own liveness write.)
	HeartbeatRecord(ctx context.Context, key string) (Heartbeat, error)
	// HeartbeatRecords returns every heartbeat monitor, by key.
	HeartbeatRecords(ctx context.Context) ([]Heartbeat, error)
	// PutHeartbeatRecord inserts or replaces the heartbeat monitor hb.Key.
	PutHeartbeatRecord(ctx context.Context, hb Heartbeat) error
	// DeleteHeartbeatRecord forgets the heartbeat monitor with key; an
	// unknown key is not an error.
	DeleteHeartbeatRecord(ctx context.Context, key string) error
	// Heartbeat records now as the time of the last periodic write. It
	// makes the store find room for more data, as real work would, so that
	// it fails with the store's error when the disk (or a database size
	// limit) is full, even though an update in place would still fit.
	Heartbeat(ctx context.Context, now time.Time) error
}

// Store opens write transactions.
type Store interface {
	// Update runs fn in one write transaction and commits it if fn returns nil.
	// A store error (disk full, database down) is returned wrapped; callers
	// treat any error as "nothing was committed".
	Update(ctx context.Context, fn func(Tx) error) error
}

// StaleQuery selects the firing alerts that resolve_timeout resolves.
type StaleQuery struct {
	Source, Rule string
	ExceptRules  []string
	SeenBefore   time.Time
	Limit        int
}

// IncidentFilter selects incidents for listing.
type IncidentFilter struct {
	States   []State
	Priority Priority // 0 means any
	Service  string
	Query    string // substring of title or correlation key
	Limit    int
	// AfterID continues a listing: only incidents with a smaller ID (listings
	// are newest first).
	AfterID int64
}
