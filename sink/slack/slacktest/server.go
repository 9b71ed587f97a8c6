// Package slacktest is a fake of the Slack Web API for tests, in the way
// net/http/httptest fakes a server: chat.postMessage, chat.update,
// chat.getPermalink, conversations.history and conversations.replies
// answer as Slack documents them (HTTP 200 with {"ok": false, "error":
// "…"} for refusals, bearer-token auth, message metadata returned only
// with include_all_metadata, Block Kit limits enforced as invalid_blocks),
// with the state a test asserts on (the channel's messages and threads)
// and the failures a test injects (429 with Retry-After, 5xx, ok:false
// errors, a stall until the client gives up, a response lost after the
// message was posted). It also plays Slack's side of interactivity: a
// signed block_actions request for a button press, and the response_url
// that request carries.
//
// It imports nothing of alertbridge, so that the sink's own tests and the
// app's can both use it, and its signature is computed independently of
// the sink's verification.
package slacktest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is a message in a fake channel: a top-level message, or a reply
// in a thread (ThreadTS is its parent's TS).
type Message struct {
	TS       string
	ThreadTS string
	Text     string
	Blocks   []json.RawMessage
	Metadata *Metadata
	// Updates counts the chat.update calls that changed it.
	Updates int
}

// Metadata is a message's metadata, as Slack keeps it.
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// Call is one Web API call the fake received.
type Call struct {
	Method string
	Args   map[string]any
}

// Fault is a failure injected into the next call of a method.
type Fault struct {
	// Method is the Web API method it applies to ("" any).
	Method string
	// Skip lets that many matching calls through first.
	Skip int
	// Status, Header and Body answer instead of the API (a 429 with
	// Retry-After, a 503, an HTML error page).
	Status int
	Header http.Header
	Body   string
	// Error answers HTTP 200 {"ok": false, "error": Error}.
	Error string
	// AfterApply carries the call out first, then fails as said: the
	// message exists though the client hears of a failure.
	AfterApply bool
	// Lose closes the connection without an answer (after the call was
	// carried out, with AfterApply).
	Lose bool
	// Stall holds the request until the client gives up.
	Stall bool
}

// Response is one request Slack received on a response_url.
type Response struct {
	ID   int
	Body map[string]any
}

type channel struct {
	id, name   string
	archived   bool
	notMember  bool
	messages   []*Message // in order of ts
	deletedTSs map[string]bool
}

// Server is the fake Slack.
type Server struct {
	*httptest.Server
	// Token is the bot token it accepts.
	Token string
	// Now is Slack's clock: a message's ts is when it was posted (default
	// time.Now; set it before the first call).
	Now func() time.Time

	mu        sync.Mutex
	channels  map[string]*channel
	nextTS    int64 // the last ts, in microseconds
	calls     []Call
	faults    []Fault
	responses []Response
	nextResp  int
	changed   chan struct{}
}

// New starts a fake Slack accepting token; the test's cleanup closes it.
func New(t testing.TB, token string) *Server {
	s := &Server{Token: token, Now: time.Now, channels: map[string]*channel{}, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("POST /response/{id}", s.serveResponse)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// APIURL is the base URL of the Web API (the sink's api_url).
func (s *Server) APIURL() string { return s.URL + "/api/" }

// AddChannel creates a channel the bot is a member of.
func (s *Server) AddChannel(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[id] = &channel{id: id, name: name, deletedTSs: map[string]bool{}}
}

// Archive archives a channel.
func (s *Server) Archive(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[id].archived = true
}

// Kick removes the bot from a channel.
func (s *Server) Kick(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[id].notMember = true
}

// Fail queues a fault for the next call of f.Method.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Messages returns copies of a channel's top-level messages, oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.channels[channelID].messages {
		if m.ThreadTS == "" {
			out = append(out, *m)
		}
	}
	return out
}

// Replies returns copies of the replies in a message's thread, oldest
// first.
func (s *Server) Replies(channelID, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.channels[channelID].messages {
		if m.ThreadTS == ts {
			out = append(out, *m)
		}
	}
	return out
}

// Delete deletes a message, as a user with the rights may.
func (s *Server) Delete(channelID, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	for i, m := range c.messages {
		if m.TS == ts {
			c.messages = append(c.messages[:i], c.messages[i+1:]...)
			c.deletedTSs[ts] = true
			return
		}
	}
}

// Calls returns the calls of a method received so far ("" all).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Responses returns the requests received on response_urls.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

// WaitFor blocks until cond, checked after each request the fake
// receives, holds, or ctx ends; it reports whether cond held.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) bool {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return cond()
		}
	}
}

