package jira

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/internal/sinktest"
	"github.com/alertbridge/alertbridge/sink/internal/ticketing"
	"github.com/alertbridge/alertbridge/sink/message"
)

var t0 = sinktest.T0

func newSink(t *testing.T, f *fakeJira, mod func(*Options)) *Sink {
	t.Helper()
	o := Options{
		URL: f.srv.URL, Project: "OPS", IssueType: "Task",
		Summary:           message.MustCompile("summary", "[{{ .Incident.Priority }}] {{ .Incident.Title }}"),
		Description:       message.MustCompile("description", "{{ .Incident.Summary }}\n\nalertbridge incident #{{ .Incident.ID }}"),
		Priorities:        map[string]string{"P1": "Highest", "P2": "High", "P3": "Medium"},
		Labels:            []string{"ops-alerts"},
		Fields:            map[string]*message.Template{"customfield_10010": message.MustCompile("service", "{{ .Incident.Service }}")},
		ResolveTransition: "Done", ReopenTransition: "Reopen", AcknowledgeTransition: "start progress",
		Client: f.srv.Client(),
	}
	if f.cloud {
		o.Username, o.APIToken = fakeUser, secret.New(fakeToken)
	} else {
		o.PersonalAccessToken = secret.New(fakePAT)
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
	for _, cloud := range []bool{true, false} {
		name := "DataCenter"
		if cloud {
			name = "Cloud"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			h := sinktest.NewHarness(t, newSink(t, f, nil))
			type want struct {
				status, priority, summary string
				comments                  int
				lastComment               string
				transitions               []string
			}
			steps := []struct {
				name  string
				apply func() sink.Notification
				want  want
			}{
				{"opened", func() sink.Notification {
					return h.Notification(incident.NotifyOpened, h.Entry(incident.TimelineOpened, "system", "opened"))
				}, want{status: "To Do", priority: "High", summary: "[P2] disk full on db-1"}},
				{"acknowledged", func() sink.Notification {
					h.Inc.State, h.Inc.AcknowledgedAt = incident.StateAcknowledged, t0.Add(time.Minute)
					return h.Notification(incident.NotifyAcknowledged, h.Entry(incident.TimelineAcknowledged, "api:alice", ""))
				}, want{status: "In Progress", priority: "High", summary: "[P2] disk full on db-1", comments: 1,
					lastComment: "(alertbridge entry 2) Acknowledged by api:alice", transitions: []string{"Start Progress"}}},
				{"comment", func() sink.Notification {
					return h.Notification(incident.NotifyComment, h.Entry(incident.TimelineComment, "api:bob", "rotating logs"))
				}, want{status: "In Progress", priority: "High", summary: "[P2] disk full on db-1", comments: 2,
					lastComment: "(alertbridge entry 3) Comment by api:bob: rotating logs", transitions: []string{"Start Progress"}}},
				{"priority_changed", func() sink.Notification {
					h.Inc.Priority = 1
					return h.Notification(incident.NotifyPriorityChanged, h.Entry(incident.TimelinePriorityChanged, "system", "P2 → P1"))
				}, want{status: "In Progress", priority: "Highest", summary: "[P1] disk full on db-1", comments: 3,
					lastComment: "(alertbridge entry 4) Priority changed by system: P2 → P1", transitions: []string{"Start Progress"}}},
				{"resolved", func() sink.Notification {
					h.Inc.State, h.Inc.ResolvedAt = incident.StateResolved, t0.Add(time.Hour)
					return h.Notification(incident.NotifyResolved, h.Entry(incident.TimelineResolved, "system", "all alerts resolved"))
				}, want{status: "Done", priority: "Highest", summary: "[P1] disk full on db-1", comments: 4,
					lastComment: "(alertbridge entry 5) Resolved by system: all alerts resolved", transitions: []string{"Start Progress", "Done"}}},
				{"reopened", func() sink.Notification {
					h.Inc.State, h.Inc.ResolvedAt = incident.StateOpen, time.Time{}
					return h.Notification(incident.NotifyReopened, h.Entry(incident.TimelineReopened, "system", "alert fired again"))
				}, want{status: "To Do", priority: "Highest", summary: "[P1] disk full on db-1", comments: 5,
					lastComment: "(alertbridge entry 6) Reopened by system: alert fired again", transitions: []string{"Start Progress", "Done", "Reopen"}}},
				{"resolved again", func() sink.Notification {
					h.Inc.State, h.Inc.ResolvedAt = incident.StateResolved, t0.Add(2*time.Hour)
					return h.Notification(incident.NotifyResolved, h.Entry(incident.TimelineResolved, "api:alice", "fixed for good"))
				}, want{status: "Done", priority: "Highest", summary: "[P1] disk full on db-1", comments: 6,
					lastComment: "(alertbridge entry 7) Resolved by api:alice: fixed for good", transitions: []string{"Start Progress", "Done", "Reopen", "Done"}}},
			}
			for _, st := range steps {
				h.MustDeliver(st.apply())
				if h.Ticket == nil || h.Ticket.ExternalID != "OPS-1" {
					t.Fatalf("%s: ticket %+v, want OPS-1", st.name, h.Ticket)
				}
				got := f.snapshot("OPS-1")
				g := want{status: got.Status, priority: got.Priority, summary: got.Summary, comments: len(got.Comments),
					transitions: got.Transitions}
				if len(got.Comments) > 0 {
					g.lastComment = got.Comments[len(got.Comments)-1]
				}
				if diff := cmp.Diff(st.want, g, cmp.AllowUnexported(want{})); diff != "" {
					t.Errorf("%s: issue (-want +got):\n%s", st.name, diff)
				}
			}
			if n := len(f.live()); n != 1 {
				t.Errorf("%d issues, want 1", n)
			}
			if got, want := h.Ticket.URL, f.srv.URL+"/browse/OPS-1"; got != want {
				t.Errorf("ticket URL %q, want %q", got, want)
			}
			if diff := cmp.Diff([]string{"alertbridge", "alertbridge-42", "ops-alerts"}, f.snapshot("OPS-1").Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateFields(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	h := sinktest.NewHarness(t, newSink(t, f, func(o *Options) {
		o.Fields["components"] = message.MustCompile("components", `[{"name": "{{ .Incident.Service }}"}]`)
	}))
	h.Inc.Title = "line one\nline two " + strings.Repeat("x", 300)
	h.MustDeliver(h.Notification(incident.NotifyOpened, h.Entry(incident.TimelineOpened, "system", "")))
	is := f.live()[0]
	if got := is.fields["customfield_10010"]; got != "db" {
		t.Errorf("customfield_10010 = %v, want db", got)
	}
	comps, _ := is.fields["components"].([]any)
	if len(comps) != 1 || comps[0].(map[string]any)["name"] != "db" {
		t.Errorf("components = %v, want [{name: db}] as JSON", is.fields["components"])
	}
	sum := is.fields["summary"].(string)
	if strings.Contains(sum, "\n") || len([]rune(sum)) != 255 || !strings.HasPrefix(sum, "[P2] line one line two") {
		t.Errorf("summary %q: want one line of 255 characters", sum)
	}
	if is.fields["description"] != "/var is 99% full\n\nalertbridge incident #42" {
		t.Errorf("description %q", is.fields["description"])
	}
	if len(is.comments) != 0 {
		t.Errorf("an opening makes no comment, got %q", is.comments)
	}
}

func TestFoldedEntries(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, false)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.MustDeliver(h.Notification(incident.NotifyOpened, h.Entry(incident.TimelineOpened, "system", "")))
	h.Inc.Priority = 1
	n := h.Notification(incident.NotifyPriorityChanged,
		h.Entry(incident.TimelinePriorityChanged, "system", "P2 → P3"),
		h.Entry(incident.TimelineSLABreached, "system", "respond target missed"),
		h.Entry(incident.TimelinePriorityChanged, "system", "P3 → P1"))
	h.MustDeliver(n)
	got := f.snapshot("OPS-1")
	want := []string{
		"(alertbridge entry 2) Priority changed by system: P2 → P3",
		"(alertbridge entry 3) SLA breached by system: respond target missed",
		"(alertbridge entry 4) Priority changed by system: P3 → P1",
	}
	if diff := cmp.Diff(want, got.Comments); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	if got.Priority != "Highest" || got.Summary != "[P1] disk full on db-1" {
		t.Errorf("priority %q summary %q: want the incident as it is at delivery", got.Priority, got.Summary)
	}
}

func TestKnownErrorAndMerged(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.MustDeliver(h.Notification(incident.NotifyOpened, h.Entry(incident.TimelineOpened, "system", "")))
	h.MustDeliver(h.Notification(incident.NotifyKnownError, h.Entry(incident.TimelineWorkaround, "system", "restart the exporter")))
	into := incident.Incident{ID: 7, Title: "storage cluster degraded"}
	h.Inc.MergedInto = 7
	n := h.Notification(incident.NotifyMerged, h.Entry(incident.TimelineMerged, "api:alice", "merged into #7"))
	n.MergedInto, n.MergedIntoURL = &into, "https://ab.example.com/incidents/7"
	h.MustDeliver(n)
	got := f.snapshot("OPS-1")
	want := []string{
		"(alertbridge entry 2) KNOWN ERROR by system\n\nWORKAROUND: restart the exporter",
		"(alertbridge entry 3) Merged by api:alice: merged into #7\n\nMerged into alertbridge incident #7: storage cluster degraded https://ab.example.com/incidents/7",
	}
	if diff := cmp.Diff(want, got.Comments); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	if got.Status != "Done" {
		t.Errorf("merged incident's issue is %s, want Done", got.Status)
	}
}

func TestResolvedWithoutTicket(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.Inc.State, h.Inc.ResolvedAt = incident.StateResolved, t0.Add(time.Minute)
	h.MustDeliver(h.Notification(incident.NotifyResolved, h.Entry(incident.TimelineResolved, "system", "resolved in maintenance")))
	if n := len(f.live()); n != 1 {
		t.Fatalf("%d issues, want the record kept: 1", n)
	}
	got := f.snapshot("OPS-1")
	if got.Status != "Done" || len(got.Comments) != 1 {
		t.Errorf("issue %+v: want created, commented and Done", got)
	}
	if h.Ticket.Data[dataState] != ticketing.Resolved {
		t.Errorf("ticket data %v: want state resolved", h.Ticket.Data)
	}
}

// A delivery repeated with the same ticket (its outcome was not recorded)
// makes no second transition and no second comment.
func TestRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.MustDeliver(h.Notification(incident.NotifyOpened, h.Entry(incident.TimelineOpened, "system", "")))
	h.Inc.State = incident.StateResolved
	n := h.Notification(incident.NotifyResolved, h.Entry(incident.TimelineResolved, "system", "done"))
	for range 3 {
		h.MustDeliver(n) // n keeps the ticket from before its first delivery
	}
	got := f.snapshot("OPS-1")
	if diff := cmp.Diff([]string{"Done"}, got.Transitions); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	if len(got.Comments) != 1 {
		t.Errorf("comments %q: want one", got.Comments)
	}
}

// A create whose answer is lost is found by its label on the next
// attempt: exactly one issue.
func TestLostCreateResponse(t *testing.T) {
	t.Parallel()
	for _, cloud := range []bool{true, false} {
		f := newFakeJira(t, cloud)
		h := sinktest.NewHarness(t, newSink(t, f, nil))
		f.faults.Add(sinktest.Fault{Route: "create", Lose: true})
		n := h.Notification(incident.NotifyOpened, h.Entry(incident.TimelineOpened, "system", ""))
		err := h.Deliver(n)
		if err == nil || errors.Is(err, sink.ErrPermanent) {
			t.Fatalf("cloud=%v: lost answer: err %v, want a retryable error", cloud, err)
		}
		if h.Ticket != nil {
			t.Fatalf("cloud=%v: a failed delivery returned a ticket", cloud)
		}
		h.MustDeliver(n)
		if n := len(f.live()); n != 1 {
			t.Errorf("cloud=%v: %d issues after the redelivery, want 1", cloud, n)
		}
		if h.Ticket.ExternalID != "OPS-1" {
			t.Errorf("cloud=%v: ticket %s, want OPS-1", cloud, h.Ticket.ExternalID)
		}
		if c := f.count("create"); c != 1 {
			t.Errorf("cloud=%v: %d creates, want 1", cloud, c)
		}
	}
}

// An issue created by a delivery that then failed is carried on with by
// the next attempt, even when search does not list it yet.
func TestCreatedThenFailed(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	f.lagging = true
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.Inc.State = incident.StateResolved
	f.faults.Add(sinktest.Fault{Route: "transition", Status: 503})
	n := h.Notification(incident.NotifyResolved, h.Entry(incident.TimelineResolved, "system", "over"))
	if err := h.Deliver(n); err == nil {
		t.Fatal("want the 503")
	}
	h.MustDeliver(n)
	if live := f.live(); len(live) != 1 {
		t.Fatalf("%d issues, want 1", len(live))
	}
	if got := f.snapshot("OPS-1"); got.Status != "Done" || len(got.Comments) != 1 {
		t.Errorf("issue %+v: want Done with one comment", got)
	}
	if c := f.count("search"); c != 1 {
		t.Errorf("%d searches, want 1: the retry knows its issue", c)
	}
}

// TestCreatedThenFailedAcrossARestart: the record made before a later
// step failed comes back with the error, so a new process (nothing in
// memory) retries on it while Jira's search does not list it yet.
func TestCreatedThenFailedAcrossARestart(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	f.lagging = true
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.Inc.State = incident.StateResolved
	f.faults.Add(sinktest.Fault{Route: "transition", Status: 503})
	n := h.Notification(incident.NotifyResolved, h.Entry(incident.TimelineResolved, "system", "over"))
	if err := h.Deliver(n); err == nil {
		t.Fatal("want the 503")
	}
	if h.Ticket == nil || h.Ticket.ExternalID != "OPS-1" {
		t.Fatalf("ticket returned with the error: %+v, want OPS-1", h.Ticket)
	}
	h.Sink = newSink(t, f, nil) // restarted
	n.Ticket = h.Ticket
	h.MustDeliver(n)
	if live := f.live(); len(live) != 1 {
		t.Fatalf("%d issues, want 1", len(live))
	}
}

// A comment whose answer is lost is not posted twice.
func TestLostCommentResponse(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.MustDeliver(h.Notification(incident.NotifyOpened, h.Entry(incident.TimelineOpened, "system", "")))
	f.faults.Add(sinktest.Fault{Route: "comment", Lose: true})
	n := h.Notification(incident.NotifyComment, h.Entry(incident.TimelineComment, "api:bob", "looking"),
		h.Entry(incident.TimelineSLABreached, "system", "respond target missed"))
	if err := h.Deliver(n); err == nil {
		t.Fatal("lost answer: want an error")
	}
	h.MustDeliver(n)
	want := []string{"(alertbridge entry 2) Comment by api:bob: looking",
		"(alertbridge entry 3) SLA breached by system: respond target missed"}
	if diff := cmp.Diff(want, f.snapshot("OPS-1").Comments); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
}

// An issue deleted in Jira is created anew: on a comment, a field update,
// and a transition (404 on reading its transitions or on taking one).
func TestIssueDeleted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// change makes the next notification, after OPS-1 was deleted.
		change func(h *sinktest.Harness, f *fakeJira) sink.Notification
	}{
		{"OnComment", func(h *sinktest.Harness, f *fakeJira) sink.Notification {
			f.delete("OPS-1")
			return h.Notification(incident.NotifyComment, h.Entry(incident.TimelineComment, "api:bob", "hello"))
		}},
		{"OnPriority", func(h *sinktest.Harness, f *fakeJira) sink.Notification {
			f.delete("OPS-1")
			h.Inc.Priority = 1
			return h.Notification(incident.NotifyPriorityChanged)
		}},
		{"OnReadTransitions", func(h *sinktest.Harness, f *fakeJira) sink.Notification {
			f.delete("OPS-1")
			h.Inc.State = incident.StateAcknowledged
			return h.Notification(incident.NotifyAcknowledged)
		}},
		{"OnTakeTransition", func(h *sinktest.Harness, f *fakeJira) sink.Notification {
			// Deleted between reading the transitions and taking one.
			f.faults.Add(sinktest.Fault{Route: "transition", Status: 404, Before: func() { f.delete("OPS-1") }})
			h.Inc.State = incident.StateAcknowledged
			return h.Notification(incident.NotifyAcknowledged)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, true)
			h := sinktest.NewHarness(t, newSink(t, f, nil))
			h.MustDeliver(h.Notification(incident.NotifyOpened, h.Entry(incident.TimelineOpened, "system", "")))
			h.MustDeliver(tt.change(h, f))
			live := f.live()
			if len(live) != 1 || live[0].key != "OPS-2" {
				t.Fatalf("live issues %d: want only the new OPS-2", len(live))
			}
			if h.Ticket.ExternalID != "OPS-2" {
				t.Errorf("ticket %s, want OPS-2", h.Ticket.ExternalID)
			}
			got := f.snapshot("OPS-2")
			wantStatus := "To Do"
			if h.Inc.State == incident.StateAcknowledged {
				wantStatus = "In Progress"
			}
			if got.Status != wantStatus || got.Summary != "["+h.Inc.Priority.String()+"] disk full on db-1" {
				t.Errorf("new issue %+v: want it to show the incident as it is (%s)", got, wantStatus)
			}
		})
	}
}

