package slack_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/message"
	"github.com/alertbridge/alertbridge/sink/slack"
	"github.com/alertbridge/alertbridge/sink/slack/slacktest"
)

// TestLostAnswerFindsTheMessage: Slack posted the message but the answer
// never came (the connection dropped, or the attempt timed out after Slack
// acted); the redelivery, with no ticket, finds the message by its metadata
// and adopts it: one message, never two.
func TestLostAnswerFindsTheMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault slacktest.Fault
		ctx   func() (context.Context, context.CancelFunc)
	}{
		{"ConnectionDropped", slacktest.Fault{Method: "chat.postMessage", AfterApply: true, Lose: true}, nil},
		{"TimedOutAfterPost", slacktest.Fault{Method: "chat.postMessage", AfterApply: true, Stall: true},
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 200*time.Millisecond)
			}},
		{"HTTP500AfterPost", slacktest.Fault{Method: "chat.postMessage", AfterApply: true, Status: 500}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			// Another incident's message and another sink's message of the
			// same incident sit in the channel too: neither is adopted.
			other := &run{t: t, s: newSink(t, f, nil)}
			other.mustDeliver(other.note(incident.NotifyOpened, openIncident(99)))
			foreign := &run{t: t, s: newSink(t, f, func(o *slack.Options) { o.Name = "other-sink" })}
			foreign.mustDeliver(foreign.note(incident.NotifyOpened, openIncident(5)))

			f.Fail(tt.fault)
			r := &run{t: t, s: newSink(t, f, nil)}
			n := r.note(incident.NotifyOpened, openIncident(5), entry(incident.TimelineOpened, "system", "", t0))
			ctx, cancel := context.Background(), func() {}
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			_, err := r.s.Deliver(ctx, n)
			cancel()
			if err == nil {
				t.Fatal("delivered, want the lost answer's error")
			}
			if errors.Is(err, sink.ErrPermanent) {
				t.Fatalf("error %v is permanent; a lost answer must be retried", err)
			}
			if tt.ctx != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v, want the attempt's deadline", err)
			}
			r.mustDeliver(n) // the dispatcher's retry: no ticket yet
			var ours []slacktest.Message
			for _, m := range f.Messages(channel) {
				if m.Metadata != nil && m.Metadata.EventPayload["sink"] == "team-slack" && m.Metadata.EventPayload["incident_id"] == float64(5) {
					ours = append(ours, m)
				}
			}
			if len(ours) != 1 {
				t.Fatalf("%d messages for incident 5, want exactly one", len(ours))
			}
			if r.ticket.ExternalID != channel+"/"+ours[0].TS {
				t.Errorf("ticket %s, want the message posted before: %s", r.ticket.ExternalID, ours[0].TS)
			}
			if n := len(f.Messages(channel)); n != 3 {
				t.Errorf("%d messages in the channel, want 3 (two others and ours)", n)
			}
		})
	}
}

// TestRedeliveryPostsEachReplyOnce: the second of two replies was posted
// but its answer lost; the retry of the notification posts neither again.
func TestRedeliveryPostsEachReplyOnce(t *testing.T) {
	t.Parallel()
	f, r := start(t, nil)
	inc := openIncident(3)
	r.mustDeliver(r.note(incident.NotifyOpened, inc, entry(incident.TimelineOpened, "system", "", t0)))
	inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, t0.Add(time.Minute)
	n := r.note(incident.NotifyAcknowledged, inc,
		entry(incident.TimelineAcknowledged, "api:alice", "", t0.Add(time.Minute)),
		entry(incident.TimelineComment, "api:alice", "looking", t0.Add(2*time.Minute)))
	f.Fail(slacktest.Fault{Method: "chat.postMessage", Skip: 1, AfterApply: true, Lose: true})
	if err := r.deliver(n); err == nil {
		t.Fatal("delivered, want the lost answer's error")
	}
	r.mustDeliver(n)
	m := only(t, f)
	got := f.Replies(channel, m.TS)
	if len(got) != 2 || !strings.Contains(got[0].Text, "Acknowledged") || !strings.Contains(got[1].Text, "looking") {
		var texts []string
		for _, g := range got {
			texts = append(texts, g.Text)
		}
		t.Fatalf("replies %q, want the acknowledgement and the comment once each", texts)
	}
}

// TestDeletedMessagePostsAnew: someone deleted the message; the next
// change posts a new one, which the ticket then names.
func TestDeletedMessagePostsAnew(t *testing.T) {
	t.Parallel()
	f, r := start(t, nil)
	inc := openIncident(4)
	r.mustDeliver(r.note(incident.NotifyOpened, inc))
	first := r.ticket.ExternalID
	f.Delete(channel, only(t, f).TS)
	inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, t0.Add(time.Minute)
	r.mustDeliver(r.note(incident.NotifyAcknowledged, inc, entry(incident.TimelineAcknowledged, "api:alice", "", t0.Add(time.Minute))))
	m := only(t, f)
	if r.ticket.ExternalID == first || r.ticket.ExternalID != channel+"/"+m.TS {
		t.Fatalf("ticket %s (was %s), want the new message %s", r.ticket.ExternalID, first, m.TS)
	}
	if p := parse(t, m); !strings.Contains(p.text["ab_fields"], "Acknowledged") {
		t.Errorf("new message shows %q, want the incident as it is", p.text["ab_fields"])
	}
	if got := f.Replies(channel, m.TS); len(got) != 1 {
		t.Errorf("%d replies in the new thread, want the acknowledgement", len(got))
	}
}

