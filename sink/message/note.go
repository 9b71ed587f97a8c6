package message

import (
	"strconv"
	"strings"

	"github.com/alertbridge/alertbridge/incident"
)

// NoteMarker begins every note alertbridge writes into a ticketing tool (a
// Jira comment, a ServiceNow work note): the tool's callbacks skip notes
// that begin with it, so that what alertbridge said does not come back to
// it as a responder's comment.
const NoteMarker = "(alertbridge"

// noteHeads are the words a note begins with, by the kind of its entry.
var noteHeads = map[incident.TimelineKind]string{
	incident.TimelineAcknowledged:    "Acknowledged",
	incident.TimelineResolved:        "Resolved",
	incident.TimelineReopened:        "Reopened",
	incident.TimelinePriorityChanged: "Priority changed",
	incident.TimelineComment:         "Comment",
	incident.TimelineSLABreached:     "SLA breached",
	incident.TimelineProblemLinked:   "Problem linked",
	incident.TimelineWorkaround:      "KNOWN ERROR",
	incident.TimelineMerged:          "Merged",
}

// NoteTag is what a note of the entry with ID id begins with: the marker
// and the entry's ID, by which a sink finds the notes it already wrote
// when a delivery whose answer was lost is made again.
func NoteTag(id int64) string {
	if id == 0 {
		return NoteMarker + ")"
	}
	return NoteMarker + " entry " + strconv.FormatInt(id, 10) + ")"
}

// Note is a timeline entry as a plain-text note in a ticketing tool: its
// tag, what happened, who did it, and its message. A known error's
// workaround stands on its own paragraph, headed WORKAROUND, so that it is
// the first thing a responder reads; extra (a link, say) ends the note.
func Note(e incident.TimelineEntry, extra string) string {
	var b strings.Builder
	b.WriteString(NoteTag(e.ID))
	b.WriteByte(' ')
	head, ok := noteHeads[e.Kind]
	if !ok {
		head = strings.ReplaceAll(string(e.Kind), "_", " ")
	}
	b.WriteString(head)
	if e.Actor != "" {
		b.WriteString(" by " + e.Actor)
	}
	if e.OnBehalfOf != "" {
		b.WriteString(" (for " + e.OnBehalfOf + ")")
	}
	if msg := strings.TrimSpace(e.Message); msg != "" {
		if e.Kind == incident.TimelineWorkaround {
			b.WriteString("\n\nWORKAROUND: " + msg)
		} else {
			b.WriteString(": " + msg)
		}
	}
	if extra = strings.TrimSpace(extra); extra != "" {
		b.WriteString("\n\n" + extra)
	}
	return b.String()
}

// Noted reports whether a note begins with NoteMarker: alertbridge wrote it.
func Noted(text string) bool {
	return strings.HasPrefix(strings.TrimSpace(text), NoteMarker)
}
