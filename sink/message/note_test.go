package message

import (
	"testing"

	"github.com/alertbridge/alertbridge/incident"
)

func TestNote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		e     incident.TimelineEntry
		extra string
		want  string
	}{
		{"Acknowledged", incident.TimelineEntry{ID: 7, Kind: incident.TimelineAcknowledged, Actor: "api:alice"}, "",
			"(alertbridge entry 7) Acknowledged by api:alice"},
		{"OnBehalfOf", incident.TimelineEntry{ID: 8, Kind: incident.TimelineComment, Actor: "api:bot", OnBehalfOf: "bob",
			Message: " looking \n"}, "", "(alertbridge entry 8) Comment by api:bot (for bob): looking"},
		{"Workaround", incident.TimelineEntry{ID: 9, Kind: incident.TimelineWorkaround, Actor: "system", Message: "restart it"}, "",
			"(alertbridge entry 9) KNOWN ERROR by system\n\nWORKAROUND: restart it"},
		{"UnknownKind", incident.TimelineEntry{Kind: "during_maintenance"}, "see https://x",
			"(alertbridge) during maintenance\n\nsee https://x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Note(tt.e, tt.extra)
			if got != tt.want {
				t.Errorf("Note = %q, want %q", got, tt.want)
			}
			if !Noted(got) {
				t.Errorf("Noted(%q) = false", got)
			}
		})
	}
	for _, s := range []string{"", "alertbridge said", "see (alertbridge entry 3)"} {
		if Noted(s) {
			t.Errorf("Noted(%q) = true: only a note that begins with the marker is ours", s)
		}
	}
	if NoteTag(5) == NoteTag(57)[:len(NoteTag(5))] {
		t.Error("the tag of entry 5 is a prefix of entry 57's: a search for one finds the other")
	}
}
