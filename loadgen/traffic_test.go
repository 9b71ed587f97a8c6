package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustReadFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDecode(t *testing.T, body []byte) *message {
	t.Helper()
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return &m
}

// TestMessageRoundTrip checks that message, which mirrors webhook.Message,
// encodes a real Alertmanager body back to the same bytes.
func TestMessageRoundTrip(t *testing.T) {
	for _, name := range []string{"repeat-notification.json", "resolved-all.json", "firing-group-updated.json", "truncated.json"} {
		t.Run(name, func(t *testing.T) {
			raw := mustReadFixture(t, name)
			got, err := encode(mustDecode(t, raw))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(raw), string(got)); diff != "" {
				t.Errorf("re-encoded body differs (-captured +encoded):\n%s", diff)
			}
		})
	}
}

// TestFingerprint checks fingerprints against those Alertmanager computed.
func TestFingerprint(t *testing.T) {
	for _, name := range []string{"firing-group-updated.json", "truncated.json"} {
		t.Run(name, func(t *testing.T) {
			m := mustDecode(t, mustReadFixture(t, name))
			for _, a := range m.Alerts {
				if got := fingerprint(a.Labels); got != a.Fingerprint {
					t.Errorf("fingerprint(%v) = %s, want %s", a.Labels, got, a.Fingerprint)
				}
			}
		})
	}
}

func TestGroupLabels(t *testing.T) {
	t.Run("Unique", func(t *testing.T) {
		seen := map[string]int{}
		for g := range 5000 {
			key := newGroup(g).groupKey
			if prev, ok := seen[key]; ok {
				t.Fatalf("groups %d and %d share key %s", prev, g, key)
			}
			seen[key] = g
		}
	})
	t.Run("GroupKey", func(t *testing.T) {
		// The same form as the captured firing-group.json.
		want := `{}:{alertname="HighRequestLatency", cluster="eu-west-1"}`
		if got := newGroup(0).groupKey; got != want {
			t.Errorf("group 0 key = %s, want %s", got, want)
		}
	})
}

// fixedClock returns a clock that starts at a fixed instant and advances by
// one second per reading, so that streams can be compared exactly.
func fixedClock() func() time.Time {
	now := time.Date(2026, 11, 28, 20, 13, 5, 82885710, time.UTC)
	return func() time.Time {
		now = now.Add(time.Second)
		return now
	}
}

