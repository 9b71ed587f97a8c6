package opsgenie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/keyed"
)

// Opsgenie's limits on an alert's fields, in characters.
const (
	maxMessage     = 130
	maxDescription = 15000
	maxNote        = 25000
	maxDetail      = 8000
)

// errNoAlert is a 404 of a request naming an alert by its alias: no alert
// has it (never created, or deleted).
var errNoAlert = errors.New("no alert with that alias")

// createRequest is the body of POST /v2/alerts.
type createRequest struct {
	Message     string            `json:"message"`
	Alias       string            `json:"alias"`
	Description string            `json:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
	Entity      string            `json:"entity,omitempty"`
	Source      string            `json:"source"`
	Priority    string            `json:"priority"`
	User        string            `json:"user"`
	Note        string            `json:"note,omitempty"`
}

// actionRequest is the body of an acknowledge, a close or a note.
type actionRequest struct {
	User   string `json:"user"`
	Source string `json:"source"`
	Note   string `json:"note,omitempty"`
}

// create posts the alert of n with note.
func (s *Sink) create(ctx context.Context, n sink.Notification, t *incident.Ticket, alias, note string) error {
	inc := n.Incident
	msg, err := s.o.Message.Render(n.Data())
	if err != nil {
		return sink.Permanent(fmt.Errorf("render message: %w", err))
	}
	if msg == "" {
		msg = "alertbridge incident #" + strconv.FormatInt(inc.ID, 10)
	}
	body := createRequest{Message: keyed.Truncate(msg, maxMessage), Alias: alias, Description: description(n, t),
		Tags: s.o.Tags, Details: detailsOf(n, t), Entity: inc.Service, Source: Source, Priority: priorityOf(inc.Priority),
		User: Source, Note: note}
	err = s.call(ctx, http.MethodPost, "/v2/alerts", body)
	if errors.Is(err, errNoAlert) {
		return sink.Permanent(err) // the API is not at the URL
	}
	return err
}

// action acknowledges or closes the alert with note.
func (s *Sink) action(ctx context.Context, verb, alias, note string) error {
	return s.call(ctx, http.MethodPost, alertPath(alias, verb), actionRequest{User: Source, Source: Source, Note: note})
}

func (s *Sink) addNote(ctx context.Context, alias, note string) error {
	return s.call(ctx, http.MethodPost, alertPath(alias, "notes"), actionRequest{User: Source, Source: Source, Note: note})
}

func (s *Sink) setPriority(ctx context.Context, alias, p string) error {
	return s.call(ctx, http.MethodPut, alertPath(alias, "priority"), map[string]string{"priority": p})
}

// alertPath is the path of a request on the alert of alias.
func alertPath(alias, verb string) string {
	return "/v2/alerts/" + url.PathEscape(alias) + "/" + verb + "?identifierType=alias"
}

// call makes one request. Opsgenie answers 202 once it has queued it (it
// processes alert requests asynchronously: 202 is delivered); 404 when the
// alias names no alert (errNoAlert); 401/403 for a refused key; 422 for a
// body it refuses (permanent); 429 when throttled.
func (s *Sink) call(ctx context.Context, method, path string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return sink.Permanent(fmt.Errorf("encode %s %s: %w", method, path, err))
	}
	req, err := http.NewRequestWithContext(ctx, method, s.o.URL+path, bytes.NewReader(body))
	if err != nil {
		return sink.Permanent(fmt.Errorf("%s %s: %w", method, path, err))
	}
	req.Header.Set("Authorization", "GenieKey "+s.o.APIKey.Reveal())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.o.UserAgent)
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("%s %s: %w", method, path, errNoAlert)
	}
	err = sink.CheckResponse(resp)
	var ra *sink.RetryAfterError
	if resp.StatusCode == http.StatusTooManyRequests && !errors.As(err, &ra) {
		return &sink.RetryAfterError{After: throttledFor(resp.Header), Err: err}
	}
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
	return nil
}

// throttledFor is how long a 429 without Retry-After parks the sink: the
// period of the limit Opsgenie says it hit (X-RateLimit-Period-In-Sec),
// else RateLimitPause.
func throttledFor(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("X-RateLimit-Period-In-Sec")); err == nil && s > 0 && s <= 3600 {
		return time.Duration(s) * time.Second
	}
	return RateLimitPause
}

// noteOf is the note telling n's timeline entries, oldest first; a merge
// names the incident it went into first.
func noteOf(n sink.Notification) string {
	var b strings.Builder
	if m := n.MergedInto; m != nil {
		fmt.Fprintf(&b, "Merged into alertbridge incident #%d: %s", m.ID, m.Title)
		if n.MergedIntoURL != "" {
			b.WriteString(" " + n.MergedIntoURL)
		}
		b.WriteString("\n")
	}
	for _, e := range n.Entries {
		if e.Message == "" && e.Kind == "" {
			continue
		}
		if k, ok := incident.NotifyKindOf(e.Kind); ok && k == incident.NotifyKnownError {
			fmt.Fprintf(&b, "KNOWN ERROR. Workaround: %s (%s)\n", e.Message, e.Actor)
			continue
		}
		fmt.Fprintf(&b, "[%s] %s", e.Kind, e.Actor)
		if e.OnBehalfOf != "" {
			fmt.Fprintf(&b, " (%s)", e.OnBehalfOf)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		b.WriteString("\n")
	}
	return keyed.Truncate(strings.TrimSpace(b.String()), maxNote)
}

// description is the alert's description: the workaround of a known error
// first, the incident's summary, service and owner, and its link.
func description(n sink.Notification, t *incident.Ticket) string {
	inc := n.Incident
	var b strings.Builder
	if w := t.Data[keyed.DataWorkaround]; w != "" {
		fmt.Fprintf(&b, "KNOWN ERROR. Workaround: %s\n\n", w)
	}
	if inc.Summary != "" {
		b.WriteString(inc.Summary + "\n\n")
	}
	for _, f := range [][2]string{{"Service", inc.Service}, {"Owner", inc.Owner}, {"Rule", inc.Rule}} {
		if f[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
		}
	}
	fmt.Fprintf(&b, "Alerts: %d\nalertbridge incident #%d", n.AlertCount, inc.ID)
	if n.URL != "" {
		b.WriteString(" " + n.URL)
	}
	return keyed.Truncate(b.String(), maxDescription)
}

// detailsOf are the alert's details (custom properties).
func detailsOf(n sink.Notification, t *incident.Ticket) map[string]string {
	inc := n.Incident
	d := map[string]string{"incident_id": strconv.FormatInt(inc.ID, 10), "priority": priorityOf(inc.Priority),
		"state": string(inc.State), "alert_count": strconv.Itoa(n.AlertCount)}
	for k, v := range map[string]string{"service": inc.Service, "owner": inc.Owner, "impact": string(inc.Impact),
		"urgency": string(inc.Urgency), "rule": inc.Rule, "url": n.URL, "workaround": t.Data[keyed.DataWorkaround]} {
		if v != "" {
			d[k] = keyed.Truncate(v, maxDetail)
		}
	}
	return d
}
