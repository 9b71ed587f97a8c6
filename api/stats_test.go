package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// statsNow is the simulated clock of the stats tests.
var statsNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// mustStatsServer serves the API over a SQLite store holding a
// hand-computed fixture; times are before statsNow (opened) or after the
// opening (acked, resolved), 0 meaning never.
func mustStatsServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	st := storetest.MustOpen(t)
	t.Cleanup(func() { st.Close() })
	fixture := []struct {
		name, service, rule, key string
		priority                 incident.Priority
		opened, acked, resolved  time.Duration
		events                   []incident.Transition // one fingerprint per new
	}{
		{"X", "checkout", "disk", "", 1, 3 * time.Hour, 2 * time.Minute, 20 * time.Minute,
			[]incident.Transition{incident.TransitionNew, incident.TransitionResolved}},
		{"Y", "checkout", "disk", "", 2, 2 * time.Hour, 4 * time.Minute, 40 * time.Minute,
			[]incident.Transition{incident.TransitionNew}},
		{"Z", "checkout", "", "k-z", 2, 90 * time.Minute, 12 * time.Minute, 0,
			[]incident.Transition{incident.TransitionNew}},
		{"W", "search", "cpu", "", 3, 10 * time.Minute, 0, 0,
			[]incident.Transition{incident.TransitionNew, incident.TransitionRefired}},
		{"V", "search", "cpu", "", 2, 8 * 24 * time.Hour, 0, 0, nil},
	}
	err := st.Update(ctx, func(tx incident.Tx) error {
		for _, f := range fixture {
			inc := incident.Incident{
				State: incident.StateOpen, Priority: f.priority, Impact: incident.LevelMedium,
				Urgency: incident.LevelMedium, Title: f.name, Service: f.service, Rule: f.rule,
				CorrelationKey: "key-" + f.name, OpenedAt: statsNow.Add(-f.opened),
				UpdatedAt: statsNow, LastEventAt: statsNow,
			}
			if f.key != "" {
				inc.CorrelationKey = f.key
			}
			if f.acked > 0 {
				inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, inc.OpenedAt.Add(f.acked)
			}
			if f.resolved > 0 {
				inc.State, inc.ResolvedAt = incident.StateResolved, inc.OpenedAt.Add(f.resolved)
			}
			if err := tx.CreateIncident(ctx, &inc); err != nil {
				return err
			}
			for i, tr := range f.events {
				if err := tx.AddEvent(ctx, incident.EventRecord{
					ReceivedAt: inc.OpenedAt.Add(time.Duration(i) * time.Minute), Source: "alertmanager",
					Fingerprint: "fp-" + f.name, Status: incident.StatusFiring, Transition: tr, IncidentID: inc.ID,
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.New(api.Options{Reader: st, Now: func() time.Time { return statsNow }}).Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

func f64(v float64) *float64 { return &v }

func TestGetStats(t *testing.T) {
	url := mustStatsServer(t)
	week := statsNow.Add(-7 * 24 * time.Hour)
	tests := []struct {
		name  string
		query string
		want  api.Stats
	}{{
		// Opened X Y Z W (V is 8 days old); acknowledged after 2, 4, 12
		// minutes, resolved after 20 and 40.
		name: "DefaultWindow",
		want: api.Stats{
			Since: week, Until: statsNow, Opened: 4, Resolved: 2, OpenNow: 3,
			MTTA: api.DurationSummary{Count: 3, MeanSeconds: f64(360), P50Seconds: f64(240), P90Seconds: f64(720)},
			MTTR: api.DurationSummary{Count: 2, MeanSeconds: f64(1800), P50Seconds: f64(1200), P90Seconds: f64(2400)},
			Backlog: []api.BacklogBucket{
				{Age: "<1h", Incidents: 1}, {Age: "1h-4h", Incidents: 1}, {Age: "4h-24h"}, {Age: "1d-7d"},
				{Age: ">7d", Incidents: 1},
			},
			OldestOpenAgeSeconds: f64(8 * 24 * 3600),
			Noise:                api.Noise{Events: 6, Alerts: 4, Incidents: 4, EventsPerIncident: f64(1.5)},
			TopSignatures: []api.RecurringSignature{
				{Signature: "disk", Kind: "rule", Incidents: 2},
				{Signature: "k-z", Kind: "correlation_key", Incidents: 1},
				{Signature: "cpu", Kind: "rule", Incidents: 1},
			},
		},
	}, {
		name:  "ByServiceAndPriority",
		query: "?service=checkout&priority=P2&since=2026-11-21T12:00:00Z&until=2026-11-28T12:00:00Z",
		want: api.Stats{
			Since: week, Until: statsNow, Service: "checkout", Priority: "P2", Opened: 2, Resolved: 1, OpenNow: 1,
			MTTA: api.DurationSummary{Count: 2, MeanSeconds: f64(480), P50Seconds: f64(240), P90Seconds: f64(720)},
			MTTR: api.DurationSummary{Count: 1, MeanSeconds: f64(2400), P50Seconds: f64(2400), P90Seconds: f64(2400)},
			Backlog: []api.BacklogBucket{
				{Age: "<1h"}, {Age: "1h-4h", Incidents: 1}, {Age: "4h-24h"}, {Age: "1d-7d"}, {Age: ">7d"},
			},
			OldestOpenAgeSeconds: f64(5400),
			Noise:                api.Noise{Events: 2, Alerts: 2, Incidents: 2, EventsPerIncident: f64(1)},
			TopSignatures: []api.RecurringSignature{
				{Signature: "k-z", Kind: "correlation_key", Incidents: 1},
				{Signature: "disk", Kind: "rule", Incidents: 1},
			},
		},
	}, {
		name:  "UntilOnlyDefaultsSince",
		query: "?until=2026-11-28T11:00:00Z&priority=p1",
		want: api.Stats{
			Since: statsNow.Add(-7*24*time.Hour - time.Hour), Until: statsNow.Add(-time.Hour), Priority: "P1",
			Opened: 1, Resolved: 1, OpenNow: 0,
			MTTA: api.DurationSummary{Count: 1, MeanSeconds: f64(120), P50Seconds: f64(120), P90Seconds: f64(120)},
			MTTR: api.DurationSummary{Count: 1, MeanSeconds: f64(1200), P50Seconds: f64(1200), P90Seconds: f64(1200)},
			Backlog: []api.BacklogBucket{
				{Age: "<1h"}, {Age: "1h-4h"}, {Age: "4h-24h"}, {Age: "1d-7d"}, {Age: ">7d"},
			},
			Noise:         api.Noise{Events: 2, Alerts: 1, Incidents: 1, EventsPerIncident: f64(2)},
			TopSignatures: []api.RecurringSignature{{Signature: "disk", Kind: "rule", Incidents: 1}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got api.Stats
			mustGetJSON(t, url+"/api/v1/stats"+tt.query, http.StatusOK, &got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GET /api/v1/stats%s mismatch (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

// TestGetStatsWireForm pins the JSON names and the nulls of an empty window.
func TestGetStatsWireForm(t *testing.T) {
	url := mustStatsServer(t)
	var got map[string]any
	mustGetJSON(t, url+"/api/v1/stats?since=2025-01-01T00:00:00Z&until=2025-01-02T00:00:00%2B02:00", http.StatusOK, &got)
	var want map[string]any
	err := json.Unmarshal([]byte(`{
		"since": "2025-01-01T00:00:00Z", "until": "2025-01-01T22:00:00Z", "service": "", "priority": "",
		"opened": 0, "resolved": 0, "open_now": 3,
		"mtta": {"count": 0, "mean_seconds": null, "p50_seconds": null, "p90_seconds": null},
		"mttr": {"count": 0, "mean_seconds": null, "p50_seconds": null, "p90_seconds": null},
		"sla_respond_attainment": null, "sla_resolve_attainment": null,
		"backlog": [{"age": "<1h", "incidents": 1}, {"age": "1h-4h", "incidents": 1},
			{"age": "4h-24h", "incidents": 0}, {"age": "1d-7d", "incidents": 0}, {"age": ">7d", "incidents": 1}],
		"oldest_open_age_seconds": 691200,
		"noise": {"events": 0, "alerts": 0, "incidents": 0, "events_per_incident": null},
		"top_signatures": []
	}`), &want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /api/v1/stats mismatch (-want +got):\n%s", diff)
	}
}

func TestGetStatsRejects(t *testing.T) {
	url := mustStatsServer(t)
	tests := []struct {
		name  string
		query string
		want  api.Error
	}{
		{"BadSince", "?since=yesterday", api.Error{Error: `want an RFC 3339 time, got "yesterday"`, Where: "since"}},
		{"BadUntil", "?until=2026-11-28", api.Error{Error: `want an RFC 3339 time, got "2026-11-28"`, Where: "until"}},
		{"SinceNotBeforeUntil", "?since=2026-11-28T12:00:00Z&until=2026-11-28T12:00:00Z",
			api.Error{Error: "since must be before until", Where: "since"}},
		{"SinceAfterUntil", "?since=2026-11-28T00:00:00Z&until=2026-11-27T00:00:00Z",
			api.Error{Error: "since must be before until", Where: "since"}},
		{"WindowTooLong", "?since=2025-10-24T11:59:59Z&until=2026-11-28T12:00:00Z",
			api.Error{Error: "the window is at most 400 days", Where: "since"}},
		{"BadPriority", "?priority=P7", api.Error{Error: `priority "P7": want P1..P5`, Where: "priority"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got api.Error
			mustGetJSON(t, url+"/api/v1/stats"+tt.query, http.StatusBadRequest, &got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GET /api/v1/stats%s mismatch (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

// TestGetStatsAcceptsLongestWindow checks that exactly 400 days is allowed.
func TestGetStatsAcceptsLongestWindow(t *testing.T) {
	url := mustStatsServer(t)
	var got api.Stats
	mustGetJSON(t, url+"/api/v1/stats?since=2025-10-24T12:00:00Z&until=2026-11-28T12:00:00Z", http.StatusOK, &got)
	if got.Opened != 5 {
		t.Errorf("opened = %d, want 5", got.Opened)
	}
}

func mustGetJSON(t *testing.T, url string, status int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("GET %s: status %d, want %d", url, resp.StatusCode, status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
