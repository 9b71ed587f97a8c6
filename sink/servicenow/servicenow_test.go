package servicenow

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/sinktest"
	"github.com/alertbridge/alertbridge/sink/message"
)

func newSink(t *testing.T, f *fakeSN, mod func(*Options)) *Sink {
	t.Helper()
	o := Options{
		URL: f.srv.URL, Username: fakeUser, Password: secret.New(fakePassword),
		AssignmentGroup: "a7c1e3f0db", CallerID: "6816f79cc0", Category: "software",
		ShortDesc:   message.MustCompile("short", "[{{ .Incident.Priority }}] {{ .Incident.Title }}"),
		Description: message.MustCompile("description", "{{ .Incident.Summary }}\n\nalertbridge incident #{{ .Incident.ID }}"),
		CloseNotes:  message.MustCompile("close", `Resolved in alertbridge{{ with .Entries }}{{ with index . 0 }}: {{ .Message }}{{ end }}{{ end }}`),
		Client:      f.srv.Client(),
	}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	f := newFakeSN(t)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	steps := []struct {
		name  string
		apply func() sink.Notification
		want  snapshot
	}{
		{"opened", func() sink.Notification {
			return h.Notification(incident.NotifyOpened, h.Entry(incident.TimelineOpened, "system", "opened"))
		}, snapshot{State: "1", Impact: "1", Urgency: "2", Short: "[P2] disk full on db-1"}},
		{"acknowledged", func() sink.Notification {
			h.Inc.State = incident.StateAcknowledged
			return h.Notification(incident.NotifyAcknowledged, h.Entry(incident.TimelineAcknowledged, "api:alice", ""))
		}, snapshot{State: "2", Impact: "1", Urgency: "2", Short: "[P2] disk full on db-1",
			WorkNotes: []string{"(alertbridge entry 2) Acknowledged by api:alice"}}},
		{"comment", func() sink.Notification {
			return h.Notification(incident.NotifyComment, h.Entry(incident.TimelineComment, "api:bob", "rotating logs"))
		}, snapshot{State: "2", Impact: "1", Urgency: "2", Short: "[P2] disk full on db-1",
			WorkNotes: []string{"(alertbridge entry 2) Acknowledged by api:alice", "(alertbridge entry 3) Comment by api:bob: rotating logs"}}},
		{"priority_changed", func() sink.Notification {
			h.Inc.Priority, h.Inc.Urgency = 1, incident.LevelHigh
			return h.Notification(incident.NotifyPriorityChanged, h.Entry(incident.TimelinePriorityChanged, "system", "P2 → P1"))
		}, snapshot{State: "2", Impact: "1", Urgency: "1", Short: "[P1] disk full on db-1",
			WorkNotes: []string{"(alertbridge entry 2) Acknowledged by api:alice", "(alertbridge entry 3) Comment by api:bob: rotating logs",
				"(alertbridge entry 4) Priority changed by system: P2 → P1"}}},
		{"resolved", func() sink.Notification {
			h.Inc.State = incident.StateResolved
			return h.Notification(incident.NotifyResolved, h.Entry(incident.TimelineResolved, "system", "all alerts resolved"))
		}, snapshot{State: "6", Impact: "1", Urgency: "1", Short: "[P1] disk full on db-1", CloseCode: "Solved (Permanently)",
			CloseNotes: "Resolved in alertbridge: all alerts resolved",
			WorkNotes: []string{"(alertbridge entry 2) Acknowledged by api:alice", "(alertbridge entry 3) Comment by api:bob: rotating logs",
				"(alertbridge entry 4) Priority changed by system: P2 → P1", "(alertbridge entry 5) Resolved by system: all alerts resolved"}}},
		{"reopened", func() sink.Notification {
			h.Inc.State = incident.StateOpen
			return h.Notification(incident.NotifyReopened, h.Entry(incident.TimelineReopened, "system", "fired again"))
		}, snapshot{State: "2", Impact: "1", Urgency: "1", Short: "[P1] disk full on db-1", CloseCode: "Solved (Permanently)",
			CloseNotes: "Resolved in alertbridge: all alerts resolved",
			WorkNotes: []string{"(alertbridge entry 2) Acknowledged by api:alice", "(alertbridge entry 3) Comment by api:bob: rotating logs",
				"(alertbridge entry 4) Priority changed by system: P2 → P1", "(alertbridge entry 5) Resolved by system: all alerts resolved",
				"(alertbridge entry 6) Reopened by system: fired again"}}},
		{"resolved again", func() sink.Notification {
			h.Inc.State = incident.StateResolved
			return h.Notification(incident.NotifyResolved, h.Entry(incident.TimelineResolved, "api:alice", "fixed for good"))
		}, snapshot{State: "6", Impact: "1", Urgency: "1", Short: "[P1] disk full on db-1", CloseCode: "Solved (Permanently)",
			CloseNotes: "Resolved in alertbridge: fixed for good",
			WorkNotes: []string{"(alertbridge entry 2) Acknowledged by api:alice", "(alertbridge entry 3) Comment by api:bob: rotating logs",
				"(alertbridge entry 4) Priority changed by system: P2 → P1", "(alertbridge entry 5) Resolved by system: all alerts resolved",
				"(alertbridge entry 6) Reopened by system: fired again", "(alertbridge entry 7) Resolved by api:alice: fixed for good"}}},
	}
	var sysID string
	for _, st := range steps {
		h.MustDeliver(st.apply())
		if sysID == "" {
			sysID = h.Ticket.ExternalID
		}
		if h.Ticket.ExternalID != sysID {
			t.Fatalf("%s: ticket %s, want the one record %s", st.name, h.Ticket.ExternalID, sysID)
		}
		if diff := cmp.Diff(st.want, f.snapshot(sysID)); diff != "" {
			t.Errorf("%s: record (-want +got):\n%s", st.name, diff)
		}
	}
	live := f.live()
	if len(live) != 1 {
		t.Fatalf("%d records, want 1", len(live))
	}
	rec := live[0].fields
	for k, want := range map[string]string{"correlation_id": "alertbridge-42", "correlation_display": "alertbridge",
		"assignment_group": "a7c1e3f0db", "caller_id": "6816f79cc0", "category": "software",
		"description": "/var is 99% full\n\nalertbridge incident #42"} {
		if rec[k] != want {
			t.Errorf("%s = %q, want %q", k, rec[k], want)
		}
	}
	wantURL := f.srv.URL + "/nav_to.do?uri=" + url.QueryEscape("incident.do?sys_id="+sysID)
	if h.Ticket.URL != wantURL || h.Ticket.Data[dataNumber] != "INC0010001" {
		t.Errorf("ticket %+v: want URL %s and number INC0010001", h.Ticket, wantURL)
	}
}

