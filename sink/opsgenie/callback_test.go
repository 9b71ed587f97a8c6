package opsgenie

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
)

const token = "tok-4f1c2e9a7b"

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustCallback(t testing.TB) *Callback {
	t.Helper()
	c, err := NewCallback(CallbackOptions{Token: secret.New(token)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// call is the Webhook integration's body for action on the alert of
// alias, by user from source, as Opsgenie documents it; extra goes into
// the alert object.
func call(action, alias, user, sourceName, sourceType, extra string) string {
	return fmt.Sprintf(`{"source":{"name":%q,"type":%q},"alert":{"updatedAt":1420452224764002246,
"tags":["tag1","tag2"],"message":"[P3] disk full on db-1","username":%q,"alertId":"052652ac-5d1c-464a-812a-7dd18bbfba8c",
"source":"alertbridge","alias":%q,"tinyId":"23","createdAt":1420452191104,"userId":"daed1180-0ce8-438b-8f8e-57e1a5920a2d",
"entity":"db"%s},"action":%q,"integrationId":"37c8f316-17c6-49d7-899b-9c7e540c048d","integrationName":"alertbridge webhook"}`,
		sourceName, sourceType, user, alias, extra, action)
}

func callback(t *testing.T, c *Callback, body string, headers map[string]string) (sink.Callback, error) {
	t.Helper()
	r := httptest.NewRequest("POST", "/ingest/callbacks/og", strings.NewReader(body))
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return c.Callback(r, []byte(body), now)
}

var bearer = map[string]string{"Authorization": "Bearer " + token}

func TestCallbackActions(t *testing.T) {
	t.Parallel()
	c := mustCallback(t)
	const user = "fili@ifountain.com"
	tests := []struct {
		name string
		body string
		want []sink.Action
	}{
		{name: "Acknowledge", body: call("Acknowledge", "alertbridge-42", user, "", "web", ""),
			want: []sink.Action{{IncidentID: 42, Action: incident.ActionAcknowledge, User: user}}},
		{name: "Close", body: call("Close", "alertbridge-42", user, "", "web", ""),
			want: []sink.Action{{IncidentID: 42, Action: incident.ActionResolve, User: user}}},
		{name: "CloseWithNote", body: call("Close", "alertbridge-42", user, "", "mobile", `,"note":"fixed by rollback"`),
			want: []sink.Action{{IncidentID: 42, Action: incident.ActionResolve, User: user, Message: "fixed by rollback"}}},
		{name: "AddNote", body: call("AddNote", "alertbridge-42", user, "", "web", `,"note":"rolled back the deploy"`),
			want: []sink.Action{{IncidentID: 42, Action: incident.ActionComment, User: user, Message: "rolled back the deploy"}}},
		{name: "AddEmptyNoteIgnored", body: call("AddNote", "alertbridge-42", user, "", "web", `,"note":" "`)},
		{name: "OtherAliasByExternalID", body: call("Close", "aliastest", user, "", "web", ""),
			want: []sink.Action{{ExternalID: "aliastest", Action: incident.ActionResolve, User: user}}},
		{name: "NoAliasIgnored", body: call("Close", "", user, "", "web", "")},
		{name: "CreateIgnored", body: call("Create", "alertbridge-42", user, "web", "API", "")},
		{name: "UnAcknowledgeIgnored", body: call("UnAcknowledge", "alertbridge-42", user, "", "web", "")},
		{name: "DeleteIgnored", body: call("Delete", "alertbridge-42", user, "", "web", "")},
		{name: "OwnCloseIgnored", body: call("Close", "alertbridge-42", "alertbridge", "alertbridge", "API", "")},
		{name: "OwnAckBySourceIgnored", body: call("Acknowledge", "alertbridge-42", "System", "alertbridge", "API", "")},
		{name: "OwnNoteByUserIgnored", body: call("AddNote", "alertbridge-42", "Alertbridge", "", "api", `,"note":"x"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cb, err := callback(t, c, tt.body, bearer)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cb.Actions); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if cb.Nonce == "" || !cb.Expires.Equal(now.Add(NonceTTL)) {
				t.Errorf("nonce %q expires %s", cb.Nonce, cb.Expires)
			}
		})
	}
}

func TestCallbackTokenHeaders(t *testing.T) {
	t.Parallel()
	c := mustCallback(t)
	body := call("Acknowledge", "alertbridge-42", "u", "", "web", "")
	for name, h := range map[string]map[string]string{
		"Bearer":                 bearer,
		"BearerLowerCase":        {"Authorization": "bearer " + token},
		"TokenHeader":            {TokenHeader: token},
		"WrongBearerRightHeader": {"Authorization": "Bearer nope", TokenHeader: token},
	} {
		if cb, err := callback(t, c, body, h); err != nil || len(cb.Actions) != 1 {
			t.Errorf("%s: %v, %d actions", name, err, len(cb.Actions))
		}
	}
}

func TestCallbackUnauthenticated(t *testing.T) {
	t.Parallel()
	c := mustCallback(t)
	body := call("Acknowledge", "alertbridge-42", "u", "", "web", "")
	for name, h := range map[string]map[string]string{
		"Missing":     nil,
		"Wrong":       {"Authorization": "Bearer " + token + "x"},
		"Prefix":      {TokenHeader: token[:5]},
		"NotBearer":   {"Authorization": "GenieKey " + token},
		"BasicAuth":   {"Authorization": "Basic " + token},
		"EmptyBearer": {"Authorization": "Bearer "},
	} {
		cb, err := callback(t, c, body, h)
		if !errors.Is(err, sink.ErrUnauthenticated) {
			t.Errorf("%s: err %v, want ErrUnauthenticated", name, err)
			continue
		}
		if len(cb.Actions) != 0 || strings.Contains(err.Error(), token) {
			t.Errorf("%s: actions %+v, err %v", name, cb.Actions, err)
		}
	}
}

// TestCallbackNonce: the same call gives the same nonce; another action
// on the alert, or the alert updated since, another.
func TestCallbackNonce(t *testing.T) {
	t.Parallel()
	c := mustCallback(t)
	nonceOf := func(body string) string {
		t.Helper()
		cb, err := callback(t, c, body, bearer)
		if err != nil {
			t.Fatal(err)
		}
		return cb.Nonce
	}
	ack := call("Acknowledge", "alertbridge-42", "u", "", "web", "")
	if first, again := nonceOf(ack), nonceOf(ack); first != again {
		t.Error("the same call gave two nonces")
	}
	later := strings.Replace(ack, "1420452224764002246", "1420452224764009999", 1)
	for name, other := range map[string]string{
		"OtherAction":  call("Close", "alertbridge-42", "u", "", "web", ""),
		"UpdatedLater": later,
		"OtherNote":    call("AddNote", "alertbridge-42", "u", "", "web", `,"note":"b"`),
	} {
		if nonceOf(other) == nonceOf(ack) {
			t.Errorf("%s: same nonce as the acknowledge", name)
		}
	}
}

func TestCallbackInvalid(t *testing.T) {
	t.Parallel()
	c := mustCallback(t)
	for name, body := range map[string]string{"NotJSON": `{"action":`, "AlertNotObject": `{"action":"Close","alert":[]}`} {
		if _, err := callback(t, c, body, bearer); err == nil || errors.Is(err, sink.ErrUnauthenticated) {
			t.Errorf("%s: err %v, want an invalid request", name, err)
		}
	}
}

func TestNewCallbackNeedsToken(t *testing.T) {
	t.Parallel()
	if _, err := NewCallback(CallbackOptions{}); err == nil {
		t.Fatal("no error without a token")
	}
}

// FuzzCallback feeds authenticated bodies to the webhook decoder: it must
// not panic, and whatever it accepts names an incident.
func FuzzCallback(f *testing.F) {
	f.Add(call("Acknowledge", "alertbridge-42", "u", "", "web", ""))
	f.Add(call("AddNote", "alertbridge-1", "u", "", "web", `,"note":"n"`))
	f.Add(`{"action":"Close","alert":{"alias":"alertbridge-9223372036854775808","updatedAt":"x"}}`)
	f.Add(`{"action":"Close","alert":null,"source":null}`)
	c := mustCallback(f)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/ingest/callbacks/og", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		cb, err := c.Callback(r, []byte(body), now)
		if err != nil {
			return
		}
		if cb.Nonce == "" {
			t.Error("no nonce")
		}
		for _, a := range cb.Actions {
			if a.IncidentID == 0 && a.ExternalID == "" {
				t.Errorf("action %+v names no incident", a)
			}
		}
	})
}
