package opsgenie

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/keyed"
	"github.com/alertbridge/alertbridge/sink/message"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustSink(t *testing.T, f *fakeOG) *Sink {
	t.Helper()
	s, err := New(Options{URL: f.srv.URL + "/", APIKey: secret.New(f.key), Tags: []string{"alertbridge", "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newIncident() incident.Incident {
	return incident.Incident{ID: 42, State: incident.StateOpen, Priority: 3, Impact: incident.LevelMedium,
		Urgency: incident.LevelMedium, Title: "disk full on db-1", Summary: "/var is 99% full", Service: "db",
		Owner: "dba", Rule: "disk", OpenedAt: t0}
}

func entry(k incident.TimelineKind, actor, msg string) incident.TimelineEntry {
	return incident.TimelineEntry{IncidentID: 42, At: t0, Kind: k, Actor: actor, Message: msg}
}

func notify(id int64, kind incident.NotifyKind, inc incident.Incident, tk *incident.Ticket, es ...incident.TimelineEntry) sink.Notification {
	n := sink.Notification{ID: id, Kind: kind, Incident: inc, Entries: es, Ticket: tk, AlertCount: 3,
		URL: "https://alertbridge.example/incidents/42"}
	if len(es) > 0 {
		n.Entry = es[0]
	}
	return n
}

func mustDeliver(t *testing.T, s *Sink, n sink.Notification) *incident.Ticket {
	t.Helper()
	tk, err := s.Deliver(context.Background(), n)
	if err != nil {
		t.Fatalf("deliver %s: %v", n.Kind, err)
	}
	return tk
}

// alertState is an alert's state as the ticket names it.
func alertState(a ogAlert) keyed.State {
	switch {
	case a.Status == "closed":
		return keyed.StateResolved
	case a.Acknowledged:
		return keyed.StateAcknowledged
	}
	return keyed.StateOpen
}

const (
	stateOpen         = keyed.StateOpen
	stateAcknowledged = keyed.StateAcknowledged
	stateClosed       = keyed.StateResolved
)

// TestLifecycle follows one incident through its life and checks the
// Opsgenie alerts after each change: the requests made, how many alerts
// exist, and the latest one's state, priority and notes.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	f := newFakeOG(t)
	s := mustSink(t, f)
	inc := newIncident()
	var tk *incident.Ticket
	steps := []struct {
		name     string
		kind     incident.NotifyKind
		change   func(*incident.Incident)
		entry    incident.TimelineEntry
		requests []string
		alerts   int
		state    keyed.State
		priority string
		lastNote string
	}{
		{name: "Opened", kind: incident.NotifyOpened, change: func(*incident.Incident) {},
			entry: entry(incident.TimelineOpened, "system", "3 alerts firing"), requests: []string{"create"}, alerts: 1,
			state: stateOpen, priority: "P3", lastNote: "[opened] system: 3 alerts firing"},
		{name: "Acknowledged", kind: incident.NotifyAcknowledged,
			change: func(i *incident.Incident) { i.State = incident.StateAcknowledged },
			entry:  entry(incident.TimelineAcknowledged, "alice", "on it"), requests: []string{"acknowledge"}, alerts: 1,
			state: stateAcknowledged, priority: "P3", lastNote: "[acknowledged] alice: on it"},
		{name: "Comment", kind: incident.NotifyComment, change: func(*incident.Incident) {},
			entry: entry(incident.TimelineComment, "bob", "looking at the disks"), requests: []string{"notes"}, alerts: 1,
			state: stateAcknowledged, priority: "P3", lastNote: "[comment] bob: looking at the disks"},
		{name: "PriorityChanged", kind: incident.NotifyPriorityChanged,
			change: func(i *incident.Incident) { i.Priority = 1 },
			entry:  entry(incident.TimelinePriorityChanged, "system", "P3 → P1"), requests: []string{"priority", "notes"},
			alerts: 1, state: stateAcknowledged, priority: "P1", lastNote: "[priority_changed] system: P3 → P1"},
		{name: "Resolved", kind: incident.NotifyResolved,
			change: func(i *incident.Incident) { i.State = incident.StateResolved },
			entry:  entry(incident.TimelineResolved, "system", "all alerts resolved"), requests: []string{"close"},
			alerts: 1, state: stateClosed, priority: "P1", lastNote: "[resolved] system: all alerts resolved"},
		{name: "ReopenedMakesNewAlert", kind: incident.NotifyReopened,
			change: func(i *incident.Incident) { i.State = incident.StateOpen },
			entry:  entry(incident.TimelineReopened, "system", "fired again"), requests: []string{"create"}, alerts: 2,
			state: stateOpen, priority: "P1", lastNote: "[reopened] system: fired again"},
		{name: "ResolvedAgain", kind: incident.NotifyResolved,
			change: func(i *incident.Incident) { i.State = incident.StateResolved },
			entry:  entry(incident.TimelineResolved, "system", "all alerts resolved"), requests: []string{"close"},
			alerts: 2, state: stateClosed, priority: "P1", lastNote: "[resolved] system: all alerts resolved"},
	}
	for i, st := range steps {
		st.change(&inc)
		f.reset()
		tk = mustDeliver(t, s, notify(int64(i+1), st.kind, inc, tk, st.entry))
		alerts, reqs := f.snapshot()
		if !cmp.Equal(reqs, st.requests) {
			t.Errorf("%s: requests %v, want %v", st.name, reqs, st.requests)
		}
		if len(alerts) != st.alerts {
			t.Fatalf("%s: %d alerts, want %d", st.name, len(alerts), st.alerts)
		}
		last := alerts[len(alerts)-1]
		if last.Alias != "alertbridge-42" || alertState(last) != st.state || last.Priority != st.priority {
			t.Errorf("%s: alert %s %s %s, want alertbridge-42 %s %s", st.name, last.Alias, alertState(last), last.Priority,
				st.state, st.priority)
		}
		if n := last.Notes; len(n) == 0 || n[len(n)-1] != st.lastNote {
			t.Errorf("%s: notes %q, want the last %q", st.name, n, st.lastNote)
		}
		if tk == nil || tk.ExternalID != "alertbridge-42" || tk.Data[keyed.DataState] != string(st.state) {
			t.Errorf("%s: ticket %+v, want alertbridge-42 in state %s", st.name, tk, st.state)
		}
	}
	alerts, _ := f.snapshot()
	if alertState(alerts[0]) != stateClosed {
		t.Errorf("first alert %s, want closed", alertState(alerts[0]))
	}
}

// TestCreate checks what an alert is made of.
func TestCreate(t *testing.T) {
	t.Parallel()
	f := newFakeOG(t)
	s, err := New(Options{URL: f.srv.URL, APIKey: secret.New(f.key), Tags: []string{"team-db"},
		Message: message.MustCompile("message", `{{ .Incident.Priority }} {{ .Incident.Title }} on {{ .Incident.Service }}`)})
	if err != nil {
		t.Fatal(err)
	}
	mustDeliver(t, s, notify(1, incident.NotifyOpened, newIncident(), nil))
	alerts, _ := f.snapshot()
	a := alerts[0]
	a.Description = ""
	want := ogAlert{ID: "alert-1", Alias: "alertbridge-42", Message: "P3 disk full on db-1 on db", Priority: "P3",
		Entity: "db", Source: "alertbridge", Status: "open", Count: 1, Tags: []string{"team-db"},
		Details: map[string]string{"incident_id": "42", "priority": "P3", "state": "open", "alert_count": "3",
			"service": "db", "owner": "dba", "impact": "medium", "urgency": "medium", "rule": "disk",
			"url": "https://alertbridge.example/incidents/42"}}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("alert (-want +got):\n%s", diff)
	}
	for _, s := range []string{"/var is 99% full", "Service: db", "Owner: dba", "alertbridge incident #42 https://alertbridge.example/incidents/42"} {
		if !strings.Contains(alerts[0].Description, s) {
			t.Errorf("description %q lacks %q", alerts[0].Description, s)
		}
	}
}

func TestMessageCutTo130Characters(t *testing.T) {
	t.Parallel()
	f := newFakeOG(t)
	s := mustSink(t, f)
	inc := newIncident()
	inc.Title = strings.Repeat("ü", 300)
	mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil))
	alerts, _ := f.snapshot()
	if n := len([]rune(alerts[0].Message)); n != maxMessage || !strings.HasSuffix(alerts[0].Message, "…") {
		t.Errorf("message of %d characters, want %d ending in …", n, maxMessage)
	}
}

