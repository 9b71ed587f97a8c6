package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// reportRules: the checkout service's owner, and SLA policies for P2
// (respond 30m, resolve 8h) and P3.
const reportRules = `services:
  - name: checkout
    matchers: ['job="checkout"']
    owner: team-shop
sla:
  policies:
    - priority: P2
      respond: 30m
      resolve: 8h
    - priority: P3
      respond: 2h
      resolve: 1d
`

func (e *env) report(at time.Time, r incident.Report) incident.Incident {
	e.t.Helper()
	e.clock.Set(at)
	inc, err := e.p.Report(context.Background(), r)
	if err != nil {
		e.t.Fatalf("Report: %v", err)
	}
	return inc
}

// TestReportOpensIncident: a reported incident gets the matrix's priority,
// the SLA policy and the owner an alert's incident would, source manual, a
// key of its own, a timeline saying who reported it for whom, and an
// outbox row per sink for its opening, all in one transaction.
func TestReportOpensIncident(t *testing.T) {
	e := newEnv(t, envOpts{rules: reportRules, route: everySink})
	ctx := context.Background()
	inc := e.report(t0, incident.Report{Title: "  Checkout fails for card payments ", Service: "checkout",
		Description: "Customers call: the payment step times out.\nSince 20:00.", Impact: "HIGH", Urgency: "medium",
		Actor: "rita", OnBehalfOf: "service desk: alice"})

	got, err := e.store.Incident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inc, got); diff != "" {
		t.Errorf("Report's answer differs from the stored incident (-answer +stored):\n%s", diff)
	}
	if got.Title != "Checkout fails for card payments" || got.Service != "checkout" || got.Owner != "team-shop" ||
		got.Source != incident.SourceManual || got.State != incident.StateOpen || got.Priority != 2 ||
		got.Impact != incident.LevelHigh || got.Urgency != incident.LevelMedium || got.ResolveMode != incident.ResolveManual {
		t.Errorf("incident = %+v", got)
	}
	if !strings.HasPrefix(got.CorrelationKey, "manual/") || len(got.CorrelationKey) < len("manual/")+20 {
		t.Errorf("key %q, want manual/<random>", got.CorrelationKey)
	}
	if got.Summary != "Customers call: the payment step times out.\nSince 20:00." {
		t.Errorf("summary %q, want the description", got.Summary)
	}
	if !got.OpenedAt.Equal(t0) || !got.ImpactStartedAt.Equal(t0) {
		t.Errorf("opened %s, impact from %s; want both %s", got.OpenedAt, got.ImpactStartedAt, t0)
	}
	if !got.RespondBy.Equal(t0.Add(30*time.Minute)) || !got.ResolveBy.Equal(t0.Add(8*time.Hour)) || got.SLAPolicy != "P2" {
		t.Errorf("SLA: respond %s resolve %s policy %q, want P2's", got.RespondBy, got.ResolveBy, got.SLAPolicy)
	}
	tl := e.timeline(inc.ID)
	if len(tl) != 1 {
		t.Fatalf("timeline %+v, want one entry", tl)
	}
	want := incident.TimelineEntry{ID: tl[0].ID, IncidentID: inc.ID, At: t0, Kind: incident.TimelineOpened, Actor: "rita",
		OnBehalfOf: "service desk: alice", Message: "reported by rita (on behalf of service desk: alice) as P2 (impact high, urgency medium): " +
			"Customers call: the payment step times out.\nSince 20:00."}
	if diff := cmp.Diff(want, tl[0]); diff != "" {
		t.Errorf("timeline entry (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a #1 opened pending", "b #1 opened pending"}, e.outbox()); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}

	// A second report of the same words is a second incident: keys never
	// collide, with each other or with an alert's.
	again := e.report(t0.Add(time.Minute), incident.Report{Title: "Checkout fails for card payments", Impact: "low",
		Urgency: "low", Actor: "rita"})
	if again.ID == inc.ID || again.CorrelationKey == inc.CorrelationKey || again.Priority != 5 || again.SLAPolicy != "" {
		t.Errorf("second report = %+v", again)
	}
	if msg := e.timeline(again.ID)[0].Message; msg != "reported by rita as P5 (impact low, urgency low)" {
		t.Errorf("timeline without description or behalf: %q", msg)
	}
}