// A 404 on a transition of an issue that search still lists (search lags
// behind a deletion) is retried, not a new issue.
func TestTransition404WhileSearchListsIt(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.MustDeliver(h.Notification(incident.NotifyOpened, h.Entry(incident.TimelineOpened, "system", "")))
	f.faults.Add(sinktest.Fault{Route: "transition", Status: 404})
	h.Inc.State = incident.StateResolved
	n := h.Notification(incident.NotifyResolved)
	err := h.Deliver(n)
	if err == nil || errors.Is(err, sink.ErrPermanent) {
		t.Fatalf("err %v: want a retryable error", err)
	}
	h.MustDeliver(n)
	if live := f.live(); len(live) != 1 || f.snapshot("OPS-1").Status != "Done" {
		t.Errorf("want the one issue OPS-1, Done")
	}
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// before runs after the issue was created and acknowledged.
		before     func(f *fakeJira)
		opts       func(o *Options)
		wantErr    []string // substrings of a permanent error; nil: none
		wantStatus string
		wantTaken  []string
	}{
		{name: "OK", wantStatus: "Done", wantTaken: []string{"Start Progress", "Done"}},
		{name: "AlreadyDoneInJira", before: func(f *fakeJira) { f.setStatus("OPS-1", stDone) },
			wantStatus: "Done", wantTaken: []string{"Start Progress"}},
		{name: "NameCaseInsensitive", opts: func(o *Options) { o.ResolveTransition = "  done " },
			wantStatus: "Done", wantTaken: []string{"Start Progress", "Done"}},
		{name: "ErrNotAvailable", before: func(f *fakeJira) {
			f.mu.Lock()
			f.workflow[stInProgress.ID] = []transition{{ID: "21", Name: "Stop Progress", To: stToDo}}
			f.mu.Unlock()
		}, wantErr: []string{`transition "Done" is not available from status "In Progress"`, `"Stop Progress"`},
			wantStatus: "In Progress", wantTaken: []string{"Start Progress"}},
		{name: "SkippedWhenUnset", opts: func(o *Options) { o.ResolveTransition = "" },
			wantStatus: "In Progress", wantTaken: []string{"Start Progress"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, true)
			h := sinktest.NewHarness(t, newSink(t, f, tt.opts))
			h.Inc.State = incident.StateAcknowledged
			h.MustDeliver(h.Notification(incident.NotifyAcknowledged, h.Entry(incident.TimelineAcknowledged, "api:a", "")))
			if tt.before != nil {
				tt.before(f)
			}
			h.Inc.State = incident.StateResolved
			err := h.Deliver(h.Notification(incident.NotifyResolved))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err %v", err)
			case tt.wantErr != nil:
				if !errors.Is(err, sink.ErrPermanent) {
					t.Fatalf("err %v: want permanent", err)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("err %q: want it to say %q", err, s)
					}
				}
			}
			got := f.snapshot("OPS-1")
			if got.Status != tt.wantStatus {
				t.Errorf("status %s, want %s", got.Status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantTaken, got.Transitions); diff != "" {
				t.Errorf("transitions (-want +got):\n%s", diff)
			}
		})
	}
}

