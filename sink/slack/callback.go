package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
)

// Signature is Slack's request signature of body sent at ts (the
// X-Slack-Request-Timestamp header) under the app's signing secret: "v0="
// and the hex HMAC-SHA256 of "v0:<ts>:<body>".
func Signature(signingSecret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, signingSecret)
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// verify checks the request's signature over the raw body and its signed
// timestamp against now; it returns the signature.
func (s *Sink) verify(h http.Header, body []byte, now time.Time) (string, error) {
	if s.o.SigningSecret.IsZero() {
		return "", fmt.Errorf("slack callbacks are not configured: %w", sink.ErrUnauthenticated)
	}
	ts, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return "", fmt.Errorf("no X-Slack-Signature or X-Slack-Request-Timestamp: %w", sink.ErrUnauthenticated)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", fmt.Errorf("X-Slack-Request-Timestamp is not a Unix time: %w", sink.ErrUnauthenticated)
	}
	want := Signature([]byte(s.o.SigningSecret.Reveal()), ts, body)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return "", fmt.Errorf("wrong X-Slack-Signature: %w", sink.ErrUnauthenticated)
	}
	// After the signature, so that an unsigned request learns nothing of
	// the clock.
	if d := now.Sub(time.Unix(sec, 0)); d > s.o.MaxSkew || d < -s.o.MaxSkew {
		return "", fmt.Errorf("X-Slack-Request-Timestamp is %s from now, more than %s: %w",
			d.Round(time.Second), s.o.MaxSkew, sink.ErrUnauthenticated)
	}
	return want, nil
}

// interaction is the part of an interactivity payload the sink reads.
type interaction struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"user"`
	Container struct {
		MessageTS   string `json:"message_ts"`
		ChannelID   string `json:"channel_id"`
		IsEphemeral bool   `json:"is_ephemeral"`
	} `json:"container"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Message *struct {
		TS       string            `json:"ts"`
		Blocks   []json.RawMessage `json:"blocks"`
		Metadata *metadata         `json:"metadata"`
	} `json:"message"`
	ResponseURL string `json:"response_url"`
	Actions     []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"actions"`
}

// request is what one request of Slack carries: an interaction, or the
// Events API's URL check.
type request struct {
	Interaction *interaction
	Challenge   string
}

// decodeRequest reads a request of Slack. Interactivity sends a form with
// the JSON in "payload"; the Events API sends JSON; a slash command's SSL
// check sends ssl_check=1. Anything else carries nothing for us.
func decodeRequest(contentType string, body []byte) (request, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" {
		var ev struct {
			Type      string `json:"type"`
			Challenge string `json:"challenge"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			return request{}, fmt.Errorf("body is not JSON: %w", err)
		}
		if ev.Type == "url_verification" {
			return request{Challenge: ev.Challenge}, nil
		}
		return request{}, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return request{}, fmt.Errorf("body is not a form: %w", err)
	}
	p := form.Get("payload")
	if p == "" {
		return request{}, nil // ssl_check, a slash command: nothing for us
	}
	var in interaction
	if err := json.Unmarshal([]byte(p), &in); err != nil {
		return request{}, fmt.Errorf("payload is not JSON: %w", err)
	}
	return request{Interaction: &in}, nil
}

// user names the Slack user on the timeline: the username, else the ID.
func (in *interaction) user() string {
	for _, u := range []string{in.User.Username, in.User.Name, in.User.ID} {
		if u != "" {
			return u
		}
	}
	return ""
}

// actions are the presses of our buttons.
func (in *interaction) actions() []sink.Action {
	if in.Type != "block_actions" {
		return nil
	}
	var out []sink.Action
	for _, a := range in.Actions {
		var act incident.Action
		switch a.ActionID {
		case ActionAcknowledge:
			act = incident.ActionAcknowledge
		case ActionResolve:
			act = incident.ActionResolve
		default:
			continue
		}
		id, err := strconv.ParseInt(a.Value, 10, 64)
		if err != nil || id <= 0 {
			continue
		}
		out = append(out, sink.Action{IncidentID: id, Action: act, User: in.user()})
	}
	return out
}

// Callback authenticates a request of Slack (the v0 signature over the raw
// body, its timestamp within MaxSkew of now) and maps presses of our
// Acknowledge and Resolve buttons to actions; the nonce is the signature.
// Once they ran, Reply answers 200 at once and updates the pressed message
// in the background, since a change that came from this sink is not sent
// back to it.
func (s *Sink) Callback(r *http.Request, body []byte, now time.Time) (sink.Callback, error) {
	sig, err := s.verify(r.Header, body, now)
	if err != nil {
		return sink.Callback{}, err
	}
	req, err := decodeRequest(r.Header.Get("Content-Type"), body)
	if err != nil {
		return sink.Callback{}, err
	}
	if req.Interaction == nil {
		c := sink.Callback{}
		if req.Challenge != "" {
			challenge := req.Challenge
			c.Reply = func(w http.ResponseWriter, _ []sink.Result) {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]string{"challenge": challenge})
			}
		}
		return c, nil
	}
	in := req.Interaction
	acts := in.actions()
	if len(acts) == 0 {
		return sink.Callback{}, nil
	}
	return sink.Callback{Nonce: sig, Expires: now.Add(2 * s.o.MaxSkew), Actions: acts,
		Reply: func(w http.ResponseWriter, results []sink.Result) {
			w.WriteHeader(http.StatusOK) // Slack wants its 200 within 3 seconds
			s.afterPress(in, results, now)
		}}, nil
}

