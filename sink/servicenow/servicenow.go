// Package servicenow is the ServiceNow sink: one record per incident in a
// table (incident by default) through the Table API, found again by its
// correlation_id alertbridge-<incident id>, its state, impact and urgency
// kept in step with the incident, and the incident's timeline written as
// work notes. Its callback takes what a business rule posts when a
// responder resolves a record or adds a work note.
//
// It imports sink, sink/message and incident, never the store or the app.
package servicenow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/ticketing"
	"github.com/alertbridge/alertbridge/sink/message"
)

// Options configures a ServiceNow sink.
type Options struct {
	// URL is the instance's base URL (https://example.service-now.com).
	URL string
	// Table is the table records go in (default incident); its state
	// codes must be the incident table's.
	Table string
	// Basic auth with Username and Password, or an OAuth Bearer token.
	Username string
	Password secret.Value
	Bearer   secret.Value
	// AssignmentGroup, CallerID and Category are set on create when not
	// empty (a sys_id or, for category, the choice value).
	AssignmentGroup, CallerID, Category string
	// CloseCode is the close_code of a resolve (default "Solved
	// (Permanently)").
	CloseCode string
	// ShortDesc and Description render the record's; the short
	// description is kept in step with the incident, the description is
	// written once. CloseNotes renders the close notes of a resolve.
	ShortDesc, Description, CloseNotes *message.Template
	// CallbackToken authenticates the business rule's calls; zero: the
	// callback refuses every request.
	CallbackToken secret.Value
	// MaxSkew is how far a callback's sys_updated_on may be ahead of the
	// clock (default 5m); see Callback for how far behind.
	MaxSkew time.Duration
	// UserAgent names the daemon and its version.
	UserAgent string
	// Client makes the requests (default a client without a timeout: each
	// attempt's context bounds it).
	Client *http.Client
	Logger *slog.Logger
}

// Sink keeps one ServiceNow record per incident.
type Sink struct {
	o      Options
	log    *slog.Logger
	client *ticketing.Client
	// made are the records this process created in deliveries that then
	// failed (the update refused, say), by incident ID: the next attempt
	// carries on with the record rather than making another. Dropped once
	// a delivery of the incident succeeds.
	made sync.Map
}