// TestReportRefusesBadInput: each field's mistake is an ErrInvalid that
// names the field, and nothing is written: no incident, no outbox row.
func TestReportRefusesBadInput(t *testing.T) {
	e := newEnv(t, envOpts{route: everySink})
	ok := incident.Report{Title: "Printer on fire", Impact: "low", Urgency: "high", Actor: "rita"}
	with := func(f func(*incident.Report)) incident.Report { r := ok; f(&r); return r }
	tests := []struct {
		name  string
		r     incident.Report
		field string
		msg   string
	}{
		{"ErrNoTitle", with(func(r *incident.Report) { r.Title = " \t" }), "title", "required"},
		{"ErrTitleTooLong", with(func(r *incident.Report) { r.Title = strings.Repeat("é", incident.MaxReportTitle+1) }), "title", "201 characters, at most 200"},
		{"ErrTitleTwoLines", with(func(r *incident.Report) { r.Title = "one\ntwo" }), "title", "one line only"},
		{"ErrTitleNotUTF8", with(func(r *incident.Report) { r.Title = "bad \xff" }), "title", "UTF-8"},
		{"ErrServiceTooLong", with(func(r *incident.Report) { r.Service = strings.Repeat("s", 101) }), "service", "at most 100"},
		{"ErrNoImpact", with(func(r *incident.Report) { r.Impact = "" }), "impact", "required: high, medium or low"},
		{"ErrBadImpact", with(func(r *incident.Report) { r.Impact = "critical" }), "impact", `"critical" is not a level`},
		{"ErrBadUrgency", with(func(r *incident.Report) { r.Urgency = "asap" }), "urgency", `"asap" is not a level`},
		{"ErrDescriptionTooLong", with(func(r *incident.Report) { r.Description = strings.Repeat("x", 10_001) }), "description", "at most 10000"},
		{"ErrDescriptionControl", with(func(r *incident.Report) { r.Description = "bell \a" }), "description", "control character U+0007"},
		{"ErrOnBehalfOfTwoLines", with(func(r *incident.Report) { r.OnBehalfOf = "a\r\nb" }), "on_behalf_of", "one line only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.p.Report(context.Background(), tt.r)
			var fe *incident.FieldError
			if !errors.Is(err, incident.ErrInvalid) || !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("err = %v, want a FieldError on %s saying %q", err, tt.field, tt.msg)
			}
		})
	}
	if n := len(e.incidents()); n != 0 {
		t.Errorf("%d incidents after refused reports", n)
	}
	if rows := e.outbox(); len(rows) != 0 {
		t.Errorf("outbox after refused reports: %v", rows)
	}
}

// TestReportLinksChanges: the changes on the reported service shortly
// before are its suspects, as for an incident an alert opens.
func TestReportLinksChanges(t *testing.T) {
	e := newEnv(t, envOpts{rules: catalog})
	ctx := context.Background()
	if err := e.p.SubmitChanges(ctx, []incident.Change{change("1", "api", "deploy api v42", -6*time.Minute),
		change("2", "search", "deploy search v3", -5*time.Minute)}); err != nil {
		t.Fatal(err)
	}
	inc := e.report(t0, incident.Report{Title: "Checkout is slow", Service: "checkout", Impact: "medium", Urgency: "medium", Actor: "rita"})
	links, err := e.store.IncidentChanges(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links[0].Change.Summary != "deploy api v42" {
		t.Errorf("linked changes = %+v, want the api deploy (checkout depends on api)", links)
	}
}

// TestMergeAlertIntoReport: an incident an alert opened can be merged
// into a reported one, which then holds the alert and its key: later
// alerts of that key join the reported incident, which takes the higher
// priority and does not resolve when the alerts do (a person reported
// it; a person resolves it).
func TestMergeAlertIntoReport(t *testing.T) {
	e := newEnv(t, envOpts{route: everySink})
	ctx := context.Background()
	rep := e.report(t0, incident.Report{Title: "Checkout fails", Service: "checkout", Impact: "medium", Urgency: "low", Actor: "rita"})
	a1 := fire(0, lab("alertname", "Errors", "job", "checkout", "i", "1", "severity", "critical"))
	a1.GroupLabels = map[string]string{"alertname": "Errors"}
	e.submit(t0.Add(time.Minute), a1)
	var alertInc incident.Incident
	for _, inc := range e.incidents() {
		if inc.ID != rep.ID {
			alertInc = inc
		}
	}
	if alertInc.ID == 0 || alertInc.Priority != 1 {
		t.Fatalf("the alert's own incident: %+v", alertInc)
	}

	dst := e.exec(t0.Add(2*time.Minute), incident.Command{IncidentID: alertInc.ID, Action: incident.ActionMerge, Into: rep.ID, Actor: "ada"})
	if dst.ID != rep.ID || dst.AlertCount != 1 || dst.FiringCount != 1 || dst.Priority != 1 || dst.Source != incident.SourceManual {
		t.Errorf("merge target = %+v, want the report with 1 alert, P1", dst)
	}
	a2 := fire(3*time.Minute, lab("alertname", "Errors", "job", "checkout", "i", "2", "severity", "warning"))
	a2.GroupLabels = map[string]string{"alertname": "Errors"}
	e.submit(t0.Add(3*time.Minute), a2)
	if got, _ := e.store.Incident(ctx, rep.ID); got.AlertCount != 2 || got.FiringCount != 2 {
		t.Errorf("after a later alert of the merged key: %d/%d alerts firing, want 2/2", got.FiringCount, got.AlertCount)
	}
	e.submit(t0.Add(4*time.Minute), clear(0, 4*time.Minute, a1.Labels), clear(3*time.Minute, 4*time.Minute, a2.Labels))
	got, _ := e.store.Incident(ctx, rep.ID)
	if got.State != incident.StateOpen || got.FiringCount != 0 {
		t.Errorf("after its alerts resolved: %s with %d firing, want still open", got.State, got.FiringCount)
	}
	want := []incident.TimelineKind{"opened", "merged", "alert_firing", "alert_resolved", "alert_resolved"}
	if diff := cmp.Diff(want, e.timelineKinds(rep.ID)); diff != "" {
		t.Errorf("reported incident's timeline (-want +got):\n%s", diff)
	}
	e.exec(t0.Add(5*time.Minute), incident.Command{IncidentID: rep.ID, Action: incident.ActionResolve, Actor: "rita"})
	if got, _ := e.store.Incident(ctx, rep.ID); got.State != incident.StateResolved {
		t.Errorf("resolved by hand: %s", got.State)
	}
}
