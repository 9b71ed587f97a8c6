package incident

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Status is an alert's or event's status as senders report it.
type Status string

// The statuses an event can carry.
const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool { return s == StatusFiring || s == StatusResolved }

// Event is one normalised signal about one alert, as emitted by a source decoder.
type Event struct {
	// Source names the configured source the event came in through.
	Source string
	// Fingerprint identifies the alert across notifications.
	Fingerprint string
	Status      Status
	Labels      map[string]string
	Annotations map[string]string
	StartsAt    time.Time
	// EndsAt is zero while an alert fires.
	EndsAt time.Time
	// StartsAtClamped marks a startsAt that lay in the future by our clock
	// (the sender's clock runs ahead) and was set to the time of receipt
	// (ClampFuture). Such a startsAt says nothing about which firing it is,
	// so it never starts a new episode of an alert still known to fire.
	StartsAtClamped bool
	GeneratorURL    string
	// GroupLabels are the labels the sender grouped by; with no rules they form
	// the default correlation key.
	GroupLabels map[string]string
	// Receiver is the sender's receiver name, kept for display only.
	Receiver string
	// Group describes the notification the event came in, for senders
	// that notify by group (Alertmanager); nil otherwise. Every event of one
	// notification shares it.
	Group *GroupNote
	// Acknowledge marks an event that acknowledges the incident holding the
	// alert (PagerDuty's event_action acknowledge) instead of reporting a
	// status; Status is then ignored.
	Acknowledge bool
	// Heartbeat names the heartbeat rule a POST to
	// /ingest/heartbeats/{name} beats; "" for every other event (an alert
	// beats a heartbeat when the rule's matchers match it).
	Heartbeat string
	// HeartbeatFailed marks a POST to /ingest/heartbeats/{name}/fail: the
	// sender reports a failure, which opens an incident at once.
	HeartbeatFailed bool
	// ResolveReason, on a resolve alertbridge made itself (resolve_timeout),
	// says why on the incident's timeline.
	ResolveReason string
}

// LabelFingerprint returns the fingerprint Alertmanager and Prometheus give a
// label set (FNV-1a 64 over the sorted names and values, each followed by a
// 0xff separator), as 16 hex digits. It is used when a source sends no
// fingerprint, so the same alert keeps one identity whichever way it arrives.
func LabelFingerprint(labels map[string]string) string {
	h := fnv.New64a()
	for _, k := range sortedKeys(labels) {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// FormatLabels renders a label set in Alertmanager's canonical, sorted form:
// {a="1", b="2"}. It is used for correlation keys and display.
func FormatLabels(labels map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range sortedKeys(labels) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Change is a deploy or other change to a service, recorded so that incidents
// can be linked to the change that may have caused them.
type Change struct {
	ID int64
	// Source names the configured source it came in through; with ExternalID
	// it identifies the change, so a redelivery updates instead of duplicating.
	Source     string
	ExternalID string
	Service    string
	Summary    string
	URL        string
	StartedAt  time.Time
	FinishedAt time.Time // zero while the change is in progress
	Labels     map[string]string
	// Maintenance marks planned work: incidents of the service inside its
	// window are expected.
	Maintenance bool
	ReceivedAt  time.Time
	// Omitted marks the fields the sender left out: a redelivery of a
	// known change (same Source and ExternalID) updates the fields it
	// carries and keeps the others (Merge). A new change takes their
	// defaults.
	Omitted ChangeFields
}

// ChangeFields names the optional fields of a Change.
type ChangeFields struct {
	Summary, URL, StartedAt, FinishedAt, Labels, Maintenance bool
}

// Merge returns c, a redelivery of the recorded change old, with the fields
// c left out taken from old. A finish before the (kept) start is taken as
// the start, as for a new change.
func (c Change) Merge(old Change) Change {
	if c.Omitted.Summary {
		c.Summary = old.Summary
	}
	if c.Omitted.URL {
		c.URL = old.URL
	}
	if c.Omitted.StartedAt {
		c.StartedAt = old.StartedAt
	}
	if c.Omitted.FinishedAt {
		c.FinishedAt = old.FinishedAt
	}
	if c.Omitted.Labels {
		c.Labels = old.Labels
	}
	if c.Omitted.Maintenance {
		c.Maintenance = old.Maintenance
	}
	if !c.FinishedAt.IsZero() && c.FinishedAt.Before(c.StartedAt) {
		c.FinishedAt = c.StartedAt
	}
	c.Omitted = ChangeFields{}
	return c
}

// ChangeFilter selects changes for listing.
type ChangeFilter struct {
	Service string
	// Since and Until bound StartedAt; zero bounds are open.
	Since, Until time.Time
	Limit        int
	// AfterID continues a listing (newest first).
	AfterID int64
}

// ChangeLink is a change linked to an incident as a suspected cause.
type ChangeLink struct {
	IncidentID int64
	Change     Change
	// Rank orders the suspects, 1 first: changes on the incident's own
	// service before those on its dependencies, then the most recent first.
	Rank int
	// Reason says in one line why the change is a suspect.
	Reason string
}

// Suspect is an incident that suspects a change: a ChangeLink read from
// the change's side, for listing changes with their incidents.
type Suspect struct {
	ChangeID int64
	Incident Incident
	// Rank and Reason are the link's (ChangeLink).
	Rank   int
	Reason string
	// Total is how many incidents suspect the change in all: a listing may
	// hold only the newest of them.
	Total int
}

// ClampFuture sets a startsAt that lies after now (a sender whose clock runs
// ahead of ours) to now, and marks it. An endsAt after now is likewise
// taken as now when the alert resolves (endOf). Durations then stay what
// one clock can tell, and no alert ends before it starts (docs/records.md).
func (e *Event) ClampFuture(now time.Time) {
	if e.StartsAt.After(now) {
		e.StartsAt, e.StartsAtClamped = now, true
	}
}

// GroupNote is what a notification says of its group as a whole.
type GroupNote struct {
	// Status is the group's status: firing while any of its alerts fires.
	Status Status
	// Truncated is how many of the group's alerts the notification left out
	// (Alertmanager's max_alerts, truncatedAlerts).
	Truncated int
	// AsOf is the latest time the notification speaks of (the latest
	// startsAt or endsAt of its alerts), so that an older notification
	// delivered late does not override a newer one.
	AsOf time.Time
}

// UnseenFiring is how many alerts of the group the note says may fire
// without being listed: those a firing group's truncated notification left
// out.
func (g GroupNote) UnseenFiring() int {
	if g.Status == StatusFiring && g.Truncated > 0 {
		return g.Truncated
	}
	return 0
}
