package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// TestHAPeerStamps: two clustered Alertmanagers received the same alert
// without a startsAt and each stamped its own, 400ms apart. Their
// notifications are about one firing: a resolve from either peer resolves
// it, even when the other peer's is lost, and the alert keeps the earlier
// stamp whichever peer spoke first.
func TestHAPeerStamps(t *testing.T) {
	a := lab("alertname", "HighLatency", "instance", "web-1")
	stampA, stampB := 10*time.Second, 10*time.Second+400*time.Millisecond
	tests := []struct {
		name  string
		steps func(p *replay)
	}{
		{"OlderPeerResolvesNewerPeersFiring", func(p *replay) {
			p.at(11*time.Second, fire(stampB, a)) // peer B notified first
			p.at(12*time.Second, fire(stampA, a))
			p.at(5*time.Minute, clear(stampA, 5*time.Minute, a)) // only peer A's resolve arrives
		}},
		{"NewerPeerResolvesOlderPeersFiring", func(p *replay) {
			p.at(11*time.Second, fire(stampA, a))
			p.at(12*time.Second, fire(stampB, a))
			p.at(5*time.Minute, clear(stampB, 5*time.Minute, a)) // only peer B's resolve arrives
		}},
		{"ResolveFromOnePeerOnly", func(p *replay) {
			p.at(11*time.Second, fire(stampA, a))
			p.at(5*time.Minute, clear(stampB, 5*time.Minute, a))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newReplay(t, "")
			tt.steps(p)
			list := p.incidents()
			if len(list) != 1 {
				t.Fatalf("%d incidents, want 1", len(list))
			}
			inc := list[0]
			if inc.State != incident.StateResolved || inc.FiringCount != 0 {
				t.Fatalf("incident %s with %d firing; want resolved: one peer's resolve resolves the firing", inc.State, inc.FiringCount)
			}
			alerts, _ := p.st.Alerts(context.Background(), inc.ID)
			if len(alerts) != 1 || !alerts[0].StartsAt.Equal(t0.Add(stampA)) || !inc.ImpactStartedAt.Equal(t0.Add(stampA)) {
				t.Errorf("alert %+v, impact %s; want one alert from the earlier stamp %s", alerts, inc.ImpactStartedAt, t0.Add(stampA))
			}
			if want := t0.Add(5 * time.Minute); !inc.ResolvedAt.Equal(want) {
				t.Errorf("resolved_at %s, want when the alert ended, %s", inc.ResolvedAt, want)
			}
		})
	}
}

// TestClockSkew: the Alertmanager's host runs two minutes ahead of ours, or
// behind. Either way no alert ends before it starts, and the outage lasts
// what it lasted.
func TestClockSkew(t *testing.T) {
	a := lab("alertname", "Flaky", "instance", "web-1")
	const skew = 2 * time.Minute
	t.Run("Ahead", func(t *testing.T) {
		p := newReplay(t, "")
		// Fired at 10s by its clock (10s+2m by ours: in the future),
		// repeated, resolved 15s later by its clock.
		p.at(10*time.Second, fire(10*time.Second+skew, a))
		p.at(20*time.Second, fire(10*time.Second+skew, a))
		p.at(25*time.Second, clear(10*time.Second+skew, 25*time.Second+skew, a))
		inc := p.incidents()[0]
		alerts, _ := p.st.Alerts(context.Background(), inc.ID)
		if len(alerts) != 1 || alerts[0].EndsAt.Before(alerts[0].StartsAt) {
			t.Fatalf("alerts %+v: one that ends after it starts", alerts)
		}
		if got := alerts[0].EndsAt.Sub(alerts[0].StartsAt); got != 15*time.Second {
			t.Errorf("the alert lasted %s, want 15s (measured by our clock from receipt)", got)
		}
		if inc.State != incident.StateResolved || inc.ResolvedAt.Sub(inc.ImpactStartedAt) != 15*time.Second {
			t.Errorf("incident %s, impact %s to %s; want resolved after 15s", inc.State, inc.ImpactStartedAt, inc.ResolvedAt)
		}
	})
	t.Run("Behind", func(t *testing.T) {
		p := newReplay(t, "")
		// Fired at 2m10s by ours (10s by its clock), resolved 15s later.
		p.at(2*time.Minute+11*time.Second, fire(10*time.Second, a))
		p.at(2*time.Minute+26*time.Second, clear(10*time.Second, 25*time.Second, a))
		inc := p.incidents()[0]
		if inc.State != incident.StateResolved || inc.ResolvedAt.Sub(inc.ImpactStartedAt) != 15*time.Second {
			t.Errorf("incident %s, impact %s to %s; want resolved after 15s, not 0", inc.State, inc.ImpactStartedAt, inc.ResolvedAt)
		}
	})
}

