package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
)

// TestReplicasStaleCachesNeverDecide: two pipelines on one store, as two
// replicas on one database. What one replica's LRUs remember goes stale
// when the other writes; the write path must decide from the transaction,
// so the records are what one replica alone would make.
func TestReplicasStaleCachesNeverDecide(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*env, func(*pipeline.Pipeline, time.Time, incident.Event), *pipeline.Pipeline, *pipeline.Pipeline) {
		e := newEnv(t, envOpts{})
		replica := func() *pipeline.Pipeline {
			p, err := pipeline.New(pipeline.Options{Store: e.store, Now: e.clock.Now, Registerer: prometheus.NewRegistry(), MaxWait: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			p.Start()
			t.Cleanup(func() { _ = p.Stop(ctx) })
			return p
		}
		submit := func(p *pipeline.Pipeline, at time.Time, ev incident.Event) {
			t.Helper()
			e.clock.Set(at)
			if err := p.Submit(ctx, []incident.Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
		return e, submit, replica(), replica()
	}

	t.Run("LateFiringAfterAnotherReplicaResolved", func(t *testing.T) {
		e, submit, a, b := setup(t)
		s1, s2 := t0, t0.Add(time.Hour)
		submit(a, s1, firing("web-1", s1)) // A's cache: firing since s1
		submit(b, s1.Add(10*time.Minute), resolved("web-1", s1, s1.Add(10*time.Minute)))
		submit(b, s2, firing("web-1", s2))
		submit(b, s2.Add(10*time.Minute), resolved("web-1", s2, s2.Add(10*time.Minute)))
		submit(a, s2.Add(11*time.Minute), firing("web-1", s2)) // a late copy
		for _, inc := range e.incidents() {
			if inc.State.Active() {
				t.Errorf("incident %d is %s: a late firing reopened it", inc.ID, inc.State)
			}
		}
	})

	t.Run("RepeatAfterAnotherReplicaUnlinked", func(t *testing.T) {
		e, submit, a, b := setup(t)
		submit(a, t0, firing("web-1", t0))
		submit(a, t0.Add(time.Second), firing("web-2", t0))
		fp := firing("web-2", t0).Fingerprint
		moved, err := b.Execute(ctx, incident.Command{IncidentID: 1, Action: incident.ActionUnlink, Actor: "ada",
			Fingerprint: fp, Source: "alertmanager"})
		if err != nil {
			t.Fatal(err)
		}
		submit(a, t0.Add(time.Minute), firing("web-2", t0)) // A's cache: web-2 in incident 1
		var in []int64
		for _, inc := range e.incidents() {
			alerts, err := e.store.Alerts(ctx, inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, al := range alerts {
				if al.Fingerprint == fp {
					in = append(in, inc.ID)
				}
			}
		}
		if len(in) != 1 || in[0] != moved.ID {
			t.Errorf("web-2 is in incidents %v, want only %d", in, moved.ID)
		}
	})
}