// signal wakes WaitFor; s.mu is held.
func (s *Server) signal() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) takeFault(method string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method == "" || f.Method == method {
			if f.Skip > 0 {
				s.faults[i].Skip--
				return nil
			}
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return &f
		}
	}
	return nil
}

// args reads a call's arguments as Slack does: the query, a form body or
// a JSON body.
func args(r *http.Request) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range r.URL.Query() {
		out[k] = v[0]
	}
	if r.Method != http.MethodPost {
		return out, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] = v
		}
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, v := range q {
			out[k] = v[0]
		}
	}
	return out, nil
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	a, err := args(r)
	if err != nil {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_json"})
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Args: a})
	s.signal()
	s.mu.Unlock()

	f := s.takeFault(method)
	if f != nil && !f.AfterApply {
		s.fail(w, r, f)
		return
	}
	rec := httptest.NewRecorder()
	s.apply(rec, r, method, a)
	if f != nil {
		s.fail(w, r, f)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, f *Fault) {
	switch {
	case f.Lose:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("slacktest: cannot hijack")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
	case f.Stall:
		<-r.Context().Done()
	case f.Status != 0:
		for k, v := range f.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
	default:
		for k, v := range f.Header {
			w.Header()[k] = v
		}
		writeJSON(w, map[string]any{"ok": false, "error": f.Error})
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, code string) {
	writeJSON(w, map[string]any{"ok": false, "error": code})
}

func (s *Server) apply(w http.ResponseWriter, r *http.Request, method string, a map[string]any) {
	auth := r.Header.Get("Authorization")
	if tok, _ := a["token"].(string); auth == "" && tok == "" {
		refuse(w, "not_authed")
		return
	}
	if auth != "Bearer "+s.Token {
		refuse(w, "invalid_auth")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.signal()
	switch method {
	case "chat.postMessage":
		s.postMessage(w, a)
	case "chat.update":
		s.update(w, a)
	case "chat.getPermalink":
		s.permalink(w, a)
	case "conversations.history":
		s.history(w, a)
	case "conversations.replies":
		s.replies(w, a)
	default:
		refuse(w, "unknown_method")
	}
}

// lookup finds a channel by ID, or (when byName) by its #name.
func (s *Server) lookup(w http.ResponseWriter, a map[string]any, byName bool) *channel {
	id, _ := a["channel"].(string)
	c := s.channels[id]
	if c == nil && byName {
		for _, ch := range s.channels {
			if "#"+ch.name == id || ch.name == id {
				c = ch
			}
		}
	}
	if c == nil {
		refuse(w, "channel_not_found")
	}
	return c
}

// message reads text, blocks and metadata and checks them as Slack does;
// it answers the refusal and returns false when they are not valid.
func message(w http.ResponseWriter, a map[string]any) (text string, blocks []json.RawMessage, md *Metadata, ok bool) {
	text, _ = a["text"].(string)
	if raw, set := a["blocks"]; set {
		b, err := json.Marshal(raw)
		if s, isString := raw.(string); isString {
			b, err = []byte(s), nil
		}
		if err != nil || json.Unmarshal(b, &blocks) != nil {
			refuse(w, "invalid_blocks_format")
			return "", nil, nil, false
		}
		if reason := CheckBlocks(blocks); reason != "" {
			refuse(w, "invalid_blocks")
			return "", nil, nil, false
		}
	}
	if text == "" && len(blocks) == 0 {
		refuse(w, "no_text")
		return "", nil, nil, false
	}
	if len(text) > 40000 {
		refuse(w, "msg_too_long")
		return "", nil, nil, false
	}
	if raw, set := a["metadata"]; set {
		b, _ := json.Marshal(raw)
		if s, isString := raw.(string); isString {
			b = []byte(s)
		}
		md = &Metadata{}
		if json.Unmarshal(b, md) != nil || md.EventType == "" || md.EventPayload == nil {
			refuse(w, "invalid_metadata_format")
			return "", nil, nil, false
		}
	}
	return text, blocks, md, true
}

func (s *Server) postMessage(w http.ResponseWriter, a map[string]any) {
	c := s.lookup(w, a, true)
	if c == nil {
		return
	}
	switch {
	case c.archived:
		refuse(w, "is_archived")
		return
	case c.notMember:
		refuse(w, "not_in_channel")
		return
	}
	text, blocks, md, ok := message(w, a)
	if !ok {
		return
	}
	thread, _ := a["thread_ts"].(string)
	if thread != "" && c.find(thread) == nil {
		refuse(w, "thread_not_found")
		return
	}
	s.nextTS = max(s.nextTS+1, s.Now().UnixMicro())
	ts := fmt.Sprintf("%d.%06d", s.nextTS/1_000_000, s.nextTS%1_000_000)
	c.messages = append(c.messages, &Message{TS: ts, ThreadTS: thread, Text: text, Blocks: blocks, Metadata: md})
	writeJSON(w, map[string]any{"ok": true, "channel": c.id, "ts": ts,
		"message": map[string]any{"type": "message", "text": text, "ts": ts, "bot_id": "B0FAKE"}})
}

func (c *channel) find(ts string) *Message {
	for _, m := range c.messages {
		if m.TS == ts && m.ThreadTS == "" {
			return m
		}
	}
	return nil
}

func (s *Server) update(w http.ResponseWriter, a map[string]any) {
	c := s.lookup(w, a, false)
	if c == nil {
		return
	}
	if c.archived {
		refuse(w, "is_archived")
		return
	}
	ts, _ := a["ts"].(string)
	m := c.find(ts)
	if m == nil {
		refuse(w, "message_not_found")
		return
	}
	text, blocks, md, ok := message(w, a)
	if !ok {
		return
	}
	m.Text = text
	if blocks != nil {
		m.Blocks = blocks
	}
	if md != nil {
		m.Metadata = md
	}
	m.Updates++
	writeJSON(w, map[string]any{"ok": true, "channel": c.id, "ts": ts, "text": text})
}

func (s *Server) permalink(w http.ResponseWriter, a map[string]any) {
	c := s.lookup(w, a, false)
	if c == nil {
		return
	}
	ts, _ := a["message_ts"].(string)
	if c.find(ts) == nil {
		refuse(w, "message_not_found")
		return
	}
	writeJSON(w, map[string]any{"ok": true, "channel": c.id,
		"permalink": s.URL + "/archives/" + c.id + "/p" + strings.ReplaceAll(ts, ".", "")})
}

// tsAfter reports whether ts is after oldest ("" is the beginning).
func tsAfter(ts, oldest string) bool {
	if oldest == "" {
		return true
	}
	a, _ := strconv.ParseFloat(ts, 64)
	b, _ := strconv.ParseFloat(oldest, 64)
	return a > b
}

// page answers one page of msgs, as the history methods do.
func page(w http.ResponseWriter, a map[string]any, msgs []*Message) {
	limit := 100
	if l, ok := a["limit"].(string); ok {
		if n, err := strconv.Atoi(l); err == nil && n > 0 {
			limit = min(n, 999)
		}
	}
	start := 0
	if cur, ok := a["cursor"].(string); ok && cur != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(cur, "next:"))
		if err != nil || n < 0 || n > len(msgs) {
			refuse(w, "invalid_cursor")
			return
		}
		start = n
	}
	withMeta := a["include_all_metadata"] == "true" || a["include_all_metadata"] == "1"
	end := min(start+limit, len(msgs))
	out := []map[string]any{}
	for _, m := range msgs[start:end] {
		o := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "bot_id": "B0FAKE", "blocks": m.Blocks}
		if m.ThreadTS != "" {
			o["thread_ts"] = m.ThreadTS
		}
		if withMeta && m.Metadata != nil {
			o["metadata"] = m.Metadata
		}
		out = append(out, o)
	}
	resp := map[string]any{"ok": true, "messages": out, "has_more": end < len(msgs)}
	if end < len(msgs) {
		resp["response_metadata"] = map[string]any{"next_cursor": "next:" + strconv.Itoa(end)}
	}
	writeJSON(w, resp)
}

