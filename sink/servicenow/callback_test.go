package servicenow

import (
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
	"github.com/alertbridge/alertbridge/sink/message"
)

const callbackToken = "cb-token-0123456789"

var cbNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func callbackSink(t testing.TB, mod func(*Options)) *Sink {
	t.Helper()
	m := message.MustCompile("m", "x")
	o := Options{URL: "http://127.0.0.1:1", Username: fakeUser, Password: secret.New("p"),
		ShortDesc: m, Description: m, CloseNotes: m, CallbackToken: secret.New(callbackToken)}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func callbackRequest(body []byte, header, value string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/ingest/callbacks/servicenow", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	if header != "" {
		r.Header.Set(header, value)
	}
	return r
}

func bearer(body []byte) *http.Request {
	return callbackRequest(body, "Authorization", "Bearer "+callbackToken)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cbBody is a callback of the record of incident 42, updated at cbNow.
func cbBody(mod func(*CallbackBody)) CallbackBody {
	b := CallbackBody{CorrelationID: "alertbridge-42", SysID: "46d44a5e1b2f3010", Number: "INC0010042",
		User: "jdoe", SysUpdatedOn: cbNow.Format(time.DateTime)}
	if mod != nil {
		mod(&b)
	}
	return b
}

func TestCallbackActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body CallbackBody
		want []sink.Action
	}{
		{"Resolved", cbBody(func(b *CallbackBody) { b.State, b.CloseNotes = "6", "replaced the disk" }), []sink.Action{
			{ExternalID: "46d44a5e1b2f3010", Action: incident.ActionResolve, User: "jdoe", Message: "replaced the disk"}}},
		{"Closed", cbBody(func(b *CallbackBody) { b.State = "7" }), []sink.Action{
			{ExternalID: "46d44a5e1b2f3010", Action: incident.ActionResolve, User: "jdoe", Message: "INC0010042 resolved in ServiceNow"}}},
		{"InProgress", cbBody(func(b *CallbackBody) { b.State = "2" }), []sink.Action{
			{ExternalID: "46d44a5e1b2f3010", Action: incident.ActionAcknowledge, User: "jdoe", Message: "INC0010042 in progress in ServiceNow"}}},
		{"WorkNote", cbBody(func(b *CallbackBody) {
			b.WorkNote = "2026-03-01 11:59:58 - Jane Doe (Work notes)\nchecked the array\n\n"
		}), []sink.Action{{ExternalID: "46d44a5e1b2f3010", Action: incident.ActionComment, User: "jdoe", Message: "checked the array"}}},
		{"NoteThenResolve", cbBody(func(b *CallbackBody) { b.WorkNote, b.State = "done here", "6" }), []sink.Action{
			{ExternalID: "46d44a5e1b2f3010", Action: incident.ActionComment, User: "jdoe", Message: "done here"},
			{ExternalID: "46d44a5e1b2f3010", Action: incident.ActionResolve, User: "jdoe", Message: "INC0010042 resolved in ServiceNow"}}},
		{"RFC3339Time", cbBody(func(b *CallbackBody) { b.State, b.SysUpdatedOn = "6", cbNow.Format(time.RFC3339) }), []sink.Action{
			{ExternalID: "46d44a5e1b2f3010", Action: incident.ActionResolve, User: "jdoe", Message: "INC0010042 resolved in ServiceNow"}}},
		{"OurWorkNote", cbBody(func(b *CallbackBody) { b.WorkNote = "(alertbridge entry 3) Comment by api:bob: hi" }), nil},
		{"OurUser", cbBody(func(b *CallbackBody) { b.State, b.User = "2", "Alertbridge.Integration" }), nil},
		{"OnHold", cbBody(func(b *CallbackBody) { b.State = "3" }), nil},
		{"NothingChanged", cbBody(nil), nil},
		{"NotOurs", cbBody(func(b *CallbackBody) { b.CorrelationID, b.State = "", "6" }), nil},
		{"OtherCorrelation", cbBody(func(b *CallbackBody) { b.CorrelationID, b.State = "splunk-42", "6" }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := callbackSink(t, nil)
			body := mustJSON(t, tt.body)
			cb, err := s.Callback(bearer(body), body, cbNow)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cb.Actions); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if len(tt.want) > 0 && (cb.Nonce == "" || !cb.Expires.After(cbNow.Add(callbackWindow))) {
				t.Errorf("nonce %q expires %s: want one, kept for the callback window", cb.Nonce, cb.Expires)
			}
		})
	}
}

