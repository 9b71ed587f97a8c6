package incident

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCoalesceTouches(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)
	in := []Touch{
		{Source: "am", Fingerprint: "a", IncidentID: 1, Seen: t0.Add(2 * time.Second), Count: 2},
		{Source: "am", Fingerprint: "b", IncidentID: 1, Seen: t0, Count: 1},
		{Source: "am", Fingerprint: "a", IncidentID: 1, Seen: t0.Add(time.Second), Count: 3}, // older: the time stays
		{Source: "am", Fingerprint: "a", IncidentID: 2, Seen: t0.Add(3 * time.Second), Count: 1},
		{Source: "pd", Fingerprint: "a", IncidentID: 1, Seen: t0, Count: 1}, // another source: another alert
	}
	states, alerts := CoalesceTouches(in)
	wantStates := []Touch{
		{Source: "am", Fingerprint: "a", IncidentID: 1, Seen: t0.Add(3 * time.Second), Count: 2},
		{Source: "am", Fingerprint: "b", IncidentID: 1, Seen: t0, Count: 1},
		{Source: "pd", Fingerprint: "a", IncidentID: 1, Seen: t0, Count: 1},
	}
	wantAlerts := []Touch{
		{Source: "am", Fingerprint: "a", IncidentID: 1, Seen: t0.Add(2 * time.Second), Count: 5},
		{Source: "am", Fingerprint: "b", IncidentID: 1, Seen: t0, Count: 1},
		{Source: "am", Fingerprint: "a", IncidentID: 2, Seen: t0.Add(3 * time.Second), Count: 1},
		{Source: "pd", Fingerprint: "a", IncidentID: 1, Seen: t0, Count: 1},
	}
	if diff := cmp.Diff(wantStates, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAlerts, alerts); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
}

func TestDeferrable(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)
	prior := AlertState{Source: "am", Fingerprint: "a", Status: StatusFiring, StartsAt: t0, IncidentID: 7, Annotations: 42}
	ev := Event{Source: "am", Fingerprint: "a", Status: StatusFiring, StartsAt: t0}
	d := Decision{Event: ev, Transition: TransitionRepeat, Prior: prior}
	tests := []struct {
		name string
		edit func(d *Decision, ann *uint64)
		want bool
	}{
		{"OK", func(*Decision, *uint64) {}, true},
		{"OKAnotherPeersStamp", func(d *Decision, _ *uint64) { d.Event.StartsAt = t0.Add(SameFiringWithin / 2) }, true},
		{"NotARepeat", func(d *Decision, _ *uint64) { d.Transition = TransitionResolved }, false},
		{"OtherAnnotations", func(_ *Decision, ann *uint64) { *ann = 43 }, false},
		{"AnnotationsUnknown", func(d *Decision, ann *uint64) { d.Prior.Annotations, *ann = 0, 0 }, false},
		{"NoIncident", func(d *Decision, _ *uint64) { d.Prior.IncidentID = 0 }, false},
		{"EarlierStart", func(d *Decision, _ *uint64) { d.Event.StartsAt = t0.Add(-time.Second) }, false},
		{"LostResolve", func(d *Decision, _ *uint64) { d.Event.StartsAt = t0.Add(3 * SameFiringWithin) }, false},
		{"ResolvedPrior", func(d *Decision, _ *uint64) { d.Prior.Status = StatusResolved }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ann := d, uint64(42)
			tt.edit(&d, &ann)
			touch, ok := Deferrable(d, ann, t0.Add(time.Minute))
			if ok != tt.want {
				t.Fatalf("Deferrable = %v, want %v", ok, tt.want)
			}
			if ok && (touch.IncidentID != 7 || touch.Count != 1 || !touch.Seen.Equal(t0.Add(time.Minute))) {
				t.Errorf("touch = %+v", touch)
			}
		})
	}
	if AnnotationsHash(map[string]string{"a": "1", "b": "2"}) != AnnotationsHash(map[string]string{"b": "2", "a": "1"}) ||
		AnnotationsHash(map[string]string{"a": "1"}) == AnnotationsHash(map[string]string{"a": "2"}) || AnnotationsHash(nil) == 0 {
		t.Error("AnnotationsHash: not order independent, or blind to a value, or zero")
	}
}