// An acknowledgement of an incident whose issue is done (reopened and
// acknowledged while the sink lagged) reopens the issue first.
func TestAcknowledgeReopensFirst(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	h := sinktest.NewHarness(t, newSink(t, f, nil))
	h.Inc.State = incident.StateResolved
	h.MustDeliver(h.Notification(incident.NotifyResolved))
	h.Inc.State = incident.StateAcknowledged
	h.MustDeliver(h.Notification(incident.NotifyAcknowledged))
	got := f.snapshot("OPS-1")
	if diff := cmp.Diff([]string{"Done", "Reopen", "Start Progress"}, got.Transitions); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail sinktest.Fault
		opts func(o *Options)
		// check classes the error.
		check func(t *testing.T, err error)
	}{
		{"Unauthorized", sinktest.Fault{}, func(o *Options) { o.APIToken = secret.New("wrong-token-value") }, func(t *testing.T, err error) {
			if !errors.Is(err, sink.ErrUnauthorized) || errors.Is(err, sink.ErrPermanent) {
				t.Errorf("err %v: want ErrUnauthorized, retried", err)
			}
			if strings.Contains(err.Error(), "wrong-token-value") {
				t.Error("the error repeats the token")
			}
		}},
		{"Forbidden", sinktest.Fault{Route: "search", Status: 403}, nil, func(t *testing.T, err error) {
			if !errors.Is(err, sink.ErrUnauthorized) {
				t.Errorf("err %v: want ErrUnauthorized", err)
			}
		}},
		{"BadRequestIsPermanent", sinktest.Fault{}, func(o *Options) { o.Priorities = map[string]string{"P2": "Urgent!"} }, func(t *testing.T, err error) {
			if !errors.Is(err, sink.ErrPermanent) || !strings.Contains(err.Error(), "priority: invalid priority name") {
				t.Errorf("err %v: want permanent, with Jira's field error", err)
			}
		}},
		{"ConflictIsRetried", sinktest.Fault{Route: "create", Status: 409}, nil, func(t *testing.T, err error) {
			if err == nil || errors.Is(err, sink.ErrPermanent) || errors.Is(err, sink.ErrUnauthorized) {
				t.Errorf("err %v: want a retryable error", err)
			}
		}},
		{"RateLimited", sinktest.Fault{Route: "search", Status: 429, Header: map[string]string{"Retry-After": "17"}}, nil, func(t *testing.T, err error) {
			var ra *sink.RetryAfterError
			if !errors.As(err, &ra) || ra.After != 17*time.Second {
				t.Errorf("err %v: want RetryAfterError of 17s", err)
			}
		}},
		{"ServiceUnavailable", sinktest.Fault{Route: "create", Status: 503, Header: map[string]string{"Retry-After": "60"}}, nil, func(t *testing.T, err error) {
			var ra *sink.RetryAfterError
			if !errors.As(err, &ra) || ra.After != time.Minute {
				t.Errorf("err %v: want RetryAfterError of 1m", err)
			}
		}},
		{"ServerError", sinktest.Fault{Route: "create", Status: 500}, nil, func(t *testing.T, err error) {
			var ra *sink.RetryAfterError
			if err == nil || errors.Is(err, sink.ErrPermanent) || errors.As(err, &ra) {
				t.Errorf("err %v: want a plain retryable error", err)
			}
		}},
		{"GarbledAnswer", sinktest.Fault{Route: "search", Status: 200, Body: "<html>"}, nil, func(t *testing.T, err error) {
			if err == nil || errors.Is(err, sink.ErrPermanent) {
				t.Errorf("err %v: want a retryable error", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, true)
			h := sinktest.NewHarness(t, newSink(t, f, tt.opts))
			if tt.fail.Route != "" {
				f.faults.Add(tt.fail)
			}
			err := h.Deliver(h.Notification(incident.NotifyOpened))
			if err == nil {
				t.Fatal("want an error")
			}
			tt.check(t, err)
			if strings.Contains(err.Error(), fakeToken) {
				t.Error("the error repeats the token")
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
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

// The search endpoint that exists is found and kept: Cloud has only
// /search/jql, Data Center only /search, whichever credentials are used.
func TestSearchFallback(t *testing.T) {
	t.Parallel()
	for _, cloud := range []bool{true, false} {
		f := newFakeJira(t, cloud)
		s := newSink(t, f, nil)
		// Start with the wrong one.
		if cloud {
			s.search.Store(searchLegacy)
		} else {
			s.search.Store(searchJQL)
		}
		for i := range 2 {
			h := sinktest.NewHarness(t, s)
			h.Inc.ID = int64(100 + i)
			h.MustDeliver(h.Notification(incident.NotifyOpened))
		}
		want := searchLegacy
		if cloud {
			want = searchJQL
		}
		if got := s.search.Load(); got != want {
			t.Errorf("cloud=%v: search %d, want %d", cloud, got, want)
		}
		if n := f.count("search"); n != 3 {
			t.Errorf("cloud=%v: %d searches, want 3 (one wrong, then the right one twice)", cloud, n)
		}
	}
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	t.Parallel()
	sum := message.MustCompile("s", "x")
	for _, o := range []Options{
		{Project: "OPS", Summary: sum, Description: sum, PersonalAccessToken: secret.New("x")},
		{URL: "http://j", Summary: sum, Description: sum, PersonalAccessToken: secret.New("x")},
		{URL: "http://j", Project: "OPS", PersonalAccessToken: secret.New("x")},
		{URL: "http://j", Project: "OPS", Summary: sum, Description: sum, APIToken: secret.New("x")},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v): want an error", o)
		}
	}
}
