package servicenow

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/message"
)

// CallbackBody is what the business rule posts to
// /ingest/callbacks/<sink> (docs/sinks.md has an example rule). Every
// member is a string; state, work_note and close_notes are "" when they
// did not change.
type CallbackBody struct {
	// CorrelationID is the record's correlation_id: alertbridge-<id> for
	// the records the sink made; any other is not alertbridge's.
	CorrelationID string `json:"correlation_id"`
	// SysID and Number name the record.
	SysID  string `json:"sys_id"`
	Number string `json:"number"`
	// State is the record's new state code when it changed: 6 (Resolved)
	// or 7 (Closed) resolve, 2 (In Progress) acknowledges.
	State string `json:"state"`
	// WorkNote is the work note just added: it becomes a comment.
	WorkNote string `json:"work_note"`
	// CloseNotes, with a resolve, is the resolve's message.
	CloseNotes string `json:"close_notes"`
	// User is who acted (the user_name).
	User string `json:"user"`
	// SysUpdatedOn is the record's sys_updated_on, "2006-01-02 15:04:05"
	// in UTC (GlideDateTime's value) or RFC 3339.
	SysUpdatedOn string `json:"sys_updated_on"`
}

// callbackWindow is how old a callback's sys_updated_on may be: an
// asynchronous REST message may wait in the instance's queue. The nonce is
// kept as long, so that a request is never taken twice.
const callbackWindow = 6 * time.Hour

// maxMessage bounds a work note taken onto the timeline.
const maxMessage = 8 << 10

// Callback authenticates the business rule's request by the shared token
// (Authorization: Bearer, or X-Alertbridge-Token; compared in constant
// time), refuses one whose sys_updated_on is more than the callback window
// old or MaxSkew ahead, and maps it: a work note comments (unless the
// sink wrote it, or the user is the sink's own), a resolved or closed
// state resolves, In Progress acknowledges. The nonce hashes the record,
// its sys_updated_on and the body.
func (s *Sink) Callback(r *http.Request, body []byte, now time.Time) (sink.Callback, error) {
	if err := s.authenticate(r); err != nil {
		return sink.Callback{}, err
	}
	var b CallbackBody
	if err := json.Unmarshal(body, &b); err != nil {
		return sink.Callback{}, fmt.Errorf("decode servicenow callback: %w", err)
	}
	if !strings.HasPrefix(b.CorrelationID, "alertbridge-") {
		return sink.Callback{}, nil // a record alertbridge did not make
	}
	if b.SysID == "" {
		return sink.Callback{}, errors.New("servicenow callback: sys_id is required")
	}
	updated, err := parseUpdated(b.SysUpdatedOn)
	if err != nil {
		return sink.Callback{}, err
	}
	skew := s.o.MaxSkew
	if updated.Before(now.Add(-callbackWindow-skew)) || updated.After(now.Add(skew)) {
		return sink.Callback{}, fmt.Errorf("%w: sys_updated_on %s too far from now", sink.ErrUnauthenticated, b.SysUpdatedOn)
	}
	actions := s.actions(b)
	if len(actions) == 0 {
		return sink.Callback{}, nil
	}
	h := sha256.New()
	for _, p := range [][]byte{[]byte(b.SysID), []byte(b.SysUpdatedOn), body} {
		h.Write(p)
		h.Write([]byte{0})
	}
	return sink.Callback{Nonce: hex.EncodeToString(h.Sum(nil)), Expires: updated.Add(callbackWindow + 2*skew),
		Actions: actions}, nil
}

// authenticate compares the request's token with the sink's, in constant
// time (as digests, so that not even the length is told).
func (s *Sink) authenticate(r *http.Request) error {
	if s.o.CallbackToken.IsZero() {
		return fmt.Errorf("%w: no callback token configured", sink.ErrUnauthenticated)
	}
	tok := r.Header.Get("X-Alertbridge-Token")
	if a := r.Header.Get("Authorization"); tok == "" && a != "" {
		scheme, rest, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return fmt.Errorf("%w: Authorization is not a bearer token", sink.ErrUnauthenticated)
		}
		tok = strings.TrimSpace(rest)
	}
	if tok == "" {
		return fmt.Errorf("%w: no token (Authorization: Bearer or X-Alertbridge-Token)", sink.ErrUnauthenticated)
	}
	got, want := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(s.o.CallbackToken.Reveal()))
	if !hmac.Equal(got[:], want[:]) {
		return fmt.Errorf("%w: wrong token", sink.ErrUnauthenticated)
	}
	return nil
}

// parseUpdated reads sys_updated_on.
func parseUpdated(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, errors.New("servicenow callback: sys_updated_on is required")
	}
	if t, err := time.Parse(time.DateTime, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("servicenow callback: sys_updated_on %q is not \"2006-01-02 15:04:05\" (UTC) or RFC 3339", v)
	}
	return t, nil
}

// journalHeader is the line getJournalEntry puts before a note's text:
// "2026-03-01 12:00:00 - Jane Doe (Work notes)".
var journalHeader = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - [^\n]* \(Work notes\)\r?\n`)

// actions maps a callback to what alertbridge acts on: the note first,
// then the state.
func (s *Sink) actions(b CallbackBody) []sink.Action {
	if s.o.Username != "" && strings.EqualFold(strings.TrimSpace(b.User), s.o.Username) {
		return nil // the sink's own update, come back
	}
	name := b.Number
	if name == "" {
		name = b.SysID
	}
	var out []sink.Action
	note := strings.TrimSpace(journalHeader.ReplaceAllString(strings.TrimSpace(b.WorkNote), ""))
	if note != "" && !message.Noted(note) {
		if len(note) > maxMessage {
			note = strings.ToValidUTF8(note[:maxMessage], "") + "…"
		}
		out = append(out, sink.Action{ExternalID: b.SysID, Action: incident.ActionComment, User: b.User, Message: note})
	}
	switch strings.TrimSpace(b.State) {
	case stateResolved, stateClosed:
		msg := strings.TrimSpace(b.CloseNotes)
		if msg == "" {
			msg = name + " resolved in ServiceNow"
		}
		out = append(out, sink.Action{ExternalID: b.SysID, Action: incident.ActionResolve, User: b.User, Message: msg})
	case stateInProgress:
		out = append(out, sink.Action{ExternalID: b.SysID, Action: incident.ActionAcknowledge, User: b.User,
			Message: name + " in progress in ServiceNow"})
	}
	return out
}
