package keyed

import (
	"testing"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
)

func TestIncidentOf(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]int64{
		"alertbridge-42": 42, Key(9007199254740993): 9007199254740993,
		"alertbridge-0": 0, "alertbridge--1": 0, "alertbridge-12x": 0, "alertbridge-": 0, "alertbridge-9223372036854775808": 0,
		"Alertbridge-42": 0, "42": 0, "": 0, "d3640fbd41094207a1c11e58e46b1662": 0,
	} {
		if got := IncidentOf(key); got != want {
			t.Errorf("IncidentOf(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestName(t *testing.T) {
	t.Parallel()
	var a, b sink.Action
	Name(&a, "alertbridge-7")
	Name(&b, "other-7")
	if a.IncidentID != 7 || a.ExternalID != "" || b.IncidentID != 0 || b.ExternalID != "other-7" {
		t.Errorf("named %+v and %+v", a, b)
	}
}

func TestStateOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		inc  incident.Incident
		want State
	}{
		{incident.Incident{State: incident.StatePending}, StateNone},
		{incident.Incident{State: incident.StateOpen}, StateOpen},
		{incident.Incident{State: incident.StateAcknowledged}, StateAcknowledged},
		{incident.Incident{State: incident.StateResolved}, StateResolved},
		{incident.Incident{State: incident.StateOpen, MergedInto: 3}, StateResolved},
	} {
		if got := StateOf(tt.inc); got != tt.want {
			t.Errorf("StateOf(%s, merged into %d) = %q, want %q", tt.inc.State, tt.inc.MergedInto, got, tt.want)
		}
	}
}

// TestStart: the ticket keeps the workaround it had, or takes the one the
// notification tells of, cut to the bound.
func TestStart(t *testing.T) {
	t.Parallel()
	old := &incident.Ticket{ExternalID: "alertbridge-1", Data: map[string]string{DataState: "open", DataWorkaround: "old"}}
	prev, tk := Start(sink.Notification{Ticket: old}, "alertbridge-1", 10)
	if prev[DataState] != "open" || tk.Data[DataWorkaround] != "old" || tk.ExternalID != "alertbridge-1" || tk.Data[DataState] != "" {
		t.Errorf("kept: prev %v, ticket %+v", prev, tk)
	}
	n := sink.Notification{Ticket: old, Entries: []incident.TimelineEntry{
		{Kind: incident.TimelineWorkaround, Message: "first"}, {Kind: incident.TimelineComment, Message: "no"},
		{Kind: incident.TimelineWorkaround, Message: "reboot the whole cluster"}}}
	if _, tk := Start(n, "alertbridge-1", 10); tk.Data[DataWorkaround] != "reboot th…" {
		t.Errorf("new workaround %q, want the latest, cut to 10 characters", tk.Data[DataWorkaround])
	}
	if prev, _ := Start(sink.Notification{}, "k", 10); prev == nil || len(prev) != 0 {
		t.Errorf("no ticket: prev %v, want empty", prev)
	}
}
