package slack

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
)

// FuzzCallback feeds correctly signed requests of any body through
// Callback and the message update a press makes: neither may panic, every
// action names a positive incident, and every update is valid JSON.
func FuzzCallback(f *testing.F) {
	press := `{"type":"block_actions","user":{"id":"U1","username":"alice"},"container":{"type":"message","message_ts":"1.2","channel_id":"C0ALERTS1"},` +
		`"message":{"ts":"1.2","blocks":[{"type":"header","block_id":"ab_title","text":{"type":"plain_text","text":"[P2] x"}},` +
		`{"type":"section","block_id":"ab_alerts","text":{"type":"mrkdwn","text":"a"}},{"type":"actions","block_id":"ab_actions","elements":[]}]},` +
		`"response_url":"https://hooks.slack.com/actions/T/1/x","actions":[{"action_id":"alertbridge_acknowledge","value":"7"}]}`
	for _, seed := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "payload=" + url.QueryEscape(press)},
		{"application/x-www-form-urlencoded", "payload=" + url.QueryEscape(`{"type":"block_actions","actions":[{"action_id":"alertbridge_resolve","value":"99999999999999999999"}]}`)},
		{"application/x-www-form-urlencoded", "payload=" + url.QueryEscape(`{"type":"block_actions","message":{"blocks":[1,"x",null,{"block_id":7}]},"actions":null}`)},
		{"application/x-www-form-urlencoded", "ssl_check=1&token=x"},
		{"application/json", `{"type":"url_verification","challenge":"abc"}`},
		{"application/json; charset=utf-8", `{"type":"event_callback","event":{}}`},
		{"text/plain", "%zz"},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	const key = "fuzz-signing-secret"
	s, err := New(Options{Name: "fuzz", Token: secret.New("xoxb-fuzz"), Channel: "C0ALERTS1", SigningSecret: secret.New(key)})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r, err := http.NewRequest(http.MethodPost, "http://x/ingest/callbacks/fuzz", bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("X-Slack-Request-Timestamp", ts)
		r.Header.Set("X-Slack-Signature", Signature([]byte(key), ts, body))
		c, err := s.Callback(r, body, now)
		if err != nil {
			return
		}
		if len(c.Actions) > 0 && c.Nonce == "" {
			t.Fatal("actions without a nonce")
		}
		req, _ := decodeRequest(contentType, body)
		for _, a := range c.Actions {
			if a.IncidentID <= 0 {
				t.Fatalf("action on incident %d", a.IncidentID)
			}
			for _, st := range []incident.State{incident.StateAcknowledged, incident.StateResolved} {
				res := sink.Result{Action: a, Incident: incident.Incident{ID: a.IncidentID, State: st, Priority: 3}}
				_, msg, ok := s.pressedMessage(req.Interaction, res, now)
				if !ok {
					continue
				}
				if _, err := json.Marshal(msg); err != nil {
					t.Fatalf("update does not encode: %v", err)
				}
			}
		}
	})
}