func TestFoldedEntriesAndMerge(t *testing.T) {
	t.Parallel()
	f := newFakeSN(t)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.MustDeliver(h.Notification(incident.NotifyOpened))
	h.Inc.Impact = incident.LevelLow
	h.MustDeliver(h.Notification(incident.NotifyPriorityChanged,
		h.Entry(incident.TimelinePriorityChanged, "system", "P2 → P3"),
		h.Entry(incident.TimelineWorkaround, "system", "restart the exporter")))
	into := incident.Incident{ID: 7, Title: "storage degraded"}
	h.Inc.MergedInto = 7
	n := h.Notification(incident.NotifyMerged, h.Entry(incident.TimelineMerged, "api:alice", "merged into #7"))
	n.MergedInto, n.MergedIntoURL = &into, "https://ab.example.com/incidents/7"
	h.MustDeliver(n)
	got := f.snapshot(h.Ticket.ExternalID)
	want := []string{
		"(alertbridge entry 1) Priority changed by system: P2 → P3\n\n(alertbridge entry 2) KNOWN ERROR by system\n\nWORKAROUND: restart the exporter",
		"(alertbridge entry 3) Merged by api:alice: merged into #7\n\nMerged into alertbridge incident #7: storage degraded https://ab.example.com/incidents/7",
	}
	if diff := cmp.Diff(want, got.WorkNotes); diff != "" {
		t.Errorf("work notes (-want +got):\n%s", diff)
	}
	if got.State != stateResolved || got.Impact != "3" {
		t.Errorf("record %+v: want Resolved (merged), impact 3", got)
	}
}

