package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/incident"
)

// mustBigIncident adds n alerts to the incident of cluster c0 (incident 1).
func mustBigIncident(t *testing.T, s *server, n int) {
	t.Helper()
	var evs []incident.Event
	for i := range n {
		labels := map[string]string{"alertname": "DiskFull", "cluster": "c0", "severity": "critical", "service": "db",
			"instance": fmt.Sprintf("host-%02d", (i*7)%n)}
		evs = append(evs, incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(labels),
			Status: incident.StatusFiring, Labels: labels, StartsAt: t0, GroupLabels: map[string]string{"cluster": "c0"}})
	}
	if err := s.p.Submit(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// TestDetailPagesEveryRowOnce pages through an incident's alerts and
// timeline at several sizes: together the pages are the whole lists the
// client assembles, in order, no row skipped or repeated.
func TestDetailPagesEveryRowOnce(t *testing.T) {
	s := mustServer(t, 1)
	mustBigIncident(t, s, 23)
	whole, err := s.client.Incident(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Alerts) != 24 || len(whole.Timeline) < 24 {
		t.Fatalf("incident 1 has %d alerts and %d timeline entries; want 24 and at least 24", len(whole.Alerts), len(whole.Timeline))
	}
	for _, tt := range []struct {
		name                    string
		alertsLimit, tlineLimit int
	}{
		{"OneByOne", 1, 1},
		{"Uneven", 5, 7},
		{"ExactlyAll", 24, len(whole.Timeline)},
		{"MoreThanAll", 500, 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var alerts []api.Alert
			var tline []api.TimelineEntry
			aAfter, tAfter := "", ""
			aDone, tDone := false, false
			for pages := 0; !aDone || !tDone; pages++ {
				if pages > 100 {
					t.Fatal("no last page")
				}
				v := url.Values{"alerts_limit": {fmt.Sprint(tt.alertsLimit)}, "timeline_limit": {fmt.Sprint(tt.tlineLimit)}}
				if aAfter != "" {
					v.Set("alerts_after", aAfter)
				}
				if tAfter != "" {
					v.Set("timeline_after", tAfter)
				}
				var page api.Incident
				mustGetJSON(t, s.url+"/api/v1/incidents/1?"+v.Encode(), http.StatusOK, &page)
				if len(page.Alerts) > tt.alertsLimit || len(page.Timeline) > tt.tlineLimit {
					t.Fatalf("page of %d alerts and %d entries; limits %d and %d", len(page.Alerts), len(page.Timeline),
						tt.alertsLimit, tt.tlineLimit)
				}
				if !aDone {
					alerts = append(alerts, page.Alerts...)
					aAfter, aDone = page.AlertsNextCursor, page.AlertsNextCursor == ""
				}
				if !tDone {
					tline = append(tline, page.Timeline...)
					tAfter, tDone = page.TimelineNextCursor, page.TimelineNextCursor == ""
				}
			}
			if diff := cmp.Diff(whole.Alerts, alerts); diff != "" {
				t.Errorf("alerts page by page (-whole +pages):\n%s", diff)
			}
			if diff := cmp.Diff(whole.Timeline, tline); diff != "" {
				t.Errorf("timeline page by page (-whole +pages):\n%s", diff)
			}
		})
	}
}

// TestDetailSmallIncidentIsWhole: under the default page size the detail
// view holds every alert and entry and no next cursor, as before paging.
func TestDetailSmallIncidentIsWhole(t *testing.T) {
	s := mustServer(t, 1)
	mustBigIncident(t, s, 3)
	var raw map[string]any
	mustGetJSON(t, s.url+"/api/v1/incidents/1", http.StatusOK, &raw)
	for _, k := range []string{"alerts_next_cursor", "timeline_next_cursor"} {
		if v, ok := raw[k]; ok {
			t.Errorf("a small incident's detail has %s %v", k, v)
		}
	}
	if alerts, _ := raw["alerts"].([]any); len(alerts) != 4 {
		t.Errorf("detail has %d alerts, want all 4", len(alerts))
	}
}

// TestDetailBadPageParams: a bad paging parameter is a 400 naming it.
func TestDetailBadPageParams(t *testing.T) {
	s := mustServer(t, 1)
	mustBigIncident(t, s, 3)
	var first api.Incident
	mustGetJSON(t, s.url+"/api/v1/incidents/1?alerts_limit=1&timeline_limit=1", http.StatusOK, &first)
	for _, tt := range []struct {
		name, query, where string
	}{
		{"ErrAlertsLimitZero", "alerts_limit=0", "alerts_limit"},
		{"ErrAlertsLimitText", "alerts_limit=all", "alerts_limit"},
		{"ErrAlertsLimitTooLarge", fmt.Sprintf("alerts_limit=%d", api.MaxDetailLimit+1), "alerts_limit"},
		{"ErrTimelineLimitNegative", "timeline_limit=-1", "timeline_limit"},
		{"ErrAlertsAfterGarbage", "alerts_after=zz", "alerts_after"},
		{"ErrTimelineAfterGarbage", "timeline_after=zz", "timeline_after"},
		{"ErrAlertsAfterTimelineCursor", "alerts_after=" + first.TimelineNextCursor, "alerts_after"},
		{"ErrTimelineAfterAlertsCursor", "timeline_after=" + first.AlertsNextCursor, "timeline_after"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e api.Error
			mustGetJSON(t, s.url+"/api/v1/incidents/1?"+tt.query, http.StatusBadRequest, &e)
			if e.Where != tt.where || e.Error == "" {
				t.Errorf("error %+v; want one naming %s", e, tt.where)
			}
		})
	}
}
