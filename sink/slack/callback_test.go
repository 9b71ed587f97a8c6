package slack_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/slack"
	"github.com/alertbridge/alertbridge/sink/slack/slacktest"
)

var now = t0.Add(time.Hour)

// signed is the request Slack sends with body at ts.
func signed(body []byte, ts time.Time) *http.Request {
	return slacktest.Request(context.Background(), "http://alertbridge/ingest/callbacks/team-slack", signing, ts.Unix(), body)
}

// posted delivers an open incident and returns the fake and the message.
func posted(t *testing.T, mod func(*slack.Options)) (*slacktest.Server, *slack.Sink, slacktest.Message) {
	t.Helper()
	f := newFake(t)
	s := newSink(t, f, mod)
	r := &run{t: t, s: s}
	r.mustDeliver(r.note(incident.NotifyOpened, openIncident(21)))
	return f, s, only(t, f)
}

func TestCallbackActions(t *testing.T) {
	t.Parallel()
	f, s, m := posted(t, nil)
	alice := slacktest.User{ID: "U0ALICE", Username: "alice"}
	tests := []struct {
		name string
		body []byte
		want []sink.Action
	}{
		{"Acknowledge", f.Press(channel, m.TS, alice, slack.ActionAcknowledge, "21"),
			[]sink.Action{{IncidentID: 21, Action: incident.ActionAcknowledge, User: "alice"}}},
		{"Resolve", f.Press(channel, m.TS, alice, slack.ActionResolve, "21"),
			[]sink.Action{{IncidentID: 21, Action: incident.ActionResolve, User: "alice"}}},
		{"UserWithoutUsername", f.Press(channel, m.TS, slacktest.User{ID: "U0BOB"}, slack.ActionAcknowledge, "21"),
			[]sink.Action{{IncidentID: 21, Action: incident.ActionAcknowledge, User: "U0BOB"}}},
		{"OtherButton", f.Press(channel, m.TS, alice, "someone_elses_button", "21"), nil},
		{"NotAnIncidentID", f.Press(channel, m.TS, alice, slack.ActionAcknowledge, "21; drop"), nil},
		{"NegativeID", f.Press(channel, m.TS, alice, slack.ActionAcknowledge, "-4"), nil},
		{"ViewSubmission", []byte("payload=" + url.QueryEscape(`{"type":"view_submission","user":{"id":"U1"},"actions":[{"action_id":"alertbridge_resolve","value":"21"}]}`)), nil},
		{"SSLCheck", []byte("ssl_check=1&token=legacy"), nil},
		{"SlashCommand", []byte("command=%2Fincident&text=hello&user_id=U1"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := signed(tt.body, now)
			c, err := s.Callback(r, tt.body, now)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(c.Actions) != fmt.Sprint(tt.want) {
				t.Errorf("actions %+v, want %+v", c.Actions, tt.want)
			}
			if len(tt.want) > 0 {
				if c.Nonce != r.Header.Get("X-Slack-Signature") || !c.Expires.Equal(now.Add(10*time.Minute)) || c.Reply == nil {
					t.Errorf("nonce %q expires %s: want the signature, now+2*skew, and a reply", c.Nonce, c.Expires)
				}
				again, err := s.Callback(signed(tt.body, now), tt.body, now.Add(time.Second))
				if err != nil || again.Nonce != c.Nonce {
					t.Errorf("same request again: nonce %q (%v), want %q", again.Nonce, err, c.Nonce)
				}
			} else if c.Nonce != "" || c.Reply != nil {
				t.Errorf("nothing for us, yet nonce %q, reply set %v", c.Nonce, c.Reply != nil)
			}
		})
	}
}

func TestCallbackRefused(t *testing.T) {
	t.Parallel()
	f, s, m := posted(t, nil)
	body := f.Press(channel, m.TS, slacktest.User{ID: "U0ALICE", Username: "alice"}, slack.ActionAcknowledge, "21")
	ts := strconv.FormatInt(now.Unix(), 10)
	tests := []struct {
		name string
		req  func() *http.Request
		sink *slack.Sink
	}{
		{"WrongSignature", func() *http.Request {
			return slacktest.Request(context.Background(), "http://x/", "not-the-secret", now.Unix(), body)
		}, s},
		{"MissingSignature", func() *http.Request {
			r := signed(body, now)
			r.Header.Del("X-Slack-Signature")
			return r
		}, s},
		{"MissingTimestamp", func() *http.Request {
			r := signed(body, now)
			r.Header.Del("X-Slack-Request-Timestamp")
			return r
		}, s},
		{"StaleTimestamp", func() *http.Request { return signed(body, now.Add(-6*time.Minute)) }, s},
		{"FutureTimestamp", func() *http.Request { return signed(body, now.Add(6*time.Minute)) }, s},
		{"TimestampNotANumber", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
			r.Header.Set("X-Slack-Request-Timestamp", "soon")
			r.Header.Set("X-Slack-Signature", slacktest.Sign(signing, "soon", body))
			return r
		}, s},
		{"SignatureOfOtherTimestamp", func() *http.Request {
			r := signed(body, now)
			r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix()+1, 10))
			return r
		}, s},
		{"UppercaseHex", func() *http.Request {
			r := signed(body, now)
			r.Header.Set("X-Slack-Signature", strings.ToUpper(r.Header.Get("X-Slack-Signature")))
			return r
		}, s},
		{"NoSigningSecret", func() *http.Request { return signed(body, now) },
			newSink(t, f, func(o *slack.Options) { o.SigningSecret = secretZero() })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := tt.sink.Callback(tt.req(), body, now)
			if !errors.Is(err, sink.ErrUnauthenticated) {
				t.Fatalf("err %v, want ErrUnauthenticated", err)
			}
			if len(c.Actions) != 0 {
				t.Errorf("actions %+v from a refused request", c.Actions)
			}
			if strings.Contains(err.Error(), signing) || strings.Contains(err.Error(), ts+":") {
				t.Errorf("error %q tells too much", err)
			}
		})
	}
	t.Run("Malformed", func(t *testing.T) {
		t.Parallel()
		bad := []byte("payload=" + url.QueryEscape("{not json"))
		_, err := s.Callback(signed(bad, now), bad, now)
		if err == nil || errors.Is(err, sink.ErrUnauthenticated) {
			t.Fatalf("err %v, want a bad request that is not unauthenticated", err)
		}
	})
}

