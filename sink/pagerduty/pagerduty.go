package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/keyed"
	"github.com/alertbridge/alertbridge/sink/message"
)

// DefaultURL is the Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// RateLimitPause is how long the sink waits after a 429. PagerDuty sends
// it without Retry-After on the Events API and suggests retrying about 30
// seconds apart; the limit is per routing key, which is the whole sink.
const RateLimitPause = 30 * time.Second

// DedupKey is the dedup_key of incident id's alert, and the ExternalID of
// its ticket.
func DedupKey(id int64) string { return keyed.Key(id) }

// Options configures a PagerDuty sink.
type Options struct {
	// URL is the Events API v2 endpoint (default DefaultURL).
	URL string
	// RoutingKey is the integration key of the PagerDuty service's Events
	// API v2 integration.
	RoutingKey secret.Value
	// Summary renders the alert's summary (default "[P1] title"); it is
	// cut to 1024 characters, PagerDuty's limit.
	Summary *message.Template
	// UserAgent names the daemon and its version.
	UserAgent string
	// Client makes the requests (default a client without a timeout: each
	// attempt's context bounds it).
	Client *http.Client
}

// Sink keeps one PagerDuty alert per incident.
type Sink struct{ o Options }

// New returns a PagerDuty sink.
func New(o Options) (*Sink, error) {
	if o.RoutingKey.IsZero() {
		return nil, errors.New("pagerduty: no routing key")
	}
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Summary == nil {
		o.Summary = message.MustCompile("summary", `[{{ .Incident.Priority }}] {{ .Incident.Title }}`)
	}
	if o.UserAgent == "" {
		o.UserAgent = "alertbridge"
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	return &Sink{o: o}, nil
}

// maxWorkaround bounds the workaround the ticket keeps to repeat in later
// triggers.
const maxWorkaround = 1024

// Deliver makes the incident's PagerDuty alert match it: a trigger while
// it is active (only when something the alert shows changed: it opened or
// reopened, its priority, a known error's workaround), an acknowledge, a
// resolve once it is resolved or merged away. PagerDuty dedupes by the
// dedup_key, so an event sent again after a lost answer changes nothing;
// an acknowledge or resolve of an alert that does not exist is dropped by
// PagerDuty, which is why an incident with no alert yet is triggered
// first, unless it is over: then only the resolve goes (no page).
//
// The Events API keeps no notes: comments, SLA breaches and problems send
// nothing. A trigger for them would add a "triggered" entry to the alert's
// log that reads as a recurrence, and would open a new PagerDuty incident
// if a responder had resolved the old one there.
func (s *Sink) Deliver(ctx context.Context, n sink.Notification) (*incident.Ticket, error) {
	want := keyed.StateOf(n.Incident)
	if want == keyed.StateNone {
		return nil, nil
	}
	key := DedupKey(n.Incident.ID)
	prev, t := keyed.Start(n, key, maxWorkaround)
	was := keyed.State(prev[keyed.DataState])
	var events []event
	if want == keyed.StateResolved {
		if n.Kind == incident.NotifyMerged && was.Active() {
			// The alert shows where the incident went before it resolves.
			ev, err := s.trigger(n, t, key)
			if err != nil {
				return nil, err
			}
			events = append(events, ev)
		}
		events = append(events, s.bare("resolve", key))
	} else {
		retrigger := !was.Active() || retriggers(n.Kind) || prev[keyed.DataPriority] != n.Incident.Priority.String()
		if retrigger {
			ev, err := s.trigger(n, t, key)
			if err != nil {
				return nil, err
			}
			events = append(events, ev)
		}
		if want == keyed.StateAcknowledged && (retrigger || was != want || n.Kind == incident.NotifyAcknowledged) {
			events = append(events, s.bare("acknowledge", key))
		}
	}
	for _, ev := range events {
		if err := s.send(ctx, ev); err != nil {
			return nil, err
		}
	}
	keyed.Synced(t, want, n.Incident.Priority)
	return t, nil
}

// retriggers reports whether a change of kind k changes what the alert
// shows, so that an active incident's alert is triggered again.
func retriggers(k incident.NotifyKind) bool {
	switch k {
	case incident.NotifyOpened, incident.NotifyReopened, incident.NotifyReleased, incident.NotifyPriorityChanged,
		incident.NotifyKnownError:
		return true
	}
	return false
}

// send posts one event. PagerDuty answers 202 once it has taken it; 400
// for an event it refuses (permanent); 429 when the routing key sent too
// many (the sink pauses: RateLimitPause); 5xx while it is in trouble.
func (s *Sink) send(ctx context.Context, ev event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return sink.Permanent(fmt.Errorf("encode %s event: %w", ev.EventAction, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.URL, bytes.NewReader(body))
	if err != nil {
		return sink.Permanent(fmt.Errorf("%s event: %w", ev.EventAction, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.o.UserAgent)
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%s event: %w", ev.EventAction, err)
	}
	defer resp.Body.Close()
	err = sink.CheckResponse(resp)
	var ra *sink.RetryAfterError
	if resp.StatusCode == http.StatusTooManyRequests && !errors.As(err, &ra) {
		return &sink.RetryAfterError{After: RateLimitPause, Err: fmt.Errorf("%s event: %w", ev.EventAction, err)}
	}
	if err != nil {
		return fmt.Errorf("%s event: %w", ev.EventAction, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
	return nil
}