// Wait waits for the message updates that callbacks started.
func (s *Sink) Wait() { s.updates.Wait() }

// afterPress shows each outcome in Slack, in the background and bounded by
// CallbackTimeout: the pressed message is updated to the incident as it now
// is; a refusal (not ours, already so) is told to the user alone.
func (s *Sink) afterPress(in *interaction, results []sink.Result, now time.Time) {
	s.updates.Add(1)
	go func() {
		defer s.updates.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.o.CallbackTimeout)
		defer cancel()
		for _, res := range results {
			if res.Err != nil {
				s.notice(ctx, in, res)
				continue
			}
			r, msg, ok := s.pressedMessage(in, res, now)
			if !ok {
				continue
			}
			if err := s.update(ctx, r, msg); err != nil {
				s.log.Warn("message not updated after a button", "incident_id", res.Incident.ID, "err", err)
			}
		}
	}()
}

// pressedMessage is the pressed message updated to res: the blocks that
// follow the incident's state rendered afresh, the others kept as the
// message has them. ok is false when the message is not one of ours.
func (s *Sink) pressedMessage(in *interaction, res sink.Result, now time.Time) (ref, chatMessage, bool) {
	r := ref{channel: in.Container.ChannelID, ts: in.Container.MessageTS}
	if r.channel == "" {
		r.channel = in.Channel.ID
	}
	if in.Message == nil || in.Container.IsEphemeral || res.Incident.ID == 0 {
		return ref{}, chatMessage{}, false
	}
	if r.ts == "" {
		r.ts = in.Message.TS
	}
	if r.channel == "" || r.ts == "" {
		return ref{}, chatMessage{}, false
	}
	kept := map[string]json.RawMessage{}
	title := ""
	for _, b := range in.Message.Blocks {
		var h struct {
			BlockID string      `json:"block_id"`
			Text    *textObject `json:"text"`
		}
		if json.Unmarshal(b, &h) != nil || stateBlocks[h.BlockID] {
			continue
		}
		kept[h.BlockID] = b
		if h.BlockID == blockTitle && h.Text != nil {
			title = h.Text.Text
		}
	}
	if title == "" {
		return ref{}, chatMessage{}, false // not our message
	}
	inc := res.Incident
	v := view{Inc: inc, Title: title, Buttons: true, Event: "*" + label(timelineKind(res.Action.Action)) + "* by " +
		mention(in) + " · " + date(now)}
	fresh := map[string]json.RawMessage{}
	for _, b := range v.blocks() {
		if stateBlocks[b.BlockID] {
			fresh[b.BlockID] = raw([]block{b})[0]
		}
	}
	var blocks []json.RawMessage
	for _, id := range blockOrder {
		if b, ok := fresh[id]; ok {
			blocks = append(blocks, b)
		} else if b, ok := kept[id]; ok {
			blocks = append(blocks, b)
		}
	}
	md := s.incidentMetadata(inc.ID)
	if m := in.Message.Metadata; m != nil && m.EventType == EventIncident {
		md = m // another sink's message, pressed here: keep its mark
	}
	return r, chatMessage{Text: v.fallback(), Blocks: blocks, Metadata: md}, true
}

func timelineKind(a incident.Action) incident.TimelineKind {
	switch a {
	case incident.ActionAcknowledge:
		return incident.TimelineAcknowledged
	case incident.ActionResolve:
		return incident.TimelineResolved
	}
	return incident.TimelineComment
}

// mention is the user as Slack shows them (<@U…> renders as @alice).
func mention(in *interaction) string {
	if in.User.ID != "" && !strings.ContainsAny(in.User.ID, "<>|") {
		return "<@" + in.User.ID + ">"
	}
	return escape(in.user())
}

// notice tells the pressing user alone why nothing changed, through the
// request's response_url.
func (s *Sink) notice(ctx context.Context, in *interaction, res sink.Result) {
	u, err := url.Parse(in.ResponseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return
	}
	id := "#" + strconv.FormatInt(res.Action.IncidentID, 10)
	text := "alertbridge could not " + string(res.Action.Action) + " incident " + id + "."
	switch {
	case errors.Is(res.Err, incident.ErrNotFound):
		text = "alertbridge does not know incident " + id + "."
	case errors.Is(res.Err, incident.ErrConflict):
		text = "Incident " + id + " cannot be " + pastTense(res.Action.Action) + " now: it is already so, or resolved."
	}
	body, _ := json.Marshal(map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.o.UserAgent)
	resp, err := s.o.Client.Do(req)
	if err != nil {
		s.log.Warn("notice not sent after a button", "err", err)
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
}

func pastTense(a incident.Action) string {
	switch a {
	case incident.ActionAcknowledge:
		return "acknowledged"
	case incident.ActionResolve:
		return "resolved"
	}
	return string(a)
}
