package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// trace returns the transitions the event trace recorded for source's
// events, oldest first.
func (e *env) trace(source string) []incident.Transition {
	e.t.Helper()
	var out []incident.Transition
	err := e.store.Events(context.Background(), time.Time{}, time.Time{}, func(r incident.EventRecord) error {
		if r.Source == source {
			out = append(out, r.Transition)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) alerts(id int64) []incident.Alert {
	e.t.Helper()
	list, err := e.store.Alerts(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *env) timeline(id int64) []incident.TimelineEntry {
	e.t.Helper()
	tl, err := e.store.Timeline(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return tl
}

// TestOtherSourceCannotTouchAlert: source alertmanager fires F. Source
// pd-prod then sends events with the same fingerprint F. They are pd-prod's
// own alert: a resolve or an acknowledge finds nothing of pd-prod's (stale,
// no-op), a firing is a new alert; alertmanager's alert and incident are
// never resolved, repeated or acknowledged by them.
func TestOtherSourceCannotTouchAlert(t *testing.T) {
	am := firing("web-1", t0)
	fp := am.Fingerprint
	// What pd-prod sends: PagerDuty-shaped (its own labels, no groups), or
	// a copy of alertmanager's alert, labels and groups and all.
	pdShaped := func(status incident.Status, at time.Time) incident.Event {
		ev := incident.Event{Source: "pd-prod", Fingerprint: fp, Status: status, StartsAt: at,
			Labels: map[string]string{"alertname": "pagerduty", "dedup_key": fp}, Annotations: map[string]string{}}
		if status == incident.StatusResolved {
			ev.EndsAt = at
		}
		return ev
	}
	copied := func(status incident.Status) incident.Event {
		ev := alert("web-1", status, t0, time.Time{}, "warning")
		ev.Source = "pd-prod"
		if status == incident.StatusResolved {
			ev.EndsAt = t0.Add(time.Minute)
		}
		return ev
	}
	ack := incident.Event{Source: "pd-prod", Fingerprint: fp, Acknowledge: true}
	at := t0.Add(2 * time.Minute)

	tests := []struct {
		name      string
		events    []incident.Event
		wantTrace []incident.Transition // pd-prod's
		// incidents, and alerts/firing on alertmanager's incident.
		wantIncidents, wantAlerts, wantFiring int
	}{
		{name: "ResolveIsStale", events: []incident.Event{pdShaped(incident.StatusResolved, at)},
			wantTrace: []incident.Transition{"stale"}, wantIncidents: 1, wantAlerts: 1, wantFiring: 1},
		// A resolve with a duration of an alert pd-prod never sent firing is
		// a whole firing of pd-prod's own: recorded (it joins the shared
		// group's incident as an alert of its own) and resolved, and
		// alertmanager's alert is untouched.
		{name: "ResolveOfCopiedAlertIsOwnWholeFiring", events: []incident.Event{copied(incident.StatusResolved)},
			wantTrace: []incident.Transition{"new"}, wantIncidents: 1, wantAlerts: 2, wantFiring: 1},
		{name: "AcknowledgeIsNoOp", events: []incident.Event{ack},
			wantIncidents: 1, wantAlerts: 1, wantFiring: 1},
		{name: "ResolveThenAcknowledge", events: []incident.Event{pdShaped(incident.StatusResolved, at), ack},
			wantTrace: []incident.Transition{"stale"}, wantIncidents: 1, wantAlerts: 1, wantFiring: 1},
		// The default key (groupLabels) is the same, so the copy joins the
		// incident, as an alert of its own: not a repeat of alertmanager's.
		{name: "FiringOfCopiedAlertIsNewAlert", events: []incident.Event{copied(incident.StatusFiring)},
			wantTrace: []incident.Transition{"new"}, wantIncidents: 1, wantAlerts: 2, wantFiring: 2},
		{name: "OwnResolveResolvesOnlyOwnAlert", events: []incident.Event{copied(incident.StatusFiring), copied(incident.StatusResolved)},
			wantTrace: []incident.Transition{"new", "resolved"}, wantIncidents: 1, wantAlerts: 2, wantFiring: 1},
		{name: "TriggerOpensOwnIncident", events: []incident.Event{pdShaped(incident.StatusFiring, at), ack},
			wantTrace: []incident.Transition{"new"}, wantIncidents: 2, wantAlerts: 1, wantFiring: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			e.submit(t0.Add(time.Second), am)
			before := e.only()
			alertsBefore, tlBefore := e.alerts(before.ID), e.timeline(before.ID)
			for i, ev := range tt.events {
				e.submit(at.Add(time.Duration(i)*time.Second), ev)
			}

			if diff := cmp.Diff(tt.wantTrace, e.trace("pd-prod")); diff != "" {
				t.Errorf("pd-prod's transitions (-want +got):\n%s", diff)
			}
			if n := len(e.incidents()); n != tt.wantIncidents {
				t.Errorf("%d incidents, want %d", n, tt.wantIncidents)
			}
			after, err := e.store.Incident(context.Background(), before.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.State != incident.StateOpen || !after.AcknowledgedAt.IsZero() ||
				after.AlertCount != tt.wantAlerts || after.FiringCount != tt.wantFiring {
				t.Errorf("alertmanager's incident: %s, acknowledged at %s, %d alerts, %d firing; want open, unacknowledged, %d, %d",
					after.State, after.AcknowledgedAt, after.AlertCount, after.FiringCount, tt.wantAlerts, tt.wantFiring)
			}
			var amAlert []incident.Alert
			for _, a := range e.alerts(before.ID) {
				if a.Source == am.Source {
					amAlert = append(amAlert, a)
				}
			}
			if diff := cmp.Diff(alertsBefore, amAlert); diff != "" {
				t.Errorf("alertmanager's alert changed (-before +after):\n%s", diff)
			}
			if tt.wantAlerts == 1 {
				if diff := cmp.Diff(tlBefore, e.timeline(before.ID)); diff != "" {
					t.Errorf("alertmanager's timeline changed (-before +after):\n%s", diff)
				}
			}
		})
	}
}

// TestPerAlertIncidentIsPerSource: without groups or rules each alert is its
// own incident, and an alert is (source, fingerprint): two PagerDuty
// integrations using one dedup_key get an incident each, and one's
// acknowledge leaves the other's incident alone.
func TestPerAlertIncidentIsPerSource(t *testing.T) {
	e := newEnv(t, envOpts{})
	trigger := func(source string) incident.Event {
		return incident.Event{Source: source, Fingerprint: "disk-full", Status: incident.StatusFiring, StartsAt: t0,
			Labels: map[string]string{"alertname": "pagerduty", "dedup_key": "disk-full"}, Annotations: map[string]string{}}
	}
	e.submit(t0, trigger("pd-team-a"))
	e.submit(t0.Add(time.Minute), trigger("pd-team-b"))
	e.submit(t0.Add(2*time.Minute), incident.Event{Source: "pd-team-b", Fingerprint: "disk-full", Acknowledge: true})
	got := map[string]string{}
	for _, inc := range e.incidents() {
		got[inc.CorrelationKey] = string(inc.State)
	}
	want := map[string]string{"alert/pd-team-a/disk-full": "open", "alert/pd-team-b/disk-full": "acknowledged"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("incidents by key (-want +got):\n%s", diff)
	}
}

// TestFlappingCountsPerSource: two sources send fingerprint F and each of
// their alerts resolves twice within the window, four resolves in all.
// With flap_threshold 2 neither alert flaps: another source's resolves are
// another alert's. alertmanager's third resolve marks the incident.
func TestFlappingCountsPerSource(t *testing.T) {
	p := newReplay(t, `correlations:
  - name: flappy
    by: [alertname]
    flap_threshold: 2
    flap_window: 30m
`)
	a := lab("alertname", "Flappy")
	from := func(source string, ev incident.Event) incident.Event {
		ev.Source = source
		return ev
	}
	m := time.Minute
	// Each source's alert resolves and refires in turn, so the incident
	// always has one firing and stays open.
	p.at(0, from("am", fire(0, a)), from("pd", fire(0, a)))
	started := map[string]time.Duration{"am": 0, "pd": 0}
	for i, src := range []string{"am", "pd", "am", "pd"} {
		at := time.Duration(2*i+1) * m
		p.at(at, from(src, clear(started[src], at, a)))
		started[src] = at + m
		p.at(at+m, from(src, fire(at+m, a)))
		if inc := p.incidents()[0]; !inc.FlappingSince.IsZero() {
			t.Fatalf("flapping after %d resolves in all, at most 2 of one alert", i+1)
		}
	}
	p.at(9*m, from("am", clear(started["am"], 9*m, a)))
	list := p.incidents()
	if len(list) != 1 || list[0].AlertCount != 2 {
		t.Fatalf("incidents = %+v, want one with two alerts", list)
	}
	if !list[0].FlappingSince.Equal(t0.Add(9 * m)) {
		t.Errorf("flapping since %s, want %s (am's third resolve)", list[0].FlappingSince, t0.Add(9*m))
	}
}

// TestCrossSourceCorrelationByRule: a rule's by labels give alerts of two
// sources one key, so they join one incident, as two alerts even with one
// fingerprint. Each source resolves only its own; an unlink must say which
// one it means.
func TestCrossSourceCorrelationByRule(t *testing.T) {
	e := newEnv(t, envOpts{rules: `correlations:
  - name: checkout
    matchers: ['service="checkout"']
    by: [service]
`})
	ctx := context.Background()
	labels := lab("alertname", "CheckoutErrors", "service", "checkout", "severity", "critical")
	am := fire(0, labels)
	am.Source, am.GroupLabels = "alertmanager", map[string]string{"alertname": "CheckoutErrors"}
	pd := fire(0, labels)
	pd.Source = "pd-prod" // the same fingerprint, no groups
	e.submit(t0, am)
	e.submit(t0.Add(time.Minute), pd)
	inc := e.only()
	if inc.AlertCount != 2 || inc.FiringCount != 2 {
		t.Fatalf("incident %s: %d alerts, %d firing; want one incident with two firing alerts", inc.CorrelationKey, inc.AlertCount, inc.FiringCount)
	}
	var ids []string
	for _, a := range e.alerts(inc.ID) {
		ids = append(ids, a.Source+"/"+a.Fingerprint)
	}
	if diff := cmp.Diff([]string{"alertmanager/" + am.Fingerprint, "pd-prod/" + am.Fingerprint}, ids); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}

	e.clock.Set(t0.Add(2 * time.Minute))
	_, err := e.p.Execute(ctx, incident.Command{IncidentID: inc.ID, Action: incident.ActionUnlink, Fingerprint: am.Fingerprint})
	var amb *incident.AmbiguousAlertError
	if !errors.As(err, &amb) || !errors.Is(err, incident.ErrInvalid) {
		t.Fatalf("unlink without a source: err = %v, want an AmbiguousAlertError (ErrInvalid)", err)
	}
	if diff := cmp.Diff([]string{"alertmanager", "pd-prod"}, amb.Sources); diff != "" {
		t.Errorf("ambiguous sources (-want +got):\n%s", diff)
	}
	moved, err := e.p.Execute(ctx, incident.Command{IncidentID: inc.ID, Action: incident.ActionUnlink, Fingerprint: am.Fingerprint,
		Source: "pd-prod"})
	if err != nil {
		t.Fatal(err)
	}
	if moved.Source != "pd-prod" || moved.AlertCount != 1 {
		t.Errorf("unlinked incident = source %q, %d alerts; want pd-prod's one alert", moved.Source, moved.AlertCount)
	}

	// Each source's resolve lands on its own alert's incident.
	resolve := func(ev incident.Event, at time.Duration) incident.Event {
		ev.Status, ev.EndsAt = incident.StatusResolved, t0.Add(at)
		return ev
	}
	e.submit(t0.Add(3*time.Minute), resolve(pd, 3*time.Minute))
	if got, _ := e.store.Incident(ctx, moved.ID); got.State != incident.StateResolved {
		t.Errorf("pd-prod's incident after its resolve: %s, want resolved", got.State)
	}
	if got, _ := e.store.Incident(ctx, inc.ID); got.State != incident.StateOpen || got.FiringCount != 1 {
		t.Errorf("alertmanager's incident after pd-prod's resolve: %s, %d firing; want open, 1", got.State, got.FiringCount)
	}
	e.submit(t0.Add(4*time.Minute), resolve(am, 4*time.Minute))
	if got, _ := e.store.Incident(ctx, inc.ID); got.State != incident.StateResolved {
		t.Errorf("alertmanager's incident after its own resolve: %s, want resolved", got.State)
	}
}
