package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/sink/slack"
	"github.com/alertbridge/alertbridge/sink/slack/slacktest"
)

const (
	slackToken   = "xoxb-app-test"
	slackChannel = "C0ALERTS1"
	slackSigning = "app-test-signing-secret"
	slackSink    = "team-slack"
)

// slackApp is a daemon with one Slack sink on a fake Slack.
func slackApp(t *testing.T, o app.Options) (*app.App, *slacktest.Server) {
	t.Helper()
	f := slacktest.New(t, slackToken)
	f.AddChannel(slackChannel, "alerts")
	cfg, err := config.Parse("c.yml", []byte(`sinks:
  - name: `+slackSink+`
    slack:
      api_url: `+f.APIURL()+`
      token: `+slackToken+`
      channel: `+slackChannel+`
      signing_secret: `+slackSigning+`
`), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o.Config = cfg
	return mustApp(t, o), f
}

func onlyIncident(t *testing.T, a *app.App) api.Incident {
	t.Helper()
	c := &api.Client{BaseURL: "http://" + a.Addr()}
	list, err := c.ListIncidents(context.Background(), api.ListQuery{})
	if err != nil || len(list.Incidents) != 1 {
		t.Fatalf("incidents %+v, %v: want one", list.Incidents, err)
	}
	inc, err := c.Incident(context.Background(), list.Incidents[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestSlackSinkPostsIncident: an Alertmanager notification opens an
// incident, and the running dispatcher posts its message, with buttons
// since callbacks are configured, marked with the incident's ID.
func TestSlackSinkPostsIncident(t *testing.T) {
	a, f := slackApp(t, app.Options{SinkPoll: 20 * time.Millisecond})
	if code, body := post(t, a, "/ingest/alertmanager", fixture(t, "firing-group")); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	inc := onlyIncident(t, a)
	if !f.WaitFor(waitCtx(t), func() bool { return len(f.Messages(slackChannel)) > 0 }) {
		t.Fatal("no message posted")
	}
	msgs := f.Messages(slackChannel)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want one", len(msgs))
	}
	m := msgs[0]
	if md := m.Metadata; md == nil || md.EventType != slack.EventIncident || md.EventPayload["incident_id"] != float64(inc.ID) ||
		md.EventPayload["sink"] != slackSink {
		t.Errorf("metadata %+v, want incident %d of %s", md, inc.ID, slackSink)
	}
	blocks := blockTexts(t, m)
	for _, want := range []string{inc.Title, "Open since", slack.ActionAcknowledge, slack.ActionResolve, inc.Service} {
		if !strings.Contains(blocks, want) {
			t.Errorf("blocks lack %q: %s", want, blocks)
		}
	}
}

// blockTexts is every string in a message's blocks (texts, action IDs),
// one a line.
func blockTexts(t *testing.T, m slacktest.Message) string {
	t.Helper()
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	for _, raw := range m.Blocks {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		walk(v)
	}
	return strings.Join(out, "\n")
}

// TestSlackButtonCallbacks: a signed press acknowledges, and the callback
// (not the outbox: the change came from Slack) updates the message; a bad
// signature, a stale timestamp and the same request again are refused and
// change nothing.
func TestSlackButtonCallbacks(t *testing.T) {
	a, f := slackApp(t, app.Options{ManualDispatch: true})
	if code, body := post(t, a, "/ingest/alertmanager", fixture(t, "firing-group")); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, body)
	}
	if n, err := a.Dispatcher().RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("dispatch: %d, %v; want the opening posted", n, err)
	}
	inc := onlyIncident(t, a)
	m := f.Messages(slackChannel)[0]
	url := "http://" + a.Addr() + "/ingest/callbacks/" + slackSink
	press := f.Press(slackChannel, m.TS, slacktest.User{ID: "U0ALICE", Username: "alice"}, slack.ActionAcknowledge,
		jsonNumber(inc.ID))
	send := func(secret string, ts int64) (int, string) {
		t.Helper()
		at := strconv.FormatInt(ts, 10)
		return postWith(t, url, press, "Content-Type", "application/x-www-form-urlencoded",
			"X-Slack-Request-Timestamp", at, "X-Slack-Signature", slacktest.Sign(secret, at, press))
	}
	unchanged := func(step string) {
		t.Helper()
		got := onlyIncident(t, a)
		if got.State != inc.State || len(got.Timeline) != len(inc.Timeline) {
			t.Errorf("%s: state %s with %d entries, was %s with %d", step, got.State, len(got.Timeline), inc.State, len(inc.Timeline))
		}
	}
	ctx := context.Background()

	// A bad signature, and a stale timestamp (signed right): 401, nothing.
	if code, body := send("not-the-secret", time.Now().Unix()); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d %s, want 401", code, body)
	}
	unchanged("bad signature")
	if code, body := send(slackSigning, time.Now().Add(-6*time.Minute).Unix()); code != http.StatusUnauthorized {
		t.Errorf("stale timestamp: %d %s, want 401", code, body)
	}
	unchanged("stale timestamp")

	// The real press.
	ts := time.Now().Unix()
	if code, body := send(slackSigning, ts); code != http.StatusOK {
		t.Fatalf("press: %d %s, want 200", code, body)
	}
	got := onlyIncident(t, a)
	if got.State != "acknowledged" {
		t.Fatalf("state %s after the press, want acknowledged", got.State)
	}
	last := got.Timeline[len(got.Timeline)-1]
	if last.Kind != "acknowledged" || last.Actor != slackSink+":alice" {
		t.Errorf("last entry %+v, want acknowledged by %s:alice", last, slackSink)
	}
	if !f.WaitFor(waitCtx(t), func() bool { return len(f.Calls("chat.update")) > 0 }) {
		t.Fatal("the callback did not update the message")
	}
	// The outbox has nothing for this sink: the change came from it.
	if n, err := a.Dispatcher().RunOnce(ctx); err != nil || n != 0 {
		t.Errorf("dispatch after the press: %d, %v; want nothing sent back to Slack", n, err)
	}
	if n := len(f.Calls("chat.update")); n != 1 {
		t.Errorf("%d chat.update calls, want only the callback's", n)
	}
	if n := len(f.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d chat.postMessage calls, want only the opening (no reply of our own change)", n)
	}
	shown := blockTexts(t, f.Messages(slackChannel)[0])
	if !strings.Contains(shown, "*Acknowledged* by <@U0ALICE>") || strings.Contains(shown, slack.ActionAcknowledge) {
		t.Errorf("message after the press: %s", shown)
	}

	// The same signed request again: refused, nothing changes.
	inc = got
	if code, body := send(slackSigning, ts); code != http.StatusUnauthorized {
		t.Errorf("replay: %d %s, want 401", code, body)
	}
	unchanged("replay")
}

func jsonNumber(i int64) string { return strconv.FormatInt(i, 10) }
