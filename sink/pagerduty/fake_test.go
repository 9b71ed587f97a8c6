package pagerduty

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakePD follows the Events API v2 as PagerDuty documents it: POST
// /v2/enqueue with a routing_key; a trigger opens an alert for its
// dedup_key, or updates the open one (PagerDuty dedupes); acknowledge and
// resolve apply to the open alert and are dropped when there is none; a
// trigger after the resolve opens a new alert. It answers 202
// {"status":"success","dedup_key"} or 400 {"status":"invalid event"}, and
// the failures a test scripts.
type fakePD struct {
	t          *testing.T
	routingKey string
	srv        *httptest.Server
	closed     chan struct{}

	mu     sync.Mutex
	alerts []*pdAlert
	events []pdEvent
	script []failure
}

// pdAlert is one alert as PagerDuty keeps it.
type pdAlert struct {
	Key, Status, Severity, Summary, Source string
	Details                                details
	Links                                  []link
	// Triggers counts the trigger events the alert took.
	Triggers int
}

// pdEvent is an event the fake took, as posted.
type pdEvent struct {
	Action, Key string
	Payload     *payload
	Links       []link
}

// failure is what the fake does with the next request instead of
// answering it: an error answer, processing it and then dropping the
// connection (the answer is lost), or hanging until the client gives up.
type failure struct {
	status int
	header map[string]string
	body   string
	lose   bool
	hang   bool
}

// The statuses of a PagerDuty alert.
const (
	stateTriggered    = "triggered"
	stateAcknowledged = "acknowledged"
	stateResolved     = "resolved"
)

func newFakePD(t *testing.T) *fakePD {
	t.Helper()
	f := &fakePD{t: t, routingKey: "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY32"}
	f.closed = make(chan struct{})
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() {
		close(f.closed)
		f.srv.Close()
	})
	return f
}

func (f *fakePD) url() string { return f.srv.URL + "/v2/enqueue" }

// fail scripts the next requests.
func (f *fakePD) fail(fs ...failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, fs...)
}

func (f *fakePD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	var fl *failure
	if len(f.script) > 0 {
		fl = &f.script[0]
		f.script = f.script[1:]
	}
	f.mu.Unlock()
	switch {
	case fl != nil && fl.hang:
		// The server notices the client hang up only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-f.closed:
		}
		return
	case fl != nil && fl.status != 0:
		for k, v := range fl.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(fl.status)
		_, _ = w.Write([]byte(fl.body))
		return
	}
	var ev event
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		invalid(w, "body is not JSON")
		return
	}
	if msg := f.take(ev); msg != "" {
		invalid(w, msg)
		return
	}
	if fl != nil && fl.lose {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			f.t.Errorf("hijack: %v", err)
			return
		}
		_ = conn.Close() // taken, but the answer never arrives
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

func invalid(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "invalid event", "message": "Event object is invalid",
		"errors": []string{msg}})
}

// take validates and applies an event; it returns why it is invalid.
func (f *fakePD) take(ev event) string {
	if ev.RoutingKey != f.routingKey {
		return "invalid routing_key"
	}
	if ev.DedupKey == "" || len(ev.DedupKey) > 255 {
		return "dedup_key: required, at most 255 characters"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var open *pdAlert
	for _, a := range f.alerts {
		if a.Key == ev.DedupKey && a.Status != stateResolved {
			open = a
		}
	}
	switch ev.EventAction {
	case "trigger":
		p := ev.Payload
		if p == nil || p.Summary == "" || p.Source == "" {
			return "payload.summary and payload.source are required"
		}
		if len([]rune(p.Summary)) > maxSummary {
			return "payload.summary: longer than 1024 characters"
		}
		switch p.Severity {
		case "critical", "error", "warning", "info":
		default:
			return "payload.severity: must be critical, error, warning or info"
		}
		if open == nil {
			open = &pdAlert{Key: ev.DedupKey, Status: stateTriggered}
			f.alerts = append(f.alerts, open)
		}
		// A trigger on an acknowledged alert leaves it acknowledged.
		open.Severity, open.Summary, open.Source, open.Details, open.Links = p.Severity, p.Summary, p.Source, p.CustomDetails, ev.Links
		open.Triggers++
	case "acknowledge":
		if open != nil {
			open.Status = stateAcknowledged
		}
	case "resolve":
		if open != nil {
			open.Status = stateResolved
		}
	default:
		return "event_action: must be trigger, acknowledge or resolve"
	}
	f.events = append(f.events, pdEvent{Action: ev.EventAction, Key: ev.DedupKey, Payload: ev.Payload, Links: ev.Links})
	return ""
}

// snapshot returns copies of the alerts and the events taken.
func (f *fakePD) snapshot() ([]pdAlert, []pdEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	as := make([]pdAlert, len(f.alerts))
	for i, a := range f.alerts {
		as[i] = *a
	}
	return as, append([]pdEvent(nil), f.events...)
}

// actions are the event actions taken, in order.
func (f *fakePD) actions() []string {
	_, evs := f.snapshot()
	out := []string{}
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

// reset forgets the events taken (not the alerts).
func (f *fakePD) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = nil
}
