package pagerduty

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

func mustSink(t *testing.T, f *fakePD) *Sink {
	t.Helper()
	s, err := New(Options{URL: f.url(), RoutingKey: secret.New(f.routingKey)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newIncident() incident.Incident {
	return incident.Incident{ID: 42, State: incident.StateOpen, Priority: 3, Title: "disk full on db-1", Service: "db",
		Owner: "dba", Rule: "disk", OpenedAt: t0, ImpactStartedAt: t0.Add(-time.Minute)}
}

func entry(k incident.TimelineKind, msg string) incident.TimelineEntry {
	return incident.TimelineEntry{IncidentID: 42, At: t0, Kind: k, Actor: "system", Message: msg}
}

// notify is notification id of kind about inc, told with entries.
func notify(id int64, kind incident.NotifyKind, inc incident.Incident, tk *incident.Ticket, es ...incident.TimelineEntry) sink.Notification {
	n := sink.Notification{ID: id, Kind: kind, Incident: inc, Entries: es, Ticket: tk, AlertCount: 2,
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

// TestLifecycle follows one incident through its life and checks the
// PagerDuty alerts after each change: what was sent, how many alerts
// exist, and the latest one's status and severity.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	f := newFakePD(t)
	s := mustSink(t, f)
	inc := newIncident()
	var tk *incident.Ticket
	steps := []struct {
		name     string
		kind     incident.NotifyKind
		change   func(*incident.Incident)
		entry    incident.TimelineEntry
		sent     []string
		alerts   int
		status   string
		severity string
	}{
		{name: "Opened", kind: incident.NotifyOpened, change: func(*incident.Incident) {},
			entry: entry(incident.TimelineOpened, "opened"), sent: []string{"trigger"}, alerts: 1,
			status: stateTriggered, severity: "warning"},
		{name: "Acknowledged", kind: incident.NotifyAcknowledged,
			change: func(i *incident.Incident) { i.State = incident.StateAcknowledged },
			entry:  entry(incident.TimelineAcknowledged, "on it"), sent: []string{"acknowledge"}, alerts: 1,
			status: stateAcknowledged, severity: "warning"},
		{name: "CommentSendsNothing", kind: incident.NotifyComment, change: func(*incident.Incident) {},
			entry: entry(incident.TimelineComment, "looking at the disks"), sent: []string{}, alerts: 1,
			status: stateAcknowledged, severity: "warning"},
		{name: "PriorityChangedRetriggers", kind: incident.NotifyPriorityChanged,
			change: func(i *incident.Incident) { i.Priority = 1 },
			entry:  entry(incident.TimelinePriorityChanged, "P3 → P1"), sent: []string{"trigger", "acknowledge"},
			alerts: 1, status: stateAcknowledged, severity: "critical"},
		{name: "Resolved", kind: incident.NotifyResolved,
			change: func(i *incident.Incident) { i.State, i.ResolvedAt = incident.StateResolved, t0.Add(time.Hour) },
			entry:  entry(incident.TimelineResolved, "resolved"), sent: []string{"resolve"}, alerts: 1,
			status: stateResolved, severity: "critical"},
		{name: "ReopenedOpensNewAlert", kind: incident.NotifyReopened,
			change: func(i *incident.Incident) { i.State, i.ResolvedAt = incident.StateOpen, time.Time{} },
			entry:  entry(incident.TimelineReopened, "fired again"), sent: []string{"trigger"}, alerts: 2,
			status: stateTriggered, severity: "critical"},
		{name: "ResolvedAgain", kind: incident.NotifyResolved,
			change: func(i *incident.Incident) { i.State, i.ResolvedAt = incident.StateResolved, t0.Add(2*time.Hour) },
			entry:  entry(incident.TimelineResolved, "resolved"), sent: []string{"resolve"}, alerts: 2,
			status: stateResolved, severity: "critical"},
	}
	for i, st := range steps {
		st.change(&inc)
		f.reset()
		tk = mustDeliver(t, s, notify(int64(i+1), st.kind, inc, tk, st.entry))
		if got := f.actions(); !cmp.Equal(got, st.sent) {
			t.Errorf("%s: sent %v, want %v", st.name, got, st.sent)
		}
		alerts, _ := f.snapshot()
		if len(alerts) != st.alerts {
			t.Fatalf("%s: %d alerts, want %d", st.name, len(alerts), st.alerts)
		}
		last := alerts[len(alerts)-1]
		if last.Key != "alertbridge-42" || last.Status != st.status || last.Severity != st.severity {
			t.Errorf("%s: alert %s %s %s, want alertbridge-42 %s %s", st.name, last.Key, last.Status, last.Severity,
				st.status, st.severity)
		}
		if want := keyed.StateOf(inc); tk == nil || tk.ExternalID != "alertbridge-42" || tk.Data[keyed.DataState] != string(want) {
			t.Errorf("%s: ticket %+v, want alertbridge-42 in state %s", st.name, tk, want)
		}
	}
	alerts, _ := f.snapshot()
	if alerts[0].Status != stateResolved {
		t.Errorf("first alert %s, want resolved", alerts[0].Status)
	}
}

// TestTrigger checks what a trigger carries: summary from the template,
// source, severity, custom details with the folded entries in order,
// links, client.
func TestTrigger(t *testing.T) {
	t.Parallel()
	f := newFakePD(t)
	s, err := New(Options{URL: f.url(), RoutingKey: secret.New(f.routingKey),
		Summary: message.MustCompile("summary", `{{ .Incident.Priority }} {{ .Incident.Title }} ({{ .Kind }})`)})
	if err != nil {
		t.Fatal(err)
	}
	inc := newIncident()
	inc.Priority = 2
	mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil, entry(incident.TimelineOpened, "opened"),
		entry(incident.TimelinePriorityChanged, "P3 → P2"), entry(incident.TimelineSLABreached, "respond target missed")))
	_, evs := f.snapshot()
	if len(evs) != 1 {
		t.Fatalf("events %+v, want one trigger", evs)
	}
	p := evs[0].Payload
	want := payload{Summary: "P2 disk full on db-1 (opened)", Source: "db", Severity: "error",
		Timestamp: "2026-03-01T11:59:00Z", Class: "disk", CustomDetails: details{Incident: 42, Priority: "P2", State: "open",
			Service: "db", Owner: "dba", AlertCount: 2, URL: "https://alertbridge.example/incidents/42", Entries: []detail{
				{At: t0, Kind: "opened", Actor: "system", Message: "opened"},
				{At: t0, Kind: "priority_changed", Actor: "system", Message: "P3 → P2"},
				{At: t0, Kind: "sla_breached", Actor: "system", Message: "respond target missed"}}}}
	if diff := cmp.Diff(want, *p); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
	wantLinks := []link{{Href: "https://alertbridge.example/incidents/42", Text: "alertbridge incident #42"}}
	if diff := cmp.Diff(wantLinks, evs[0].Links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
}

func TestSummaryCutTo1024Characters(t *testing.T) {
	t.Parallel()
	f := newFakePD(t)
	s := mustSink(t, f)
	inc := newIncident()
	inc.Title = strings.Repeat("é", 2000)
	mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil))
	alerts, _ := f.snapshot()
	if n := len([]rune(alerts[0].Summary)); n != maxSummary {
		t.Errorf("summary of %d characters, want %d", n, maxSummary)
	}
	if !strings.HasSuffix(alerts[0].Summary, "…") {
		t.Errorf("summary %q…: want the cut marked", alerts[0].Summary[:20])
	}
}

func TestSeverity(t *testing.T) {
	t.Parallel()
	for p, want := range map[incident.Priority]string{1: "critical", 2: "error", 3: "warning", 4: "info", 5: "info"} {
		if got := Severity(p); got != want {
			t.Errorf("Severity(%s) = %s, want %s", p, got, want)
		}
	}
}

// TestNoTicket covers deliveries with nothing in PagerDuty yet: the
// opened notification was held or died.
func TestNoTicket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		kind   incident.NotifyKind
		state  incident.State
		merged bool
		sent   []string
		alerts int
	}{
		{name: "ResolvedSendsOnlyResolve", kind: incident.NotifyResolved, state: incident.StateResolved,
			sent: []string{"resolve"}, alerts: 0},
		{name: "MergedSendsOnlyResolve", kind: incident.NotifyMerged, state: incident.StateResolved, merged: true,
			sent: []string{"resolve"}, alerts: 0},
		{name: "AcknowledgedTriggersFirst", kind: incident.NotifyReleased, state: incident.StateAcknowledged,
			sent: []string{"trigger", "acknowledge"}, alerts: 1},
		{name: "CommentOnOpenTriggers", kind: incident.NotifyComment, state: incident.StateOpen,
			sent: []string{"trigger"}, alerts: 1},
		{name: "PendingSendsNothing", kind: incident.NotifyOpened, state: incident.StatePending, sent: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakePD(t)
			s := mustSink(t, f)
			inc := newIncident()
			inc.State = tt.state
			if tt.merged {
				inc.MergedInto = 7
			}
			mustDeliver(t, s, notify(1, tt.kind, inc, nil))
			if got := f.actions(); !cmp.Equal(got, tt.sent) {
				t.Errorf("sent %v, want %v", got, tt.sent)
			}
			if alerts, _ := f.snapshot(); len(alerts) != tt.alerts {
				t.Errorf("%d alerts, want %d", len(alerts), tt.alerts)
			}
		})
	}
}

