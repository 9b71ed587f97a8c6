// Package jira is the Jira sink: one issue per incident, found again by
// its label alertbridge-<incident id>, its workflow moved by named
// transitions as the incident is acknowledged, resolved and reopened, and
// the incident's timeline written as comments. Its callback turns Jira's
// webhooks (an issue moved to a done status, a comment) into actions.
//
// It speaks REST API v2 (/rest/api/2/...), whose plain-text description
// and comment bodies Jira Cloud and Data Center both take. It imports sink,
// sink/message and incident, never the store or the app.
package jira

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/ticketing"
	"github.com/alertbridge/alertbridge/sink/message"
)

// Options configures a Jira sink.
type Options struct {
	// URL is the site's base URL (https://example.atlassian.net, or a Data
	// Center's https://jira.example.com/jira), without a trailing slash.
	URL string
	// Jira Cloud: basic auth with Username (the account's e-mail) and
	// APIToken. Data Center: PersonalAccessToken, sent as a bearer token.
	Username            string
	APIToken            secret.Value
	PersonalAccessToken secret.Value
	// Project is the key of the project issues are created in; IssueType
	// names their type (default Task).
	Project   string
	IssueType string
	// Summary and Description render the issue's; Summary is kept in step
	// with the incident, Description is written once.
	Summary, Description *message.Template
	// Fields are more fields set on create, each rendered as a string; a
	// rendering that is a JSON object or array is sent as that JSON (a
	// select field's {"value": "…"}).
	Fields map[string]*message.Template
	// Priorities maps our priorities (P1…P5) to Jira priority names; an
	// unmapped priority leaves the issue's as it is.
	Priorities map[string]string
	// Labels are added to alertbridge and alertbridge-<incident id>.
	Labels []string
	// The workflow transitions taken when the incident resolves, reopens
	// and is acknowledged; "" skips that change.
	ResolveTransition, ReopenTransition, AcknowledgeTransition string
	// WebhookSecret verifies Jira's webhooks (X-Hub-Signature); zero: the
	// callback refuses every request.
	WebhookSecret secret.Value
	// MaxSkew is how far a webhook's timestamp may be ahead of the clock
	// (default 5m); see Callback for how far behind.
	MaxSkew time.Duration
	// UserAgent names the daemon and its version.
	UserAgent string
	// Client makes the requests (default a client without a timeout: each
	// attempt's context bounds it).
	Client *http.Client
	Logger *slog.Logger
}

// Sink keeps one Jira issue per incident.
type Sink struct {
	o      Options
	log    *slog.Logger
	client *ticketing.Client
	// search is the search endpoint that answered last (searchJQL or
	// searchLegacy): Cloud has only the first, Data Center the second.
	search atomic.Int32
	// me is the account the sink acts as, learnt from Jira, so that the
	// callback skips the webhooks of the sink's own changes.
	me atomic.Pointer[account]
	// made are the issues this process created in deliveries that then
	// failed (a transition refused, say), by incident ID: the next attempt
	// carries on with the issue rather than trusting a search that, on
	// Cloud, may not list it for some seconds. Dropped once a delivery of
	// the incident succeeds.
	made sync.Map
}

