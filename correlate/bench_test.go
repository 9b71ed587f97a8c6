package correlate

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// BenchmarkKey is the key of an alert under a rule with two by labels, and
// under the built-in default (the notification's group labels).
func BenchmarkKey(b *testing.B) {
	set, err := rules.Parse("r.yml", []byte(`correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
    by: [cluster, mountpoint]
`))
	if err != nil {
		b.Fatal(err)
	}
	labels := map[string]string{"alertname": "DiskFull", "cluster": "eu-1", "mountpoint": "/var", "instance": "n1", "job": "node"}
	ev := incident.Event{Source: "am", Fingerprint: "fp", Labels: labels, GroupLabels: map[string]string{"alertname": "DiskFull", "cluster": "eu-1"}}
	b.Run("Rule", func(b *testing.B) {
		r := set.Match(labels)
		b.ReportAllocs()
		for b.Loop() {
			_ = Key(r, ev, "")
		}
	})
	b.Run("GroupLabels", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Key(nil, ev, "")
		}
	})
}

// BenchmarkBatchCurrent is one transaction's view finding and recording the
// open incident of 10 cached keys: a notification's correlation cost in the
// writer, without the store.
func BenchmarkBatchCurrent(b *testing.B) {
	c, err := New(10_000, nil)
	if err != nil {
		b.Fatal(err)
	}
	lookup := mapLookup{}
	keys := make([]string, 10)
	for i := range keys {
		keys[i] = fmt.Sprintf("group{cluster=\"c%d\"}", i)
		lookup[keys[i]] = incident.Incident{ID: int64(i + 1), CorrelationKey: keys[i], State: incident.StateOpen}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		batch := c.Begin(lookup)
		for _, k := range keys {
			cur, err := batch.Current(ctx, k)
			if err != nil || cur == nil {
				b.Fatal(cur, err)
			}
			if err := batch.Record(ctx, *cur); err != nil {
				b.Fatal(err)
			}
		}
		batch.Commit()
	}
}

// BenchmarkCacheHeap fills a cache of 50,000 keys (the daemon's default)
// with incidents shaped like an Alertmanager group's and reports the Go
// heap each cached key holds: what the memory goal of issue #13 counts.
func BenchmarkCacheHeap(b *testing.B) {
	const keys = 50_000
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		before := liveHeap()
		c, err := New(keys, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		batch := c.Begin(mapLookup{})
		for i := range keys {
			key := fmt.Sprintf(`rule/node-down@2{cluster="eu-%d",job="node"}`, i)
			inc := incident.Incident{ID: int64(i + 1), CorrelationKey: key, State: incident.StateOpen,
				Title: fmt.Sprintf("NodeDown: node-exporter on eu-%d is unreachable", i), Service: "node", Rule: "node-down",
				Labels: map[string]string{"alertname": "NodeDown", "cluster": fmt.Sprintf("eu-%d", i), "job": "node",
					"severity": "critical", "team": "infra", "prometheus": "monitoring/k8s"}}
			if err := batch.Record(ctx, inc); err != nil {
				b.Fatal(err)
			}
		}
		batch.Commit()
		b.StopTimer()
		b.ReportMetric(float64(liveHeap()-before)/keys, "heap-B/key")
		runtime.KeepAlive(c)
		b.StartTimer()
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