// TestMergedShowsWhereAndResolves: an alert still open when its incident
// is merged away shows the other incident, then resolves.
func TestMergedShowsWhereAndResolves(t *testing.T) {
	t.Parallel()
	f := newFakePD(t)
	s := mustSink(t, f)
	inc := newIncident()
	tk := mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil))
	inc.State, inc.MergedInto = incident.StateResolved, 7
	n := notify(2, incident.NotifyMerged, inc, tk, entry(incident.TimelineMerged, "merged into #7"))
	n.MergedInto = &incident.Incident{ID: 7, Title: "db cluster down"}
	n.MergedIntoURL = "https://alertbridge.example/incidents/7"
	f.reset()
	mustDeliver(t, s, n)
	if got, want := f.actions(), []string{"trigger", "resolve"}; !cmp.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	alerts, _ := f.snapshot()
	if len(alerts) != 1 || alerts[0].Status != stateResolved {
		t.Fatalf("alerts %+v, want one, resolved", alerts)
	}
	want := &merged{Incident: 7, Title: "db cluster down", URL: "https://alertbridge.example/incidents/7"}
	if diff := cmp.Diff(want, alerts[0].Details.MergedInto); diff != "" {
		t.Errorf("merged_into (-want +got):\n%s", diff)
	}
	if l := alerts[0].Links; len(l) != 2 || l[1].Href != n.MergedIntoURL {
		t.Errorf("links %+v, want the incident's and the one it went into", l)
	}
}