// TestFoldedEntries: entries folded into one notification go in one note,
// oldest first; a known error's workaround stands out, and shows in the
// description of a later alert.
func TestFoldedEntries(t *testing.T) {
	t.Parallel()
	f := newFakeOG(t)
	s := mustSink(t, f)
	inc := newIncident()
	tk := mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil))
	inc.Priority = 2
	f.reset()
	tk = mustDeliver(t, s, notify(2, incident.NotifyKnownError, inc, tk,
		entry(incident.TimelineWorkaround, "problem-bot", "restart the exporter"),
		entry(incident.TimelinePriorityChanged, "system", "P3 → P2"),
		entry(incident.TimelineSLABreached, "system", "respond target missed")))
	alerts, reqs := f.snapshot()
	if want := []string{"priority", "notes"}; !cmp.Equal(reqs, want) {
		t.Errorf("requests %v, want %v", reqs, want)
	}
	wantNote := "KNOWN ERROR. Workaround: restart the exporter (problem-bot)\n[priority_changed] system: P3 → P2\n" +
		"[sla_breached] system: respond target missed"
	if got := alerts[0].Notes[len(alerts[0].Notes)-1]; got != wantNote {
		t.Errorf("note %q, want %q", got, wantNote)
	}
	if alerts[0].Priority != "P2" {
		t.Errorf("priority %s, want P2", alerts[0].Priority)
	}
	inc.State = incident.StateResolved
	tk = mustDeliver(t, s, notify(3, incident.NotifyResolved, inc, tk))
	inc.State = incident.StateOpen
	mustDeliver(t, s, notify(4, incident.NotifyReopened, inc, tk))
	alerts, _ = f.snapshot()
	if d := alerts[1].Description; !strings.HasPrefix(d, "KNOWN ERROR. Workaround: restart the exporter") {
		t.Errorf("description of the reopened alert %q: want the workaround first", d)
	}
	if alerts[1].Details["workaround"] != "restart the exporter" {
		t.Errorf("details %v: want the workaround", alerts[1].Details)
	}
}