func TestCallbackTokenHeaders(t *testing.T) {
	t.Parallel()
	s := callbackSink(t, nil)
	body := mustJSON(t, cbBody(func(b *CallbackBody) { b.State = "6" }))
	for _, r := range []*http.Request{bearer(body), callbackRequest(body, "X-Alertbridge-Token", callbackToken),
		callbackRequest(body, "Authorization", "bearer "+callbackToken)} {
		cb, err := s.Callback(r, body, cbNow)
		if err != nil || len(cb.Actions) != 1 {
			t.Errorf("%v: actions %v err %v", r.Header, cb.Actions, err)
		}
	}
}

func TestCallbackRefused(t *testing.T) {
	t.Parallel()
	body := mustJSON(t, cbBody(func(b *CallbackBody) { b.State = "6" }))
	tests := []struct {
		name string
		req  *http.Request
		now  time.Time
		opts func(*Options)
	}{
		{"WrongToken", callbackRequest(body, "Authorization", "Bearer not-the-token"), cbNow, nil},
		{"WrongHeaderToken", callbackRequest(body, "X-Alertbridge-Token", callbackToken+"x"), cbNow, nil},
		{"Missing", callbackRequest(body, "", ""), cbNow, nil},
		{"Basic", callbackRequest(body, "Authorization", "Basic "+callbackToken), cbNow, nil},
		{"Stale", bearer(body), cbNow.Add(7 * time.Hour), nil},
		{"FromTheFuture", bearer(body), cbNow.Add(-6 * time.Minute), nil},
		{"NoTokenConfigured", bearer(body), cbNow, func(o *Options) { o.CallbackToken = secret.Value{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cb, err := callbackSink(t, tt.opts).Callback(tt.req, body, tt.now)
			if !errors.Is(err, sink.ErrUnauthenticated) {
				t.Fatalf("err %v: want ErrUnauthenticated", err)
			}
			if len(cb.Actions) != 0 || strings.Contains(err.Error(), callbackToken) {
				t.Errorf("actions %v, err %q: want none, and no token in the error", cb.Actions, err)
			}
		})
	}
}

func TestCallbackInvalid(t *testing.T) {
	t.Parallel()
	s := callbackSink(t, nil)
	for _, body := range [][]byte{
		[]byte(`{"correlation_id": "alertbridge-1"`),
		mustJSON(t, cbBody(func(b *CallbackBody) { b.SysID, b.State = "", "6" })),
		mustJSON(t, cbBody(func(b *CallbackBody) { b.SysUpdatedOn, b.State = "", "6" })),
		mustJSON(t, cbBody(func(b *CallbackBody) { b.SysUpdatedOn, b.State = "yesterday", "6" })),
		[]byte(`{"correlation_id": "alertbridge-1", "state": 6}`),
	} {
		_, err := s.Callback(bearer(body), body, cbNow)
		if err == nil || errors.Is(err, sink.ErrUnauthenticated) {
			t.Errorf("%s: err %v, want a bad request", body, err)
		}
	}
}

// The same request has the same nonce; another update of the record has
// another.
func TestCallbackNonce(t *testing.T) {
	t.Parallel()
	s := callbackSink(t, nil)
	body := mustJSON(t, cbBody(func(b *CallbackBody) { b.State = "6" }))
	a, err := s.Callback(bearer(body), body, cbNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Callback(callbackRequest(body, "X-Alertbridge-Token", callbackToken), body, cbNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if a.Nonce == "" || a.Nonce != b.Nonce || a.Expires != b.Expires {
		t.Errorf("nonces %q/%s and %q/%s: want the same", a.Nonce, a.Expires, b.Nonce, b.Expires)
	}
	later := mustJSON(t, cbBody(func(b *CallbackBody) { b.State, b.SysUpdatedOn = "6", cbNow.Add(time.Second).Format(time.DateTime) }))
	c, err := s.Callback(bearer(later), later, cbNow)
	if err != nil {
		t.Fatal(err)
	}
	if c.Nonce == a.Nonce {
		t.Error("two updates share a nonce")
	}
}

func FuzzServiceNowCallback(f *testing.F) {
	s := callbackSink(f, nil)
	for _, b := range []CallbackBody{cbBody(func(b *CallbackBody) { b.State = "6" }),
		cbBody(func(b *CallbackBody) { b.WorkNote = "2026-03-01 11:59:58 - J (Work notes)\nx" })} {
		f.Add(mustJSON(f, b))
	}
	f.Add([]byte(`{"correlation_id":"alertbridge-","sys_id":"x","sys_updated_on":"2026-03-01T12:00:00Z","work_note":"\u0000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, err := s.Callback(bearer(body), body, cbNow)
		if errors.Is(err, sink.ErrUnauthenticated) && strings.Contains(err.Error(), "token") {
			t.Fatalf("the right token was refused: %v", err)
		}
		for _, a := range cb.Actions {
			if a.ExternalID == "" || cb.Nonce == "" {
				t.Fatalf("action %+v nonce %q: want a record and a nonce", a, cb.Nonce)
			}
		}
	})
}
