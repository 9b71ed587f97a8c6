package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink/message"
)

// Notification is what a sink is told: one change of one incident.
type Notification struct {
	// ID is the outbox row's ID: unique per notification, the same on every
	// attempt to deliver it (an idempotency key for tools that take one).
	ID   int64
	Kind incident.NotifyKind
	// Incident is the incident as it is when the notification is delivered:
	// a sink that lagged behind catches up in one go.
	Incident incident.Incident
	// Entry is the timeline entry the notification tells of: its actor and
	// message (zero for a release).
	Entry incident.TimelineEntry
	// Entries are Entry and the entries of the notifications folded into
	// it while the sink lagged behind (changes that only said the incident
	// changed), oldest first; empty for a release.
	Entries []incident.TimelineEntry
	// Alerts are the first of the incident's alerts, for messages that
	// list them; AlertCount counts them all.
	Alerts     []incident.Alert
	AlertCount int
	// Ticket is what this sink made of the incident before; nil when
	// nothing yet.
	Ticket *incident.Ticket
	// URL links to the incident in alertbridge (its API, or its page in
	// the web UI); "" when no external URL is configured.
	URL string
	// MergedInto is, for a merge, the incident this one went into, and
	// MergedIntoURL its link.
	MergedInto    *incident.Incident
	MergedIntoURL string
}

// Sink delivers notifications to one tool.
type Sink interface {
	// Deliver tells the tool of n and returns the ticket as it now stands
	// (nil when the tool keeps none, or it is unchanged). It may return
	// the ticket with an error too: the record was made, and a later step
	// failed; the ticket is kept, and the retry gets it as n.Ticket. A failure that
	// retrying cannot fix wraps ErrPermanent; one that says how long to
	// wait is a *RetryAfterError; any other is retried with backoff. It
	// must be idempotent for one n.ID: a notification whose delivery was
	// not recorded (a crash, a lost answer) is delivered again, and a sink
	// that can look its ticket up by the incident does so before creating
	// one.
	Deliver(ctx context.Context, n Notification) (*incident.Ticket, error)
}

// ErrPermanent marks a delivery failure that retrying cannot fix: the
// notification becomes a dead letter at once.
var ErrPermanent = errors.New("permanent failure")

// Permanent wraps err as a permanent failure.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// RetryAfterError is a failure after which the tool asked to wait (a 429 or
// 503 with Retry-After).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// maxErrorBody bounds how much of an error answer a message repeats.
const maxErrorBody = 512

// CheckResponse turns a tool's HTTP answer into an error: nil for 2xx; a
// *RetryAfterError for 429 and 503 with Retry-After; a retryable error for
// other 5xx, 408 and 425; ErrUnauthorized (retried) for 401 and 403;
// ErrPermanent for any other 4xx (a field the tool refuses: retrying
// changes nothing). It reads at most a
// little of the body for the message, never the request's credentials.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	err := fmt.Errorf("%s %s: %s: %s", resp.Request.Method, redactURL(resp.Request), resp.Status, strings.TrimSpace(string(b)))
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return &RetryAfterError{After: d, Err: err}
		}
		return err
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooEarly:
		return err
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		// Credentials are fixed by an operator, not by giving up on the
		// notifications: retried, and the breaker opens.
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return Permanent(err)
}

// ErrUnauthorized marks a tool refusing the sink's credentials (401, 403).
// It is retried until the notification's maximum age: an operator fixes
// the credentials, and what waited goes out.
var ErrUnauthorized = errors.New("credentials refused")

// redactURL is the request's URL without its query (which may carry a
// key) or user info.
func redactURL(r *http.Request) string {
	if r == nil || r.URL == nil {
		return ""
	}
	u := *r.URL
	u.RawQuery, u.User = "", nil
	return u.String()
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Data is what message templates see of n.
func (n Notification) Data() message.Data {
	d := message.Data{Kind: string(n.Kind), Incident: message.IncidentOf(n.Incident, n.URL), AlertCount: n.AlertCount}
	for _, e := range n.Entries {
		d.Entries = append(d.Entries, message.EntryOf(e))
	}
	for _, a := range n.Alerts {
		d.Alerts = append(d.Alerts, message.AlertOf(a))
	}
	if n.MergedInto != nil {
		m := message.IncidentOf(*n.MergedInto, n.MergedIntoURL)
		d.MergedInto = &m
	}
	return d
}
