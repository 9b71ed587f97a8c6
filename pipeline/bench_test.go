package pipeline_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// BenchmarkSubmit measures committed notifications per second against a real
// SQLite file (synchronous=FULL), or with ALERTBRIDGE_TEST_STORE=postgres
// the PostgreSQL server, with 10 alerts per notification, for
// steady-state repeats and for new groups, serially and from many senders
// (where group commit shares one fsync among the waiting requests).
func BenchmarkSubmit(b *testing.B) {
	for _, c := range []struct {
		name     string
		parallel bool
		repeat   bool
		rules    bool // a rule with title and summary templates
		deferred bool // pure repeats acknowledged without a write
	}{
		{"Serial/New", false, false, false, false},
		{"Serial/Repeat", false, true, false, false},
		{"Parallel/New", true, false, false, false},
		{"Parallel/Repeat", true, true, false, false},
		{"Parallel/RepeatWithRules", true, true, true, false},
		{"Serial/RepeatDeferred", false, true, false, true},
		{"Parallel/RepeatDeferred", true, true, false, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			st := storetest.MustOpen(b)
			reg := prometheus.NewRegistry()
			var set atomic.Pointer[rules.Set]
			if c.rules {
				s, err := rules.Parse("r.yml", []byte(`correlations:
  - name: bench
    matchers: ['alertname="Bench"']
    by: [cluster]
    title: '{{ .Labels.alertname }} in {{ .Labels.cluster | toUpper }}'
    summary: '{{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}'
`))
				if err != nil {
					b.Fatal(err)
				}
				set.Store(s)
			}
			o := pipeline.Options{Store: st, Registerer: reg, Rules: &set}
			if c.deferred {
				o.TouchFlushInterval = time.Second
			}
			p, err := pipeline.New(o)
			if err != nil {
				b.Fatal(err)
			}
			p.Start()
			defer func() {
				if err := p.Stop(context.Background()); err != nil {
					b.Error(err)
				}
			}()
			var seq atomic.Int64
			batch := func(group int64) []incident.Event {
				evs := make([]incident.Event, 10)
				for i := range evs {
					labels := map[string]string{"alertname": "Bench", "cluster": fmt.Sprintf("c%d", group), "instance": fmt.Sprintf("i%d", i), "severity": "warning"}
					evs[i] = incident.Event{Source: "bench", Fingerprint: incident.LabelFingerprint(labels), Status: incident.StatusFiring,
						Labels: labels, StartsAt: time.Unix(1_800_000_000, 0), GroupLabels: map[string]string{"cluster": labels["cluster"]}}
				}
				return evs
			}
			next := func() []incident.Event {
				n := seq.Add(1)
				if c.repeat {
					n %= 50 // 50 groups re-sent over and over
				}
				return batch(n)
			}
			ctx := context.Background()
			if c.repeat {
				for g := int64(0); g < 50; g++ {
					if err := p.Submit(ctx, batch(g)); err != nil {
						b.Fatal(err)
					}
				}
			}
			// The pages the writer appended to SQLite's WAL per
			// notification (10 alerts): what the writes cost the disk,
			// which benchstat compares as it compares time.
			wal, _ := st.(interface{ WAL() sqlite.WALStats })
			var pages0 int64
			if wal != nil {
				pages0 = wal.WAL().PagesWritten
			}
			b.ReportAllocs()
			b.ResetTimer()
			if c.parallel {
				b.SetParallelism(16) // 16 senders per core, like many Alertmanager groups flushing at once
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := p.Submit(ctx, next()); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for i := 0; i < b.N; i++ {
					if err := p.Submit(ctx, next()); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifications/s")
			if wal != nil {
				b.ReportMetric(float64(wal.WAL().PagesWritten-pages0)/float64(b.N), "walpages/op")
			}
		})
	}
}
