package pipeline_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// TestReloadNeverMixesRuleSets swaps between two rule sets while requests of
// several events flow: every request must be decided wholly by one set, so
// the events of one request all carry the same rule name.
func TestReloadNeverMixesRuleSets(t *testing.T) {
	sets := make([]*rules.Set, 2)
	for i, name := range []string{"old", "new"} {
		s, err := rules.Parse("r.yml", []byte(fmt.Sprintf("correlations:\n  - name: %s\n    by: [cluster]\n", name)))
		if err != nil {
			t.Fatal(err)
		}
		sets[i] = s
	}
	e := newEnv(t, envOpts{})
	e.rules.Store(sets[0])
	ctx := context.Background()
	stop := make(chan struct{})
	var swaps sync.WaitGroup
	swaps.Add(1)
	go func() {
		defer swaps.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				e.rules.Store(sets[i%2])
			}
		}
	}()
	const requests, perRequest = 200, 5
	var wg sync.WaitGroup
	for r := 0; r < requests; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			evs := make([]incident.Event, perRequest)
			for i := range evs {
				evs[i] = fire(0, lab("alertname", "X", "cluster", fmt.Sprintf("r%d", r), "i", fmt.Sprint(i)))
			}
			if err := e.p.Submit(ctx, evs); err != nil {
				t.Error(err)
			}
		}(r)
	}
	wg.Wait()
	close(stop)
	swaps.Wait()

	// Every request opened one incident (its own cluster); all its alerts
	// joined it only if they were decided by the same rule set.
	list := e.incidents()
	if len(list) != requests {
		t.Fatalf("%d incidents, want %d (one per request)", len(list), requests)
	}
	seen := map[string]int{}
	for _, inc := range list {
		if inc.AlertCount != perRequest {
			t.Errorf("incident %s has %d alerts, want %d: a request was split across rule sets", inc.CorrelationKey, inc.AlertCount, perRequest)
		}
		seen[inc.Rule]++
	}
	if seen["old"] == 0 && seen["new"] == 0 {
		t.Errorf("rules used: %v", seen)
	}
}