func (s *Server) history(w http.ResponseWriter, a map[string]any) {
	c := s.lookup(w, a, false)
	if c == nil {
		return
	}
	if c.notMember {
		refuse(w, "not_in_channel")
		return
	}
	oldest, _ := a["oldest"].(string)
	var msgs []*Message
	for i := len(c.messages) - 1; i >= 0; i-- { // newest first
		if m := c.messages[i]; m.ThreadTS == "" && tsAfter(m.TS, oldest) {
			msgs = append(msgs, m)
		}
	}
	page(w, a, msgs)
}

func (s *Server) replies(w http.ResponseWriter, a map[string]any) {
	c := s.lookup(w, a, false)
	if c == nil {
		return
	}
	ts, _ := a["ts"].(string)
	parent := c.find(ts)
	if parent == nil {
		refuse(w, "thread_not_found")
		return
	}
	oldest, _ := a["oldest"].(string)
	msgs := []*Message{parent}
	for _, m := range c.messages {
		if m.ThreadTS == ts && tsAfter(m.TS, oldest) {
			msgs = append(msgs, m)
		}
	}
	sort.SliceStable(msgs[1:], func(i, j int) bool { return msgs[1+i].TS < msgs[1+j].TS })
	page(w, a, msgs)
}

func (s *Server) serveResponse(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.responses = append(s.responses, Response{ID: id, Body: body})
	s.signal()
	s.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

// CheckBlocks checks blocks against Block Kit's documented limits; it
// returns why they are invalid, or "".
func CheckBlocks(blocks []json.RawMessage) string {
	if len(blocks) > 50 {
		return "more than 50 blocks"
	}
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type element struct {
		Type     string `json:"type"`
		Text     *text  `json:"text"`
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
		URL      string `json:"url"`
	}
	type block struct {
		Type     string            `json:"type"`
		BlockID  string            `json:"block_id"`
		Text     *text             `json:"text"`
		Fields   []text            `json:"fields"`
		Elements []json.RawMessage `json:"elements"`
	}
	ids := map[string]bool{}
	for _, raw := range blocks {
		var b block
		if err := json.Unmarshal(raw, &b); err != nil {
			return "block is not an object"
		}
		if b.BlockID != "" {
			if ids[b.BlockID] || len(b.BlockID) > 255 {
				return "duplicate or long block_id " + b.BlockID
			}
			ids[b.BlockID] = true
		}
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || b.Text.Text == "" || len([]rune(b.Text.Text)) > 150 {
				return "header needs plain_text of 1 to 150 characters"
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				return "section needs text or fields"
			}
			if b.Text != nil && (b.Text.Text == "" || len([]rune(b.Text.Text)) > 3000) {
				return "section text must be 1 to 3000 characters"
			}
			if len(b.Fields) > 10 {
				return "more than 10 fields"
			}
			for _, f := range b.Fields {
				if f.Text == "" || len([]rune(f.Text)) > 2000 {
					return "field must be 1 to 2000 characters"
				}
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				return "context needs 1 to 10 elements"
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > 25 {
				return "actions needs 1 to 25 elements"
			}
			for _, raw := range b.Elements {
				var e element
				if err := json.Unmarshal(raw, &e); err != nil || e.Type != "button" || e.Text == nil {
					return "actions element is not a button"
				}
				if len([]rune(e.Text.Text)) > 75 || len(e.Value) > 2000 || len(e.ActionID) > 255 {
					return "button over its limits"
				}
			}
		case "divider":
		default:
			return "unknown block type " + b.Type
		}
	}
	return ""
}

// User is the Slack user who presses a button.
type User struct {
	ID, Username string
}

// Press is the body of the block_actions request Slack sends when user
// presses the button actionID (with value) on a message of the channel,
// carrying the message as it is and a response_url on this fake.
func (s *Server) Press(channelID, ts string, u User, actionID, value string) []byte {
	s.mu.Lock()
	var msg map[string]any
	if m := s.channels[channelID].find(ts); m != nil {
		msg = map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "bot_id": "B0FAKE", "blocks": m.Blocks}
	}
	s.nextResp++
	resp := s.nextResp
	s.mu.Unlock()
	p := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": u.ID, "username": u.Username, "name": u.Username, "team_id": "T0FAKE"},
		"api_app_id":   "A0FAKE",
		"team":         map[string]any{"id": "T0FAKE", "domain": "fake"},
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": channelID, "is_ephemeral": false},
		"channel":      map[string]any{"id": channelID, "name": "alerts"},
		"message":      msg,
		"trigger_id":   "1.2.3",
		"response_url": s.URL + "/response/" + strconv.Itoa(resp),
		"actions": []map[string]any{{"type": "button", "action_id": actionID, "block_id": "ab_actions", "value": value,
			"action_ts": "1700000000.000001", "text": map[string]any{"type": "plain_text", "text": actionID}}},
	}
	b, _ := json.Marshal(p)
	return []byte("payload=" + url.QueryEscape(string(b)))
}

// Sign is the X-Slack-Signature of body sent at ts under the app's
// signing secret: "v0=" and the hex HMAC-SHA256 of "v0:<ts>:<body>".
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	_, _ = io.WriteString(m, "v0:"+ts+":")
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// Request is a signed interactivity request of body to url at ts (Unix
// seconds), as Slack sends it.
func Request(ctx context.Context, url, secret string, ts int64, body []byte) *http.Request {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		panic(err)
	}
	t := strconv.FormatInt(ts, 10)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", t)
	r.Header.Set("X-Slack-Signature", Sign(secret, t, body))
	return r
}
