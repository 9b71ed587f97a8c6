package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// TestReplayedNonceFailsOnlyItsRequest puts two requests with the same
// nonce and one without into one group: the group falls back to one commit
// per request, and only the second user of the nonce fails.
func TestReplayedNonceFailsOnlyItsRequest(t *testing.T) {
	st, err := sqlite.Open(context.Background(), storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	p, err := pipeline.New(pipeline.Options{Store: st, Registerer: reg, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nonce := &incident.Nonce{Source: "ci", Value: "sig-1", Expires: t0.Add(10 * time.Minute)}
	subs := map[string]incident.Submission{
		"a": {Events: []incident.Event{firing("web-a", t0)}, Nonce: nonce},
		"b": {Events: []incident.Event{firing("web-b", t0)}, Nonce: nonce},
		"c": {Events: []incident.Event{firing("web-c", t0)}},
	}
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(subs))
	for name, s := range subs {
		go func() { results <- result{name, p.Ingest(ctx, s)} }()
	}
	// Queued before the writer starts, they form one group.
	for deadline := time.Now().Add(10 * time.Second); metricValue(t, reg, "alertbridge_pipeline_queue_length") < 3; {
		if time.Now().After(deadline) {
			t.Fatal("the requests were never queued")
		}
		time.Sleep(time.Millisecond)
	}
	p.Start()
	defer func() {
		if err := p.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	var committed, replayed []string
	for range subs {
		r := <-results
		switch {
		case r.err == nil:
			committed = append(committed, r.name)
		case errors.Is(r.err, incident.ErrReplay) && errors.Is(r.err, incident.ErrConflict):
			replayed = append(replayed, r.name)
		default:
			t.Errorf("%s: %v", r.name, r.err)
		}
	}
	if len(replayed) != 1 || replayed[0] == "c" || len(committed) != 2 {
		t.Fatalf("committed %v, replayed %v; want one of a and b replayed", committed, replayed)
	}
	var want []string
	for _, name := range committed {
		want = append(want, subs[name].Events[0].Labels["instance"])
	}
	if diff := cmp.Diff(sorted(want), sorted(committedInstances(t, st))); diff != "" {
		t.Errorf("committed alerts (-want +got):\n%s", diff)
	}
	if err := p.StoreErr(); err != nil {
		t.Errorf("StoreErr = %v after a replay, want nil: the store is fine", err)
	}
	// A nonce that expired may be used again.
	again := incident.Nonce{Source: "ci", Value: "sig-1", Expires: t0.Add(time.Hour)}
	err = p.Ingest(ctx, incident.Submission{Nonce: &again})
	if !errors.Is(err, incident.ErrReplay) {
		t.Errorf("nonce alone, unexpired: err = %v, want ErrReplay", err)
	}
}

func committedInstances(t *testing.T, st *sqlite.Store) []string {
	t.Helper()
	ctx := context.Background()
	list, err := st.Incidents(ctx, incident.IncidentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, inc := range list {
		alerts, err := st.Alerts(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			out = append(out, a.Labels["instance"])
		}
	}
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestStoreErrFollowsCommits fills a real database (capped as a full disk
// caps it) and checks that StoreErr and the gauge follow the commits: set
// by a store error, kept by the sweep's heartbeat while there is no room,
// untouched by a domain error, and cleared once a sweep commits again.
func TestStoreErrFollowsCommits(t *testing.T) {
	e := newEnv(t, envOpts{dir: t.TempDir()}) // SQLite: its page cap stands for a full disk
	ctx := context.Background()
	lastOK := func() float64 { return metricValue(t, e.reg, "alertbridge_store_last_commit_successful") }
	e.submit(t0, firing("web-0", t0))
	if err := e.p.StoreErr(); err != nil || lastOK() != 1 {
		t.Fatalf("StoreErr = %v, gauge %v; want nil and 1", err, lastOK())
	}
	if _, err := e.store.(*sqlite.Store).SetMaxPageCount(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var full error
	for i := 1; full == nil && i < 10_000; i++ {
		ev := firing(fmt.Sprintf("web-%d", i), t0)
		ev.Labels = copyMap(ev.Labels)
		ev.Labels["cluster"] = fmt.Sprintf("c%d", i) // a new incident each
		ev.GroupLabels = map[string]string{"cluster": ev.Labels["cluster"]}
		ev.Fingerprint = incident.LabelFingerprint(ev.Labels)
		full = e.p.Submit(ctx, []incident.Event{ev})
	}
	if full == nil || errors.Is(full, pipeline.ErrOverloaded) || !strings.Contains(full.Error(), "database or disk is full") {
		t.Fatalf("filling the database: err = %v, want database or disk is full", full)
	}
	check := func(when string, wantFailing bool) {
		t.Helper()
		err, ok := e.p.StoreErr(), lastOK()
		if wantFailing && (err == nil || !strings.Contains(err.Error(), "database or disk is full") || ok != 0) {
			t.Errorf("%s: StoreErr = %v, gauge %v; want database or disk is full, and 0", when, err, ok)
		}
		if !wantFailing && (err != nil || ok != 1) {
			t.Errorf("%s: StoreErr = %v, gauge %v; want nil and 1", when, err, ok)
		}
	}
	check("full", true)
	if _, err := e.p.Execute(ctx, incident.Command{IncidentID: 999, Action: incident.ActionResolve}); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("command on an unknown incident: %v", err)
	}
	check("after a domain error", true)
	if err := e.p.Sweep(ctx); err == nil {
		t.Error("the sweep's heartbeat committed in a full database")
	}
	check("after the sweep", true)

	if _, err := e.store.(*sqlite.Store).SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Sweep(ctx); err != nil {
		t.Fatalf("sweep once there is room: %v", err)
	}
	check("after a sweep with room", false)
}
