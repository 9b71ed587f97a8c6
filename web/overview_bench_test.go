package web_test

import "testing"

// BenchmarkOverview renders the overview over 10,000 incidents spread
// over the last 30 days (issue #11: under 100 ms), for each period and a
// filtered one.
func BenchmarkOverview(b *testing.B) {
	_, get := benchUI(b, 10000)
	for _, path := range []string{"/overview?period=24h", "/overview", "/overview?period=30d", "/overview?period=90d",
		"/overview?period=90d&service=db&priority=P2"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				get(path)
			}
		})
	}
}