func TestCreateInItsState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		state     incident.State
		wantState string
		wantNotes int
	}{
		{"Acknowledged", incident.StateAcknowledged, stateInProgress, 0},
		{"ResolvedWithoutTicket", incident.StateResolved, stateResolved, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSN(t)
			h := sinktest.NewHarness(t, newSink(t, f, nil))
			h.Inc.State = tt.state
			var entries []incident.TimelineEntry
			if tt.wantNotes > 0 {
				entries = append(entries, h.Entry(incident.TimelineResolved, "system", "resolved in maintenance"))
			}
			h.MustDeliver(h.Notification(incident.NotifyReleased, entries...))
			if n := len(f.live()); n != 1 {
				t.Fatalf("%d records, want 1", n)
			}
			got := f.snapshot(h.Ticket.ExternalID)
			if got.State != tt.wantState || len(got.WorkNotes) != tt.wantNotes {
				t.Errorf("record %+v: want state %s and %d work notes", got, tt.wantState, tt.wantNotes)
			}
		})
	}
}

// A delivery repeated with the same ticket changes nothing; a responder's
// own change in ServiceNow is not undone by an unrelated update.
func TestRedeliveryAndResponderChanges(t *testing.T) {
	t.Parallel()
	f := newFakeSN(t)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.MustDeliver(h.Notification(incident.NotifyOpened))
	h.Inc.State = incident.StateResolved
	n := h.Notification(incident.NotifyResolved)
	for range 3 {
		h.MustDeliver(n)
	}
	sysID := h.Ticket.ExternalID
	f.set(sysID, "state", stateOnHold) // a responder puts it on hold
	f.set(sysID, "close_notes", "by hand")
	h.MustDeliver(h.Notification(incident.NotifyComment, h.Entry(incident.TimelineComment, "api:bob", "fyi")))
	got := f.snapshot(sysID)
	if got.State != stateOnHold || got.CloseNotes != "by hand" {
		t.Errorf("record %+v: a comment undid the responder's change", got)
	}
	if len(got.WorkNotes) != 1 {
		t.Errorf("work notes %q: want the one comment", got.WorkNotes)
	}
}

// A create whose answer is lost is found by its correlation_id on the next
// attempt: exactly one record.
func TestLostCreateResponse(t *testing.T) {
	t.Parallel()
	f := newFakeSN(t)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.Inc.State = incident.StateAcknowledged
	f.faults.Add(sinktest.Fault{Route: "create", Lose: true})
	n := h.Notification(incident.NotifyAcknowledged, h.Entry(incident.TimelineAcknowledged, "api:a", ""))
	if err := h.Deliver(n); err == nil || errors.Is(err, sink.ErrPermanent) {
		t.Fatalf("lost answer: err %v, want a retryable error", err)
	}
	h.MustDeliver(n)
	if n := len(f.live()); n != 1 {
		t.Errorf("%d records after the redelivery, want 1", n)
	}
	if c := f.faults.Count("create"); c != 1 {
		t.Errorf("%d creates, want 1", c)
	}
	got := f.snapshot(h.Ticket.ExternalID)
	if got.State != stateInProgress || len(got.WorkNotes) != 1 {
		t.Errorf("record %+v: want In Progress with the acknowledgement's note", got)
	}
}