func mustStream(t *testing.T, seed int64, n int) [][]byte {
	t.Helper()
	tr := newTraffic(seed, 1, 3, 20, 4, DefaultMix, fixedClock())
	var out [][]byte
	for _, m := range tr.warmup() {
		b, err := encode(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for range n {
		b, err := encode(tr.next())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestTrafficDeterministic(t *testing.T) {
	a, b := mustStream(t, 7, 500), mustStream(t, 7, 500)
	if i := firstDifference(a, b); i >= 0 {
		t.Errorf("same seed, notification %d differs:\n%s", i, cmp.Diff(string(a[i]), string(b[i])))
	}
	if c := mustStream(t, 8, 500); firstDifference(a, c) < 0 {
		t.Error("seeds 7 and 8 gave the same traffic")
	}
}

// firstDifference returns the index of the first body that differs, or -1.
// (cmp.Diff on whole streams is quadratic and takes minutes under -race.)
func firstDifference(a, b [][]byte) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || !bytes.Equal(a[i], b[i]) {
			return i
		}
	}
	return -1
}

// TestTrafficModel follows one worker's stream and checks it against the
// model in doc.go: what each reason means for the group, and the mix.
func TestTrafficModel(t *testing.T) {
	const (
		groups, perGroup, n = 30, 5, 20000
	)
	tr := newTraffic(1, 0, 1, groups, perGroup, DefaultMix, fixedClock())
	type state struct {
		firing   bool
		alerts   []string // fingerprints
		startsAt time.Time
		endsAt   time.Time
	}
	states := map[string]*state{}
	for _, m := range tr.warmup() {
		if m.NotificationReason != reasonFirst || m.Status != "firing" || len(m.Alerts) != perGroup {
			t.Fatalf("warm-up %s: reason %q status %s, %d alerts", m.GroupKey, m.NotificationReason, m.Status, len(m.Alerts))
		}
		states[m.GroupKey] = &state{firing: true, alerts: fingerprints(m), startsAt: m.Alerts[0].StartsAt}
	}
	if len(states) != groups {
		t.Fatalf("warm-up covered %d groups, want %d", len(states), groups)
	}

	reasons := map[string]int{}
	for i := range n {
		m := tr.next()
		reasons[m.NotificationReason]++
		s := states[m.GroupKey]
		fps := fingerprints(m)
		where := fmt.Sprintf("notification %d (%s, %s)", i, m.GroupKey, m.NotificationReason)
		switch m.NotificationReason {
		case reasonRepeat:
			if !s.firing || m.Status != "firing" {
				t.Fatalf("%s: repeat of a resolved group", where)
			}
			if !slices.Equal(s.alerts, fps) {
				t.Fatalf("%s: repeat changed the alerts:\n%s", where, cmp.Diff(s.alerts, fps))
			}
		case reasonAdded:
			if !s.firing || m.Status != "firing" {
				t.Fatalf("%s: alert added to a resolved group", where)
			}
			if len(fps) != len(s.alerts)+1 || !slices.Equal(s.alerts, fps[:len(s.alerts)]) {
				t.Fatalf("%s: want the old alerts plus one, got:\n%s", where, cmp.Diff(s.alerts, fps))
			}
			if len(fps) > 2*perGroup {
				t.Fatalf("%s: %d alerts, over the limit of %d", where, len(fps), 2*perGroup)
			}
			if last := m.Alerts[len(m.Alerts)-1]; !last.StartsAt.After(s.startsAt) {
				t.Fatalf("%s: added alert starts at %s, not after the episode's %s", where, last.StartsAt, s.startsAt)
			}
		case reasonResolved:
			if !s.firing || m.Status != "resolved" {
				t.Fatalf("%s: resolve of a resolved group", where)
			}
			if !slices.Equal(s.alerts, fps) {
				t.Fatalf("%s: resolve changed the alerts:\n%s", where, cmp.Diff(s.alerts, fps))
			}
			s.endsAt = m.Alerts[0].EndsAt
		case reasonFirst:
			if s.firing || m.Status != "firing" {
				t.Fatalf("%s: refire of a firing group", where)
			}
			if len(fps) != perGroup {
				t.Fatalf("%s: refire with %d alerts, want %d", where, len(fps), perGroup)
			}
			if !m.Alerts[0].StartsAt.After(s.endsAt) {
				t.Fatalf("%s: refire starts at %s, not after the last endsAt %s", where, m.Alerts[0].StartsAt, s.endsAt)
			}
			s.startsAt = m.Alerts[0].StartsAt
		default:
			t.Fatalf("%s: unknown reason", where)
		}
		s.firing = m.Status == "firing"
		s.alerts = fps
	}

	t.Logf("reasons over %d notifications: %v", n, reasons)
	// The seed is fixed, so this is exact; the bounds only say "about the mix".
	share := func(reason string) float64 { return float64(reasons[reason]) / n }
	if got := share(reasonRepeat); got < 0.65 || got > 0.80 {
		t.Errorf("repeats are %.3f of the traffic, want about 0.70 (%v)", got, reasons)
	}
	if got := share(reasonAdded); got < 0.08 || got > 0.16 {
		t.Errorf("additions are %.3f of the traffic, want a bit under 0.15 (%v)", got, reasons)
	}
	if got := share(reasonResolved) + share(reasonFirst); got < 0.14 || got > 0.16 {
		t.Errorf("resolves and refires are %.3f of the traffic, want about 0.15 (%v)", got, reasons)
	}
}

func fingerprints(m *message) []string {
	var out []string
	for _, a := range m.Alerts {
		out = append(out, a.Fingerprint)
	}
	return out
}

func TestMessageShape(t *testing.T) {
	g := newGroup(9)
	clock := fixedClock()
	g.fire(3, clock())
	g.add(clock())
	m := g.message(reasonAdded)

	// Compare through JSON, as a receiver sees it.
	var got map[string]any
	b, err := encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("body does not end in a newline as Alertmanager's does")
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	a0 := got["alerts"].([]any)[0].(map[string]any)
	delete(got, "alerts")
	want := map[string]any{
		"receiver":            "bench",
		"status":              "firing",
		"notification_reason": "new alerts added",
		"groupLabels":         map[string]any{"alertname": "DiskAlmostFull", "cluster": "us-east-1"},
		"commonLabels":        map[string]any{"alertname": "DiskAlmostFull", "cluster": "us-east-1", "job": "node-exporter"},
		"commonAnnotations": map[string]any{
			"summary":     "disk usage above 90%",
			"runbook_url": "https://runbooks.example.invalid/DiskAlmostFull",
		},
		"routeLabels":     map[string]any{},
		"externalURL":     "http://127.0.0.1:9093",
		"version":         "4",
		"groupKey":        `{}:{alertname="DiskAlmostFull", cluster="us-east-1"}`,
		"truncatedAlerts": float64(0),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notification (-want +got):\n%s", diff)
	}
	wantAlert := map[string]any{
		"status": "firing",
		"labels": map[string]any{
			"alertname": "DiskAlmostFull", "cluster": "us-east-1", "instance": "db-1:9100",
			"job": "node-exporter", "severity": "critical",
		},
		"annotations": map[string]any{
			"summary":     "disk usage above 90%",
			"description": "DiskAlmostFull on db-1:9100 in us-east-1",
			"runbook_url": "https://runbooks.example.invalid/DiskAlmostFull",
		},
		"startsAt":     "2026-11-28T20:13:06.08288571Z",
		"endsAt":       "0001-01-01T00:00:00Z",
		"generatorURL": a0["generatorURL"],
		"fingerprint":  fingerprint(m.Alerts[0].Labels),
	}
	if diff := cmp.Diff(wantAlert, a0); diff != "" {
		t.Errorf("first alert (-want +got):\n%s", diff)
	}
	var sev []string
	for _, a := range m.Alerts {
		sev = append(sev, a.Labels["severity"])
	}
	if diff := cmp.Diff([]string{"critical", "warning", "info", "critical"}, sev); diff != "" {
		t.Errorf("severities (-want +got):\n%s", diff)
	}
}
