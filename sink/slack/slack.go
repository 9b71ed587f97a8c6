package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/message"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// The metadata event types of our messages: the incident's message, and
// each thread reply's timeline entry.
const (
	EventIncident = "alertbridge_incident"
	EventEntry    = "alertbridge_entry"
)

// Look-up bounds: how far back, and how many messages, the sink reads to
// find a message a lost answer hid from it.
const (
	lookupMargin = 15 * time.Minute // clock skew between us and Slack
	// repliesMargin is wider: an entry's time may be an alert's own clock.
	repliesMargin  = time.Hour
	lookupPageSize = 200
	lookupPages    = 5
	repliesPages   = 3
)

// defaultTitle is the header when no template is configured.
const defaultTitle = `[{{ .Incident.Priority }}] {{ .Incident.Title }}`

// Options configures a Slack sink.
type Options struct {
	// Name is the sink's name: it marks our messages' metadata, so that two
	// sinks posting to one channel never adopt each other's messages.
	Name string
	// APIURL is the Web API's base (default DefaultAPIURL).
	APIURL string
	// Token is the bot token (xoxb-…), sent as Authorization: Bearer.
	Token secret.Value
	// Channel is the channel's ID (C…, G…); a #name works for posting,
	// but the look-up before posting needs the ID, which the sink then
	// only learns from its first post.
	Channel string
	// ThreadReplies posts timeline entries as replies in the message's
	// thread.
	ThreadReplies bool
	// Title renders the message's header (default "[P2] title").
	Title *message.Template
	// SigningSecret verifies interactivity requests; zero: no buttons and
	// no callbacks.
	SigningSecret secret.Value
	// MaxSkew bounds how far a request's signed timestamp may be from now
	// (default 5m).
	MaxSkew time.Duration
	// CallbackTimeout bounds the message update after a button press
	// (default 10s).
	CallbackTimeout time.Duration
	UserAgent       string
	// Client makes the requests (default a client without a timeout: each
	// attempt's context bounds it).
	Client *http.Client
	Logger *slog.Logger
}

// Sink keeps one Slack message per incident.
type Sink struct {
	o     Options
	api   *client
	title *message.Template
	log   *slog.Logger
	// channelID is the configured channel's ID, as Slack answered it.
	channelID atomic.Pointer[string]
	// updates are the message updates callbacks started.
	updates sync.WaitGroup
}

