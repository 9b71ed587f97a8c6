// Package keyed holds what the sinks share whose tool names an incident's
// record by a key of alertbridge's own, alertbridge-<incident id>
// (PagerDuty's dedup_key, Opsgenie's alias), so that the tool itself
// dedupes a record sent twice: the key, the state the record is brought
// to, and the ticket that remembers what was last synced.
//
// It imports sink and incident only.
package keyed

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
)

// prefix starts every key.
const prefix = "alertbridge-"

// Key is the key of incident id's record.
func Key(id int64) string { return prefix + strconv.FormatInt(id, 10) }

// IncidentOf is the incident a key of ours names; 0 for any other key.
func IncidentOf(key string) int64 {
	s, ok := strings.CutPrefix(key, prefix)
	id, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || id <= 0 {
		return 0
	}
	return id
}

// Name makes a name the incident a tool's key names: by IncidentID for a
// key of ours, else by ExternalID (the callback handler looks it up among
// the sink's tickets, and finds none for a record some other integration
// made).
func Name(a *sink.Action, key string) {
	if id := IncidentOf(key); id != 0 {
		a.IncidentID = id
		return
	}
	a.ExternalID = key
}

// State is where an incident's record should stand, and, in a ticket,
// where the sink last left it.
type State string

// The states. StateNone is a pending incident's: not yet an incident
// anyone works on, so nothing is sent.
const (
	StateNone         State = ""
	StateOpen         State = "open"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// StateOf is the state inc's record should be in: resolved once the
// incident is, or was merged into another.
func StateOf(inc incident.Incident) State {
	switch {
	case inc.MergedInto != 0 || inc.State.Ended():
		return StateResolved
	case inc.State == incident.StateAcknowledged:
		return StateAcknowledged
	case inc.State == incident.StateOpen:
		return StateOpen
	}
	return StateNone
}

// Active reports whether the record should be open (acknowledged or not).
func (s State) Active() bool { return s == StateOpen || s == StateAcknowledged }

// The keys of a ticket's Data.
const (
	// DataState is the State the sink last left the record in.
	DataState = "state"
	// DataPriority is the priority the record last got (P1..P5).
	DataPriority = "priority"
	// DataWorkaround is the incident's known-error workaround, kept to
	// show again when the record is sent anew.
	DataWorkaround = "workaround"
)

// Start begins a delivery of n: it returns the Data of the ticket the sink
// made before (empty if none) and the ticket it will return, named by key
// and keeping the workaround, the one n tells of if any, cut to
// maxWorkaround characters.
func Start(n sink.Notification, key string, maxWorkaround int) (prev map[string]string, t *incident.Ticket) {
	prev = map[string]string{}
	if n.Ticket != nil && n.Ticket.Data != nil {
		prev = n.Ticket.Data
	}
	t = &incident.Ticket{ExternalID: key, Data: map[string]string{}}
	if w := prev[DataWorkaround]; w != "" {
		t.Data[DataWorkaround] = w
	}
	for _, e := range n.Entries {
		if k, ok := incident.NotifyKindOf(e.Kind); ok && k == incident.NotifyKnownError && e.Message != "" {
			t.Data[DataWorkaround] = Truncate(e.Message, maxWorkaround)
		}
	}
	return prev, t
}

// Synced records in t that the record now stands in state with the
// incident's priority.
func Synced(t *incident.Ticket, state State, p incident.Priority) {
	t.Data[DataState] = string(state)
	t.Data[DataPriority] = p.String()
}

// Truncate cuts s to at most n characters, marking the cut with "…".
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
