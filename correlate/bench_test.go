package correlate

import (
	"context"
	"fmt"
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
