// Package ticketing is what the sinks of ticketing tools (Jira,
// ServiceNow) share: a JSON client whose errors sink.CheckResponse
// classes, the state a record should show, and the notes of a
// notification's entries. It imports sink, sink/message and incident.
package ticketing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/message"
)

// maxAnswer bounds an answer a sink decodes; maxErrorAnswer the part of an
// error answer read for its message.
const (
	maxAnswer      = 4 << 20
	maxErrorAnswer = 8 << 10
)

// Client sends a tool's JSON requests.
type Client struct {
	HTTP      *http.Client
	UserAgent string
	// Auth sets the request's credentials.
	Auth func(*http.Request)
	// ErrorText is the tool's error answer as one line.
	ErrorText func([]byte) string
}

// Do sends one request to url, in (nil: none) as its JSON body, and hands
// a 2xx answer's body to decode (nil: the answer is dropped; never called
// for a 204). A non-2xx answer is an *Error. The request carries ctx, the
// dispatcher's per-attempt timeout.
func (c *Client) Do(ctx context.Context, method, url string, in any, decode func(io.Reader) error) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return sink.Permanent(fmt.Errorf("encode %s: %w", method, err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return sink.Permanent(err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.UserAgent)
	c.Auth(req)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return c.failure(resp)
	}
	r := io.LimitReader(resp.Body, maxAnswer)
	if decode == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, r)
		return nil
	}
	if err := decode(r); err != nil {
		// A 2xx answer we cannot read (a proxy's login page, say): the
		// tool did what it did, and the next attempt looks again.
		return fmt.Errorf("decode answer of %s %s: %w", method, resp.Request.URL.Path, err)
	}
	return nil
}

// Error is a tool's answer other than 2xx: its status and message, and
// the error sink.CheckResponse classed it as.
type Error struct {
	Status int
	// Message is the tool's error message (ErrorText of its body).
	Message string
	err     error
}

func (e *Error) Error() string { return e.err.Error() }
func (e *Error) Unwrap() error { return e.err }

// Reclass gives the error another class, keeping its status and message.
func (e *Error) Reclass(err error) *Error {
	return &Error{Status: e.Status, Message: e.Message, err: err}
}

// HasStatus reports whether err is a tool's answer with one of codes.
func HasStatus(err error, codes ...int) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Status == c {
			return true
		}
	}
	return false
}

// failure classes a non-2xx answer with sink.CheckResponse, its message
// being the tool's error text rather than its raw body. A 409 is retried
// rather than dropped: the tools answer it to an update that raced
// another, and the next attempt reads the record anew.
func (c *Client) failure(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorAnswer))
	msg := strings.TrimSpace(string(b))
	if c.ErrorText != nil {
		msg = c.ErrorText(b)
	}
	resp.Body = io.NopCloser(strings.NewReader(msg))
	err := sink.CheckResponse(resp)
	if resp.StatusCode == http.StatusConflict {
		err = fmt.Errorf("%s %s: %s: %s (retried)", resp.Request.Method, resp.Request.URL.Path, resp.Status, msg)
	}
	return &Error{Status: resp.StatusCode, Message: msg, err: err}
}

// The states a ticketing sink syncs, as its tickets' data keep them.
const (
	Open         = "open"
	Acknowledged = "acknowledged"
	Resolved     = "resolved"
)

// Wanted is the state a record should show: a merged incident is closed
// like a resolved one.
func Wanted(inc incident.Incident) string {
	switch {
	case inc.MergedInto != 0 || inc.State.Ended():
		return Resolved
	case inc.State == incident.StateAcknowledged:
		return Acknowledged
	}
	return Open
}

// Note is one entry of a notification as a note in the tool.
type Note struct {
	// EntryID is the entry's; Tag what the note begins with.
	EntryID   int64
	Tag, Text string
}

// Notes are n's entries as notes, oldest first, without the opening
// (which the record's creation tells); a merge's names the incident it
// went into.
func Notes(n sink.Notification) []Note {
	var out []Note
	for _, e := range n.Entries {
		if e.Kind == incident.TimelineOpened {
			continue
		}
		extra := ""
		if e.Kind == incident.TimelineMerged {
			extra = mergedNote(n.MergedInto, n.MergedIntoURL)
		}
		out = append(out, Note{EntryID: e.ID, Tag: message.NoteTag(e.ID), Text: message.Note(e, extra)})
	}
	return out
}

// CloneData copies a ticket's data, so that a delivery never changes the
// ticket it was given.
func CloneData(d map[string]string) map[string]string {
	out := make(map[string]string, len(d)+4)
	for k, v := range d {
		out[k] = v
	}
	return out
}

// mergedNote is the line a merged incident's note ends with: the incident
// it went into, and its link.
func mergedNote(into *incident.Incident, url string) string {
	if into == nil {
		return ""
	}
	s := "Merged into alertbridge incident #" + strconv.FormatInt(into.ID, 10)
	if into.Title != "" {
		s += ": " + into.Title
	}
	if url != "" {
		s += " " + url
	}
	return s
}
