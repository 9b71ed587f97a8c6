package jira

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/sinktest"
	"github.com/alertbridge/alertbridge/sink/message"
)

const webhookSecret = "whsec-jira-0123456789"

var cbNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func callbackSink(t *testing.T, mod func(*Options)) *Sink {
	t.Helper()
	sum := message.MustCompile("s", "x")
	o := Options{URL: "http://127.0.0.1:1", Project: "OPS", Summary: sum, Description: sum,
		Username: "bot@example.com", APIToken: secret.New("t"), WebhookSecret: secret.New(webhookSecret),
		AcknowledgeTransition: "Start Progress"}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// webhookRequest is a Jira webhook of body, signed with key ("" leaves it
// unsigned); id is its X-Atlassian-Webhook-Identifier ("": none).
func webhookRequest(body []byte, key, id string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/ingest/callbacks/jira", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	if key != "" {
		r.Header.Set("X-Hub-Signature", sign(key, body))
	}
	if id != "" {
		r.Header.Set("X-Atlassian-Webhook-Identifier", id)
	}
	return r
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// issueUpdated is a jira:issue_updated body moving key to st, by user.
func issueUpdated(ts time.Time, key string, st status, user map[string]any) map[string]any {
	return map[string]any{
		"timestamp": ts.UnixMilli(), "webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_generic",
		"user": user,
		"issue": map[string]any{"id": "10001", "key": key, "fields": map[string]any{
			"status": st, "project": map[string]any{"key": strings.Split(key, "-")[0]}, "labels": []string{"alertbridge-42"}}},
		"changelog": map[string]any{"id": "100", "items": []map[string]any{
			{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "3", "fromString": "In Progress",
				"to": st.ID, "toString": st.Name}}},
	}
}

func commentCreated(ts time.Time, key string, body any, author map[string]any) map[string]any {
	return map[string]any{
		"timestamp": ts.UnixMilli(), "webhookEvent": "comment_created",
		"comment": map[string]any{"id": "20001", "body": body, "author": author, "created": ts.Format(time.RFC3339)},
		"issue":   map[string]any{"id": "10001", "key": key, "fields": map[string]any{"summary": "x"}},
	}
}

var alice = map[string]any{"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Alice Example"}

func TestCallbackActions(t *testing.T) {
	t.Parallel()
	bot := map[string]any{"accountId": "557058:bot", "displayName": "alertbridge bot"}
	tests := []struct {
		name string
		body map[string]any
		opts func(*Options)
		// me is the account the sink learnt it acts as.
		me   *account
		want []sink.Action
	}{
		{"ResolvedInJira", issueUpdated(cbNow, "OPS-7", stDone, alice), nil, nil, []sink.Action{
			{ExternalID: "OPS-7", Action: incident.ActionResolve, User: "Alice Example", Message: "OPS-7 moved to Done in Jira"}}},
		{"DataCenterUser", issueUpdated(cbNow, "OPS-7", stDone, map[string]any{"name": "alice", "key": "JIRAUSER1"}), nil, nil,
			[]sink.Action{{ExternalID: "OPS-7", Action: incident.ActionResolve, User: "alice", Message: "OPS-7 moved to Done in Jira"}}},
		{"StartedInJira", issueUpdated(cbNow, "OPS-7", stInProgress, alice), nil, nil, []sink.Action{
			{ExternalID: "OPS-7", Action: incident.ActionAcknowledge, User: "Alice Example", Message: "OPS-7 moved to In Progress in Jira"}}},
		{"StartedWithoutAcknowledgeTransition", issueUpdated(cbNow, "OPS-7", stInProgress, alice),
			func(o *Options) { o.AcknowledgeTransition = "" }, nil, nil},
		{"MovedBackToDo", issueUpdated(cbNow, "OPS-7", stToDo, alice), nil, nil, nil},
		{"OtherProject", issueUpdated(cbNow, "DEV-7", stDone, alice), nil, nil, nil},
		{"OurOwnTransition", issueUpdated(cbNow, "OPS-7", stDone, bot), nil, &account{AccountID: "557058:bot"}, nil},
		{"OurOwnByEmail", issueUpdated(cbNow, "OPS-7", stDone, map[string]any{"emailAddress": "BOT@example.com", "accountId": "x"}),
			nil, nil, nil},
		{"NoStatusChange", func() map[string]any {
			b := issueUpdated(cbNow, "OPS-7", stDone, alice)
			b["changelog"] = map[string]any{"items": []map[string]any{{"field": "summary", "fieldId": "summary"}}}
			return b
		}(), nil, nil, nil},
		{"Comment", commentCreated(cbNow, "OPS-7", "restarted the exporter", alice), nil, nil, []sink.Action{
			{ExternalID: "OPS-7", Action: incident.ActionComment, User: "Alice Example", Message: "restarted the exporter"}}},
		{"CommentADF", commentCreated(cbNow, "OPS-7", map[string]any{"type": "doc", "version": 1, "content": []any{
			map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": "first"}}},
			map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": "second"}}}}}, alice),
			nil, nil, []sink.Action{{ExternalID: "OPS-7", Action: incident.ActionComment, User: "Alice Example", Message: "first\nsecond"}}},
		{"OurComment", commentCreated(cbNow, "OPS-7", "(alertbridge entry 3) Comment by api:bob: hi", alice), nil, nil, nil},
		{"CommentByOurAccount", commentCreated(cbNow, "OPS-7", "hello", bot), nil, &account{AccountID: "557058:bot"}, nil},
		{"EmptyComment", commentCreated(cbNow, "OPS-7", "   ", alice), nil, nil, nil},
		{"IssueCreated", map[string]any{"timestamp": cbNow.UnixMilli(), "webhookEvent": "jira:issue_created",
			"issue": map[string]any{"key": "OPS-8", "fields": map[string]any{"status": stDone}}}, nil, nil, nil},
		{"NoIssue", map[string]any{"timestamp": cbNow.UnixMilli(), "webhookEvent": "jira:issue_updated"}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := callbackSink(t, tt.opts)
			if tt.me != nil {
				s.remember(tt.me)
			}
			body := mustJSON(t, tt.body)
			cb, err := s.Callback(webhookRequest(body, webhookSecret, "d3b07384"), body, cbNow)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cb.Actions); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if len(tt.want) > 0 && (cb.Nonce != "d3b07384" || !cb.Expires.After(cbNow.Add(30*time.Minute))) {
				t.Errorf("nonce %q expires %s: want the webhook identifier, kept past Jira's retries", cb.Nonce, cb.Expires)
			}
		})
	}
}

func TestCallbackRefused(t *testing.T) {
	t.Parallel()
	body := mustJSON(t, issueUpdated(cbNow, "OPS-7", stDone, alice))
	tests := []struct {
		name string
		req  func() *http.Request
		body []byte
		now  time.Time
		opts func(*Options)
	}{
		{"WrongSignature", func() *http.Request { return webhookRequest(body, "another-secret", "") }, body, cbNow, nil},
		{"MissingSignature", func() *http.Request { return webhookRequest(body, "", "") }, body, cbNow, nil},
		{"NotHex", func() *http.Request {
			r := webhookRequest(body, "", "")
			r.Header.Set("X-Hub-Signature", "sha256=zz")
			return r
		}, body, cbNow, nil},
		{"SHA1", func() *http.Request {
			r := webhookRequest(body, "", "")
			r.Header.Set("X-Hub-Signature", "sha1="+strings.TrimPrefix(sign(webhookSecret, body), "sha256="))
			return r
		}, body, cbNow, nil},
		{"BodyChanged", func() *http.Request { return webhookRequest(body, webhookSecret, "") },
			[]byte(strings.Replace(string(body), "OPS-7", "OPS-8", 1)), cbNow, nil},
		{"Stale", func() *http.Request { return webhookRequest(body, webhookSecret, "") }, body, cbNow.Add(time.Hour), nil},
		{"FromTheFuture", func() *http.Request { return webhookRequest(body, webhookSecret, "") }, body, cbNow.Add(-6 * time.Minute), nil},
		{"NoTimestamp", func() *http.Request {
			b := mustJSON(t, map[string]any{"webhookEvent": "jira:issue_updated"})
			return webhookRequest(b, webhookSecret, "")
		}, mustJSON(t, map[string]any{"webhookEvent": "jira:issue_updated"}), cbNow, nil},
		{"NoSecretConfigured", func() *http.Request { return webhookRequest(body, webhookSecret, "") }, body, cbNow,
			func(o *Options) { o.WebhookSecret = secret.Value{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := callbackSink(t, tt.opts)
			cb, err := s.Callback(tt.req(), tt.body, tt.now)
			if !errors.Is(err, sink.ErrUnauthenticated) {
				t.Fatalf("err %v: want ErrUnauthenticated", err)
			}
			if len(cb.Actions) != 0 {
				t.Errorf("actions %v on a refused request", cb.Actions)
			}
			if strings.Contains(err.Error(), webhookSecret) {
				t.Error("the error repeats the secret")
			}
		})
	}
}

// A retry within Jira's retry window is accepted; the same request has the
// same nonce, with or without Jira's identifier header.
func TestCallbackNonce(t *testing.T) {
	t.Parallel()
	s := callbackSink(t, nil)
	body := mustJSON(t, issueUpdated(cbNow, "OPS-7", stDone, alice))
	a, err := s.Callback(webhookRequest(body, webhookSecret, ""), body, cbNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Callback(webhookRequest(body, webhookSecret, ""), body, cbNow.Add(30*time.Minute))
	if err != nil {
		t.Fatalf("a retry 30 minutes later: %v", err)
	}
	if a.Nonce == "" || a.Nonce != b.Nonce || a.Expires != b.Expires {
		t.Errorf("nonces %q/%s and %q/%s: want the same, non-empty", a.Nonce, a.Expires, b.Nonce, b.Expires)
	}
	if !a.Expires.After(cbNow.Add(retryWindow + s.o.MaxSkew)) {
		t.Errorf("expires %s: want it kept while the timestamp is accepted", a.Expires)
	}
	other := mustJSON(t, issueUpdated(cbNow.Add(time.Second), "OPS-7", stDone, alice))
	c, err := s.Callback(webhookRequest(other, webhookSecret, ""), other, cbNow)
	if err != nil {
		t.Fatal(err)
	}
	if c.Nonce == a.Nonce {
		t.Error("two requests share a nonce")
	}
}

func TestCallbackInvalidBody(t *testing.T) {
	t.Parallel()
	s := callbackSink(t, nil)
	body := []byte(`{"timestamp": "soon"`)
	_, err := s.Callback(webhookRequest(body, webhookSecret, ""), body, cbNow)
	if err == nil || errors.Is(err, sink.ErrUnauthenticated) {
		t.Fatalf("err %v: want a bad request", err)
	}
}

// The sink learns its own account from Jira, and the webhooks of its own
// changes then carry no actions.
func TestCallbackSkipsLearntAccount(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	s := newSink(t, f, func(o *Options) {
		o.WebhookSecret = secret.New(webhookSecret)
		o.Username = fakeUser
	})
	h := sinktest.NewHarness(t, s)
	h.MustDeliver(h.Notification(incident.NotifyOpened))
	body := mustJSON(t, issueUpdated(cbNow, "OPS-1", stDone, map[string]any{"accountId": f.me.AccountID, "displayName": "alertbridge bot"}))
	cb, err := s.Callback(webhookRequest(body, webhookSecret, "x"), body, cbNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(cb.Actions) != 0 {
		t.Errorf("actions %v for the sink's own transition", cb.Actions)
	}
	if f.count("myself") != 1 {
		t.Errorf("asked who it is %d times, want once", f.count("myself"))
	}
	h.MustDeliver(h.Notification(incident.NotifyComment))
	if f.count("myself") != 1 {
		t.Errorf("asked who it is %d times, want once", f.count("myself"))
	}
}

func FuzzJiraWebhook(f *testing.F) {
	s, err := New(Options{URL: "http://127.0.0.1:1", Project: "OPS", Summary: message.MustCompile("s", "x"),
		Description: message.MustCompile("d", "x"), PersonalAccessToken: secret.New("x"),
		WebhookSecret: secret.New(webhookSecret), AcknowledgeTransition: "Start"})
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range []map[string]any{issueUpdated(cbNow, "OPS-1", stDone, alice),
		commentCreated(cbNow, "OPS-1", map[string]any{"type": "doc", "content": []any{map[string]any{"type": "text", "text": "x"}}}, alice),
		commentCreated(cbNow, "OPS-1", "hi", nil)} {
		j, _ := json.Marshal(b)
		f.Add(j)
	}
	f.Add([]byte(`{"timestamp":"1772366400000","issue":{"key":"OPS-"},"comment":{"body":[1,2]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := webhookRequest(body, webhookSecret, "")
		cb, err := s.Callback(r, body, cbNow)
		if err != nil {
			if errors.Is(err, sink.ErrUnauthenticated) && strings.Contains(err.Error(), "X-Hub-Signature") {
				t.Fatalf("a correctly signed body was refused: %v", err)
			}
			return
		}
		for _, a := range cb.Actions {
			if a.ExternalID == "" || cb.Nonce == "" {
				t.Fatalf("action %+v nonce %q: want an issue and a nonce", a, cb.Nonce)
			}
		}
	})
}