// A record created by a delivery whose update then failed is carried on
// with by the next attempt.
func TestCreatedThenFailed(t *testing.T) {
	t.Parallel()
	f := newFakeSN(t)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.Inc.State = incident.StateResolved
	f.faults.Add(sinktest.Fault{Route: "update", Status: 503})
	n := h.Notification(incident.NotifyResolved, h.Entry(incident.TimelineResolved, "system", "over"))
	if err := h.Deliver(n); err == nil {
		t.Fatal("want the 503")
	}
	h.MustDeliver(n)
	if live := f.live(); len(live) != 1 {
		t.Fatalf("%d records, want 1", len(live))
	}
	if got := f.snapshot(h.Ticket.ExternalID); got.State != stateResolved || len(got.WorkNotes) != 1 {
		t.Errorf("record %+v: want Resolved with one note", got)
	}
	if c := f.faults.Count("query"); c != 1 {
		t.Errorf("%d queries, want 1: the retry knows its record", c)
	}
}

// A record deleted in ServiceNow is created anew.
func TestRecordDeleted(t *testing.T) {
	t.Parallel()
	f := newFakeSN(t)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.MustDeliver(h.Notification(incident.NotifyOpened))
	first := h.Ticket.ExternalID
	f.delete(first)
	h.Inc.State = incident.StateAcknowledged
	h.MustDeliver(h.Notification(incident.NotifyAcknowledged, h.Entry(incident.TimelineAcknowledged, "api:a", "")))
	live := f.live()
	if len(live) != 1 || h.Ticket.ExternalID == first || live[0].fields["sys_id"] != h.Ticket.ExternalID {
		t.Fatalf("want one new record as the ticket, got %d records, ticket %s", len(live), h.Ticket.ExternalID)
	}
	if got := f.snapshot(h.Ticket.ExternalID); got.State != stateInProgress || len(got.WorkNotes) != 1 {
		t.Errorf("new record %+v: want it In Progress with the note", got)
	}
}

// A 404 on a record the query still finds is retried.
func TestUpdate404WhileQueryFindsIt(t *testing.T) {
	t.Parallel()
	f := newFakeSN(t)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.MustDeliver(h.Notification(incident.NotifyOpened))
	f.faults.Add(sinktest.Fault{Route: "update", Status: 404})
	h.Inc.State = incident.StateResolved
	n := h.Notification(incident.NotifyResolved)
	if err := h.Deliver(n); err == nil || errors.Is(err, sink.ErrPermanent) {
		t.Fatalf("err %v: want a retryable error", err)
	}
	h.MustDeliver(n)
	if len(f.live()) != 1 || f.snapshot(h.Ticket.ExternalID).State != stateResolved {
		t.Error("want the one record, resolved")
	}
}