// TestKnownErrorWorkaround: the workaround shows in the alert, and stays
// there when a later change triggers again.
func TestKnownErrorWorkaround(t *testing.T) {
	t.Parallel()
	f := newFakePD(t)
	s := mustSink(t, f)
	inc := newIncident()
	tk := mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil))
	tk = mustDeliver(t, s, notify(2, incident.NotifyKnownError, inc, tk, entry(incident.TimelineWorkaround, "restart the exporter")))
	alerts, _ := f.snapshot()
	if got := alerts[0].Details.Workaround; got != "restart the exporter" {
		t.Errorf("workaround %q after known_error", got)
	}
	inc.Priority = 2
	mustDeliver(t, s, notify(3, incident.NotifyPriorityChanged, inc, tk, entry(incident.TimelinePriorityChanged, "P3 → P2")))
	alerts, _ = f.snapshot()
	if got := alerts[0].Details.Workaround; got != "restart the exporter" || alerts[0].Severity != "error" {
		t.Errorf("after the priority change: workaround %q, severity %s", got, alerts[0].Severity)
	}
}

// TestFoldedPriorityChange: a priority change folded into another
// notification (the sink lagged) still reaches the alert.
func TestFoldedPriorityChange(t *testing.T) {
	t.Parallel()
	f := newFakePD(t)
	s := mustSink(t, f)
	inc := newIncident()
	tk := mustDeliver(t, s, notify(1, incident.NotifyOpened, inc, nil))
	inc.State, inc.Priority = incident.StateAcknowledged, 1
	f.reset()
	mustDeliver(t, s, notify(2, incident.NotifyAcknowledged, inc, tk, entry(incident.TimelineAcknowledged, "mine"),
		entry(incident.TimelinePriorityChanged, "P3 → P1")))
	if got, want := f.actions(), []string{"trigger", "acknowledge"}; !cmp.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	alerts, _ := f.snapshot()
	if alerts[0].Severity != "critical" || alerts[0].Status != stateAcknowledged || len(alerts[0].Details.Entries) != 2 {
		t.Errorf("alert %+v, want critical, acknowledged, with both entries", alerts[0])
	}
}

