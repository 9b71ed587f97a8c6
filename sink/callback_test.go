package sink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// tokenTool authenticates callbacks by an X-Token header and takes its
// action from a small JSON body: {"incident", "ticket", "action", "user",
// "message"}; the nonce is the X-Nonce header.
type tokenTool struct{}

func (tokenTool) Callback(r *http.Request, body []byte, now time.Time) (sink.Callback, error) {
	if r.Header.Get("X-Token") != "good" {
		return sink.Callback{}, fmt.Errorf("%w: bad token", sink.ErrUnauthenticated)
	}
	var b struct {
		Incident int64  `json:"incident"`
		Ticket   string `json:"ticket"`
		Action   string `json:"action"`
		User     string `json:"user"`
		Message  string `json:"message"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return sink.Callback{}, fmt.Errorf("decode: %w", err)
	}
	if b.Action == "" {
		return sink.Callback{}, nil // a ping
	}
	return sink.Callback{Nonce: r.Header.Get("X-Nonce"), Expires: now.Add(time.Hour), Actions: []sink.Action{{
		IncidentID: b.Incident, ExternalID: b.Ticket, Action: incident.Action(b.Action), User: b.User, Message: b.Message}}}, nil
}

type callbackEnv struct {
	t   *testing.T
	st  *sqlite.Store
	p   *pipeline.Pipeline
	srv *httptest.Server
	reg *prometheus.Registry
}

func newCallbackEnv(t *testing.T) *callbackEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	clock := &clock{now: t0}
	p, err := pipeline.New(pipeline.Options{Store: st, Now: clock.Now, Route: sink.NewRouter(nil, []string{"tool", "other"}).Route})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	mux.Handle("/ingest/callbacks/{sink}", sink.NewCallbackHandler(sink.CallbackOptions{
		Sinks: map[string]sink.Callbacks{"tool": tokenTool{}}, Exec: p, Tickets: st, Now: clock.Now, Registerer: reg}))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		_ = p.Stop(context.Background())
		st.Close()
	})
	err = p.Submit(context.Background(), []incident.Event{{Source: "test", Fingerprint: "f1", Status: incident.StatusFiring,
		Labels: map[string]string{"alertname": "Down"}, StartsAt: t0}})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(tx incident.Tx) error {
		return tx.PutTicket(context.Background(), incident.Ticket{IncidentID: 1, Sink: "tool", ExternalID: "OPS-7", UpdatedAt: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	return &callbackEnv{t: t, st: st, p: p, srv: srv, reg: reg}
}

func (e *callbackEnv) post(path, token, nonce, body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("X-Token", token)
	req.Header.Set("X-Nonce", nonce)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *callbackEnv) timeline() []string {
	e.t.Helper()
	tl, err := e.st.Timeline(context.Background(), 1)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, x := range tl {
		out = append(out, string(x.Kind)+" by "+x.Actor)
	}
	return out
}

func TestCallbackHandler(t *testing.T) {
	e := newCallbackEnv(t)
	before := e.timeline()

	code, body := e.post("/ingest/callbacks/nope", "good", "n0", `{}`)
	check(t, "unknown sink", http.StatusNotFound, code)
	check(t, "unknown sink says so", `no sink "nope" takes callbacks`, body["error"])
	code, _ = e.post("/ingest/callbacks/other", "good", "n0", `{}`)
	check(t, "a sink without callbacks", http.StatusNotFound, code)
	code, body = e.post("/ingest/callbacks/tool", "bad", "n1", `{"incident": 1, "action": "acknowledge", "user": "mallory"}`)
	check(t, "wrong token", http.StatusUnauthorized, code)
	check(t, "wrong token says why", "unauthenticated: bad token", body["error"])
	code, _ = e.post("/ingest/callbacks/tool", "good", "n1", `{"incident": `)
	check(t, "broken body", http.StatusBadRequest, code)
	check(t, "nothing changed by refused callbacks", before, e.timeline())

	code, body = e.post("/ingest/callbacks/tool", "good", "n2", `{"incident": 1, "action": "acknowledge", "user": "alice\u0007\n"}`)
	check(t, "acknowledge", http.StatusOK, code)
	check(t, "outcome", "done", body["results"].([]any)[0].(map[string]any)["outcome"])
	inc, _ := e.st.Incident(context.Background(), 1)
	check(t, "state", incident.StateAcknowledged, inc.State)
	check(t, "actor is the tool's user, cleaned", "acknowledged by tool:alice", e.timeline()[len(e.timeline())-1])

	// Not sent back to the tool it came from; the other sink hears of it.
	rows, _ := e.st.OutboxRows(context.Background(), "", 0, 10)
	var acks []string
	for _, r := range rows {
		if r.Kind == incident.NotifyAcknowledged {
			acks = append(acks, r.Sink)
		}
	}
	check(t, "acknowledged rows", []string{"other"}, acks)

	// A comment through the ticket's external ID; then the same request
	// again is refused and adds nothing.
	comment := `{"ticket": "OPS-7", "action": "comment", "user": "bob", "message": "db restarted"}`
	code, _ = e.post("/ingest/callbacks/tool", "good", "n3", comment)
	check(t, "comment", http.StatusOK, code)
	n := len(e.timeline())
	code, body = e.post("/ingest/callbacks/tool", "good", "n3", comment)
	check(t, "replay", http.StatusUnauthorized, code)
	check(t, "replay says so", "request already used", body["error"])
	check(t, "nothing added by the replay", n, len(e.timeline()))

	// Acknowledging twice is fine for the tool: unchanged, 200.
	code, body = e.post("/ingest/callbacks/tool", "good", "n4", `{"incident": 1, "action": "acknowledge", "user": "carol"}`)
	check(t, "acknowledge again", http.StatusOK, code)
	check(t, "unchanged", "unchanged", body["results"].([]any)[0].(map[string]any)["outcome"])
	code, body = e.post("/ingest/callbacks/tool", "good", "n5", `{"ticket": "OTHER-1", "action": "resolve", "user": "carol"}`)
	check(t, "not ours", http.StatusOK, code)
	check(t, "not found", "not_found", body["results"].([]any)[0].(map[string]any)["outcome"])
	code, body = e.post("/ingest/callbacks/tool", "good", "n6", `{"incident": 1, "action": "merge", "user": "carol"}`)
	check(t, "an action a tool may not take", "invalid", body["results"].([]any)[0].(map[string]any)["outcome"])
	_ = code
	code, _ = e.post("/ingest/callbacks/tool", "good", "", `{}`)
	check(t, "a ping", http.StatusOK, code)

	code, _ = e.post("/ingest/callbacks/tool", "good", "n7", `{"message": "`+strings.Repeat("x", 2<<20)+`"}`)
	check(t, "too large", http.StatusRequestEntityTooLarge, code)

	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/ingest/callbacks/tool", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	check(t, "GET", http.StatusMethodNotAllowed, resp.StatusCode)
	check(t, "state after all", incident.StateAcknowledged, func() incident.State { i, _ := e.st.Incident(context.Background(), 1); return i.State }())
}