// TestTrueMTTR: MTTR counts from when the impact started to when it ended
// (docs/records.md), whatever the order deliveries came in and however
// late: a replay of old deliveries, a reopen and its resolve, a resolve
// whose endsAt lies before an acknowledgement.
func TestTrueMTTR(t *testing.T) {
	ctx := context.Background()
	a := lab("alertname", "DiskFull", "instance", "db-1")
	b := lab("alertname", "DiskFull", "instance", "db-2")
	group := func(ev incident.Event) incident.Event {
		ev.GroupLabels = map[string]string{"alertname": "DiskFull"}
		return ev
	}
	t.Run("ReplayedLate", func(t *testing.T) {
		p := newReplay(t, "")
		// Everything arrives an hour late, in one go.
		p.at(time.Hour, group(fire(0, a)), group(clear(0, 10*time.Minute, a)))
		inc := p.incidents()[0]
		if got := inc.ResolvedAt.Sub(inc.ImpactStartedAt); got != 10*time.Minute {
			t.Errorf("MTTR %s, want 10m (not 0: the record opened after the outage ended)", got)
		}
	})
	t.Run("ReopenAndResolve", func(t *testing.T) {
		p := newReplay(t, "")
		p.at(time.Second, group(fire(0, a)))
		p.at(5*time.Minute, group(clear(0, 5*time.Minute, a)))
		p.at(10*time.Minute, group(fire(10*time.Minute, b))) // reopens (within 30m)
		p.at(20*time.Minute, group(clear(10*time.Minute, 20*time.Minute, b)))
		inc := p.incidents()[0]
		if inc.State != incident.StateResolved || !inc.ReopenedAt.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("incident %s reopened at %s; want resolved, reopened when b fired", inc.State, inc.ReopenedAt)
		}
		if got := inc.ResolvedAt.Sub(inc.ImpactStartedAt); got != 20*time.Minute {
			t.Errorf("MTTR %s, want 20m: from the first firing to the last end, the reopen included", got)
		}
		st, err := p.st.Stats(ctx, incident.StatsFilter{Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(st.TimesToResolve) != 1 || st.TimesToResolve[0] != 20*time.Minute {
			t.Errorf("stats times to resolve %v, want [20m]", st.TimesToResolve)
		}
	})
	t.Run("LateResolveAfterAck", func(t *testing.T) {
		p := newReplay(t, "")
		p.at(time.Second, group(fire(0, a)))
		inc := p.incidents()[0]
		if _, err := p.r.Execute(ctx, t0.Add(3*time.Minute), incident.Command{IncidentID: inc.ID, Action: incident.ActionAcknowledge, Actor: "rita"}); err != nil {
			t.Fatal(err)
		}
		// The alert ended at 2m; its resolve arrives at 4m, after the ack.
		p.at(4*time.Minute, group(clear(0, 2*time.Minute, a)))
		inc = p.incidents()[0]
		if inc.ResolvedAt.Before(inc.AcknowledgedAt) {
			t.Errorf("resolved at %s, before the acknowledgement at %s", inc.ResolvedAt, inc.AcknowledgedAt)
		}
		if got := inc.ResolvedAt.Sub(inc.ImpactStartedAt); got != 3*time.Minute {
			t.Errorf("MTTR %s, want 3m: never before what people did", got)
		}
	})
}
