package pipeline_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// TestReloadNeverMixesRuleSets swaps between two rule sets while requests of
// several events flow: every request must be decided wholly by one set. The
// sets group differently ("old" by cluster, "new" by cluster and i), so a
// request decided by old is one incident of all its alerts, by new one
// incident per alert, and a mix is anything else.
func TestReloadNeverMixesRuleSets(t *testing.T) {
	sets := make([]*rules.Set, 2)
	for i, by := range []string{"old\n    by: [cluster]", "new\n    by: [cluster, i]"} {
		s, err := rules.Parse("r.yml", []byte("correlations:\n  - name: "+by+"\n"))
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
				// Paced, not spinning: a spinning swapper took one of
				// CI's two cores from the requests (under -race), which
				// then outwaited the pipeline's wait budget. A swap every
				// ~60 µs still falls between the events of a request
				// (loading the set per event instead of per group makes
				// this test fail).
				time.Sleep(time.Microsecond)
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

	type decided struct{ incidents, alerts int }
	byRequest := map[string]map[string]decided{} // cluster → rule → its incidents and alerts
	for _, inc := range e.incidents() {
		c := inc.Labels["cluster"]
		if byRequest[c] == nil {
			byRequest[c] = map[string]decided{}
		}
		d := byRequest[c][inc.Rule]
		byRequest[c][inc.Rule] = decided{d.incidents + 1, d.alerts + inc.AlertCount}
	}
	if len(byRequest) != requests {
		t.Fatalf("incidents of %d requests, want %d", len(byRequest), requests)
	}
	seen := map[string]int{}
	for c, rs := range byRequest {
		want := map[string]decided{"old": {1, perRequest}, "new": {perRequest, perRequest}}
		if len(rs) != 1 {
			t.Errorf("request %s was decided by several rule sets: %v", c, rs)
			continue
		}
		for rule, d := range rs {
			if d != want[rule] {
				t.Errorf("request %s by %s: %d incidents of %d alerts, want %v", c, rule, d.incidents, d.alerts, want[rule])
			}
			seen[rule]++
		}
	}
	t.Logf("requests decided by each set: %v", seen)
}