// TestNoTicket covers deliveries with no alert made yet: the opened
// notification was held or died.
func TestNoTicket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		kind     incident.NotifyKind
		state    incident.State
		merged   bool
		requests []string
		alerts   int
		acked    bool
	}{
		{name: "ResolvedOnlyCloses", kind: incident.NotifyResolved, state: incident.StateResolved, requests: []string{}},
		{name: "MergedOnlyCloses", kind: incident.NotifyMerged, state: incident.StateResolved, merged: true,
			requests: []string{}},
		{name: "AcknowledgedCreatesThenAcks", kind: incident.NotifyReleased, state: incident.StateAcknowledged,
			requests: []string{"create", "acknowledge"}, alerts: 1, acked: true},
		{name: "CommentOnOpenCreates", kind: incident.NotifyComment, state: incident.StateOpen,
			requests: []string{"create"}, alerts: 1},
		{name: "PendingSendsNothing", kind: incident.NotifyOpened, state: incident.StatePending, requests: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeOG(t)
			s := mustSink(t, f)
			inc := newIncident()
			inc.State = tt.state
			if tt.merged {
				inc.MergedInto = 7
			}
			mustDeliver(t, s, notify(1, tt.kind, inc, nil, entry(incident.TimelineComment, "carol", "hello")))
			alerts, reqs := f.snapshot()
			if !cmp.Equal(reqs, tt.requests) {
				t.Errorf("requests %v, want %v", reqs, tt.requests)
			}
			if len(alerts) != tt.alerts {
				t.Fatalf("%d alerts, want %d", len(alerts), tt.alerts)
			}
			if tt.alerts > 0 && alerts[0].Acknowledged != tt.acked {
				t.Errorf("acknowledged %v, want %v", alerts[0].Acknowledged, tt.acked)
			}
		})
	}
}

// TestDeletedAlert: a user deleted the alert in Opsgenie (404 by alias).
// An acknowledge, a priority change or a note of an active incident makes
// it again; a close finds nothing to do.
func TestDeletedAlert(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		kind     incident.NotifyKind
		change   func(*incident.Incident)
		requests []string
		alerts   int
		state    keyed.State
	}{
		{name: "AcknowledgeCreatesThenAcks", kind: incident.NotifyAcknowledged,
			change:   func(i *incident.Incident) { i.State = incident.StateAcknowledged },
			requests: []string{"create", "acknowledge"}, alerts: 1, state: stateAcknowledged},
		{name: "PriorityCreates", kind: incident.NotifyPriorityChanged, change: func(i *incident.Incident) { i.Priority = 1 },
			requests: []string{"create"}, alerts: 1, state: stateOpen},
		{name: "NoteCreates", kind: incident.NotifyComment, change: func(*incident.Incident) {},
			requests: []string{"create"}, alerts: 1, state: stateOpen},
		{name: "CloseIsDone", kind: incident.NotifyResolved,
			change:   func(i *incident.Incident) { i.State = incident.StateResolved },
			requests: []string{}, alerts: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeOG(t)
			s := mustSink(t, f)
			inc := newIncident()
			tk := mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil))
			f.deleteAll()
			f.reset()
			tt.change(&inc)
			tk = mustDeliver(t, s, notify(2, tt.kind, inc, tk, entry(incident.TimelineComment, "dave", "still broken")))
			alerts, reqs := f.snapshot()
			if !cmp.Equal(reqs, tt.requests) {
				t.Errorf("requests %v, want %v", reqs, tt.requests)
			}
			if len(alerts) != tt.alerts {
				t.Fatalf("%d alerts, want %d", len(alerts), tt.alerts)
			}
			if tt.alerts > 0 {
				if alertState(alerts[0]) != tt.state || alerts[0].Priority != priorityOf(inc.Priority) {
					t.Errorf("alert %s %s, want %s %s", alertState(alerts[0]), alerts[0].Priority, tt.state,
						priorityOf(inc.Priority))
				}
				if n := alerts[0].Notes; len(n) != 1 || n[0] != "[comment] dave: still broken" {
					t.Errorf("notes %q, want the entry once", n)
				}
			}
			if tk.Data[keyed.DataState] != string(keyed.StateOf(inc)) {
				t.Errorf("ticket state %s, want %s", tk.Data[keyed.DataState], keyed.StateOf(inc))
			}
		})
	}
}

