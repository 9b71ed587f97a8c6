package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/storetest"
)

var t0 = time.Date(2026, 11, 28, 20, 13, 5, 0, time.UTC)

type server struct {
	url    string
	client *api.Client
	p      *pipeline.Pipeline
	// now is the pipeline's clock, t0 unless a test moves it; incidents
	// close an hour after they resolve.
	now *atomic.Int64
}

// mustServer runs the API over a real SQLite store and pipeline with n
// incidents, one per cluster c0..c(n-1); cluster c0 is critical.
func mustServer(t *testing.T, n int) *server {
	t.Helper()
	ctx := context.Background()
	st := storetest.MustOpen(t)
	now := &atomic.Int64{}
	now.Store(t0.UnixNano())
	p, err := pipeline.New(pipeline.Options{Store: st, Now: func() time.Time { return time.Unix(0, now.Load()).UTC() },
		CloseAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	mux := http.NewServeMux()
	api.New(api.Options{Reader: st, Executor: p}).Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ts.Close()
		if err := p.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	for i := 0; i < n; i++ {
		sev := "warning"
		if i == 0 {
			sev = "critical"
		}
		labels := map[string]string{"alertname": "DiskFull", "cluster": fmt.Sprintf("c%d", i), "severity": sev, "service": "db"}
		ev := incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(labels), Status: incident.StatusFiring,
			Labels: labels, StartsAt: t0, GroupLabels: map[string]string{"cluster": labels["cluster"]}}
		if err := p.Submit(ctx, []incident.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	return &server{url: ts.URL, client: &api.Client{BaseURL: ts.URL}, p: p, now: now}
}

func TestListPagesNewestFirst(t *testing.T) {
	s := mustServer(t, 5)
	ctx := context.Background()
	var ids []int64
	cursor := ""
	for page := 0; page < 10; page++ {
		list, err := s.client.ListIncidents(ctx, api.ListQuery{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, inc := range list.Incidents {
			ids = append(ids, inc.ID)
		}
		if cursor = list.NextCursor; cursor == "" {
			break
		}
	}
	if diff := cmp.Diff([]int64{5, 4, 3, 2, 1}, ids); diff != "" {
		t.Errorf("paged ids (-want +got):\n%s", diff)
	}
}

func TestListFilters(t *testing.T) {
	s := mustServer(t, 3)
	ctx := context.Background()
	if _, err := s.client.Acknowledge(ctx, 2, api.ActionRequest{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    api.ListQuery
		want []int64
	}{
		{"StateOpen", api.ListQuery{State: "open"}, []int64{3, 1}},
		{"StateList", api.ListQuery{State: "open,acknowledged"}, []int64{3, 2, 1}},
		{"PriorityP1", api.ListQuery{Priority: "P1"}, []int64{1}},
		{"Service", api.ListQuery{Service: "db"}, []int64{3, 2, 1}},
		{"ServiceNone", api.ListQuery{Service: "web"}, nil},
		{"Query", api.ListQuery{Q: `cluster="c2"`}, []int64{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.client.ListIncidents(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, inc := range list.Incidents {
				got = append(got, inc.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadRequestsSayWhere(t *testing.T) {
	s := mustServer(t, 1)
	tests := []struct {
		name, method, path, body string
		code                     int
		where                    string
	}{
		{"ErrState", "GET", "/api/v1/incidents?state=archived", "", 400, "state"},
		{"ErrPriority", "GET", "/api/v1/incidents?priority=P9", "", 400, "priority"},
		{"ErrLimitZero", "GET", "/api/v1/incidents?limit=0", "", 400, "limit"},
		{"ErrLimitHuge", "GET", "/api/v1/incidents?limit=100000", "", 400, "limit"},
		{"ErrCursor", "GET", "/api/v1/incidents?cursor=garbage!", "", 400, "cursor"},
		{"ErrID", "GET", "/api/v1/incidents/abc", "", 400, "id"},
		{"ErrNotFound", "GET", "/api/v1/incidents/99", "", 404, "id"},
		{"ErrAckNotFound", "POST", "/api/v1/incidents/99/acknowledge", "", 404, "id"},
		{"ErrUnknownField", "POST", "/api/v1/incidents/1/acknowledge", `{"who":"x"}`, 400, "who"},
		{"ErrFieldType", "POST", "/api/v1/incidents/1/comments", `{"message":5}`, 400, "message"},
		{"ErrCommentEmpty", "POST", "/api/v1/incidents/1/comments", `{"message":"  "}`, 400, "message"},
		{"ErrCommentNoBody", "POST", "/api/v1/incidents/1/comments", "", 400, ""},
		{"ErrMalformed", "POST", "/api/v1/incidents/1/resolve", `{`, 400, ""},
		{"ErrTextPlain", "POST", "/api/v1/incidents/1/acknowledge", `{}`, 415, "Content-Type"},
		{"ErrForm", "POST", "/api/v1/incidents/1/comments", `message=x`, 415, "Content-Type"},
		{"ErrNoContentType", "POST", "/api/v1/incidents/1/resolve", ``, 415, "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.url+tt.path, strings.NewReader(tt.body))
			switch tt.name {
			case "ErrTextPlain":
				req.Header.Set("Content-Type", "text/plain")
			case "ErrForm":
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			case "ErrNoContentType":
			default:
				if tt.method == "POST" {
					req.Header.Set("Content-Type", "application/json")
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body api.Error
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("error body is not JSON: %v", err)
			}
			if resp.StatusCode != tt.code || body.Where != tt.where || body.Error == "" {
				t.Errorf("got %d %+v, want %d where=%q", resp.StatusCode, body, tt.code, tt.where)
			}
		})
	}
	// None of the bad requests changed the incident.
	inc, err := s.client.Incident(context.Background(), 1)
	if err != nil || inc.State != "open" || len(inc.Timeline) != 2 {
		t.Errorf("incident after bad requests: %+v, %v", inc, err)
	}
}

func TestActionsAndDetail(t *testing.T) {
	s := mustServer(t, 1)
	ctx := context.Background()
	inc, err := s.client.Acknowledge(ctx, 1, api.ActionRequest{Actor: "alice", Message: "looking"})
	if err != nil {
		t.Fatal(err)
	}
	if inc.State != "acknowledged" || inc.AcknowledgedAt == nil || !inc.AcknowledgedAt.Equal(t0) {
		t.Errorf("after ack: %+v", inc)
	}
	_, err = s.client.Acknowledge(ctx, 1, api.ActionRequest{})
	var se *api.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusConflict {
		t.Errorf("second ack: err = %v, want 409", err)
	}
	if _, err := s.client.Comment(ctx, 1, api.ActionRequest{Actor: "bob", Message: "disk cleaned"}); err != nil {
		t.Fatal(err)
	}
	inc, err = s.client.Resolve(ctx, 1, api.ActionRequest{Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if inc.State != "resolved" || inc.ResolvedAt == nil {
		t.Errorf("after resolve: %+v", inc)
	}
	if len(inc.Alerts) != 1 || inc.Alerts[0].Status != "firing" || inc.Alerts[0].Labels["cluster"] != "c0" {
		t.Errorf("alerts = %+v", inc.Alerts)
	}
	var kinds, actors []string
	for _, e := range inc.Timeline {
		kinds, actors = append(kinds, e.Kind), append(actors, e.Actor+"/"+e.OnBehalfOf)
	}
	if diff := cmp.Diff([]string{"opened", "alert_firing", "acknowledged", "comment", "resolved"}, kinds); diff != "" {
		t.Errorf("timeline kinds (-want +got):\n%s", diff)
	}
	// No identities configured and a loopback client: the actor is
	// anonymous; the body's actor is kept only as "on behalf of".
	want := []string{"system/", "system/", "anonymous/alice", "anonymous/bob", "anonymous/alice"}
	if diff := cmp.Diff(want, actors); diff != "" {
		t.Errorf("timeline actor/on_behalf_of (-want +got):\n%s", diff)
	}
}

// TestClosedIncidentActionsConflict: once closed, an incident is final:
// every action on it answers 409 with a JSON error, and it lists under
// state=closed with its closed_at.
func TestClosedIncidentActionsConflict(t *testing.T) {
	s := mustServer(t, 2)
	ctx := context.Background()
	if _, err := s.client.Resolve(ctx, 1, api.ActionRequest{}); err != nil {
		t.Fatal(err)
	}
	s.now.Store(t0.Add(time.Hour).UnixNano())
	if err := s.p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"ErrConflictAcknowledge", func() error { _, err := s.client.Acknowledge(ctx, 1, api.ActionRequest{}); return err }},
		{"ErrConflictResolve", func() error { _, err := s.client.Resolve(ctx, 1, api.ActionRequest{}); return err }},
		{"ErrConflictComment", func() error { _, err := s.client.Comment(ctx, 1, api.ActionRequest{Message: "late"}); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var se *api.StatusError
			if err := tt.call(); !errors.As(err, &se) || se.Code != http.StatusConflict || !strings.Contains(se.Body.Error, "closed") {
				t.Errorf("err = %v, want 409 saying it is closed", err)
			}
		})
	}
	page, err := s.client.ListIncidents(ctx, api.ListQuery{State: "closed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Incidents) != 1 || page.Incidents[0].ID != 1 || page.Incidents[0].ClosedAt == nil ||
		!page.Incidents[0].ClosedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("state=closed lists %+v, want incident 1 closed at %s", page.Incidents, t0.Add(time.Hour))
	}
}

// TestWireFieldNames pins the JSON field names DESIGN.md makes a contract.
func TestWireFieldNames(t *testing.T) {
	s := mustServer(t, 1)
	resp, err := http.Get(s.url + "/api/v1/incidents/1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "state", "priority", "impact", "urgency", "title", "service", "correlation_key",
		"rule", "opened_at", "acknowledged_at", "resolved_at", "alert_count", "problem_id", "alerts", "timeline"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("incident JSON lacks %q", k)
		}
	}
	alerts, _ := raw["alerts"].([]any)
	if len(alerts) != 1 {
		t.Fatalf("alerts = %v", raw["alerts"])
	}
	a := alerts[0].(map[string]any)
	for _, k := range []string{"fingerprint", "status", "labels", "starts_at", "ends_at", "last_seen_at", "count"} {
		if _, ok := a[k]; !ok {
			t.Errorf("alert JSON lacks %q", k)
		}
	}
	if raw["priority"] != "P1" || raw["acknowledged_at"] != nil {
		t.Errorf("priority %v acknowledged_at %v, want P1 and null", raw["priority"], raw["acknowledged_at"])
	}
}

func TestUnavailableAnswers503(t *testing.T) {
	s := mustServer(t, 1)
	if err := s.p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := s.client.Acknowledge(context.Background(), 1, api.ActionRequest{})
	var se *api.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable {
		t.Errorf("ack while stopped: err = %v, want 503", err)
	}
}

func TestChanges(t *testing.T) {
	s := mustServer(t, 0)
	ctx := context.Background()
	for i, svc := range []string{"api", "web", "api"} {
		c := incident.Change{Source: "ci", ExternalID: fmt.Sprint(i), Service: svc, Summary: "deploy " + svc,
			StartedAt: t0.Add(time.Duration(i) * time.Hour), ReceivedAt: t0}
		if err := s.p.SubmitChanges(ctx, []incident.Change{c}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.client.Changes(ctx, "api", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Changes) != 1 || list.Changes[0].ExternalID != "2" || list.NextCursor == "" {
		t.Fatalf("page 1 = %+v", list)
	}
	list, err = s.client.Changes(ctx, "api", list.NextCursor, 1)
	if err != nil || len(list.Changes) != 1 || list.Changes[0].ExternalID != "0" || list.Changes[0].FinishedAt != nil {
		t.Fatalf("page 2 = %+v, %v", list, err)
	}
	resp, err := http.Get(s.url + "/api/v1/changes?since=yesterday")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("since=yesterday: %d, want 400", resp.StatusCode)
	}
}
