package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

const (
	identityAMToken    = "am-prod-token-0123456789"
	identityCronToken  = "cron-token-0123456789"
	identityRoutingKey = "0123456789abcdef0123456789abcdef"
	identityConfig     = "sources:\n" +
		"  - name: am-prod\n    type: alertmanager\n    auth:\n      bearer:\n        token: " + identityAMToken + "\n" +
		"  - name: pd-prod\n    type: pagerduty\n    routing_key: " + identityRoutingKey + "\n" +
		"  - name: cron\n    type: events\n    auth:\n      bearer:\n        token: " + identityCronToken + "\n"
	// web1 is the Alertmanager fingerprint of the first alert of
	// firing-group.json (HighRequestLatency on web-1:8080).
	web1 = "e4210d8b9b3c7cf4"
)

// TestOtherSourceCannotResolveOrAcknowledgeAlert is issue #8's test, through
// the HTTP stack of a daemon with three sources. am-prod (Alertmanager)
// fires a group; then another source sends, for the fingerprint of one of
// its alerts, what would end or acknowledge it: pd-prod a PagerDuty resolve
// and acknowledge with that dedup_key, cron a generic event with that
// fingerprint (and the same labels) and status resolved. An alert is
// (source, fingerprint), so none of it touches am-prod's alert: the
// incident stays open and unacknowledged, the alert firing, the timeline
// as it was. Then am-prod's own resolve does resolve it.
func TestOtherSourceCannotResolveOrAcknowledgeAlert(t *testing.T) {
	pdBody := func(action string) string {
		return `{"routing_key":"` + identityRoutingKey + `","event_action":"` + action + `","dedup_key":"` + web1 + `"}`
	}
	tests := []struct {
		name  string
		sends []struct{ path, body, token string }
		want  int // each answer's status
	}{
		{name: "PagerDutyResolveAndAcknowledge", want: http.StatusAccepted, sends: []struct{ path, body, token string }{
			{"/v2/enqueue", pdBody("resolve"), ""},
			{"/v2/enqueue", pdBody("acknowledge"), ""},
		}},
		{name: "EventsResolve", want: http.StatusOK, sends: []struct{ path, body, token string }{
			{"/ingest/events", `{"fingerprint":"` + web1 + `","status":"resolved","labels":{"alertname":"HighRequestLatency",` +
				`"cluster":"eu-west-1","instance":"web-1:8080","job":"api-server","severity":"warning"}}`, identityCronToken},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("alertbridge.yml", []byte(identityConfig), config.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a := mustApp(t, app.Options{Config: cfg})
			base := "http://" + a.Addr()
			c := &api.Client{BaseURL: base}
			ctx := context.Background()
			firingGroup := fixture(t, "firing-group")
			if code, b := postWith(t, base+"/ingest/alertmanager", firingGroup, "Authorization", "Bearer "+identityAMToken); code != http.StatusOK {
				t.Fatalf("alertmanager: %d %s", code, b)
			}
			list, err := c.ListIncidents(ctx, api.ListQuery{})
			if err != nil || len(list.Incidents) != 1 {
				t.Fatalf("incidents = %+v, %v; want one", list.Incidents, err)
			}
			id := list.Incidents[0].ID
			before, err := c.Incident(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !hasAlert(before, "am-prod", web1, "firing") {
				t.Fatalf("incident %d has no firing am-prod alert %s: %+v", id, web1, before.Alerts)
			}

			for _, s := range tt.sends {
				var hdr []string
				if s.token != "" {
					hdr = []string{"Authorization", "Bearer " + s.token}
				}
				if code, b := postWith(t, base+s.path, []byte(s.body), hdr...); code != tt.want {
					t.Fatalf("%s %s: %d %s, want %d", s.path, s.body, code, b, tt.want)
				}
			}
			after, err := c.Incident(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("another source changed am-prod's incident (-before +after):\n%s", diff)
			}
			if list, _ := c.ListIncidents(ctx, api.ListQuery{}); len(list.Incidents) != 1 {
				t.Errorf("%d incidents, want still one: a resolve or acknowledge opens none", len(list.Incidents))
			}

			// am-prod's own resolve of the alert still lands.
			if code, b := postWith(t, base+"/ingest/alertmanager", resolveFirst(t, firingGroup), "Authorization", "Bearer "+identityAMToken); code != http.StatusOK {
				t.Fatalf("alertmanager resolve: %d %s", code, b)
			}
			if got, err := c.Incident(ctx, id); err != nil || !hasAlert(got, "am-prod", web1, "resolved") || got.FiringCount != before.FiringCount-1 {
				t.Errorf("after am-prod's own resolve: %+v, %v; want its alert %s resolved", got.Alerts, err, web1)
			}
		})
	}
}

func hasAlert(inc api.Incident, source, fp, status string) bool {
	for _, a := range inc.Alerts {
		if a.Source == source && a.Fingerprint == fp && a.Status == status {
			return true
		}
	}
	return false
}

// resolveFirst returns the Alertmanager payload with its first alert
// resolved a minute after it started, as the next notification of the group
// would carry it.
func resolveFirst(t *testing.T, payload []byte) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	first := p["alerts"].([]any)[0].(map[string]any)
	first["status"] = "resolved"
	first["endsAt"] = "2026-11-28T20:14:05Z"
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