// TestMerged: the close names the incident it went into.
func TestMerged(t *testing.T) {
	t.Parallel()
	f := newFakeOG(t)
	s := mustSink(t, f)
	inc := newIncident()
	tk := mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil))
	inc.State, inc.MergedInto = incident.StateResolved, 7
	n := notify(2, incident.NotifyMerged, inc, tk, entry(incident.TimelineMerged, "alice", "same outage"))
	n.MergedInto = &incident.Incident{ID: 7, Title: "db cluster down"}
	n.MergedIntoURL = "https://alertbridge.example/incidents/7"
	mustDeliver(t, s, n)
	alerts, _ := f.snapshot()
	want := "Merged into alertbridge incident #7: db cluster down https://alertbridge.example/incidents/7\n" +
		"[merged] alice: same outage"
	if alertState(alerts[0]) != stateClosed || alerts[0].Notes[len(alerts[0].Notes)-1] != want {
		t.Errorf("alert %s, notes %q: want closed with %q", alertState(alerts[0]), alerts[0].Notes, want)
	}
}

// TestCommentAfterClose: a comment on a resolved incident is a note on
// its closed alert, not another close.
func TestCommentAfterClose(t *testing.T) {
	t.Parallel()
	f := newFakeOG(t)
	s := mustSink(t, f)
	inc := newIncident()
	tk := mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil))
	inc.State = incident.StateResolved
	tk = mustDeliver(t, s, notify(2, incident.NotifyResolved, inc, tk))
	f.reset()
	mustDeliver(t, s, notify(3, incident.NotifyComment, inc, tk, entry(incident.TimelineComment, "erin", "postmortem on Monday")))
	alerts, reqs := f.snapshot()
	if want := []string{"notes"}; !cmp.Equal(reqs, want) {
		t.Errorf("requests %v, want %v", reqs, want)
	}
	if len(alerts) != 1 || alertState(alerts[0]) != stateClosed {
		t.Errorf("alerts %+v, want one, closed", alerts)
	}
}

// TestLostResponse: Opsgenie took the create but the answer was lost; the
// redelivery creates again and Opsgenie's de-duplication by alias leaves
// exactly one alert.
func TestLostResponse(t *testing.T) {
	t.Parallel()
	f := newFakeOG(t)
	s := mustSink(t, f)
	n := notify(1, incident.NotifyOpened, newIncident(), nil, entry(incident.TimelineOpened, "system", "opened"))
	f.fail(failure{lose: true})
	if _, err := s.Deliver(context.Background(), n); err == nil || errors.Is(err, sink.ErrPermanent) {
		t.Fatalf("lost answer: err %v, want a retryable error", err)
	}
	tk := mustDeliver(t, s, n)
	alerts, reqs := f.snapshot()
	if len(alerts) != 1 {
		t.Fatalf("%d alerts after the redelivery, want exactly 1", len(alerts))
	}
	if alerts[0].Count != 2 || !cmp.Equal(reqs, []string{"create", "create"}) || tk.ExternalID != "alertbridge-42" {
		t.Errorf("alert count %d, requests %v, ticket %+v: want one alert created twice", alerts[0].Count, reqs, tk)
	}
}

