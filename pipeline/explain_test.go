package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
)

// TestExplainAgreesWithPipeline generates a corpus of alerts over a service
// catalog, rules with windows and reopen_within, resolves and maintenance,
// and before each new alert asks pipeline.Placement (what `rules explain`
// and the UI show, read from the live database) where it will go; the
// pipeline must then put it exactly there.
func TestExplainAgreesWithPipeline(t *testing.T) {
	const rulesYAML = catalog + `correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
    by: [cluster]
    window: 20m
    reopen_within: 5m
`
	set, err := rules.Parse("rules.yml", []byte(rulesYAML))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	kinds := map[incident.Placement]int{}
	for seed := range 8 {
		rng := rand.New(rand.NewPCG(uint64(seed), 3))
		p := newReplay(t, rulesYAML)
		var firing []incident.Event
		at := time.Duration(0)
		for i := range 60 {
			at += time.Duration(rng.IntN(8)) * time.Minute
			if len(firing) > 0 && rng.IntN(3) == 0 {
				// Resolve one, so later alerts may reopen or open anew.
				k := rng.IntN(len(firing))
				ev := firing[k]
				ev.Status, ev.EndsAt = incident.StatusResolved, t0.Add(at)
				p.at(at, ev)
				firing = append(firing[:k], firing[k+1:]...)
				continue
			}
			if rng.IntN(10) == 0 {
				svc := []string{"db", "api", "checkout"}[rng.IntN(3)]
				p.change(at, incident.Change{Source: "ci", ExternalID: fmt.Sprintf("m%d-%d", seed, i), Service: svc,
					Summary: "maintenance", StartedAt: t0.Add(at), FinishedAt: t0.Add(at + 10*time.Minute),
					Maintenance: true, ReceivedAt: t0.Add(at), Labels: map[string]string{}})
			}
			labels := lab("alertname", []string{"DiskFull", "Errors", "Down"}[rng.IntN(3)],
				"job", []string{"db", "api", "checkout", "search"}[rng.IntN(4)],
				"cluster", []string{"eu-1", "us-1"}[rng.IntN(2)], "instance", fmt.Sprintf("i%d", i))
			ev := fire(at, labels)
			ev.GroupLabels = map[string]string{"alertname": labels["alertname"], "job": labels["job"], "cluster": labels["cluster"]}
			_, want, err := pipeline.Placement(ctx, p.st, set, ev, t0.Add(at))
			if err != nil {
				t.Fatal(err)
			}
			before := map[int64]bool{}
			for _, inc := range p.incidents() {
				before[inc.ID] = true
			}
			p.at(at, ev)
			firing = append(firing, ev)
			alerts, err := p.st.FiringAlerts(ctx, ev.Source)
			if err != nil {
				t.Fatal(err)
			}
			var got int64
			for _, st := range alerts {
				if st.Fingerprint == ev.Fingerprint {
					got = st.IncidentID
				}
			}
			kinds[want.Kind]++
			switch want.Kind {
			case incident.PlaceJoin, incident.PlaceReopen, incident.PlaceSymptom:
				if got != want.Target.ID {
					t.Fatalf("seed %d alert %d %v: explain said %s #%d, the pipeline put it in #%d", seed, i, labels, want.Kind, want.Target.ID, got)
				}
			case incident.PlaceOpen, incident.PlaceSealAndOpen:
				if before[got] {
					t.Fatalf("seed %d alert %d %v: explain said %s, the pipeline put it in existing #%d", seed, i, labels, want.Kind, got)
				}
			default:
				t.Fatalf("seed %d alert %d: explain said %s for a firing now", seed, i, want.Kind)
			}
			if want.Maintenance != nil {
				if inc, _ := p.st.Incident(ctx, got); want.Kind == incident.PlaceOpen && !inc.DuringMaintenance {
					t.Fatalf("seed %d alert %d: explain said during maintenance, the incident is not marked", seed, i)
				}
			}
		}
	}
	// The corpus must have exercised every placement a firing now can get.
	for _, k := range []incident.Placement{incident.PlaceJoin, incident.PlaceReopen, incident.PlaceOpen, incident.PlaceSealAndOpen, incident.PlaceSymptom} {
		if kinds[k] == 0 {
			t.Errorf("the corpus never produced %s: %v", k, kinds)
		}
	}
}

// change records c at at, as POST /ingest/changes would.
func (p *replay) change(at time.Duration, c incident.Change) {
	p.t.Helper()
	p.advance(at)
	ctx := context.Background()
	if err := p.st.Update(ctx, func(tx incident.Tx) error { return tx.PutChange(ctx, &c) }); err != nil {
		p.t.Fatal(err)
	}
}
