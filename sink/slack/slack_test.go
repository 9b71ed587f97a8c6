package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/slack"
	"github.com/alertbridge/alertbridge/sink/slack/slacktest"
)

const (
	token   = "xoxb-test-token"
	channel = "C0ALERTS1"
	signing = "8f742231b10e8888abcd99yyyzzz85a5"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newFake(t *testing.T) *slacktest.Server {
	t.Helper()
	f := slacktest.New(t, token)
	f.Now = func() time.Time { return t0.Add(time.Hour) }
	f.AddChannel(channel, "alerts")
	return f
}

func newSink(t *testing.T, f *slacktest.Server, mod func(*slack.Options)) *slack.Sink {
	t.Helper()
	o := slack.Options{Name: "team-slack", APIURL: f.APIURL(), Token: secret.New(token), Channel: channel,
		ThreadReplies: true, SigningSecret: secret.New(signing)}
	if mod != nil {
		mod(&o)
	}
	s, err := slack.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// start is a fake Slack and a run of a sink on it.
func start(t *testing.T, mod func(*slack.Options)) (*slacktest.Server, *run) {
	t.Helper()
	f := newFake(t)
	return f, &run{t: t, s: newSink(t, f, mod)}
}

func openIncident(id int64) incident.Incident {
	return incident.Incident{ID: id, State: incident.StateOpen, Priority: 2, Impact: "high", Urgency: "medium",
		Title: "Checkout 5xx above 5%", Service: "checkout", Owner: "team-payments", OpenedAt: t0,
		ImpactStartedAt: t0.Add(-2 * time.Minute), AlertCount: 2, FiringCount: 2, SLA: incident.SLA{RespondBy: t0.Add(15 * time.Minute), ResolveBy: t0.Add(4 * time.Hour)}}
}

// run plays the dispatcher: it keeps the ticket Deliver returns and passes
// it back with the next notification.
type run struct {
	t      *testing.T
	s      *slack.Sink
	ticket *incident.Ticket
	nextID int64
	entry  int64
}

func (r *run) note(kind incident.NotifyKind, inc incident.Incident, entries ...incident.TimelineEntry) sink.Notification {
	r.nextID++
	for i := range entries {
		if entries[i].ID == 0 {
			r.entry++
			entries[i].ID = r.entry
		}
		entries[i].IncidentID = inc.ID
	}
	n := sink.Notification{ID: r.nextID, Kind: kind, Incident: inc, Entries: entries, AlertCount: inc.AlertCount,
		URL: "https://alertbridge.example/incidents/" + itoa(inc.ID),
		Alerts: []incident.Alert{
			{Fingerprint: "a1", Status: incident.StatusFiring, Labels: map[string]string{"alertname": "HTTP5xx", "instance": "web-1"},
				Annotations: map[string]string{"summary": "5xx at 7%"}, GeneratorURL: "http://prometheus:9090/graph?g0.expr=rate(x)"},
			{Fingerprint: "a2", Status: incident.StatusFiring, Labels: map[string]string{"alertname": "HTTP5xx", "instance": "web-2"}},
		}}
	if len(entries) > 0 {
		n.Entry = entries[0]
	}
	return n
}

func (r *run) deliver(n sink.Notification) error {
	r.t.Helper()
	n.Ticket = r.ticket
	t, err := r.s.Deliver(context.Background(), n)
	if err == nil && t != nil {
		r.ticket = t
	}
	return err
}

func (r *run) mustDeliver(n sink.Notification) {
	r.t.Helper()
	if err := r.deliver(n); err != nil {
		r.t.Fatalf("deliver %s: %v", n.Kind, err)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func entry(kind incident.TimelineKind, actor, msg string, at time.Time) incident.TimelineEntry {
	return incident.TimelineEntry{Kind: kind, Actor: actor, Message: msg, At: at}
}

// parsed is a message's blocks as the test reads them.
type parsed struct {
	ids     []string
	text    map[string]string // block_id → its texts, joined
	buttons []string          // action_ids
}

func parse(t *testing.T, m slacktest.Message) parsed {
	t.Helper()
	p := parsed{text: map[string]string{}}
	for _, raw := range m.Blocks {
		var b struct {
			BlockID string `json:"block_id"`
			Text    *struct {
				Text string `json:"text"`
			} `json:"text"`
			Fields []struct {
				Text string `json:"text"`
			} `json:"fields"`
			Elements []struct {
				Text     any    `json:"text"`
				ActionID string `json:"action_id"`
			} `json:"elements"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		p.ids = append(p.ids, b.BlockID)
		var parts []string
		if b.Text != nil {
			parts = append(parts, b.Text.Text)
		}
		for _, f := range b.Fields {
			parts = append(parts, f.Text)
		}
		for _, e := range b.Elements {
			if e.ActionID != "" {
				p.buttons = append(p.buttons, e.ActionID)
			} else if s, ok := e.Text.(string); ok {
				parts = append(parts, s)
			}
		}
		p.text[b.BlockID] = strings.Join(parts, "\n")
	}
	return p
}

func only(t *testing.T, f *slacktest.Server) slacktest.Message {
	t.Helper()
	msgs := f.Messages(channel)
	if len(msgs) != 1 {
		t.Fatalf("channel has %d messages, want exactly one", len(msgs))
	}
	return msgs[0]
}

// TestLifecycle follows one incident from opened to its second resolve: one
// message, edited to show each state, and one thread reply per change.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	f, r := start(t, nil)
	inc := openIncident(7)

	steps := []struct {
		name    string
		kind    incident.NotifyKind
		change  func(*incident.Incident)
		entry   incident.TimelineEntry
		state   string
		buttons []string
		reply   string
	}{
		{"Opened", incident.NotifyOpened, func(*incident.Incident) {},
			entry(incident.TimelineOpened, "system", "", t0), "Open since", []string{slack.ActionAcknowledge, slack.ActionResolve}, ""},
		{"Acknowledged", incident.NotifyAcknowledged, func(i *incident.Incident) {
			i.State, i.AcknowledgedAt = incident.StateAcknowledged, t0.Add(5*time.Minute)
		}, entry(incident.TimelineAcknowledged, "api:alice", "", t0.Add(5*time.Minute)), "Acknowledged", []string{slack.ActionResolve},
			"*Acknowledged* by api:alice"},
		{"Comment", incident.NotifyComment, func(*incident.Incident) {},
			entry(incident.TimelineComment, "api:bob", "rolling back <v42> & watching", t0.Add(6*time.Minute)), "Acknowledged",
			[]string{slack.ActionResolve}, "> rolling back &lt;v42&gt; &amp; watching"},
		{"PriorityChanged", incident.NotifyPriorityChanged, func(i *incident.Incident) { i.Priority, i.Impact = 1, "high"; i.Urgency = "high" },
			entry(incident.TimelinePriorityChanged, "system", "P2 → P1", t0.Add(7*time.Minute)), "Acknowledged",
			[]string{slack.ActionResolve}, "*Priority changed* by system"},
		{"Resolved", incident.NotifyResolved, func(i *incident.Incident) {
			i.State, i.ResolvedAt, i.FiringCount = incident.StateResolved, t0.Add(20*time.Minute), 0
		}, entry(incident.TimelineResolved, "system", "all alerts resolved", t0.Add(20*time.Minute)), "Resolved", nil,
			"*Resolved* by system"},
		{"Reopened", incident.NotifyReopened, func(i *incident.Incident) {
			i.State, i.ResolvedAt, i.FiringCount = incident.StateOpen, time.Time{}, 1
		}, entry(incident.TimelineReopened, "system", "", t0.Add(25*time.Minute)), "Open since",
			[]string{slack.ActionAcknowledge, slack.ActionResolve}, "*Reopened* by system"},
		{"ResolvedAgain", incident.NotifyResolved, func(i *incident.Incident) {
			i.State, i.ResolvedAt, i.FiringCount = incident.StateResolved, t0.Add(40*time.Minute), 0
		}, entry(incident.TimelineResolved, "api:alice", "", t0.Add(40*time.Minute)), "Resolved", nil, "*Resolved* by api:alice"},
	}
	var ts string
	replies := 0
	for _, st := range steps {
		st.change(&inc)
		r.mustDeliver(r.note(st.kind, inc, st.entry))
		m := only(t, f)
		if ts == "" {
			ts = m.TS
		}
		if m.TS != ts || r.ticket.ExternalID != channel+"/"+ts {
			t.Fatalf("%s: message %s, ticket %q; want the first message %s kept", st.name, m.TS, r.ticket.ExternalID, ts)
		}
		p := parse(t, m)
		if !strings.Contains(p.text["ab_fields"], st.state) {
			t.Errorf("%s: fields %q, want state %q", st.name, p.text["ab_fields"], st.state)
		}
		if strings.Join(p.buttons, ",") != strings.Join(st.buttons, ",") {
			t.Errorf("%s: buttons %v, want %v", st.name, p.buttons, st.buttons)
		}
		if !strings.Contains(p.text["ab_fields"], inc.Priority.String()) {
			t.Errorf("%s: fields %q, want priority %s", st.name, p.text["ab_fields"], inc.Priority)
		}
		got := f.Replies(channel, ts)
		if st.reply != "" {
			replies++
		}
		if len(got) != replies {
			t.Fatalf("%s: %d replies, want %d", st.name, len(got), replies)
		}
		if st.reply != "" && !strings.Contains(got[len(got)-1].Text, st.reply) {
			t.Errorf("%s: reply %q, want it to contain %q", st.name, got[len(got)-1].Text, st.reply)
		}
	}
	if r.ticket.Data["channel"] != channel || r.ticket.Data["ts"] != ts || !strings.Contains(r.ticket.URL, "/archives/"+channel+"/p") {
		t.Errorf("ticket = %+v", r.ticket)
	}
}

// TestFoldedEntries posts every folded entry, oldest first, and the message
// shows the last.
func TestFoldedEntries(t *testing.T) {
	t.Parallel()
	f, r := start(t, nil)
	inc := openIncident(8)
	r.mustDeliver(r.note(incident.NotifyOpened, inc, entry(incident.TimelineOpened, "system", "", t0)))
	inc.Priority, inc.RespondBreachedAt = 1, t0.Add(16*time.Minute)
	r.mustDeliver(r.note(incident.NotifyPriorityChanged, inc,
		entry(incident.TimelinePriorityChanged, "system", "P2 → P1", t0.Add(10*time.Minute)),
		entry(incident.TimelineSLABreached, "system", "respond target missed", t0.Add(16*time.Minute)),
		entry(incident.TimelinePriorityChanged, "system", "P1 → P1 (rule)", t0.Add(17*time.Minute))))
	m := only(t, f)
	got := f.Replies(channel, m.TS)
	want := []string{"P2 → P1", "respond target missed", "P1 → P1 (rule)"}
	if len(got) != len(want) {
		t.Fatalf("%d replies, want %d", len(got), len(want))
	}
	for i, w := range want {
		if !strings.Contains(got[i].Text, w) {
			t.Errorf("reply %d = %q, want %q", i, got[i].Text, w)
		}
	}
	p := parse(t, m)
	if !strings.Contains(p.text["ab_sla"], "breached") || !strings.Contains(p.text["ab_event"], "Priority changed") {
		t.Errorf("sla %q, event %q: want the breach and the last change", p.text["ab_sla"], p.text["ab_event"])
	}
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	type class int
	const (
		retried class = iota
		permanent
		unauthorized
		retryAfter
	)
	tests := []struct {
		name  string
		fault slacktest.Fault
		setup func(*slacktest.Server)
		token string
		want  class
		after time.Duration
	}{
		{name: "HTTP401", fault: slacktest.Fault{Status: 401, Body: "unauthorized"}, want: unauthorized},
		{name: "InvalidAuth", token: "xoxb-wrong", want: unauthorized},
		{name: "TokenRevoked", fault: slacktest.Fault{Error: "token_revoked"}, want: unauthorized},
		{name: "AccountInactive", fault: slacktest.Fault{Error: "account_inactive"}, want: unauthorized},
		{name: "MissingScope", fault: slacktest.Fault{Error: "missing_scope"}, want: unauthorized},
		{name: "HTTP429", fault: slacktest.Fault{Status: 429, Header: map[string][]string{"Retry-After": {"7"}}}, want: retryAfter,
			after: 7 * time.Second},
		{name: "Ratelimited", fault: slacktest.Fault{Error: "ratelimited", Header: map[string][]string{"Retry-After": {"12"}}},
			want: retryAfter, after: 12 * time.Second},
		{name: "RatelimitedNoHeader", fault: slacktest.Fault{Error: "ratelimited"}, want: retryAfter, after: 30 * time.Second},
		{name: "HTTP503RetryAfter", fault: slacktest.Fault{Status: 503, Header: map[string][]string{"Retry-After": {"3"}}},
			want: retryAfter, after: 3 * time.Second},
		{name: "HTTP500", fault: slacktest.Fault{Status: 500, Body: "oops"}, want: retried},
		{name: "InternalError", fault: slacktest.Fault{Error: "internal_error"}, want: retried},
		{name: "NotJSON", fault: slacktest.Fault{Status: 200, Body: "<html>proxy</html>"}, want: retried},
		{name: "HTTP404", fault: slacktest.Fault{Status: 404, Body: "no such path"}, want: permanent},
		{name: "HTTP409", fault: slacktest.Fault{Status: 409, Body: "conflict"}, want: permanent},
		{name: "ChannelNotFound", want: permanent},
		{name: "NotInChannel", setup: func(f *slacktest.Server) { f.Kick(channel) }, want: permanent},
		{name: "IsArchived", setup: func(f *slacktest.Server) { f.Archive(channel) }, want: permanent},
		{name: "MsgTooLong", fault: slacktest.Fault{Error: "msg_too_long"}, want: permanent},
		{name: "InvalidBlocks", fault: slacktest.Fault{Error: "invalid_blocks"}, want: permanent},
		{name: "UnknownCode", fault: slacktest.Fault{Error: "something_new"}, want: permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := slacktest.New(t, token)
			ch := channel
			if tt.name == "ChannelNotFound" {
				ch = "C0GONE999"
			}
			f.AddChannel(channel, "alerts")
			if tt.setup != nil {
				tt.setup(f)
			}
			tok := token
			if tt.token != "" {
				tok = tt.token
			}
			if tt.fault.Status != 0 || tt.fault.Error != "" {
				tt.fault.Method = "chat.postMessage"
				f.Fail(tt.fault)
			}
			s := newSink(t, f, func(o *slack.Options) { o.Token, o.Channel = secret.New(tok), ch })
			r := &run{t: t, s: s}
			err := r.deliver(r.note(incident.NotifyOpened, openIncident(1)))
			if err == nil {
				t.Fatal("delivered, want an error")
			}
			if strings.Contains(err.Error(), tok) {
				t.Errorf("error %q repeats the token", err)
			}
			var ra *sink.RetryAfterError
			isRA := errors.As(err, &ra)
			got := retried
			switch {
			case errors.Is(err, sink.ErrPermanent):
				got = permanent
			case errors.Is(err, sink.ErrUnauthorized):
				got = unauthorized
			case isRA:
				got = retryAfter
			}
			if got != tt.want {
				t.Fatalf("error %v: class %d, want %d", err, got, tt.want)
			}
			if tt.want == retryAfter && ra.After != tt.after {
				t.Errorf("retry after %s, want %s", ra.After, tt.after)
			}
			if n := len(f.Messages(channel)); n != 0 {
				t.Errorf("%d messages after a refused post, want none", n)
			}
		})
	}
}

func secretZero() secret.Value { return secret.Value{} }