// TestErrors checks the class of each failure, and that no error repeats
// the API key.
func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fail      failure
		badKey    bool
		permanent bool
		unauth    bool
		after     time.Duration
		deadline  bool
	}{
		{name: "WrongKeyIsUnauthorized", badKey: true, unauth: true},
		{name: "ForbiddenIsUnauthorized", fail: failure{status: 403, body: `{"message":"insufficient rights"}`}, unauth: true},
		{name: "UnprocessableIsPermanent", fail: failure{status: 422, body: `{"message":"Request body is not processable"}`},
			permanent: true},
		{name: "ConflictIsPermanent", fail: failure{status: 409}, permanent: true},
		{name: "ThrottledWithRetryAfter", fail: failure{status: 429, header: map[string]string{"Retry-After": "12"}},
			after: 12 * time.Second},
		{name: "ThrottledWithPeriod", fail: failure{status: 429, header: map[string]string{"X-RateLimit-State": "THROTTLED",
			"X-RateLimit-Period-In-Sec": "10"}}, after: 10 * time.Second},
		{name: "ThrottledWithoutHeaders", fail: failure{status: 429}, after: RateLimitPause},
		{name: "ServerErrorRetried", fail: failure{status: 500}},
		{name: "BadGatewayRetried", fail: failure{status: 502}},
		{name: "TimeoutRetried", fail: failure{hang: true}, deadline: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeOG(t)
			key := f.key
			if tt.badKey {
				key = "not-the-key"
			}
			s, err := New(Options{URL: f.srv.URL, APIKey: secret.New(key)})
			if err != nil {
				t.Fatal(err)
			}
			f.fail(tt.fail)
			ctx := context.Background()
			if tt.deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
			}
			_, err = s.Deliver(ctx, notify(1, incident.NotifyOpened, newIncident(), nil))
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, sink.ErrPermanent); got != tt.permanent {
				t.Errorf("permanent %v, want %v: %v", got, tt.permanent, err)
			}
			if got := errors.Is(err, sink.ErrUnauthorized); got != tt.unauth {
				t.Errorf("unauthorized %v, want %v: %v", got, tt.unauth, err)
			}
			var ra *sink.RetryAfterError
			switch ok := errors.As(err, &ra); {
			case tt.after > 0 && (!ok || ra.After != tt.after):
				t.Errorf("err %v, want a retry after %s", err, tt.after)
			case tt.after == 0 && ok:
				t.Errorf("err %v, want no retry-after", err)
			}
			if tt.deadline && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err %v, want the deadline", err)
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("error repeats the API key: %v", err)
			}
			if alerts, _ := f.snapshot(); len(alerts) != 0 {
				t.Errorf("%d alerts after a failed create", len(alerts))
			}
		})
	}
}

// TestRequests checks the requests themselves: auth header, paths with
// identifierType=alias, the sink's user and source on every action.
func TestRequests(t *testing.T) {
	t.Parallel()
	f := newFakeOG(t)
	var seen []string
	s, err := New(Options{URL: f.srv.URL, APIKey: secret.New(f.key), UserAgent: "alertbridge/test",
		Client: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			if r.Header.Get("Authorization") != "GenieKey "+f.key || r.Header.Get("Content-Type") != "application/json" ||
				r.Header.Get("User-Agent") != "alertbridge/test" {
				t.Errorf("%s %s: headers %v", r.Method, r.URL, r.Header)
			}
			seen = append(seen, r.Method+" "+r.URL.RequestURI())
			return http.DefaultTransport.RoundTrip(r)
		})}})
	if err != nil {
		t.Fatal(err)
	}
	inc := newIncident()
	tk := mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil))
	inc.State = incident.StateAcknowledged
	tk = mustDeliver(t, s, notify(2, incident.NotifyAcknowledged, inc, tk))
	inc.Priority = 1
	tk = mustDeliver(t, s, notify(3, incident.NotifyPriorityChanged, inc, tk, entry(incident.TimelinePriorityChanged, "system", "up")))
	inc.State = incident.StateResolved
	mustDeliver(t, s, notify(4, incident.NotifyResolved, inc, tk))
	want := []string{"POST /v2/alerts", "POST /v2/alerts/alertbridge-42/acknowledge?identifierType=alias",
		"PUT /v2/alerts/alertbridge-42/priority?identifierType=alias",
		"POST /v2/alerts/alertbridge-42/notes?identifierType=alias",
		"POST /v2/alerts/alertbridge-42/close?identifierType=alias"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestNewNeedsKey(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{}); err == nil {
		t.Fatal("no error without an api key")
	}
	s, err := New(Options{APIKey: secret.New("k")})
	if err != nil || s.o.URL != DefaultURL {
		t.Fatalf("New: %v, url %q", err, s.o.URL)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
