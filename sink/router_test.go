package sink_test

import (
	"testing"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
)

func matchers(t *testing.T, ms ...string) labels.Matchers {
	t.Helper()
	var out labels.Matchers
	for _, s := range ms {
		m, err := labels.ParseMatcher(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestRoute(t *testing.T) {
	p1 := incident.Incident{Priority: 1, Service: "checkout", State: incident.StateOpen, Labels: map[string]string{"team": "payments"}}
	p4 := incident.Incident{Priority: 4, Service: "search", State: incident.StateAcknowledged, Labels: map[string]string{"team": "search"}}
	policies := []sink.Policy{
		{Sinks: []string{"pager"}, Matchers: matchers(t, `priority=~"P1|P2"`), Kinds: []incident.NotifyKind{incident.NotifyOpened, incident.NotifyResolved}, Continue: true},
		{Sinks: []string{"payments-chat"}, Matchers: matchers(t, `team="payments"`)},
		{Sinks: []string{"chat", "pager"}},
	}
	r := sink.NewRouter(policies, []string{"pager", "payments-chat", "chat"})
	tests := []struct {
		name string
		inc  incident.Incident
		kind incident.NotifyKind
		want []string
	}{
		{"P1 opened: pager continues, payments matches and stops", p1, incident.NotifyOpened, []string{"pager", "payments-chat"}},
		{"P1 comment: not a pager kind", p1, incident.NotifyComment, []string{"payments-chat"}},
		{"P4 falls through to the catch-all", p4, incident.NotifyOpened, []string{"chat", "pager"}},
		{"state is a label", p4, incident.NotifyAcknowledged, []string{"chat", "pager"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "sinks", tt.want, r.Route(tt.inc, tt.kind))
		})
	}
	// The pseudo-labels override the alert's own labels of that name.
	spoof := incident.Incident{Priority: 5, Labels: map[string]string{"priority": "P1"}}
	check(t, "an alert label cannot pose as the priority", []string(nil),
		sink.NewRouter(policies[:1], []string{"pager"}).Route(spoof, incident.NotifyOpened))
	check(t, "no policies: every sink hears of everything", []string{"x", "y"},
		sink.NewRouter(nil, []string{"x", "y"}).Route(p4, incident.NotifyComment))
	check(t, "no sinks, no routes", []string(nil), sink.NewRouter(nil, nil).Route(p4, incident.NotifyComment))
}
