package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// TestFlapping: an alert that resolves and refires every 10 minutes. With
// flap_threshold 2 in 30m its third resolve within the window marks the
// incident flapping; it stays one incident although each refire comes after
// reopen_within (1m); after a quiet window one summary says it is stable.
func TestFlapping(t *testing.T) {
	p := newReplay(t, `correlations:
  - name: flappy
    by: [alertname]
    reopen_within: 1m
    flap_threshold: 2
    flap_window: 30m
`)
	a := lab("alertname", "Flappy")
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		start := time.Duration(i) * 10 * time.Minute
		p.at(start, fire(start, a))
		p.at(start+5*time.Minute, clear(start, start+5*time.Minute, a))
	}
	list := p.incidents()
	flappingFrom := t0.Add(25 * time.Minute) // the third resolve within 30m
	// Refires at 10m and 20m came after reopen_within: new incidents. The
	// third resolve marks the third incident flapping, and the refire at
	// 30m reopens it instead of opening a fourth.
	if len(list) != 3 {
		t.Fatalf("%d incidents, want 3", len(list))
	}
	inc := list[0]
	if !inc.FlappingSince.Equal(flappingFrom) || inc.AlertCount != 1 {
		t.Fatalf("newest incident flapping since %s, want %s", inc.FlappingSince, flappingFrom)
	}
	tl, _ := p.st.Timeline(ctx, inc.ID)
	reopened := 0
	for _, e := range tl {
		if e.Kind == incident.TimelineReopened {
			reopened++
		}
	}
	if reopened != 1 {
		t.Errorf("the flapping incident reopened %d times, want 1 (at 30m)", reopened)
	}
}

func TestFlappingStaysOneIncidentAndSettles(t *testing.T) {
	p := newReplay(t, `correlations:
  - name: flappy
    by: [alertname]
    reopen_within: 1m
    flap_threshold: 1
    flap_window: 30m
`)
	a := lab("alertname", "Flappy")
	ctx := context.Background()
	// Two quick cycles within reopen_within: the second resolve marks it.
	p.at(0, fire(0, a))
	p.at(time.Minute, clear(0, time.Minute, a))
	p.at(90*time.Second, fire(90*time.Second, a))
	p.at(2*time.Minute, clear(90*time.Second, 2*time.Minute, a))
	// Long after reopen_within, but flapping: it reopens the same incident.
	p.at(20*time.Minute, fire(20*time.Minute, a))
	p.at(21*time.Minute, clear(20*time.Minute, 21*time.Minute, a))
	list := p.incidents()
	if len(list) != 1 {
		t.Fatalf("%d incidents, want 1: a flapping incident stays one", len(list))
	}
	if list[0].FlappingSince.IsZero() {
		t.Fatal("not marked flapping")
	}
	p.advance(40 * time.Minute) // 19 quiet minutes: not yet
	if p.incidents()[0].FlappingSince.IsZero() {
		t.Fatal("settled before a quiet flap window")
	}
	p.advance(52 * time.Minute) // 31 quiet minutes
	inc := p.incidents()[0]
	if !inc.FlappingSince.IsZero() || inc.State != incident.StateResolved {
		t.Fatalf("after a quiet window: flapping since %s, state %s; want settled and resolved", inc.FlappingSince, inc.State)
	}
	tl, _ := p.st.Timeline(ctx, inc.ID)
	var kinds []incident.TimelineKind
	for _, e := range tl {
		if e.Kind == incident.TimelineFlapping || e.Kind == incident.TimelineStable || e.Kind == incident.TimelineReopened {
			kinds = append(kinds, e.Kind)
		}
	}
	want := []incident.TimelineKind{"reopened", "flapping", "reopened", "stable"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	// Once stable, reopen_within applies again: a refire an hour later is new.
	p.at(2*time.Hour, fire(2*time.Hour, a))
	if n := len(p.incidents()); n != 2 {
		t.Errorf("%d incidents after settling, want a new one", n)
	}
}
