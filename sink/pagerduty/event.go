package pagerduty

import (
	"fmt"
	"strconv"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/keyed"
)

// maxSummary is PagerDuty's limit on payload.summary, in characters.
const maxSummary = 1024

// event is an Events API v2 event. It carries the routing key: never
// print or log one.
type event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *payload `json:"payload,omitempty"`
	Links       []link   `json:"links,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
}

type payload struct {
	Summary       string  `json:"summary"`
	Source        string  `json:"source"`
	Severity      string  `json:"severity"`
	Timestamp     string  `json:"timestamp,omitempty"`
	Class         string  `json:"class,omitempty"`
	CustomDetails details `json:"custom_details"`
}

type link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// details are the alert's custom_details: what a responder sees of the
// incident in PagerDuty.
type details struct {
	// Workaround is a known error's workaround, first so that it stands
	// out.
	Workaround string   `json:"workaround,omitempty"`
	Incident   int64    `json:"incident_id"`
	Priority   string   `json:"priority"`
	State      string   `json:"state"`
	Service    string   `json:"service,omitempty"`
	Owner      string   `json:"owner,omitempty"`
	AlertCount int      `json:"alert_count"`
	URL        string   `json:"url,omitempty"`
	MergedInto *merged  `json:"merged_into,omitempty"`
	Entries    []detail `json:"entries,omitempty"`
}

type merged struct {
	Incident int64  `json:"incident_id"`
	Title    string `json:"title"`
	URL      string `json:"url,omitempty"`
}

// detail is a timeline entry the notification tells of.
type detail struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Actor   string    `json:"actor"`
	Message string    `json:"message,omitempty"`
}

// severities map our priorities to PagerDuty's severities.
var severities = map[incident.Priority]string{1: "critical", 2: "error", 3: "warning", 4: "info", 5: "info"}

// Severity is the PagerDuty severity of priority p.
func Severity(p incident.Priority) string {
	if s, ok := severities[p]; ok {
		return s
	}
	return "error"
}

// bare is an acknowledge or resolve event: PagerDuty reads nothing else of
// them.
func (s *Sink) bare(action, key string) event {
	return event{RoutingKey: s.o.RoutingKey.Reveal(), EventAction: action, DedupKey: key}
}

// trigger is the trigger event of n; t is the ticket as it will be (its
// workaround).
func (s *Sink) trigger(n sink.Notification, t *incident.Ticket, key string) (event, error) {
	inc := n.Incident
	summary, err := s.o.Summary.Render(n.Data())
	if err != nil {
		return event{}, sink.Permanent(fmt.Errorf("render summary: %w", err))
	}
	if summary == "" {
		summary = "alertbridge incident #" + strconv.FormatInt(inc.ID, 10)
	}
	source := inc.Service
	if source == "" {
		source = "alertbridge"
	}
	d := details{Workaround: t.Data[keyed.DataWorkaround], Incident: inc.ID, Priority: inc.Priority.String(),
		State: string(inc.State), Service: inc.Service, Owner: inc.Owner, AlertCount: n.AlertCount, URL: n.URL}
	for _, e := range n.Entries {
		d.Entries = append(d.Entries, detail{At: e.At.UTC(), Kind: string(e.Kind), Actor: e.Actor, Message: e.Message})
	}
	ev := event{
		RoutingKey: s.o.RoutingKey.Reveal(), EventAction: "trigger", DedupKey: key, Client: "alertbridge", ClientURL: n.URL,
		Payload: &payload{Summary: keyed.Truncate(summary, maxSummary), Source: source, Severity: Severity(inc.Priority),
			Class: inc.Rule, CustomDetails: d},
	}
	if at := inc.ImpactStartedAt; !at.IsZero() {
		ev.Payload.Timestamp = at.UTC().Format(time.RFC3339)
	} else if !inc.OpenedAt.IsZero() {
		ev.Payload.Timestamp = inc.OpenedAt.UTC().Format(time.RFC3339)
	}
	if n.URL != "" {
		ev.Links = append(ev.Links, link{Href: n.URL, Text: "alertbridge incident #" + strconv.FormatInt(inc.ID, 10)})
	}
	if m := n.MergedInto; m != nil {
		d := &ev.Payload.CustomDetails
		d.MergedInto = &merged{Incident: m.ID, Title: m.Title, URL: n.MergedIntoURL}
		if n.MergedIntoURL != "" {
			ev.Links = append(ev.Links, link{Href: n.MergedIntoURL, Text: "merged into alertbridge incident #" +
				strconv.FormatInt(m.ID, 10)})
		}
	}
	return ev, nil
}