// New returns a Slack sink.
func New(o Options) (*Sink, error) {
	if o.Channel == "" {
		return nil, errors.New("slack: no channel")
	}
	if o.Token.IsZero() {
		return nil, errors.New("slack: no token")
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(o.APIURL, "/") {
		o.APIURL += "/"
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = 5 * time.Minute
	}
	if o.CallbackTimeout <= 0 {
		o.CallbackTimeout = 10 * time.Second
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
	s := &Sink{o: o, title: o.Title, log: o.Logger.With("component", "slack", "sink", o.Name),
		api: &client{base: o.APIURL, token: o.Token, ua: o.UserAgent, http: o.Client}}
	if s.title == nil {
		s.title = message.MustCompile("title", defaultTitle)
	}
	if isChannelID(o.Channel) {
		id := o.Channel
		s.channelID.Store(&id)
	}
	return s, nil
}

var channelIDRE = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)

func isChannelID(s string) bool { return channelIDRE.MatchString(s) }

// ref names one message: its channel's ID and its ts.
type ref struct{ channel, ts string }

func refOf(t *incident.Ticket) (ref, bool) {
	if t == nil {
		return ref{}, false
	}
	r := ref{channel: t.Data["channel"], ts: t.Data["ts"]}
	if r.channel == "" || r.ts == "" {
		c, ts, ok := strings.Cut(t.ExternalID, "/")
		if !ok {
			return ref{}, false
		}
		r = ref{channel: c, ts: ts}
	}
	return r, r.channel != "" && r.ts != ""
}

// chatMessage is the body of chat.postMessage and chat.update.
type chatMessage struct {
	Channel     string            `json:"channel"`
	TS          string            `json:"ts,omitempty"`
	ThreadTS    string            `json:"thread_ts,omitempty"`
	Text        string            `json:"text"`
	Blocks      []json.RawMessage `json:"blocks,omitempty"`
	Metadata    *metadata         `json:"metadata,omitempty"`
	UnfurlLinks *bool             `json:"unfurl_links,omitempty"`
	UnfurlMedia *bool             `json:"unfurl_media,omitempty"`
}

// metadata is a message's metadata; the payload names the sink and the
// incident (and, for a reply, the timeline entry).
type metadata struct {
	EventType    string  `json:"event_type"`
	EventPayload payload `json:"event_payload"`
}

type payload struct {
	Sink       string `json:"sink"`
	IncidentID int64  `json:"incident_id"`
	EntryID    int64  `json:"entry_id,omitempty"`
}

func (s *Sink) incidentMetadata(id int64) *metadata {
	return &metadata{EventType: EventIncident, EventPayload: payload{Sink: s.o.Name, IncidentID: id}}
}

var no = new(bool)

type postAnswer struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Deliver makes the incident's message show the incident as it is now,
// creating it (after looking for one a lost answer hid) when there is
// none, then posts n's timeline entries in its thread.
func (s *Sink) Deliver(ctx context.Context, n sink.Notification) (*incident.Ticket, error) {
	data := map[string]string{}
	if n.Ticket != nil {
		for k, v := range n.Ticket.Data {
			data[k] = v
		}
	}
	for _, e := range n.Entries {
		if e.Kind == incident.TimelineWorkaround && e.Message != "" {
			data["workaround"] = truncate(e.Message, maxWorkaround)
		}
	}
	v, err := s.view(n, data["workaround"])
	if err != nil {
		return nil, err
	}
	msg := chatMessage{Text: v.fallback(), Blocks: raw(v.blocks()), Metadata: s.incidentMetadata(n.Incident.ID)}

	r, have := refOf(n.Ticket)
	fresh := false
	if have {
		err := s.update(ctx, r, msg)
		switch {
		case isCode(err, codeMessageNotFound):
			// Someone deleted the message: the incident gets a new one.
			s.log.Info("message deleted, posting anew", "incident_id", n.Incident.ID)
			have = false
			delete(data, "url")
		case err != nil:
			return nil, err
		}
	}
	if !have {
		found, ok, err := s.find(ctx, n.Incident)
		if err != nil {
			return nil, fmt.Errorf("look for the incident's message: %w", err)
		}
		if ok {
			r = found
			if err := s.update(ctx, r, msg); err != nil {
				return nil, err
			}
		} else {
			msg.Channel, msg.UnfurlLinks, msg.UnfurlMedia = s.o.Channel, no, no
			var a postAnswer
			if err := s.api.post(ctx, "chat.postMessage", msg, &a); err != nil {
				return nil, err
			}
			r, fresh = ref{channel: a.Channel, ts: a.TS}, true
			s.learn(a.Channel)
		}
	}
	data["channel"], data["ts"] = r.channel, r.ts
	t := &incident.Ticket{ExternalID: r.channel + "/" + r.ts, URL: data["url"], Data: data}
	if t.URL == "" {
		t.URL = s.permalink(ctx, r)
		data["url"] = t.URL
	}
	if s.o.ThreadReplies {
		if err := s.reply(ctx, r, n, fresh); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// view is what the message shows of n.
func (s *Sink) view(n sink.Notification, workaround string) (view, error) {
	title, err := s.title.Render(n.Data())
	if err != nil {
		return view{}, sink.Permanent(fmt.Errorf("render title: %w", err))
	}
	if title == "" {
		title = "Incident #" + strconv.FormatInt(n.Incident.ID, 10)
	}
	v := view{Inc: n.Incident, Title: title, URL: n.URL, Alerts: n.Alerts, AlertCount: n.AlertCount,
		Workaround: workaround, MergedInto: n.MergedInto, MergedIntoURL: n.MergedIntoURL,
		Buttons: !s.o.SigningSecret.IsZero()}
	if k := len(n.Entries); k > 0 {
		v.Event = eventLine(n.Entries[k-1])
	}
	return v, nil
}

func (s *Sink) update(ctx context.Context, r ref, msg chatMessage) error {
	msg.Channel, msg.TS = r.channel, r.ts
	var a postAnswer
	return s.api.post(ctx, "chat.update", msg, &a)
}

func (s *Sink) learn(channelID string) {
	if channelID != "" && s.channelID.Load() == nil {
		s.channelID.Store(&channelID)
	}
}

// permalink asks Slack for the message's link; "" when it cannot say now
// (a later delivery asks again).
func (s *Sink) permalink(ctx context.Context, r ref) string {
	var a struct {
		Permalink string `json:"permalink"`
	}
	if err := s.api.get(ctx, "chat.getPermalink", url.Values{"channel": {r.channel}, "message_ts": {r.ts}}, &a); err != nil {
		s.log.Debug("no permalink", "err", err)
		return ""
	}
	return a.Permalink
}

// historyMessage is a message as conversations.history and
// conversations.replies return it.
type historyMessage struct {
	TS       string `json:"ts"`
	Metadata *struct {
		EventType    string          `json:"event_type"`
		EventPayload json.RawMessage `json:"event_payload"`
	} `json:"metadata"`
}

type historyAnswer struct {
	answer
	Messages []historyMessage `json:"messages"`
	HasMore  bool             `json:"has_more"`
}

// ours reads a message's metadata: whether it is this sink's of the event
// type, and its payload.
func (s *Sink) ours(m historyMessage, eventType string) (payload, bool) {
	if m.Metadata == nil || m.Metadata.EventType != eventType {
		return payload{}, false
	}
	var p struct {
		Sink       string      `json:"sink"`
		IncidentID json.Number `json:"incident_id"`
		EntryID    json.Number `json:"entry_id"`
	}
	if err := json.Unmarshal(m.Metadata.EventPayload, &p); err != nil || p.Sink != s.o.Name {
		return payload{}, false
	}
	id, err := p.IncidentID.Int64()
	if err != nil {
		return payload{}, false
	}
	entry, _ := p.EntryID.Int64()
	return payload{Sink: p.Sink, IncidentID: id, EntryID: entry}, true
}

// find looks back in the channel for the incident's message: one whose
// post succeeded though its answer was lost. It reads what was posted
// since the incident opened (less a margin), at most lookupPages pages.
func (s *Sink) find(ctx context.Context, inc incident.Incident) (ref, bool, error) {
	p := s.channelID.Load()
	if p == nil {
		// A #name: conversations.history needs the ID, which the first post
		// tells. Until then nothing can be looked up.
		s.log.Warn("cannot look up before posting: configure the channel's ID", "incident_id", inc.ID)
		return ref{}, false, nil
	}
	q := url.Values{"channel": {*p}, "include_all_metadata": {"true"}, "limit": {strconv.Itoa(lookupPageSize)}}
	if !inc.OpenedAt.IsZero() {
		q.Set("oldest", strconv.FormatInt(inc.OpenedAt.Add(-lookupMargin).Unix(), 10))
	}
	var found ref
	err := s.scan(ctx, "conversations.history", q, lookupPages, func(m historyMessage) {
		if pl, ok := s.ours(m, EventIncident); ok && pl.IncidentID == inc.ID {
			found = ref{channel: *p, ts: m.TS} // newest first: the last seen is the oldest
		}
	})
	if err != nil {
		return ref{}, false, err
	}
	return found, found.ts != "", nil
}

// reply posts n's entries in the message's thread, oldest first. Unless
// the message was just posted, it first reads the thread for replies of
// the same entries, so that a redelivery does not post one twice.
func (s *Sink) reply(ctx context.Context, r ref, n sink.Notification, fresh bool) error {
	var todo []incident.TimelineEntry
	for _, e := range n.Entries {
		if e.Kind == incident.TimelineOpened {
			continue // the message itself tells of it
		}
		todo = append(todo, e)
	}
	if len(todo) == 0 {
		return nil
	}
	posted := map[int64]bool{}
	if !fresh {
		var err error
		if posted, err = s.posted(ctx, r, n.Incident.ID, todo[0].At); err != nil {
			return fmt.Errorf("read the thread: %w", err)
		}
	}
	merged := mergedRef{url: n.MergedIntoURL}
	if n.MergedInto != nil {
		merged.id = n.MergedInto.ID
	}
	for _, e := range todo {
		if e.ID != 0 && posted[e.ID] {
			continue
		}
		msg := chatMessage{Channel: r.channel, ThreadTS: r.ts, Text: replyText(e, merged), UnfurlLinks: no, UnfurlMedia: no,
			Metadata: &metadata{EventType: EventEntry, EventPayload: payload{Sink: s.o.Name, IncidentID: n.Incident.ID, EntryID: e.ID}}}
		if err := s.api.post(ctx, "chat.postMessage", msg, nil); err != nil {
			return err
		}
	}
	return nil
}

// posted returns the entries already replied in the thread since since
// (less a margin for clock skew).
func (s *Sink) posted(ctx context.Context, r ref, incidentID int64, since time.Time) (map[int64]bool, error) {
	q := url.Values{"channel": {r.channel}, "ts": {r.ts}, "include_all_metadata": {"true"},
		"limit": {strconv.Itoa(lookupPageSize)}}
	if !since.IsZero() {
		q.Set("oldest", strconv.FormatInt(since.Add(-repliesMargin).Unix(), 10))
	}
	out := map[int64]bool{}
	err := s.scan(ctx, "conversations.replies", q, repliesPages, func(m historyMessage) {
		if pl, ok := s.ours(m, EventEntry); ok && pl.IncidentID == incidentID && pl.EntryID != 0 {
			out[pl.EntryID] = true
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scan reads up to pages pages of a history method's messages.
func (s *Sink) scan(ctx context.Context, method string, q url.Values, pages int, fn func(historyMessage)) error {
	for range pages {
		var a historyAnswer
		if err := s.api.get(ctx, method, q, &a); err != nil {
			return err
		}
		for _, m := range a.Messages {
			fn(m)
		}
		if !a.HasMore || a.ResponseMetadata.NextCursor == "" {
			return nil
		}
		q.Set("cursor", a.ResponseMetadata.NextCursor)
	}
	return nil
}
