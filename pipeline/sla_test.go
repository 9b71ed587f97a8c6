package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
)

// slaRules: P1 24x7 (respond 15m, resolve 4h); P3 on office hours
// (Mon–Fri 09:00–17:00 UTC), respond 2h, resolve 1d.
const slaRules = `sla:
  calendars:
    office:
      time_zone: UTC
      days: [mon, tue, wed, thu, fri]
      hours: "09:00-17:00"
  policies:
    - priority: P1
      respond: 15m
      resolve: 4h
    - priority: P3
      respond: 2h
      resolve: 8h
      calendar: office
`

func TestSLATargetsAndBreaches(t *testing.T) {
	// t0 is Saturday 2026-11-28 20:13:05 UTC.
	crit := lab("alertname", "Down", "severity", "critical")
	warn := lab("alertname", "Slow", "severity", "warning")
	ctx := context.Background()

	t.Run("RespondBreachedBySweep", func(t *testing.T) {
		p := newReplay(t, slaRules)
		p.at(0, fire(0, crit))
		inc := p.incidents()[0]
		if !inc.RespondBy.Equal(t0.Add(15*time.Minute)) || !inc.ResolveBy.Equal(t0.Add(4*time.Hour)) || inc.SLAPolicy != "P1" {
			t.Fatalf("targets = respond %s resolve %s policy %q", inc.RespondBy, inc.ResolveBy, inc.SLAPolicy)
		}
		p.advance(14 * time.Minute)
		if got := p.incidents()[0]; !got.RespondBreachedAt.IsZero() {
			t.Fatal("breached before the target")
		}
		p.advance(16 * time.Minute)
		got := p.incidents()[0]
		if !got.RespondBreachedAt.Equal(t0.Add(15 * time.Minute)) {
			t.Errorf("respond breach at %s, want the target time", got.RespondBreachedAt)
		}
		// Acknowledging late is fine, and not a second breach.
		if _, err := p.r.Execute(ctx, t0.Add(20*time.Minute), incident.Command{IncidentID: got.ID, Action: incident.ActionAcknowledge}); err != nil {
			t.Fatal(err)
		}
		tl, _ := p.st.Timeline(ctx, got.ID)
		n := 0
		for _, e := range tl {
			if e.Kind == incident.TimelineSLABreached {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d sla_breached entries, want 1", n)
		}
	})
	t.Run("AcknowledgedInTimeNoBreach", func(t *testing.T) {
		p := newReplay(t, slaRules)
		p.at(0, fire(0, crit))
		id := p.incidents()[0].ID
		if _, err := p.r.Execute(ctx, t0.Add(10*time.Minute), incident.Command{IncidentID: id, Action: incident.ActionAcknowledge}); err != nil {
			t.Fatal(err)
		}
		p.at(time.Hour, clear(0, time.Hour, crit))
		p.advance(10 * time.Hour)
		got := p.incidents()[0]
		if !got.RespondBreachedAt.IsZero() || !got.ResolveBreachedAt.IsZero() {
			t.Errorf("breaches %s / %s, want none", got.RespondBreachedAt, got.ResolveBreachedAt)
		}
	})
	t.Run("ResolvedLateIsBreach", func(t *testing.T) {
		p := newReplay(t, slaRules)
		p.at(0, fire(0, crit))
		// No sweep runs in between: the late resolve itself records it.
		if err := p.r.Submit(ctx, t0.Add(5*time.Hour), []incident.Event{clear(0, 5*time.Hour, crit)}); err != nil {
			t.Fatal(err)
		}
		if got := p.incidents()[0]; !got.ResolveBreachedAt.Equal(t0.Add(4 * time.Hour)) {
			t.Errorf("resolve breach = %s, want the 4h target", got.ResolveBreachedAt)
		}
	})
	t.Run("BusinessHoursSkipTheWeekend", func(t *testing.T) {
		p := newReplay(t, slaRules)
		p.at(0, fire(0, warn)) // P3, Saturday evening
		got := p.incidents()[0]
		monday9 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		if !got.RespondBy.Equal(monday9.Add(2*time.Hour)) || !got.ResolveBy.Equal(monday9.Add(8*time.Hour)) {
			t.Errorf("targets %s / %s, want Monday 11:00 and 17:00", got.RespondBy, got.ResolveBy)
		}
		p.advance(30 * time.Hour) // Monday 02:13: still before the target
		if got := p.incidents()[0]; !got.RespondBreachedAt.IsZero() {
			t.Error("breached during the weekend")
		}
	})
	t.Run("EscalationTightensTargets", func(t *testing.T) {
		p := newReplay(t, slaRules)
		w := fire(0, warn)
		w.GroupLabels = map[string]string{"g": "1"}
		c := fire(time.Minute, crit)
		c.GroupLabels = map[string]string{"g": "1"}
		p.at(0, w)
		p.at(time.Minute, c)
		got := p.incidents()[0]
		if got.Priority != 1 || !got.RespondBy.Equal(t0.Add(15*time.Minute)) {
			t.Errorf("after escalation: %s respond by %s, want P1 and t0+15m (from the opening time)", got.Priority, got.RespondBy)
		}
	})
	t.Run("NoPolicyNoTargets", func(t *testing.T) {
		p := newReplay(t, slaRules)
		p.at(0, fire(0, lab("alertname", "Info", "severity", "info"))) // P5: no policy
		if got := p.incidents()[0]; !got.RespondBy.IsZero() || got.SLAPolicy != "" {
			t.Errorf("P5 got targets %s %q", got.RespondBy, got.SLAPolicy)
		}
	})
}

func TestSLAAttainmentFigures(t *testing.T) {
	p := newReplay(t, slaRules)
	ctx := context.Background()
	for i, name := range []string{"A", "B", "C"} {
		p.at(time.Duration(i)*time.Second, fire(time.Duration(i)*time.Second, lab("alertname", name, "severity", "critical")))
	}
	list := p.incidents() // newest first: C, B, A
	a, b := list[2].ID, list[1].ID
	if _, err := p.r.Execute(ctx, t0.Add(5*time.Minute), incident.Command{IncidentID: a, Action: incident.ActionAcknowledge}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.r.Execute(ctx, t0.Add(40*time.Minute), incident.Command{IncidentID: b, Action: incident.ActionAcknowledge}); err != nil {
		t.Fatal(err)
	}
	// C was never acknowledged: its respond target passed too (a miss). A
	// resolve target still running counts in neither.
	figs, err := p.st.Stats(ctx, incident.StatsFilter{Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}, t0.Add(41*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got := [4]int{figs.RespondMet, figs.RespondMissed, figs.ResolveMet, figs.ResolveMissed}
	if want := [4]int{1, 2, 0, 0}; got != want {
		t.Errorf("respond met/missed, resolve met/missed = %v, want %v", got, want)
	}
}

// TestSweepInBatches: when more incidents come due than one sweep carries
// out (a storm's incidents reaching their respond target together), Sweep
// marks them incident.SweepBatch per transaction, so that ingest waits
// behind one batch at most; one call carries out up to its bound of
// batches, and the next call the rest. Every breach is marked once.
func TestSweepInBatches(t *testing.T) {
	ctx := context.Background()
	p := newReplay(t, slaRules)
	const n = 2*incident.SweepBatch + 88
	evs := make([]incident.Event, 0, n)
	for i := range n {
		ev := fire(0, lab("alertname", fmt.Sprint("Down", i), "severity", "critical"))
		ev.GroupLabels = lab("alertname", ev.Labels["alertname"])
		evs = append(evs, ev)
	}
	p.at(0, evs...)
	missed := func() int {
		t.Helper()
		s, err := p.st.Stats(ctx, incident.StatsFilter{Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if s.Opened != n {
			t.Fatalf("%d incidents opened, want %d", s.Opened, n)
		}
		return s.RespondMissed
	}
	defer pipeline.SetMaxSweepBatches(2)()
	p.advance(16 * time.Minute)
	if got := missed(); got != 2*incident.SweepBatch {
		t.Fatalf("after one sweep of at most two batches: %d respond targets missed, want %d", got, 2*incident.SweepBatch)
	}
	p.advance(17 * time.Minute)
	if got := missed(); got != n {
		t.Fatalf("after the next sweep: %d respond targets missed, want %d", got, n)
	}
}