// New returns a ServiceNow sink.
func New(o Options) (*Sink, error) {
	switch {
	case o.URL == "":
		return nil, errors.New("servicenow: no url")
	case o.ShortDesc == nil || o.Description == nil || o.CloseNotes == nil:
		return nil, errors.New("servicenow: no short description, description or close notes template")
	case o.Bearer.IsZero() && (o.Username == "" || o.Password.IsZero()):
		return nil, errors.New("servicenow: set username and password, or a bearer token")
	}
	o.URL = strings.TrimSuffix(o.URL, "/")
	if o.Table == "" {
		o.Table = "incident"
	}
	if o.CloseCode == "" {
		o.CloseCode = "Solved (Permanently)"
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = 5 * time.Minute
	}
	if o.UserAgent == "" {
		o.UserAgent = "alertbridge"
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{o: o, log: o.Logger.With("component", "servicenow")}
	s.client = &ticketing.Client{HTTP: o.Client, UserAgent: o.UserAgent, Auth: s.auth, ErrorText: errorText}
	return s, nil
}

// The incident table's state codes the sink sets and reads.
const (
	stateNew        = "1"
	stateInProgress = "2"
	stateOnHold     = "3"
	stateResolved   = "6"
	stateClosed     = "7"
	stateCanceled   = "8"
)

// Ticket data keys: what the sink last made the record say, so that a
// redelivery changes nothing and a responder's own changes in ServiceNow
// are not undone by an unrelated update.
const (
	dataState   = "state"
	dataImpact  = "impact"
	dataUrgency = "urgency"
	dataShort   = "short_description"
	dataNumber  = "number"
)

// ourState is what a record's state says of ours.
func ourState(code string) string {
	switch code {
	case stateResolved, stateClosed, stateCanceled:
		return ticketing.Resolved
	case stateInProgress, stateOnHold:
		return ticketing.Acknowledged
	}
	return ticketing.Open
}

// levels map our impact and urgency to the Table API's.
var levels = map[incident.Level]string{incident.LevelHigh: "1", incident.LevelMedium: "2", incident.LevelLow: "3"}

// content is what the templates made of a notification.
type content struct {
	short, description, closeNotes string
	impact, urgency                string
}

// maxShort is the incident table's short_description length.
const maxShort = 160

func (s *Sink) render(n sink.Notification) (content, error) {
	d := n.Data()
	c := content{impact: levels[n.Incident.Impact], urgency: levels[n.Incident.Urgency]}
	var err error
	if c.short, err = s.o.ShortDesc.Render(d); err != nil {
		return c, fmt.Errorf("render short_description: %w", err)
	}
	c.short = strings.Join(strings.Fields(c.short), " ")
	if r := []rune(c.short); len(r) > maxShort {
		c.short = string(r[:maxShort-1]) + "…"
	}
	if c.description, err = s.o.Description.Render(d); err != nil {
		return c, fmt.Errorf("render description: %w", err)
	}
	if c.closeNotes, err = s.o.CloseNotes.Render(d); err != nil {
		return c, fmt.Errorf("render close_notes: %w", err)
	}
	if c.closeNotes == "" {
		c.closeNotes = "Resolved in alertbridge"
	}
	return c, nil
}

// correlationID is what finds an incident's record.
func correlationID(id int64) string { return "alertbridge-" + strconv.FormatInt(id, 10) }

// Deliver makes the incident's record match n.Incident and adds n's
// entries as one work note, in one update. The record is found by its
// ticket, else by its correlation_id, else created; a record deleted in
// ServiceNow is created anew.
func (s *Sink) Deliver(ctx context.Context, n sink.Notification) (*incident.Ticket, error) {
	c, err := s.render(n)
	if err != nil {
		return nil, sink.Permanent(err)
	}
	var t *incident.Ticket
	if n.Ticket != nil && n.Ticket.ExternalID != "" {
		t = &incident.Ticket{ExternalID: n.Ticket.ExternalID, URL: n.Ticket.URL, Data: ticketing.CloneData(n.Ticket.Data)}
	} else if m, ok := s.made.Load(n.Incident.ID); ok {
		mt := m.(incident.Ticket)
		t = &incident.Ticket{ExternalID: mt.ExternalID, URL: mt.URL, Data: ticketing.CloneData(mt.Data)}
	} else if t, err = s.findOrCreate(ctx, n, c, ""); err != nil {
		return nil, err
	}
	err = s.update(ctx, n, c, t)
	if errors.Is(err, errGone) {
		s.log.Info("record gone, looking it up again", "incident_id", n.Incident.ID, "sys_id", t.ExternalID)
		if t, err = s.findOrCreate(ctx, n, c, t.ExternalID); err != nil {
			return nil, err
		}
		err = s.update(ctx, n, c, t)
	}
	if err != nil {
		// The record exists: the dispatcher keeps it, and the retry
		// (even after a restart) updates it rather than make another.
		return t, err
	}
	s.made.Delete(n.Incident.ID)
	return t, nil
}

// errGone is a record the Table API answers 404 for.
var errGone = errors.New("record not found")

// findOrCreate looks the incident's oldest record up by its
// correlation_id (a delivery whose answer was lost may have made it) and
// creates one when none is found; the ticket's data says what the record
// says. gone is a record just answered 404 for: the query still finding it
// is retried.
func (s *Sink) findOrCreate(ctx context.Context, n sink.Notification, c content, gone string) (*incident.Ticket, error) {
	q := url.Values{
		"sysparm_query": {"correlation_id=" + correlationID(n.Incident.ID) + "^ORDERBYsys_created_on"},
		"sysparm_limit": {"1"},
	}
	var found []record
	if err := s.do(ctx, http.MethodGet, "", q, nil, &found); err != nil {
		return nil, fmt.Errorf("query record by correlation_id: %w", err)
	}
	if len(found) > 0 && found[0].SysID != "" {
		if found[0].SysID == gone {
			return nil, fmt.Errorf("record %s: answered 404, yet the query finds it", gone)
		}
		s.log.Debug("record found by correlation_id", "incident_id", n.Incident.ID, "sys_id", found[0].SysID)
		return s.ticket(found[0]), nil
	}
	body := map[string]string{
		"correlation_id": correlationID(n.Incident.ID), "correlation_display": "alertbridge",
		"short_description": c.short, "description": c.description,
	}
	for k, v := range map[string]string{"impact": c.impact, "urgency": c.urgency, "assignment_group": s.o.AssignmentGroup,
		"caller_id": s.o.CallerID, "category": s.o.Category} {
		if v != "" {
			body[k] = v
		}
	}
	if ticketing.Wanted(n.Incident) == ticketing.Acknowledged {
		body["state"] = stateInProgress
	}
	var r record
	if err := s.do(ctx, http.MethodPost, "", nil, body, &r); err != nil {
		return nil, fmt.Errorf("create record: %w", err)
	}
	if r.SysID == "" {
		return nil, errors.New("create record: ServiceNow answered no sys_id")
	}
	t := s.ticket(r)
	s.made.Store(n.Incident.ID, *s.ticket(r))
	return t, nil
}

// ticket is the ticket of r, its data what r says.
func (s *Sink) ticket(r record) *incident.Ticket {
	return &incident.Ticket{
		ExternalID: r.SysID,
		URL:        s.o.URL + "/nav_to.do?uri=" + url.QueryEscape(s.o.Table+".do?sys_id="+r.SysID),
		Data: map[string]string{dataState: ourState(r.State), dataImpact: r.Impact, dataUrgency: r.Urgency,
			dataShort: r.ShortDescription, dataNumber: r.Number},
	}
}

// update sets what changed since the sink last synced the record, and
// the entries' work note, in one PATCH: the state only when the incident's
// changed (acknowledged: In Progress; resolved: Resolved with its close
// code and notes; reopened: In Progress again), impact, urgency and the
// short description when they changed.
func (s *Sink) update(ctx context.Context, n sink.Notification, c content, t *incident.Ticket) error {
	body := map[string]string{}
	if c.short != t.Data[dataShort] {
		body["short_description"] = c.short
	}
	if c.impact != "" && c.impact != t.Data[dataImpact] {
		body["impact"] = c.impact
	}
	if c.urgency != "" && c.urgency != t.Data[dataUrgency] {
		body["urgency"] = c.urgency
	}
	want, had := ticketing.Wanted(n.Incident), t.Data[dataState]
	switch {
	case want == had:
	case want == ticketing.Resolved:
		body["state"], body["close_code"], body["close_notes"] = stateResolved, s.o.CloseCode, c.closeNotes
	case want == ticketing.Acknowledged || had == ticketing.Resolved:
		body["state"] = stateInProgress
	}
	if note := s.workNote(n); note != "" {
		body["work_notes"] = note
	}
	if len(body) == 0 {
		return nil
	}
	var r record
	err := s.do(ctx, http.MethodPatch, "/"+url.PathEscape(t.ExternalID), nil, body, &r)
	if ticketing.HasStatus(err, http.StatusNotFound) {
		return errGone
	}
	if err != nil {
		return fmt.Errorf("update record %s: %w", t.ExternalID, err)
	}
	if st, ok := body["state"]; ok && r.State != "" && r.State != st {
		// An ACL or business rule kept the state (a closed record cannot
		// be reopened): the same update would be kept again.
		return sink.Permanent(fmt.Errorf("record %s %s: state %s was not taken, it is %s", r.Number, t.ExternalID, st, r.State))
	}
	t.Data[dataState] = want
	for k, v := range map[string]string{dataShort: c.short, dataImpact: c.impact, dataUrgency: c.urgency, dataNumber: r.Number} {
		if v != "" {
			t.Data[k] = v
		}
	}
	return nil
}

// workNote is n's entries as one work note, a paragraph each, oldest first.
func (s *Sink) workNote(n sink.Notification) string {
	notes := ticketing.Notes(n)
	texts := make([]string, len(notes))
	for i, nt := range notes {
		texts[i] = nt.Text
	}
	return strings.Join(texts, "\n\n")
}
