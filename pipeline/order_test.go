package pipeline_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// This file checks invariant 4 as a property: every permutation of one set
// of deliveries ends in the same records as delivery in order.

// delivery is one event as a sender sent it, at sent.
type delivery struct {
	sent time.Time
	ev   incident.Event
}

// record is what of an incident must not depend on delivery order: its key,
// state, priority, when its impact started and ended, and its alerts with
// their latest firing. IDs, processing times and timelines may differ.
type record struct {
	Key, State, Priority string
	Impact, Resolved     time.Time
	Alerts               []string
}

// records replays deliveries in the given order on a fresh store: each at
// its own sent time when inOrder, else all after the last one (late).
func records(t *testing.T, ds []delivery, inOrder bool) []record {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenScratch(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var last time.Time
	for _, d := range ds {
		last = later(last, d.sent, d.ev.StartsAt, d.ev.EndsAt)
	}
	start := ds[0].sent
	if !inOrder {
		start = last
	}
	r, err := pipeline.NewReplayer(st, nil, start, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		at := d.sent
		if !inOrder {
			at = last.Add(time.Duration(i+1) * time.Second)
		}
		if err := r.Submit(ctx, at, []incident.Event{d.ev}); err != nil {
			t.Fatalf("delivery %d: %v\norder:\n%s", i, err, describe(ds[:i+1]))
		}
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	incs, err := st.Incidents(ctx, incident.IncidentFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []record
	for _, inc := range incs {
		if inc.MergedInto != 0 {
			continue
		}
		rec := record{Key: inc.CorrelationKey, State: string(inc.State), Priority: inc.Priority.String(),
			Impact: inc.ImpactStartedAt, Resolved: inc.ResolvedAt}
		alerts, err := st.Alerts(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			rec.Alerts = append(rec.Alerts, fmt.Sprintf("%s/%s %s %s..%s", a.Source, a.Labels["instance"], a.Status,
				a.StartsAt.Format("15:04:05"), fmtEnd(a.EndsAt)))
		}
		sort.Strings(rec.Alerts)
		if n := len(alerts); n != inc.AlertCount {
			t.Errorf("incident %d: alert_count %d, %d alert rows", inc.ID, inc.AlertCount, n)
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Impact.Before(out[j].Impact)
	})
	return out
}

func fmtEnd(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04:05")
}

func later(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// scenario generates the deliveries of a few Alertmanager groups whose
// alerts fire, resolve and fire again, with gaps shorter and longer than
// reopen_within, HA peers that stamp their own startsAt and endsAt (a few
// seconds apart), repeats, lost resolves and alerts still firing at the end.
func scenario(rng *rand.Rand) []delivery {
	base := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	var ds []delivery
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	severities := []string{"critical", "warning", "info"}
	for g := range 1 + rng.IntN(3) {
		cluster := fmt.Sprintf("c%d", g)
		sev := severities[rng.IntN(len(severities))]
		for a := range 1 + rng.IntN(3) {
			labels := map[string]string{"alertname": "HighLatency", "cluster": cluster, "instance": fmt.Sprintf("web-%d", a), "severity": sev}
			mk := func(status incident.Status, start, end time.Time) incident.Event {
				return incident.Event{Source: "am", Fingerprint: incident.LabelFingerprint(labels), Status: status,
					Labels: labels, Annotations: map[string]string{}, StartsAt: start, EndsAt: end,
					GroupLabels: map[string]string{"alertname": "HighLatency", "cluster": cluster}}
			}
			at := base.Add(time.Duration(rng.IntN(60)) * time.Minute)
			episodes := 1 + rng.IntN(3)
			for e := range episodes {
				start := at
				dur := time.Duration(1+rng.IntN(20)) * time.Minute
				end := start.Add(dur)
				still := e == episodes-1 && rng.IntN(4) == 0
				ds = append(ds, delivery{start.Add(sec(2)), mk(incident.StatusFiring, start, time.Time{})})
				if rng.IntN(2) == 0 { // the other HA peer's stamp
					ds = append(ds, delivery{start.Add(sec(3)), mk(incident.StatusFiring, start.Add(sec(rng.IntN(7)-3)), time.Time{})})
				}
				if rng.IntN(2) == 0 { // a repeat
					ds = append(ds, delivery{start.Add(dur / 2), mk(incident.StatusFiring, start, time.Time{})})
				}
				if still {
					break
				}
				if e < episodes-1 && rng.IntN(7) == 0 {
					// The resolve is lost: the next firing comes while the
					// alert is still thought to fire.
				} else {
					ds = append(ds, delivery{end.Add(sec(2)), mk(incident.StatusResolved, start, end)})
					if rng.IntN(2) == 0 {
						ds = append(ds, delivery{end.Add(sec(3)),
							mk(incident.StatusResolved, start.Add(sec(rng.IntN(7)-3)), end.Add(sec(rng.IntN(3))))})
					}
				}
				gap := time.Duration(1+rng.IntN(20)) * time.Minute // within reopen_within (30m)
				if rng.IntN(2) == 0 {
					gap = time.Duration(40+rng.IntN(80)) * time.Minute // beyond it
				}
				at = end.Add(gap)
			}
		}
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].sent.Before(ds[j].sent) })
	return ds
}

// orderSeeds is how many generated scenarios TestEveryOrderSameRecordsGenerated
// runs; raise it for a longer search (make order-soak).
var orderSeeds = flag.Int("order.seeds", 60, "generated scenarios of the delivery-order property test")

func TestEveryOrderSameRecordsGenerated(t *testing.T) {
	seeds, perms := *orderSeeds, 4
	if testing.Short() {
		seeds, perms = 15, 2
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		ds := scenario(rng)
		want := records(t, ds, true)
		orders := map[string][]delivery{"reversed": reversed(ds)}
		for p := range perms {
			shuffled := slices.Clone(ds)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			orders[fmt.Sprintf("shuffle%d", p)] = shuffled
		}
		for name, order := range orders {
			got := records(t, order, false)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("seed %d, %s: records differ from delivery in order (-in order +%s):\n%s\ndeliveries in order:\n%s",
					seed, name, name, diff, describe(ds))
			}
		}
		if t.Failed() {
			return
		}
	}
}

func reversed(ds []delivery) []delivery {
	out := slices.Clone(ds)
	slices.Reverse(out)
	return out
}

func describe(ds []delivery) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "  %s %s %s %s..%s\n", d.sent.Format("15:04:05"), d.ev.Labels["cluster"]+"/"+d.ev.Labels["instance"],
			d.ev.Status, d.ev.StartsAt.Format("15:04:05"), fmtEnd(d.ev.EndsAt))
	}
	return b.String()
}
