// Package webhook is the webhook sink: each notification is POSTed as a
// documented, versioned JSON body (docs/sinks.md), signed with HMAC-SHA256
// as alertbridge's own HMAC sources verify, so that two alertbridges can
// chain (format "events" posts to the other's /ingest/events).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
)

// Version is the body format's version, its "version" member.
const Version = "alertbridge/v1"

// FormatEvents posts generic events for another alertbridge's
// /ingest/events instead.
const FormatEvents = "events"

// Options configures a webhook sink.
type Options struct {
	URL string
	// Format is Version (default) or FormatEvents.
	Format string
	// Secret signs each body; zero sends it unsigned.
	Secret secret.Value
	// Header and TimestampHeader carry the signature and its time
	// (defaults X-Alertbridge-Signature and X-Alertbridge-Timestamp).
	Header, TimestampHeader string
	// Bearer, when set, is sent as Authorization: Bearer.
	Bearer secret.Value
	// UserAgent names the daemon and its version.
	UserAgent string
	// Client makes the requests (default a client without a timeout: each
	// attempt's context bounds it).
	Client *http.Client
	// Now is the clock of the signature's timestamp.
	Now func() time.Time
}

// Sink posts notifications to one URL.
type Sink struct{ o Options }

// New returns a webhook sink.
func New(o Options) (*Sink, error) {
	if o.URL == "" {
		return nil, errors.New("webhook: no url")
	}
	if o.Format == "" {
		o.Format = Version
	}
	if o.Format != Version && o.Format != FormatEvents {
		return nil, fmt.Errorf("webhook: unknown format %q", o.Format)
	}
	if o.Header == "" {
		o.Header = "X-Alertbridge-Signature"
	}
	if o.TimestampHeader == "" {
		o.TimestampHeader = "X-Alertbridge-Timestamp"
	}
	if o.UserAgent == "" {
		o.UserAgent = "alertbridge"
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sink{o: o}, nil
}

// Deliver posts n. The receiver may drop a notification it has seen by
// the X-Alertbridge-Delivery header (the same on every attempt): a
// notification whose delivery was not recorded is sent again.
func (s *Sink) Deliver(ctx context.Context, n sink.Notification) (*incident.Ticket, error) {
	var v any = BodyOf(n)
	if s.o.Format == FormatEvents {
		v = EventOf(n)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, sink.Permanent(fmt.Errorf("encode body: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.URL, bytes.NewReader(body))
	if err != nil {
		return nil, sink.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.o.UserAgent)
	req.Header.Set("X-Alertbridge-Delivery", strconv.FormatInt(n.ID, 10))
	req.Header.Set("X-Alertbridge-Event", string(n.Kind))
	if !s.o.Secret.IsZero() {
		ts := strconv.FormatInt(s.o.Now().Unix(), 10)
		req.Header.Set(s.o.TimestampHeader, ts)
		req.Header.Set(s.o.Header, "sha256="+Sign([]byte(s.o.Secret.Reveal()), ts, body))
	}
	if !s.o.Bearer.IsZero() {
		req.Header.Set("Authorization", "Bearer "+s.o.Bearer.Reveal())
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := sink.CheckResponse(resp); err != nil {
		return nil, err
	}
	return nil, nil
}

// Sign is the signature of a body sent at ts (Unix seconds, as sent in the
// timestamp header): the hex HMAC-SHA256 under key of ts, ".", and the
// body: what alertbridge's HMAC sources verify.
func Sign(key []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Body is the alertbridge/v1 body (docs/sinks.md documents each member).
type Body struct {
	Version string `json:"version"`
	// ID identifies the notification; the same on every attempt.
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Incident   Incident  `json:"incident"`
	Entries    []Entry   `json:"entries"`
	Alerts     []Alert   `json:"alerts"`
	AlertCount int       `json:"alert_count"`
	MergedInto *Incident `json:"merged_into,omitempty"`
}

// Incident is an incident in a body, as it is at delivery.
type Incident struct {
	ID              int64             `json:"id"`
	State           string            `json:"state"`
	Priority        string            `json:"priority"`
	Impact          string            `json:"impact"`
	Urgency         string            `json:"urgency"`
	Title           string            `json:"title"`
	Summary         string            `json:"summary"`
	Service         string            `json:"service"`
	Owner           string            `json:"owner"`
	Rule            string            `json:"rule"`
	Source          string            `json:"source"`
	Labels          map[string]string `json:"labels"`
	OpenedAt        *time.Time        `json:"opened_at"`
	AcknowledgedAt  *time.Time        `json:"acknowledged_at"`
	ResolvedAt      *time.Time        `json:"resolved_at"`
	ImpactStartedAt *time.Time        `json:"impact_started_at"`
	RespondBy       *time.Time        `json:"respond_by"`
	ResolveBy       *time.Time        `json:"resolve_by"`
	RespondBreached bool              `json:"respond_breached"`
	ResolveBreached bool              `json:"resolve_breached"`
	ProblemID       int64             `json:"problem_id,omitempty"`
	URL             string            `json:"url,omitempty"`
}

// Entry is a timeline entry in a body.
type Entry struct {
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	Actor      string    `json:"actor"`
	OnBehalfOf string    `json:"on_behalf_of,omitempty"`
	Message    string    `json:"message"`
}

// Alert is one of the incident's alerts in a body.
type Alert struct {
	Source       string            `json:"source"`
	Fingerprint  string            `json:"fingerprint"`
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     *time.Time        `json:"starts_at"`
	EndsAt       *time.Time        `json:"ends_at"`
	GeneratorURL string            `json:"generator_url,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func incidentOf(inc incident.Incident, url string) Incident {
	return Incident{
		ID: inc.ID, State: string(inc.State), Priority: inc.Priority.String(), Impact: string(inc.Impact),
		Urgency: string(inc.Urgency), Title: inc.Title, Summary: inc.Summary, Service: inc.Service, Owner: inc.Owner,
		Rule: inc.Rule, Source: inc.Source, Labels: nonNil(inc.Labels), OpenedAt: timePtr(inc.OpenedAt),
		AcknowledgedAt: timePtr(inc.AcknowledgedAt), ResolvedAt: timePtr(inc.ResolvedAt),
		ImpactStartedAt: timePtr(inc.ImpactStartedAt), RespondBy: timePtr(inc.RespondBy), ResolveBy: timePtr(inc.ResolveBy),
		RespondBreached: !inc.RespondBreachedAt.IsZero(), ResolveBreached: !inc.ResolveBreachedAt.IsZero(),
		ProblemID: inc.ProblemID, URL: url,
	}
}

// BodyOf is the alertbridge/v1 body of n.
func BodyOf(n sink.Notification) Body {
	b := Body{Version: Version, ID: n.ID, Kind: string(n.Kind), Incident: incidentOf(n.Incident, n.URL),
		Entries: []Entry{}, Alerts: []Alert{}, AlertCount: n.AlertCount}
	for _, e := range n.Entries {
		b.Entries = append(b.Entries, Entry{At: e.At.UTC(), Kind: string(e.Kind), Actor: e.Actor, OnBehalfOf: e.OnBehalfOf,
			Message: e.Message})
	}
	for _, a := range n.Alerts {
		status := string(incident.StatusResolved)
		if a.Status == incident.StatusFiring {
			status = string(incident.StatusFiring)
		}
		b.Alerts = append(b.Alerts, Alert{Source: a.Source, Fingerprint: a.Fingerprint, Status: status,
			Labels: nonNil(a.Labels), Annotations: nonNil(a.Annotations), StartsAt: timePtr(a.StartsAt),
			EndsAt: timePtr(a.EndsAt), GeneratorURL: a.GeneratorURL})
	}
	if n.MergedInto != nil {
		m := incidentOf(*n.MergedInto, n.MergedIntoURL)
		b.MergedInto = &m
	}
	return b
}

// Event is the body of another alertbridge's /ingest/events: the incident
// as one alert, firing while it is active, resolved once it is resolved (or
// merged away).
type Event struct {
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Status      string            `json:"status"`
	Severity    string            `json:"severity"`
	Summary     string            `json:"summary,omitempty"`
	Description string            `json:"description,omitempty"`
	StartsAt    *time.Time        `json:"starts_at,omitempty"`
	EndsAt      *time.Time        `json:"ends_at,omitempty"`
	URL         string            `json:"url,omitempty"`
}

// severities map our priorities to the severities an events source knows.
var severities = map[incident.Priority]string{1: "critical", 2: "error", 3: "warning", 4: "info", 5: "info"}

// EventOf is n as a generic event.
func EventOf(n sink.Notification) Event {
	inc := n.Incident
	labels := make(map[string]string, len(inc.Labels)+3)
	for k, v := range inc.Labels {
		labels[k] = v
	}
	delete(labels, "severity") // the event's severity says it, from the priority
	if inc.Service != "" {
		labels["service"] = inc.Service
	}
	labels["alertbridge_incident"] = strconv.FormatInt(inc.ID, 10)
	if labels["alertname"] == "" {
		labels["alertname"] = "AlertbridgeIncident"
	}
	// The other alertbridge titles an event "alertname: summary", as ours
	// titled this incident: send the summary part, so the title is kept.
	summary := strings.TrimPrefix(inc.Title, labels["alertname"]+": ")
	ev := Event{
		Fingerprint: "alertbridge-" + strconv.FormatInt(inc.ID, 10), Labels: labels, Status: string(incident.StatusFiring),
		Severity: severities[inc.Priority], Summary: summary, Description: inc.Summary,
		StartsAt: timePtr(inc.ImpactStartedAt), URL: n.URL,
	}
	if ev.StartsAt == nil {
		ev.StartsAt = timePtr(inc.OpenedAt)
	}
	if inc.State.Ended() || inc.MergedInto != 0 {
		ev.Status = string(incident.StatusResolved)
		ev.EndsAt = timePtr(inc.ResolvedAt)
	}
	return ev
}