// A closed record cannot be reopened: the state it kept is a permanent
// error, not a retry loop.
func TestReopenClosedRecord(t *testing.T) {
	t.Parallel()
	f := newFakeSN(t)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.Inc.State = incident.StateResolved
	h.MustDeliver(h.Notification(incident.NotifyResolved))
	f.set(h.Ticket.ExternalID, "state", stateClosed)
	h.Inc.State = incident.StateOpen
	err := h.Deliver(h.Notification(incident.NotifyReopened))
	if !errors.Is(err, sink.ErrPermanent) || !strings.Contains(err.Error(), "state 2 was not taken, it is 7") {
		t.Fatalf("err %v: want a permanent error saying the state was kept", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fail  sinktest.Fault
		opts  func(*Options)
		check func(t *testing.T, err error)
	}{
		{"Unauthorized", sinktest.Fault{}, func(o *Options) { o.Password = secret.New("wrong-password-value") }, func(t *testing.T, err error) {
			if !errors.Is(err, sink.ErrUnauthorized) || errors.Is(err, sink.ErrPermanent) {
				t.Errorf("err %v: want ErrUnauthorized", err)
			}
			if !strings.Contains(err.Error(), "User Not Authenticated") || strings.Contains(err.Error(), "wrong-password-value") {
				t.Errorf("err %q: want ServiceNow's message and no password", err)
			}
		}},
		{"ForbiddenByACL", sinktest.Fault{Route: "query", Status: 403}, nil, func(t *testing.T, err error) {
			if !errors.Is(err, sink.ErrUnauthorized) || errors.Is(err, sink.ErrPermanent) {
				t.Errorf("err %v: want ErrUnauthorized, retried", err)
			}
		}},
		{"ForbiddenByDataPolicy", sinktest.Fault{Route: "create", Status: 403,
			Body: `{"error":{"message":"Operation Failed","detail":"Data Policy Exception: Category is mandatory"},"status":"failure"}`},
			nil, func(t *testing.T, err error) {
				if !errors.Is(err, sink.ErrPermanent) || errors.Is(err, sink.ErrUnauthorized) ||
					!strings.Contains(err.Error(), "Operation Failed: Data Policy Exception: Category is mandatory") {
					t.Errorf("err %v: want permanent, with message and detail", err)
				}
			}},
		{"BadRequestIsPermanent", sinktest.Fault{Route: "create", Status: 400}, nil, func(t *testing.T, err error) {
			if !errors.Is(err, sink.ErrPermanent) {
				t.Errorf("err %v: want permanent", err)
			}
		}},
		{"ConflictIsRetried", sinktest.Fault{Route: "create", Status: 409}, nil, func(t *testing.T, err error) {
			if errors.Is(err, sink.ErrPermanent) || errors.Is(err, sink.ErrUnauthorized) {
				t.Errorf("err %v: want a retryable error", err)
			}
		}},
		{"RateLimited", sinktest.Fault{Route: "query", Status: 429, Header: map[string]string{"Retry-After": "23"}}, nil, func(t *testing.T, err error) {
			var ra *sink.RetryAfterError
			if !errors.As(err, &ra) || ra.After != 23*time.Second {
				t.Errorf("err %v: want RetryAfterError of 23s", err)
			}
		}},
		{"ServerError", sinktest.Fault{Route: "create", Status: 502}, nil, func(t *testing.T, err error) {
			var ra *sink.RetryAfterError
			if errors.Is(err, sink.ErrPermanent) || errors.As(err, &ra) {
				t.Errorf("err %v: want a plain retryable error", err)
			}
		}},
		{"LoginPage", sinktest.Fault{Route: "query", Status: 200, Body: "<html>Log in</html>"}, nil, func(t *testing.T, err error) {
			if errors.Is(err, sink.ErrPermanent) {
				t.Errorf("err %v: want a retryable error", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSN(t)
			h := sinktest.NewHarness(t, newSink(t, f, tt.opts))
			if tt.fail.Route != "" {
				f.faults.Add(tt.fail)
			}
			err := h.Deliver(h.Notification(incident.NotifyOpened))
			if err == nil {
				t.Fatal("want an error")
			}
			tt.check(t, err)
			if strings.Contains(err.Error(), fakePassword) {
				t.Error("the error repeats the password")
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	f := newFakeSN(t)
	s := newSink(t, f, nil)
	h := sinktest.NewHarness(t, s)
	f.faults.Add(sinktest.Fault{Route: "create", Block: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.Deliver(ctx, h.Notification(incident.NotifyOpened))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sink.ErrPermanent) {
		t.Fatalf("err %v: want the attempt's deadline, retried", err)
	}
}

func TestBearer(t *testing.T) {
	t.Parallel()
	f := newFakeSN(t)
	h := sinktest.NewHarness(t, newSink(t, f, func(o *Options) {
		o.Username, o.Password, o.Bearer = "", secret.Value{}, secret.New(fakeBearer)
	}))
	h.MustDeliver(h.Notification(incident.NotifyOpened))
	if len(f.live()) != 1 {
		t.Error("want a record made with the bearer token")
	}
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	t.Parallel()
	m := message.MustCompile("m", "x")
	for _, o := range []Options{
		{ShortDesc: m, Description: m, CloseNotes: m, Bearer: secret.New("x")},
		{URL: "http://sn", ShortDesc: m, Description: m, Bearer: secret.New("x")},
		{URL: "http://sn", ShortDesc: m, Description: m, CloseNotes: m, Username: "u"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v): want an error", o)
		}
	}
}