// TestLostResponse: PagerDuty took the trigger but the answer was lost;
// the redelivery triggers again and PagerDuty's dedup leaves one alert.
func TestLostResponse(t *testing.T) {
	t.Parallel()
	f := newFakePD(t)
	s := mustSink(t, f)
	n := notify(1, incident.NotifyOpened, newIncident(), nil, entry(incident.TimelineOpened, "opened"))
	f.fail(failure{lose: true})
	if _, err := s.Deliver(context.Background(), n); err == nil || errors.Is(err, sink.ErrPermanent) {
		t.Fatalf("lost answer: err %v, want a retryable error", err)
	}
	tk := mustDeliver(t, s, n)
	alerts, _ := f.snapshot()
	if len(alerts) != 1 {
		t.Fatalf("%d alerts after the redelivery, want exactly 1", len(alerts))
	}
	if alerts[0].Triggers != 2 || alerts[0].Status != stateTriggered || tk.ExternalID != "alertbridge-42" {
		t.Errorf("alert %+v, ticket %+v: want one triggered alert that took both triggers", alerts[0], tk)
	}
}

// TestErrors checks the class of each failure, and that no error repeats
// the routing key.
func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fail      failure
		permanent bool
		unauth    bool
		after     time.Duration // > 0: a *RetryAfterError of that pause
		deadline  bool
	}{
		{name: "InvalidEventIsPermanent", fail: failure{status: 400,
			body: `{"status":"invalid event","message":"Event object is invalid","errors":["x"]}`}, permanent: true},
		{name: "RateLimitedWithoutRetryAfterPauses", fail: failure{status: 429, body: `{"status":"throttle event"}`},
			after: RateLimitPause},
		{name: "RateLimitedWithRetryAfter", fail: failure{status: 429, header: map[string]string{"Retry-After": "7"}},
			after: 7 * time.Second},
		{name: "ServerErrorRetried", fail: failure{status: 500}},
		{name: "UnavailableWithRetryAfter", fail: failure{status: 503, header: map[string]string{"Retry-After": "120"}},
			after: 2 * time.Minute},
		{name: "ForbiddenIsUnauthorized", fail: failure{status: 403}, unauth: true},
		{name: "NotFoundIsPermanent", fail: failure{status: 404}, permanent: true},
		{name: "TimeoutRetried", fail: failure{hang: true}, deadline: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakePD(t)
			s := mustSink(t, f)
			f.fail(tt.fail)
			ctx := context.Background()
			if tt.deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
			}
			_, err := s.Deliver(ctx, notify(1, incident.NotifyOpened, newIncident(), nil))
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
			if strings.Contains(err.Error(), f.routingKey) {
				t.Errorf("error repeats the routing key: %v", err)
			}
			if alerts, _ := f.snapshot(); len(alerts) != 0 {
				t.Errorf("%d alerts after a failed trigger", len(alerts))
			}
		})
	}
}

func TestNewNeedsRoutingKey(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{}); err == nil {
		t.Fatal("no error without a routing key")
	}
	s, err := New(Options{RoutingKey: secret.New("k")})
	if err != nil || s.o.URL != DefaultURL {
		t.Fatalf("New: %v, url %q", err, s.o.URL)
	}
}

// TestRequest checks the request itself: method, path, content type.
func TestRequest(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 1)
	f := newFakePD(t)
	s, err := New(Options{URL: f.url(), RoutingKey: secret.New(f.routingKey), UserAgent: "alertbridge/test",
		Client: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			got <- r
			return http.DefaultTransport.RoundTrip(r)
		})}})
	if err != nil {
		t.Fatal(err)
	}
	mustDeliver(t, s, notify(1, incident.NotifyOpened, newIncident(), nil))
	r := <-got
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("User-Agent") != "alertbridge/test" {
		t.Errorf("request %s %s %v", r.Method, r.URL.Path, r.Header)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
