package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/sink/webhook"
)

// simClock is the daemon's clock in the outage test.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *simClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// ticketTool is a ticketing tool behind a webhook: the first notification
// of an incident opens its ticket, every one is recorded in order, and it
// can be up, down (503), or hung (it holds the request until released).
type ticketTool struct {
	mu      sync.Mutex
	mode    string // "up", "down", "hang"
	hung    chan struct{}
	release chan struct{}
	got     map[int64][]webhook.Body // by incident, in arrival order
	ids     map[int64]int            // deliveries by notification id
	refused int
}

func newTicketTool() *ticketTool {
	return &ticketTool{mode: "up", got: map[int64][]webhook.Body{}, ids: map[int64]int{}}
}

func (s *ticketTool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	mode, hung, release := s.mode, s.hung, s.release
	if mode == "hang" {
		s.hung = nil
	}
	s.mu.Unlock()
	switch mode {
	case "down":
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case "hang":
		if hung != nil {
			close(hung)
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var b webhook.Body
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.got[b.Incident.ID] = append(s.got[b.Incident.ID], b)
	s.ids[b.ID]++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *ticketTool) set(mode string) { s.mu.Lock(); s.mode = mode; s.mu.Unlock() }

// TestSinkOutage: the tool is down for 30 minutes while incidents open,
// change and resolve. Ingest and the API carry on, even while a delivery
// hangs; the breaker opens and, once the tool is back, closes; every
// ticket then ends in its incident's state, each incident's notifications
// arrived once and in order, and no change was lost (folded updates count:
// their entries ride along).
func TestSinkOutage(t *testing.T) {
	tool := newTicketTool()
	srv := httptest.NewServer(tool)
	defer srv.Close()
	clock := &simClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	a := mustApp(t, app.Options{Now: clock.Now, ManualDispatch: true, Config: parseConfig(t, `sinks:
  - name: tickets
    timeout: 2s
    backoff: {initial: 10s, max: 5m}
    breaker: {failures: 3, timeout: 50ms}
    webhook: {url: "`+srv.URL+`"}
`)})
	ctx := context.Background()
	c := &api.Client{BaseURL: "http://" + a.Addr()}
	event := func(name, status, severity, group string) {
		t.Helper()
		body := fmt.Sprintf(`{"labels": {"alertname": %q, "service": "shop", "instance": %q}, "status": %q, "severity": %q, "group": %q}`,
			name, severity, status, severity, group)
		if code, resp := post(t, a, "/ingest/events", []byte(body)); code/100 != 2 {
			t.Fatalf("ingest %s %s: %d %s", name, status, code, resp)
		}
	}
	dispatch := func() {
		t.Helper()
		if _, err := a.Dispatcher().RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	byTitle := func() map[string]api.Incident {
		t.Helper()
		list, err := c.ListIncidents(ctx, api.ListQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]api.Incident{}
		for _, inc := range list.Incidents {
			m[strings.SplitN(inc.Title, ":", 2)[0]] = inc
		}
		return m
	}
	step := func(fn func()) {
		t.Helper()
		clock.Add(time.Minute)
		if fn != nil {
			fn()
		}
		dispatch()
	}

	// Minute 0: A and B open and reach the tool.
	event("A", "firing", "warning", "a")
	event("B", "firing", "warning", "b")
	dispatch()
	if n := len(tool.got); n != 2 {
		t.Fatalf("tool has %d tickets before the outage, want 2", n)
	}

	// The outage: first a delivery hangs; ingest and the API do not wait
	// for it.
	tool.mu.Lock()
	tool.mode, tool.hung, tool.release = "hang", make(chan struct{}), make(chan struct{})
	hung, release := tool.hung, tool.release
	tool.mu.Unlock()
	clock.Add(time.Minute)
	if _, err := c.Acknowledge(ctx, byTitle()["A"].ID, api.ActionRequest{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	dispatched := make(chan error, 1)
	go func() { _, err := a.Dispatcher().RunOnce(ctx); dispatched <- err }()
	<-hung // a delivery is in flight and stuck in the tool
	event("C", "firing", "warning", "c")
	if _, err := c.Comment(ctx, byTitle()["A"].ID, api.ActionRequest{Message: "looking at the shop db"}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-dispatched; err != nil {
		t.Fatal(err)
	}

	// Then 30 minutes of 503s while the incidents move on.
	tool.set("down")
	for minute := 2; minute <= 31; minute++ {
		step(func() {
			switch minute {
			case 4:
				event("A", "firing", "critical", "a") // a second, critical alert: A's priority rises
			case 6:
				event("B", "resolved", "warning", "b")
			case 8:
				event("D", "firing", "warning", "d")
			case 12:
				event("D", "resolved", "warning", "d")
			case 15:
				event("B", "firing", "warning", "b") // within reopen_within: B reopens
			case 20:
				if _, err := c.Comment(ctx, byTitle()["C"].ID, api.ActionRequest{Message: "C is noise"}); err != nil {
					t.Fatal(err)
				}
			case 25:
				if _, err := c.Resolve(ctx, byTitle()["A"].ID, api.ActionRequest{}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if v := metric(t, a.Registry(), "alertbridge_sink_circuit_transitions_total", map[string]string{"sink": "tickets", "to": "open"}); v < 1 {
		t.Fatalf("the breaker never opened (transitions to open: %v)", v)
	}
	if tool.refused > 20 {
		t.Errorf("the tool was hit %d times in 30 minutes of outage: hammered, not probed", tool.refused)
	}
	attempted := metric(t, a.Registry(), "alertbridge_sink_deliveries_total", map[string]string{"sink": "tickets", "outcome": "skipped"})
	t.Logf("outage: %d requests reached the tool; %v attempts skipped by the breaker or a pause", tool.refused, attempted)

	// The tool is back: step the clock until the outbox is empty.
	tool.set("up")
	deadline := time.Now().Add(30 * time.Second)
	for {
		clock.Add(time.Minute)
		dispatch()
		list, err := c.ListIncidents(ctx, api.ListQuery{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		_ = list
		pending := metric(t, a.Registry(), "alertbridge_outbox_pending", map[string]string{"sink": "tickets"})
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v notifications still pending after the tool came back", pending)
		}
		time.Sleep(20 * time.Millisecond) // the breaker's timeout runs on the wall clock
	}
	if v := metric(t, a.Registry(), "alertbridge_sink_circuit_open", map[string]string{"sink": "tickets"}); v != 0 {
		t.Errorf("breaker still open after recovery")
	}
	if v := metric(t, a.Registry(), "alertbridge_sink_circuit_transitions_total", map[string]string{"sink": "tickets", "to": "closed"}); v < 1 {
		t.Errorf("the breaker never closed again (transitions to closed: %v)", v)
	}
	if v := metric(t, a.Registry(), "alertbridge_outbox_dead_letters", map[string]string{"sink": "tickets"}); v != 0 {
		t.Errorf("%v dead letters", v)
	}

	// Every ticket in its incident's state; one ticket per incident; each
	// notification once; in order; every change told.
	incs := byTitle()
	if len(tool.got) != len(incs) {
		t.Errorf("tool has %d tickets for %d incidents", len(tool.got), len(incs))
	}
	for id, n := range tool.ids {
		if n != 1 {
			t.Errorf("notification %d delivered %d times", id, n)
		}
	}
	for title, inc := range incs {
		got := tool.got[inc.ID]
		if len(got) == 0 {
			t.Errorf("incident %s: no ticket", title)
			continue
		}
		last := got[len(got)-1]
		if last.Incident.State != inc.State || last.Incident.Priority != inc.Priority {
			t.Errorf("incident %s: ticket ends %s %s, incident is %s %s", title, last.Incident.State,
				last.Incident.Priority, inc.State, inc.Priority)
		}
		if got[0].Kind != "opened" {
			t.Errorf("incident %s: first notification %s, want opened", title, got[0].Kind)
		}
		var told []string
		for i, b := range got {
			if i > 0 && b.ID <= got[i-1].ID {
				t.Errorf("incident %s: notification %d after %d: out of order", title, b.ID, got[i-1].ID)
			}
			for _, e := range b.Entries {
				told = append(told, e.Kind+"@"+e.At.Format(time.RFC3339))
			}
		}
		detail, err := c.Incident(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		var changes []string
		for _, e := range detail.Timeline {
			switch e.Kind {
			case "opened", "acknowledged", "resolved", "reopened", "priority_changed", "comment", "sla_breached":
				changes = append(changes, e.Kind+"@"+e.At.Format(time.RFC3339))
			}
		}
		if !slices.Equal(told, changes) {
			t.Errorf("incident %s: the tool was told\n  %v\nthe timeline has\n  %v", title, told, changes)
		}
	}
	check := map[string]string{"A": "resolved", "B": "open", "C": "open", "D": "resolved"}
	for title, want := range check {
		if got := incs[title].State; got != want {
			t.Errorf("incident %s is %s, want %s (the scenario did not play as written)", title, got, want)
		}
	}
	if incs["A"].Priority != "P1" && incs["A"].Priority != "P2" {
		t.Errorf("A's priority %s did not rise", incs["A"].Priority)
	}
}
