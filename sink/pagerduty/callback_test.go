package pagerduty

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

const webhookSecret = "whsec-0123456789abcdef"

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustCallback(t testing.TB) *Callback {
	t.Helper()
	c, err := NewCallback(CallbackOptions{Secret: secret.New(webhookSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// incidentEvent is a v3 webhook of an incident event, as PagerDuty
// documents it, by a user.
func incidentEvent(typ, key string, at time.Time) string {
	return fmt.Sprintf(`{"event":{"id":"5ac64822-4adc-4fda-ade0-410becf0de4f","event_type":%q,"resource_type":"incident",
"occurred_at":%q,"agent":{"html_url":"https://acme.pagerduty.com/users/PLH1HKV","id":"PLH1HKV",
"self":"https://api.pagerduty.com/users/PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},
"client":{"name":"PagerDuty"},"data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2",
"html_url":"https://acme.pagerduty.com/incidents/PGR0VU2","number":2,"status":"acknowledged","incident_key":%q,
"created_at":"2020-04-09T15:16:27Z","title":"A little bump in the road","urgency":"high","resolve_reason":null}}}`,
		typ, at.Format(time.RFC3339Nano), key)
}

// noteEvent is an incident.annotated webhook; key "" leaves the incident
// reference without an incident_key, as PagerDuty documents it.
func noteEvent(key, content string) string {
	k := ""
	if key != "" {
		k = fmt.Sprintf(`,"incident_key":%q`, key)
	}
	return fmt.Sprintf(`{"event":{"id":"01BRB6ZP4M6T8ZG4X6BP63ZB9O","event_type":"incident.annotated","resource_type":"incident",
"occurred_at":%q,"agent":{"id":"PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},"client":null,
"data":{"incident":{"html_url":"https://acme.pagerduty.com/incidents/PGR0VU2","id":"PGR0VU2",
"self":"https://api.pagerduty.com/incidents/PGR0VU2","summary":"A little bump in the road","type":"incident_reference"%s},
"id":"P2LA89X","content":%q,"trimmed":false,"type":"incident_note"}}}`, now.Format(time.RFC3339Nano), k, content)
}

func call(t *testing.T, c *Callback, body string, sigs ...string) (sink.Callback, error) {
	t.Helper()
	r := httptest.NewRequest("POST", "/ingest/callbacks/pd", strings.NewReader(body))
	for _, s := range sigs {
		r.Header.Add(SignatureHeader, s)
	}
	return c.Callback(r, []byte(body), now)
}

func TestCallbackActions(t *testing.T) {
	t.Parallel()
	c := mustCallback(t)
	user := "Tenex Engineer"
	tests := []struct {
		name string
		body string
		want []sink.Action
	}{
		{name: "Acknowledged", body: incidentEvent("incident.acknowledged", "alertbridge-42", now),
			want: []sink.Action{{IncidentID: 42, Action: incident.ActionAcknowledge, User: user}}},
		{name: "Resolved", body: incidentEvent("incident.resolved", "alertbridge-42", now),
			want: []sink.Action{{IncidentID: 42, Action: incident.ActionResolve, User: user}}},
		{name: "NoteWithKey", body: noteEvent("alertbridge-42", "rolled back the deploy"),
			want: []sink.Action{{IncidentID: 42, Action: incident.ActionComment, User: user, Message: "rolled back the deploy"}}},
		{name: "NoteWithoutKeyIgnored", body: noteEvent("", "rolled back the deploy")},
		{name: "EmptyNoteIgnored", body: noteEvent("alertbridge-42", "  ")},
		{name: "OtherKeyByExternalID", body: incidentEvent("incident.resolved", "d3640fbd41094207a1c11e58e46b1662", now),
			want: []sink.Action{{ExternalID: "d3640fbd41094207a1c11e58e46b1662", Action: incident.ActionResolve, User: user}}},
		{name: "NoKeyIgnored", body: incidentEvent("incident.resolved", "", now)},
		{name: "TriggeredIgnored", body: incidentEvent("incident.triggered", "alertbridge-42", now)},
		{name: "PriorityUpdatedIgnored", body: incidentEvent("incident.priority_updated", "alertbridge-42", now)},
		{name: "ServiceEventIgnored", body: fmt.Sprintf(`{"event":{"id":"01BRB6ZP4M6T8ZG4X6BP63ZB9O",
"event_type":"service.updated","resource_type":"service","occurred_at":%q,"agent":null,"client":null,
"data":{"id":"PF9KMXH","summary":"testing service updates","type":"service"}}}`, now.Format(time.RFC3339))},
		{name: "IntegrationsActionIgnored", body: strings.Replace(incidentEvent("incident.resolved", "alertbridge-42", now),
			`"type":"user_reference"`, `"type":"inbound_integration_reference"`, 1)},
		{name: "NoAgentIgnored", body: strings.Replace(incidentEvent("incident.resolved", "alertbridge-42", now),
			`"agent":{`, `"agent":null,"x":{`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cb, err := call(t, c, tt.body, sign(webhookSecret, []byte(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cb.Actions); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if cb.Nonce == "" || !cb.Expires.Equal(now.Add(MaxAge+DefaultMaxSkew)) {
				t.Errorf("nonce %q expires %s", cb.Nonce, cb.Expires)
			}
		})
	}
}

func TestCallbackUnauthenticated(t *testing.T) {
	t.Parallel()
	c := mustCallback(t)
	body := incidentEvent("incident.acknowledged", "alertbridge-42", now)
	tests := []struct {
		name string
		body string
		sigs []string
	}{
		{name: "Missing", body: body},
		{name: "Empty", body: body, sigs: []string{""}},
		{name: "OtherSecret", body: body, sigs: []string{sign("not-the-secret", []byte(body))}},
		{name: "OtherBody", body: body, sigs: []string{sign(webhookSecret, []byte(body+" "))}},
		{name: "NotHex", body: body, sigs: []string{"v1=zz" + sign(webhookSecret, []byte(body))[5:]}},
		{name: "OtherVersion", body: body, sigs: []string{"v2=" + sign(webhookSecret, []byte(body))[3:]}},
		{name: "Stale", body: incidentEvent("incident.acknowledged", "alertbridge-42", now.Add(-MaxAge-time.Second))},
		{name: "Future", body: incidentEvent("incident.acknowledged", "alertbridge-42", now.Add(DefaultMaxSkew+time.Second))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sigs := tt.sigs
			if sigs == nil && (tt.name == "Stale" || tt.name == "Future") {
				sigs = []string{sign(webhookSecret, []byte(tt.body))}
			}
			cb, err := call(t, c, tt.body, sigs...)
			if !errors.Is(err, sink.ErrUnauthenticated) {
				t.Fatalf("err %v, want ErrUnauthenticated", err)
			}
			if len(cb.Actions) != 0 {
				t.Errorf("actions %+v", cb.Actions)
			}
			if strings.Contains(err.Error(), webhookSecret) {
				t.Errorf("error repeats the secret: %v", err)
			}
		})
	}
}

// TestCallbackRotation: while PagerDuty rotates the secret it signs with
// both; either may be ours, in one header or several.
func TestCallbackRotation(t *testing.T) {
	t.Parallel()
	c := mustCallback(t)
	body := incidentEvent("incident.resolved", "alertbridge-42", now)
	for name, sigs := range map[string][]string{
		"OneHeader":   {sign("old-secret", []byte(body)) + ", " + sign(webhookSecret, []byte(body))},
		"TwoHeaders":  {sign("old-secret", []byte(body)), sign(webhookSecret, []byte(body))},
		"OursFirst":   {sign(webhookSecret, []byte(body)) + "," + sign("new-secret", []byte(body))},
		"OddVersions": {"v0=abc," + sign(webhookSecret, []byte(body))},
	} {
		if cb, err := call(t, c, body, sigs...); err != nil || len(cb.Actions) != 1 {
			t.Errorf("%s: %v, %d actions", name, err, len(cb.Actions))
		}
	}
}

func TestCallbackSameRequestSameNonce(t *testing.T) {
	t.Parallel()
	c := mustCallback(t)
	body := incidentEvent("incident.acknowledged", "alertbridge-42", now)
	a, err := call(t, c, body, sign(webhookSecret, []byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := call(t, c, body, sign(webhookSecret, []byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Nonce != "5ac64822-4adc-4fda-ade0-410becf0de4f" || a.Nonce != b.Nonce {
		t.Errorf("nonces %q and %q, want the event id twice", a.Nonce, b.Nonce)
	}
	other := noteEvent("alertbridge-42", "x")
	o, err := call(t, c, other, sign(webhookSecret, []byte(other)))
	if err != nil || o.Nonce == a.Nonce {
		t.Errorf("another event: nonce %q, err %v", o.Nonce, err)
	}
}

func TestCallbackInvalid(t *testing.T) {
	t.Parallel()
	c := mustCallback(t)
	for name, body := range map[string]string{
		"NotJSON":      `{"event":`,
		"NoOccurredAt": `{"event":{"id":"x","event_type":"incident.resolved"}}`,
		"DataNotAnObject": `{"event":{"id":"x","event_type":"incident.resolved","occurred_at":"` + now.Format(time.RFC3339) +
			`","agent":{"type":"user_reference"},"data":[1]}}`,
	} {
		_, err := call(t, c, body, sign(webhookSecret, []byte(body)))
		if err == nil || errors.Is(err, sink.ErrUnauthenticated) {
			t.Errorf("%s: err %v, want an invalid request", name, err)
		}
	}
}

func TestNewCallbackNeedsSecret(t *testing.T) {
	t.Parallel()
	if _, err := NewCallback(CallbackOptions{}); err == nil {
		t.Fatal("no error without a secret")
	}
}

// FuzzCallback feeds signed bodies to the webhook decoder: it must not
// panic, and whatever it accepts names an incident.
func FuzzCallback(f *testing.F) {
	f.Add(incidentEvent("incident.acknowledged", "alertbridge-42", now))
	f.Add(noteEvent("alertbridge-7", "note"))
	f.Add(noteEvent("", "note"))
	f.Add(`{"event":{"occurred_at":"2026-03-01T12:00:00Z","event_type":"incident.resolved","agent":{"type":"user_reference"},"data":null}}`)
	f.Add(`{"event":null}`)
	c := mustCallback(f)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/ingest/callbacks/pd", strings.NewReader(body))
		r.Header.Set(SignatureHeader, sign(webhookSecret, []byte(body)))
		cb, err := c.Callback(r, []byte(body), now)
		if err != nil {
			return
		}
		for _, a := range cb.Actions {
			if a.IncidentID == 0 && a.ExternalID == "" {
				t.Errorf("action %+v names no incident", a)
			}
		}
	})
}
