package api

import (
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// Incident is the wire form of an incident. The field names are a contract
// (DESIGN.md): add fields, never rename them.
type Incident struct {
	ID             int64      `json:"id"`
	State          string     `json:"state"`
	Priority       string     `json:"priority"`
	Impact         string     `json:"impact"`
	Urgency        string     `json:"urgency"`
	Title          string     `json:"title"`
	Summary        string     `json:"summary"`
	Service        string     `json:"service"`
	Owner          string     `json:"owner"`
	CorrelationKey string     `json:"correlation_key"`
	Rule           string     `json:"rule"`
	Source         string     `json:"source"`
	OpenedAt       *time.Time `json:"opened_at"` // null while pending
	// ImpactStartedAt is when the impact started (alert time); MTTR counts
	// from it. ReopenedAt is when the impact resumed at the last reopen.
	ImpactStartedAt *time.Time `json:"impact_started_at"`
	ReopenedAt      *time.Time `json:"reopened_at"`
	// UnseenFiring counts alerts a truncated notification left out that
	// may still fire; the incident does not resolve by itself meanwhile.
	UnseenFiring   int        `json:"unseen_firing"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	// ClosedAt is when it closed for good (null: not closed), and
	// HistoryDeletedAt when retention deleted its alerts, timeline and
	// events (null: kept).
	ClosedAt         *time.Time `json:"closed_at"`
	HistoryDeletedAt *time.Time `json:"history_deleted_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	LastEventAt      time.Time  `json:"last_event_at"`
	ResolveDueAt     *time.Time `json:"resolve_due_at"`
	SealedAt         *time.Time `json:"sealed_at"`
	ResolveMode      string     `json:"resolve_mode"`
	ResolveAfter     string     `json:"resolve_after"`
	MinAlerts        int        `json:"min_alerts"`
	MergedInto       *int64     `json:"merged_into"`
	// SLA targets (null: no SLA policy applies) and missed targets' times.
	RespondBy         *time.Time `json:"respond_by"`
	ResolveBy         *time.Time `json:"resolve_by"`
	SLAPolicy         string     `json:"sla_policy"`
	RespondBreachedAt *time.Time `json:"respond_breached_at"`
	ResolveBreachedAt *time.Time `json:"resolve_breached_at"`
	// FlappingSince is set while the incident flaps (null: stable).
	FlappingSince *time.Time `json:"flapping_since"`
	// DuringMaintenance: opened inside a maintenance change's window.
	DuringMaintenance bool   `json:"during_maintenance"`
	AlertCount        int    `json:"alert_count"`
	FiringCount       int    `json:"firing_count"`
	ProblemID         *int64 `json:"problem_id"`
	// Detail view only: a page of the alerts, in the order they joined,
	// and of the timeline, oldest first. The next cursors are set when
	// there are more: pass them as alerts_after and timeline_after.
	Alerts             []Alert         `json:"alerts,omitempty"`
	AlertsNextCursor   string          `json:"alerts_next_cursor,omitempty"`
	Timeline           []TimelineEntry `json:"timeline,omitempty"`
	TimelineNextCursor string          `json:"timeline_next_cursor,omitempty"`
	// Changes are the recent changes linked as suspected causes, ranked.
	Changes []LinkedChange `json:"changes,omitempty"`
	// Tickets are what the sinks made of it: a Jira key, a Slack message.
	Tickets []Ticket `json:"tickets,omitempty"`
}

// LinkedChange is a change linked to an incident, with why.
type LinkedChange struct {
	Change
	Rank   int    `json:"rank"`
	Reason string `json:"reason"`
}

// Alert is the wire form of an incident's alert. An alert is its source
// and fingerprint together.
type Alert struct {
	Source       string            `json:"source"`
	Fingerprint  string            `json:"fingerprint"`
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"starts_at"`
	EndsAt       *time.Time        `json:"ends_at"`
	GeneratorURL string            `json:"generator_url"`
	FirstSeenAt  time.Time         `json:"first_seen_at"`
	LastSeenAt   time.Time         `json:"last_seen_at"`
	Count        int64             `json:"count"`
}

// TimelineEntry is the wire form of a timeline entry.
type TimelineEntry struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"`
	Actor string    `json:"actor"`
	// OnBehalfOf is the free text the actor gave as the request's "actor".
	OnBehalfOf  string `json:"on_behalf_of,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Message     string `json:"message"`
}

// IncidentList is the answer of GET /api/v1/incidents.
type IncidentList struct {
	Incidents  []Incident `json:"incidents"`
	NextCursor string     `json:"next_cursor"`
}

// ActionRequest is the optional body of acknowledge and resolve, and the
// required body of comments.
type ActionRequest struct {
	// Actor is recorded as "on behalf of" text next to the authenticated
	// identity, which is the actor on the timeline; it never replaces it.
	Actor   string `json:"actor"`
	Message string `json:"message"`
	// Into is the incident a merge moves this one's alerts into.
	Into int64 `json:"into,omitempty"`
	// Fingerprint is the alert an unlink moves out into a new incident, and
	// Source its source; Source may be left out unless alerts of several
	// sources in the incident have the fingerprint.
	Fingerprint string `json:"fingerprint,omitempty"`
	Source      string `json:"source,omitempty"`
}

// ReportRequest is the body of POST /api/v1/incidents: an incident
// reported by hand. Title, Impact and Urgency are required; Impact and
// Urgency are high, medium or low, and give the priority by the ITIL
// matrix. OnBehalfOf is recorded next to the caller's identity, which is
// the reporter.
type ReportRequest struct {
	Title       string `json:"title"`
	Service     string `json:"service,omitempty"`
	Description string `json:"description,omitempty"`
	Impact      string `json:"impact"`
	Urgency     string `json:"urgency"`
	OnBehalfOf  string `json:"on_behalf_of,omitempty"`
}

// Error is every error answer's body: what went wrong and where (a query
// parameter, a path segment or a JSON field).
type Error struct {
	Error string `json:"error"`
	Where string `json:"where"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromIncident(inc incident.Incident) Incident {
	w := Incident{
		ID: inc.ID, State: string(inc.State), Priority: inc.Priority.String(), Impact: string(inc.Impact),
		Urgency: string(inc.Urgency), Title: inc.Title, Summary: inc.Summary, Service: inc.Service, Owner: inc.Owner,
		CorrelationKey: inc.CorrelationKey, Rule: inc.Rule, Source: inc.Source, OpenedAt: optTime(inc.OpenedAt),
		AcknowledgedAt: optTime(inc.AcknowledgedAt), ResolvedAt: optTime(inc.ResolvedAt), UpdatedAt: inc.UpdatedAt,
		ClosedAt: optTime(inc.ClosedAt), HistoryDeletedAt: optTime(inc.HistoryDeletedAt),
		ImpactStartedAt: optTime(inc.ImpactStartedAt), ReopenedAt: optTime(inc.ReopenedAt), UnseenFiring: inc.UnseenFiring,
		LastEventAt: inc.LastEventAt, ResolveDueAt: optTime(inc.ResolveDueAt), SealedAt: optTime(inc.SealedAt),
		ResolveMode: string(inc.ResolveMode), ResolveAfter: inc.ResolveAfter.String(), MinAlerts: inc.MinAlerts,
		AlertCount: inc.AlertCount, FiringCount: inc.FiringCount, DuringMaintenance: inc.DuringMaintenance,
	}
	w.RespondBy, w.ResolveBy, w.SLAPolicy = optTime(inc.RespondBy), optTime(inc.ResolveBy), inc.SLAPolicy
	w.RespondBreachedAt, w.ResolveBreachedAt = optTime(inc.RespondBreachedAt), optTime(inc.ResolveBreachedAt)
	w.FlappingSince = optTime(inc.FlappingSince)
	if inc.MergedInto != 0 {
		m := inc.MergedInto
		w.MergedInto = &m
	}
	if inc.ProblemID != 0 {
		id := inc.ProblemID
		w.ProblemID = &id
	}
	return w
}

func fromAlert(a incident.Alert) Alert {
	return Alert{
		Source: a.Source, Fingerprint: a.Fingerprint, Status: string(a.Status), Labels: a.Labels, Annotations: a.Annotations,
		StartsAt: a.StartsAt, EndsAt: optTime(a.EndsAt), GeneratorURL: a.GeneratorURL,
		FirstSeenAt: a.FirstSeenAt, LastSeenAt: a.LastSeenAt, Count: a.Count,
	}
}

func fromTimeline(e incident.TimelineEntry) TimelineEntry {
	return TimelineEntry{ID: e.ID, At: e.At, Kind: string(e.Kind), Actor: e.Actor, OnBehalfOf: e.OnBehalfOf,
		Fingerprint: e.Fingerprint, Message: e.Message}
}

// Change is the wire form of a change or deploy.
type Change struct {
	ID          int64             `json:"id"`
	Source      string            `json:"source"`
	ExternalID  string            `json:"external_id"`
	Service     string            `json:"service"`
	Summary     string            `json:"summary"`
	URL         string            `json:"url"`
	StartedAt   time.Time         `json:"started_at"`
	FinishedAt  *time.Time        `json:"finished_at"`
	Labels      map[string]string `json:"labels"`
	Maintenance bool              `json:"maintenance"`
	ReceivedAt  time.Time         `json:"received_at"`
}

// ChangeList is the answer of GET /api/v1/changes.
type ChangeList struct {
	Changes    []Change `json:"changes"`
	NextCursor string   `json:"next_cursor"`
}

func fromChange(c incident.Change) Change {
	return Change{ID: c.ID, Source: c.Source, ExternalID: c.ExternalID, Service: c.Service, Summary: c.Summary,
		URL: c.URL, StartedAt: c.StartedAt, FinishedAt: optTime(c.FinishedAt), Labels: c.Labels,
		Maintenance: c.Maintenance, ReceivedAt: c.ReceivedAt}
}