// TestResolvedBeforeAnyTicket: an incident that opened and resolved while
// held gets its message in the resolved state, without buttons.
func TestResolvedBeforeAnyTicket(t *testing.T) {
	t.Parallel()
	f, r := start(t, nil)
	inc := openIncident(6)
	inc.State, inc.ResolvedAt, inc.FiringCount = incident.StateResolved, t0.Add(3*time.Minute), 0
	r.mustDeliver(r.note(incident.NotifyResolved, inc, entry(incident.TimelineResolved, "system", "", t0.Add(3*time.Minute))))
	p := parse(t, only(t, f))
	if !strings.Contains(p.text["ab_fields"], "Resolved") || len(p.buttons) != 0 {
		t.Errorf("fields %q, buttons %v: want resolved, no buttons", p.text["ab_fields"], p.buttons)
	}
}

// TestKnownErrorStaysProminent: the workaround is its own section under the
// title, and later edits keep it.
func TestKnownErrorStaysProminent(t *testing.T) {
	t.Parallel()
	f, r := start(t, nil)
	inc := openIncident(9)
	inc.ProblemID = 3
	r.mustDeliver(r.note(incident.NotifyOpened, inc))
	r.mustDeliver(r.note(incident.NotifyKnownError, inc,
		entry(incident.TimelineWorkaround, "system", "Restart the payment gateway pod", t0.Add(time.Minute))))
	inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, t0.Add(2*time.Minute)
	r.mustDeliver(r.note(incident.NotifyAcknowledged, inc, entry(incident.TimelineAcknowledged, "api:alice", "", t0.Add(2*time.Minute))))
	m := only(t, f)
	p := parse(t, m)
	if p.ids[1] != "ab_workaround" || !strings.Contains(p.text["ab_workaround"], "Restart the payment gateway pod") {
		t.Errorf("blocks %v, workaround %q: want it right under the title", p.ids, p.text["ab_workaround"])
	}
	if !strings.Contains(p.text["ab_fields"], "#3") {
		t.Errorf("fields %q, want the problem", p.text["ab_fields"])
	}
	if got := f.Replies(channel, m.TS); len(got) != 2 || !strings.Contains(got[0].Text, "Restart the payment gateway pod") {
		t.Errorf("replies %+v, want the workaround and the acknowledgement", got)
	}
}

// TestMergedSaysWhere: a merged incident's message names the incident it
// went into, with its link, and offers no buttons.
func TestMergedSaysWhere(t *testing.T) {
	t.Parallel()
	f, r := start(t, nil)
	inc := openIncident(10)
	r.mustDeliver(r.note(incident.NotifyOpened, inc))
	into := openIncident(11)
	into.Title = "Checkout down"
	inc.State, inc.MergedInto, inc.ResolvedAt = incident.StateResolved, 11, t0.Add(time.Minute)
	n := r.note(incident.NotifyMerged, inc, entry(incident.TimelineMerged, "api:alice", "same outage", t0.Add(time.Minute)))
	n.MergedInto, n.MergedIntoURL = &into, "https://alertbridge.example/incidents/11"
	r.mustDeliver(n)
	m := only(t, f)
	p := parse(t, m)
	if !strings.Contains(p.text["ab_merged"], "<https://alertbridge.example/incidents/11|#11 Checkout down>") || len(p.buttons) != 0 {
		t.Errorf("merged %q, buttons %v", p.text["ab_merged"], p.buttons)
	}
	if got := f.Replies(channel, m.TS); len(got) != 1 || !strings.Contains(got[0].Text, "into <https://alertbridge.example/incidents/11|#11>") {
		t.Errorf("replies %+v, want the merge naming #11", got)
	}
}