func TestCallbackURLVerification(t *testing.T) {
	t.Parallel()
	_, s, _ := posted(t, nil)
	body := []byte(`{"token":"legacy","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	r := signed(body, now)
	r.Header.Set("Content-Type", "application/json")
	c, err := s.Callback(r, body, now)
	if err != nil || len(c.Actions) != 0 || c.Reply == nil {
		t.Fatalf("callback %+v, %v: want no actions and a reply", c, err)
	}
	w := httptest.NewRecorder()
	c.Reply(w, nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"`) {
		t.Errorf("answer %d %s, want the challenge", w.Code, w.Body)
	}
}

// TestCallbackReplyUpdatesTheMessage: the press is answered 200 at once;
// then the pressed message shows the incident as the action left it, who
// acted, and no Acknowledge button, keeping what only the sink knew (alerts,
// links).
func TestCallbackReplyUpdatesTheMessage(t *testing.T) {
	t.Parallel()
	f, s, m := posted(t, nil)
	before := parse(t, m)
	body := f.Press(channel, m.TS, slacktest.User{ID: "U0ALICE", Username: "alice"}, slack.ActionAcknowledge, "21")
	c, err := s.Callback(signed(body, now), body, now)
	if err != nil {
		t.Fatal(err)
	}
	inc := openIncident(21)
	inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, now
	w := httptest.NewRecorder()
	c.Reply(w, []sink.Result{{Action: c.Actions[0], Incident: inc}})
	if w.Code != http.StatusOK {
		t.Fatalf("answer %d", w.Code)
	}
	s.Wait()
	if n := len(f.Calls("chat.update")); n != 1 {
		t.Fatalf("%d chat.update calls, want 1", n)
	}
	after := parse(t, only(t, f))
	if !strings.Contains(after.text["ab_fields"], "Acknowledged") || !strings.Contains(after.text["ab_event"], "*Acknowledged* by <@U0ALICE>") {
		t.Errorf("fields %q, event %q", after.text["ab_fields"], after.text["ab_event"])
	}
	if strings.Join(after.buttons, ",") != slack.ActionResolve {
		t.Errorf("buttons %v, want only Resolve", after.buttons)
	}
	for _, id := range []string{"ab_title", "ab_alerts", "ab_links"} {
		if after.text[id] != before.text[id] {
			t.Errorf("%s changed: %q, was %q", id, after.text[id], before.text[id])
		}
	}
	if md := only(t, f).Metadata; md == nil || md.EventPayload["incident_id"] != float64(21) {
		t.Errorf("metadata %+v, want the incident's kept", md)
	}
}

// TestCallbackReplyTellsARefusal: nothing changed (already acknowledged,
// not ours): the user alone is told, and the message is left as it is.
func TestCallbackReplyTellsARefusal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"Conflict", fmt.Errorf("already: %w", incident.ErrConflict), "cannot be acknowledged now"},
		{"NotFound", incident.ErrNotFound, "does not know incident #21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, s, m := posted(t, nil)
			body := f.Press(channel, m.TS, slacktest.User{ID: "U0ALICE", Username: "alice"}, slack.ActionAcknowledge, "21")
			c, err := s.Callback(signed(body, now), body, now)
			if err != nil {
				t.Fatal(err)
			}
			c.Reply(httptest.NewRecorder(), []sink.Result{{Action: c.Actions[0], Err: tt.err}})
			s.Wait()
			got := f.Responses()
			if len(got) != 1 || got[0].Body["response_type"] != "ephemeral" || got[0].Body["replace_original"] != false ||
				!strings.Contains(fmt.Sprint(got[0].Body["text"]), tt.want) {
				t.Errorf("responses %+v, want an ephemeral %q", got, tt.want)
			}
			if n := len(f.Calls("chat.update")); n != 0 {
				t.Errorf("%d chat.update calls after a refusal", n)
			}
		})
	}
}
