package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
)

// recorder is a tool that takes every request (202) and tells the test
// of each as "METHOD path?query" (Opsgenie) or "action key" (PagerDuty).
type recorder struct {
	srv  *httptest.Server
	seen chan string
}

func newRecorder(t *testing.T, describe func(*http.Request) string) *recorder {
	t.Helper()
	r := &recorder{seen: make(chan string, 64)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.seen <- describe(req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"success","result":"Request will be processed"}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// next waits for the next request starting with want and returns those
// before it; it fails after a minute without it (the dispatcher polls
// every second).
func (r *recorder) next(t *testing.T, want string) []string {
	t.Helper()
	var before []string
	deadline := time.After(time.Minute)
	for {
		select {
		case got := <-r.seen:
			if strings.HasPrefix(got, want) {
				return before
			}
			before = append(before, got)
		case <-deadline:
			t.Fatalf("no %q; got %q", want, before)
		}
	}
}

// TestPagerDutyOpsgenieRoundTrip runs the daemon with both sinks and their
// callbacks: an incident pages in both; acknowledged in PagerDuty, it is
// acknowledged here and in Opsgenie, not sent back to PagerDuty; closed in
// Opsgenie, it resolves here and in PagerDuty, not sent back to Opsgenie;
// a replayed webhook is refused.
func TestPagerDutyOpsgenieRoundTrip(t *testing.T) {
	pd := newRecorder(t, func(r *http.Request) string {
		var ev struct {
			Action string `json:"event_action"`
			Key    string `json:"dedup_key"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		return ev.Action + " " + ev.Key
	})
	og := newRecorder(t, func(r *http.Request) string {
		var body struct {
			Note string `json:"note"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		return strings.TrimSpace(r.Method + " " + r.URL.RequestURI() + " " + body.Note)
	})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertbridge.yml")
	writeFile(t, cfg, fmt.Sprintf(`sinks:
  - name: pd
    pagerduty:
      url: %s/v2/enqueue
      routing_key: R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY32
      webhook_secret: pd-signing-secret
  - name: og
    opsgenie:
      url: %s
      api_key: og-api-key
      callback_token: og-callback-token
`, pd.srv.URL, og.srv.URL))
	a := mustApp(t, app.Options{ConfigFile: cfg})
	base := "http://" + a.Addr()
	if code, b := postWith(t, base+"/ingest/alertmanager", fixture(t, "firing-group")); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, b)
	}
	c := &api.Client{BaseURL: base}
	list, err := c.ListIncidents(context.Background(), api.ListQuery{})
	if err != nil || len(list.Incidents) != 1 {
		t.Fatalf("incidents %+v, %v", list, err)
	}
	id := list.Incidents[0].ID
	key := fmt.Sprintf("alertbridge-%d", id)
	pd.next(t, "trigger "+key)
	og.next(t, "POST /v2/alerts [opened] system")

	ack := fmt.Sprintf(`{"event":{"id":"01D3NPB0KYNC9XDDNP47UN2NMC","event_type":"incident.acknowledged",
"resource_type":"incident","occurred_at":%q,"agent":{"id":"PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},
"data":{"id":"PGR0VU2","type":"incident","status":"acknowledged","incident_key":%q}}}`,
		time.Now().UTC().Format(time.RFC3339), key)
	m := hmac.New(sha256.New, []byte("pd-signing-secret"))
	m.Write([]byte(ack))
	sig := "v1=" + hex.EncodeToString(m.Sum(nil))
	if code, b := postWith(t, base+"/ingest/callbacks/pd", []byte(ack), "X-PagerDuty-Signature", sig); code != http.StatusOK ||
		!strings.Contains(b, `"outcome":"done"`) {
		t.Fatalf("pagerduty acknowledge: %d %s", code, b)
	}
	// The same webhook again is refused and changes nothing.
	if code, b := postWith(t, base+"/ingest/callbacks/pd", []byte(ack), "X-PagerDuty-Signature", sig); code != http.StatusUnauthorized ||
		!strings.Contains(b, "request already used") {
		t.Errorf("replayed webhook: %d %s, want 401 request already used", code, b)
	}
	if code, b := postWith(t, base+"/ingest/callbacks/pd", []byte(ack), "X-PagerDuty-Signature", "v1=00"); code != http.StatusUnauthorized {
		t.Errorf("wrong signature: %d %s, want 401", code, b)
	}
	inc, err := c.Incident(context.Background(), id)
	if err != nil || inc.State != "acknowledged" {
		t.Fatalf("after the pagerduty acknowledge: %s, %v", inc.State, err)
	}
	og.next(t, "POST /v2/alerts/"+key+"/acknowledge?identifierType=alias [acknowledged] pd:Tenex Engineer")

	closed := fmt.Sprintf(`{"action":"Close","alert":{"alertId":"052652ac","alias":%q,"username":"alice@example.com",
"updatedAt":1420452224764002246},"source":{"name":"","type":"web"},"integrationName":"alertbridge"}`, key)
	if code, b := postWith(t, base+"/ingest/callbacks/og", []byte(closed), "Authorization", "Bearer og-callback-token"); code != http.StatusOK ||
		!strings.Contains(b, `"outcome":"done"`) {
		t.Fatalf("opsgenie close: %d %s", code, b)
	}
	if before := pd.next(t, "resolve "+key); len(before) != 0 {
		t.Errorf("pagerduty heard %q before the resolve: its own acknowledge came back", before)
	}
	// The sink never heard of the close (it came from Opsgenie), so the
	// comment's delivery closes the alert again with the note: had the
	// close come back, its own close would go first.
	if _, err := c.Comment(context.Background(), id, api.ActionRequest{Message: "postmortem on Monday"}); err != nil {
		t.Fatal(err)
	}
	if before := og.next(t, "POST /v2/alerts/"+key+"/close?identifierType=alias [comment]"); len(before) != 0 {
		t.Errorf("opsgenie heard %q before the comment: its own close came back", before)
	}
	inc, err = c.Incident(context.Background(), id)
	if err != nil || inc.State != "resolved" {
		t.Fatalf("after the opsgenie close: %s, %v", inc.State, err)
	}
	actors := map[string]bool{}
	for _, e := range inc.Timeline {
		actors[e.Actor] = true
	}
	if !actors["pd:Tenex Engineer"] || !actors["og:alice@example.com"] {
		t.Errorf("timeline actors %v, want the tools' users", actors)
	}
}