// TestContent checks what the message says: SLA clock in Slack's date
// format, links, alerts, the user's text escaped, Block Kit's limits kept
// with oversized input (the fake refuses blocks over them).
func TestContent(t *testing.T) {
	t.Parallel()
	f, r := start(t, nil)
	inc := openIncident(12)
	inc.Title = "<!channel> disk & " + strings.Repeat("x", 300)
	inc.Summary = strings.Repeat("a&b ", 2000)
	inc.RespondBreachedAt = t0.Add(16 * time.Minute)
	n := r.note(incident.NotifyOpened, inc)
	for i := range 40 {
		n.Alerts = append(n.Alerts, incident.Alert{Fingerprint: "f", Status: incident.StatusFiring,
			Labels:      map[string]string{"alertname": strings.Repeat("N", 200), "instance": "i" + itoa(int64(i))},
			Annotations: map[string]string{"summary": strings.Repeat("<s>", 100)}, GeneratorURL: "http://prom/graph?x=1|2"})
	}
	n.AlertCount = 45
	r.mustDeliver(n)
	m := only(t, f)
	if reason := slacktest.CheckBlocks(m.Blocks); reason != "" {
		t.Fatalf("blocks over Block Kit's limits: %s", reason)
	}
	p := parse(t, m)
	if !strings.Contains(p.text["ab_sla"], "Respond by <!date^"+itoa(inc.RespondBy.Unix())+"^") ||
		!strings.Contains(p.text["ab_sla"], "breached") || !strings.Contains(p.text["ab_sla"], "Resolve by <!date^") {
		t.Errorf("sla %q", p.text["ab_sla"])
	}
	if !strings.Contains(p.text["ab_links"], "<https://alertbridge.example/incidents/12|Incident #12 in alertbridge>") {
		t.Errorf("links %q", p.text["ab_links"])
	}
	if !strings.Contains(p.text["ab_alerts"], "<http://prom/graph?x=1%7C2|source>") || !strings.Contains(p.text["ab_alerts"], "more") {
		t.Errorf("alerts %q: want generator links and the rest counted", p.text["ab_alerts"])
	}
	if strings.Contains(p.text["ab_summary"], "a&b") || strings.Contains(p.text["ab_alerts"], "<s>") {
		t.Error("user text not escaped for mrkdwn")
	}
	if !strings.Contains(p.text["ab_fields"], "2 firing of 2") || !strings.Contains(p.text["ab_fields"], "team-payments") {
		t.Errorf("fields %q: want alert count and owner", p.text["ab_fields"])
	}
}

// TestNoButtonsWithoutCallbacks: without a signing secret nothing could
// answer a button, so there is none.
func TestNoButtonsWithoutCallbacks(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSink(t, f, func(o *slack.Options) { o.SigningSecret = secretZero() })
	r := &run{t: t, s: s}
	r.mustDeliver(r.note(incident.NotifyOpened, openIncident(13)))
	if p := parse(t, only(t, f)); len(p.buttons) != 0 {
		t.Errorf("buttons %v without callbacks", p.buttons)
	}
}

// TestChannelByName: a #name posts; the look-up before posting needs the ID,
// which the sink learns from its first post.
func TestChannelByName(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	s := newSink(t, f, func(o *slack.Options) { o.Channel = "#alerts" })
	r := &run{t: t, s: s}
	r.mustDeliver(r.note(incident.NotifyOpened, openIncident(14)))
	if !strings.HasPrefix(r.ticket.ExternalID, channel+"/") {
		t.Fatalf("ticket %s, want the channel's ID", r.ticket.ExternalID)
	}
	if n := len(f.Calls("conversations.history")); n != 0 {
		t.Errorf("%d history calls before the ID was known", n)
	}
	r2 := &run{t: t, s: s}
	r2.mustDeliver(r2.note(incident.NotifyOpened, openIncident(15)))
	if n := len(f.Calls("conversations.history")); n != 1 {
		t.Errorf("%d history calls once the ID was learned, want 1", n)
	}
}

// TestThreadRepliesOff: with thread_replies off only the message changes.
func TestThreadRepliesOff(t *testing.T) {
	t.Parallel()
	f, r := start(t, func(o *slack.Options) { o.ThreadReplies = false })
	inc := openIncident(16)
	r.mustDeliver(r.note(incident.NotifyOpened, inc))
	r.mustDeliver(r.note(incident.NotifyComment, inc, entry(incident.TimelineComment, "api:bob", "hi", t0.Add(time.Minute))))
	m := only(t, f)
	if got := f.Replies(channel, m.TS); len(got) != 0 {
		t.Errorf("%d replies with thread_replies off", len(got))
	}
	if p := parse(t, m); !strings.Contains(p.text["ab_event"], "Comment") {
		t.Errorf("event %q, want the comment", p.text["ab_event"])
	}
}

// TestTitleTemplate renders the configured title.
func TestTitleTemplate(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	tpl, err := message.Compile("title", `{{ .Incident.Service }}: {{ .Incident.Title }} ({{ .AlertCount }})`)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{t: t, s: newSink(t, f, func(o *slack.Options) { o.Title = tpl })}
	r.mustDeliver(r.note(incident.NotifyOpened, openIncident(17)))
	m := only(t, f)
	if p := parse(t, m); p.text["ab_title"] != "checkout: Checkout 5xx above 5% (2)" {
		t.Errorf("title %q", p.text["ab_title"])
	}
	if !strings.HasPrefix(m.Text, "checkout: Checkout 5xx above 5% (2) · open") {
		t.Errorf("fallback text %q", m.Text)
	}
}