// New returns a Jira sink.
func New(o Options) (*Sink, error) {
	switch {
	case o.URL == "":
		return nil, errors.New("jira: no url")
	case o.Project == "":
		return nil, errors.New("jira: no project")
	case o.Summary == nil || o.Description == nil:
		return nil, errors.New("jira: no summary or description template")
	case o.PersonalAccessToken.IsZero() && (o.APIToken.IsZero() || o.Username == ""):
		return nil, errors.New("jira: set username and api token (Cloud) or a personal access token (Data Center)")
	}
	o.URL = strings.TrimSuffix(o.URL, "/")
	if o.IssueType == "" {
		o.IssueType = "Task"
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
	s := &Sink{o: o, log: o.Logger.With("component", "jira")}
	s.client = &ticketing.Client{HTTP: o.Client, UserAgent: o.UserAgent, Auth: s.auth, ErrorText: errorText}
	// A personal access token is Data Center's; an API token Cloud's,
	// where the legacy search is gone. Either is tried first, the other
	// when it is missing.
	if o.PersonalAccessToken.IsZero() {
		s.search.Store(searchJQL)
	} else {
		s.search.Store(searchLegacy)
	}
	return s, nil
}

// Ticket data keys: what the sink last made the issue say, so that a
// redelivery changes nothing and a responder's own edits in Jira are not
// undone by an unrelated update.
const (
	dataState    = "state"
	dataPriority = "priority"
	dataSummary  = "summary"
	dataID       = "id"
)

// Deliver makes the incident's issue match n.Incident and adds n's entries
// as comments. The issue is found by its ticket, else by its label, else
// created; an issue deleted in Jira is created anew. Fields go first; the
// comments then, before a transition into a done status (a closed issue may
// no longer take them) and after any other.
func (s *Sink) Deliver(ctx context.Context, n sink.Notification) (*incident.Ticket, error) {
	c, err := s.render(n)
	if err != nil {
		return nil, sink.Permanent(err)
	}
	s.learnAccount(ctx)
	t, created, err := s.issue(ctx, n, c)
	if err != nil {
		return nil, err
	}
	err = s.sync(ctx, n, c, t, created)
	if errors.Is(err, errGone) {
		// Deleted in Jira since the ticket was made: find or make another
		// and sync that one, once.
		s.log.Info("issue gone, looking it up again", "incident_id", n.Incident.ID, "issue", t.ExternalID)
		if t, created, err = s.findOrCreate(ctx, n, c, t.ExternalID); err != nil {
			return nil, err
		}
		err = s.sync(ctx, n, c, t, created)
	}
	if err != nil {
		// The record exists: the dispatcher keeps it, and the retry
		// (even after a restart) updates it rather than make another.
		return t, err
	}
	s.made.Delete(n.Incident.ID)
	return t, nil
}

// errGone is an issue that Jira answers 404 for.
var errGone = errors.New("issue not found")

// sync converges an existing issue t on n and comments n's entries.
func (s *Sink) sync(ctx context.Context, n sink.Notification, c content, t *incident.Ticket, created bool) error {
	if err := s.updateFields(ctx, t, c); err != nil {
		return err
	}
	want := ticketing.Wanted(n.Incident)
	if want == ticketing.Resolved {
		if err := s.comment(ctx, n, t, created); err != nil {
			return err
		}
		return s.converge(ctx, t, want)
	}
	if err := s.converge(ctx, t, want); err != nil {
		return err
	}
	return s.comment(ctx, n, t, created)
}

// issue is the incident's issue: its ticket, else the one its label finds,
// else a new one; created reports the last.
func (s *Sink) issue(ctx context.Context, n sink.Notification, c content) (*incident.Ticket, bool, error) {
	if n.Ticket != nil && n.Ticket.ExternalID != "" {
		t := *n.Ticket
		t.Data = ticketing.CloneData(n.Ticket.Data)
		return &t, false, nil
	}
	if m, ok := s.made.Load(n.Incident.ID); ok {
		t := m.(incident.Ticket)
		t.Data = ticketing.CloneData(t.Data)
		return &t, false, nil
	}
	return s.findOrCreate(ctx, n, c, "")
}

// findOrCreate looks the incident's issue up by its label (a delivery
// whose answer was lost may have made it) and creates it when none is
// found. gone is an issue Jira just answered 404 for: search finding it
// still means search lags behind a deletion, and the attempt is retried.
func (s *Sink) findOrCreate(ctx context.Context, n sink.Notification, c content, gone string) (*incident.Ticket, bool, error) {
	found, err := s.lookup(ctx, n.Incident.ID)
	if err != nil {
		return nil, false, err
	}
	if found != nil {
		if found.Key == gone {
			return nil, false, fmt.Errorf("issue %s: Jira answers 404 for it, but search still finds it", gone)
		}
		s.log.Debug("issue found by label", "incident_id", n.Incident.ID, "issue", found.Key)
		t := s.ticket(found.Key, found.ID)
		// What the issue says now is unknown: sync sets the fields and
		// converges the state from the issue's own status.
		return t, false, nil
	}
	key, id, err := s.create(ctx, c)
	if err != nil {
		return nil, false, err
	}
	t := s.ticket(key, id)
	t.Data[dataState] = ticketing.Open
	t.Data[dataSummary] = c.summary
	if c.priority != "" {
		t.Data[dataPriority] = c.priority
	}
	m := *t
	m.Data = ticketing.CloneData(t.Data)
	s.made.Store(n.Incident.ID, m)
	return t, true, nil
}

func (s *Sink) ticket(key, id string) *incident.Ticket {
	d := map[string]string{}
	if id != "" {
		d[dataID] = id
	}
	return &incident.Ticket{ExternalID: key, URL: s.o.URL + "/browse/" + key, Data: d}
}
