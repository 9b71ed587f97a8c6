package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertbridge/alertbridge/app"
)

// BenchmarkIngest is the daemon's whole path for a webhook, over loopback
// HTTP: the handler, the decoder, admission, the writer and SQLite with
// full fsync. In RepeatN each notification repeats a firing group of n
// alerts (the bulk of Alertmanager's traffic, acknowledged from the dedupe
// cache); in NewN each is a group never seen before, n new alerts
// opening an incident (a storm of new alerts: every alert a row write).
// The senders run in parallel, as Alertmanager's do. Per op is one
// request.
func BenchmarkIngest(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("Repeat%d", n), func(b *testing.B) {
			url := startBench(b)
			// Groups enough for every sender, each sent once before the timer.
			bodies := make([][]byte, 64)
			for g := range bodies {
				bodies[g] = repeatBody(b, g, n)
				mustPost(b, url, bodies[g])
			}
			var next atomic.Int64
			runSenders(b, n, func(client *http.Client) {
				mustPost(b, url, bodies[next.Add(1)&63], client)
			})
		})
	}
	// NewN: each notification a group never seen before, n new alerts
	// opening an incident. New1, one alert a request, is the single mix's
	// costliest write: every request opens an incident.
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("New%d", n), func(b *testing.B) {
			url := startBench(b)
			var next atomic.Int64
			runSenders(b, n, func(client *http.Client) {
				mustPost(b, url, repeatBody(b, int(next.Add(1)), n), client)
			})
		})
	}
}

// startBench starts a daemon on its defaults in a fresh directory, stopped
// when b ends, and returns its webhook URL.
func startBench(b *testing.B) string {
	b.Helper()
	return "http://" + mustApp(b, app.Options{}).Addr() + "/ingest/alertmanager"
}

// runSenders times b.N calls of send, from 4 senders per CPU as
// Alertmanager's run in parallel, each with a client of its own, and
// reports the rate of alerts (n per request).
func runSenders(b *testing.B, n int, send func(*http.Client)) {
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		client := &http.Client{}
		for pb.Next() {
			send(client)
		}
	})
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "alerts/s")
}

// repeatBody is group g's notification of n firing alerts.
func repeatBody(b *testing.B, g, n int) []byte {
	b.Helper()
	start := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	d := template.Data{Receiver: "bridge", Status: "firing", GroupLabels: template.KV{"alertname": "Load", "cluster": fmt.Sprint(g)},
		CommonLabels: template.KV{"alertname": "Load"}, CommonAnnotations: template.KV{}, ExternalURL: "http://am:9093"}
	for i := range n {
		d.Alerts = append(d.Alerts, template.Alert{Status: "firing", StartsAt: start,
			Labels:      template.KV{"alertname": "Load", "cluster": fmt.Sprint(g), "instance": fmt.Sprintf("node-%d:9100", i)},
			Annotations: template.KV{"summary": "load is high"}, Fingerprint: fmt.Sprintf("%08x%08x", g, i)})
	}
	body, err := json.Marshal(struct {
		template.Data
		Version  string `json:"version"`
		GroupKey string `json:"groupKey"`
	}{d, "4", fmt.Sprintf(`{}:{alertname="Load", cluster="%d"}`, g)})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func mustPost(b *testing.B, url string, body []byte, client ...*http.Client) {
	c := http.DefaultClient
	if len(client) > 0 {
		c = client[0]
	}
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Error(err)
		return
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Error(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b.Errorf("POST: %s", resp.Status)
	}
}
