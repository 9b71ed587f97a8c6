package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

const staleRules = `correlations:
  - name: fast
    matchers: ['alertname="Fast"']
    resolve_timeout: 10m
  - name: keep
    matchers: ['alertname="Keep"']
    resolve_timeout: 0s
`

// TestResolveTimeout: a firing alert not repeated for its resolve_timeout
// resolves, ending at its last sighting plus the timeout, with a timeline
// entry saying so; the rule's resolve_timeout replaces the source's; a
// repeat restarts the clock.
func TestResolveTimeout(t *testing.T) {
	e := newBeatEnv(t, staleRules, nil)
	e.resolve = map[string]time.Duration{"events": time.Hour}
	e.restart()
	ev := func(source, name string) incident.Event {
		return incident.Event{Source: source, Fingerprint: name, Status: incident.StatusFiring,
			Labels: lab("alertname", name), StartsAt: t0}
	}
	runSteps(t, e, []step{
		{at: 0, events: []incident.Event{ev("events", "Script"), ev("am", "Fast"), ev("events", "Keep")},
			incs: []string{"#1 open P4 Script", "#2 open P4 Fast", "#3 open P4 Keep"}},
		{at: 9*time.Minute + 59*time.Second, incs: []string{"#1 open P4 Script", "#2 open P4 Fast", "#3 open P4 Keep"}},
		// The rule's 10m, though source am has none.
		{at: 10 * time.Minute, incs: []string{"#1 open P4 Script", "#2 resolved P4 Fast", "#3 open P4 Keep"}},
		// A repeat at 30m: the hour counts from there.
		{at: 30 * time.Minute, events: []incident.Event{ev("events", "Script")}, incs: []string{"#1 open P4 Script", "#2 resolved P4 Fast", "#3 open P4 Keep"}},
		{at: time.Hour + 29*time.Minute, incs: []string{"#1 open P4 Script", "#2 resolved P4 Fast", "#3 open P4 Keep"}},
		{at: time.Hour + 30*time.Minute, incs: []string{"#1 resolved P4 Script", "#2 resolved P4 Fast", "#3 open P4 Keep"},
			entry: "resolved: all alerts resolved"},
		// Rule keep says 0s: never, whatever the source says.
		{at: 30 * 24 * time.Hour, incs: []string{"#1 resolved P4 Script", "#2 resolved P4 Fast", "#3 open P4 Keep"}},
	})
	tl, err := e.st.Timeline(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range tl {
		if x.Kind == incident.TimelineAlertResolved {
			got = append(got, x.Message)
		}
	}
	check(t, "why #1 resolved", []string{"Script resolved: not repeated for 1h (resolve_timeout of source events)"}, got)
	inc, err := e.st.Incident(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "resolved at", t0.Add(90*time.Minute).Format(time.RFC3339), inc.ResolvedAt.Format(time.RFC3339))
	inc2, err := e.st.Incident(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "#2 resolved at", fmt.Sprint(t0.Add(10*time.Minute)), fmt.Sprint(inc2.ResolvedAt))
}
