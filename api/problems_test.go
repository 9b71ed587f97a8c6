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
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/storetest"
)

const problemRules = `correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
    by: [cluster]
problems:
  - name: disk-recurring
    signature:
      rule: disk
    threshold: 3
    window: 1h
`

// mustProblemServer runs the API with problemRules over n DiskFull
// incidents, one per cluster, a minute apart: from 3 on, problem #1 holds
// them all.
func mustProblemServer(t *testing.T, n int) *server {
	t.Helper()
	var alerts []map[string]string
	for i := 0; i < n; i++ {
		alerts = append(alerts, map[string]string{"alertname": "DiskFull", "cluster": fmt.Sprintf("c%d", i), "service": "db"})
	}
	return mustRulesServer(t, problemRules, alerts)
}

// mustRulesServer runs the API over a real SQLite store and pipeline with
// the rules, and fires the alerts a minute apart from t0.
func mustRulesServer(t *testing.T, rulesYAML string, alerts []map[string]string) *server {
	t.Helper()
	ctx := context.Background()
	st := storetest.MustOpen(t)
	set, err := rules.Parse("rules.yml", []byte(rulesYAML))
	if err != nil {
		t.Fatal(err)
	}
	var rs atomic.Pointer[rules.Set]
	rs.Store(set)
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	p, err := pipeline.New(pipeline.Options{Store: st, Rules: &rs, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	mux := http.NewServeMux()
	api.New(api.Options{Reader: st, Executor: p, Now: now}).Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ts.Close()
		if err := p.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	for i, labels := range alerts {
		clock.Store(t0.Add(time.Duration(i) * time.Minute).UnixNano())
		ev := incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(labels), Status: incident.StatusFiring,
			Labels: labels, StartsAt: now()}
		if err := p.Submit(ctx, []incident.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	return &server{url: ts.URL, client: &api.Client{BaseURL: ts.URL}, p: p}
}

func TestProblemsHappyPath(t *testing.T) {
	s := mustProblemServer(t, 3)
	ctx := context.Background()
	list, err := s.client.ListProblems(ctx, api.ProblemQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Problems) != 1 || list.NextCursor != "" {
		t.Fatalf("problems = %+v, want one", list)
	}
	if p := list.Problems[0]; p.Priority != "P4" || p.DowntimeSeconds != 180 {
		t.Errorf("listed priority %q, downtime %vs; want P4, 180s as in the detail", p.Priority, p.DowntimeSeconds)
	}
	got, err := s.client.Problem(ctx, list.Problems[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	opened := func(d time.Duration) *time.Time { at := t0.Add(d); return &at }
	want := api.Problem{
		ID: 1, Rule: "disk-recurring", Signature: `disk-recurring{rule="disk"}`, State: "open", Title: "DiskFull",
		FirstSeenAt: t0, LastSeenAt: t0.Add(2 * time.Minute), IncidentCount: 3, OpenedAt: t0.Add(2 * time.Minute),
		UpdatedAt: t0.Add(2 * time.Minute),
		// The worst of its incidents; all three still open at 2m: 2m + 1m + 0.
		Priority: "P4", DowntimeSeconds: 180,
		Incidents: []api.ProblemIncident{
			{ID: 1, Title: "DiskFull", State: "open", Priority: "P4", Service: "db", OpenedAt: opened(0)},
			{ID: 2, Title: "DiskFull", State: "open", Priority: "P4", Service: "db", OpenedAt: opened(time.Minute)},
			{ID: 3, Title: "DiskFull", State: "open", Priority: "P4", Service: "db", OpenedAt: opened(2 * time.Minute)},
		},
	}
	if diff := cmp.Diff(want, got, cmpIgnoreTimeline); diff != "" {
		t.Errorf("problem detail (-want +got):\n%s", diff)
	}
	if len(got.Timeline) != 4 || got.Timeline[0].Kind != "opened" {
		t.Errorf("timeline = %+v, want opened and three incident_linked", got.Timeline)
	}

	ke, err := s.client.KnownError(ctx, 1, api.ProblemRequest{Actor: "alice", RootCause: "log rotation", Workaround: "restart vector"})
	if err != nil {
		t.Fatal(err)
	}
	if ke.State != "known_error" || ke.Workaround != "restart vector" || ke.RootCause != "log rotation" {
		t.Errorf("known-error answered %+v", ke)
	}
	inc, err := s.client.Incident(ctx, 1)
	if err != nil || inc.ProblemID == nil || *inc.ProblemID != 1 {
		t.Errorf("incident 1 problem_id = %v (%v), want 1", inc.ProblemID, err)
	}
	if _, err := s.client.ResolveProblem(ctx, 1, api.ProblemRequest{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	closed, err := s.client.CloseProblem(ctx, 1, api.ProblemRequest{Actor: "alice", Message: "no recurrence"})
	if err != nil {
		t.Fatal(err)
	}
	if closed.State != "closed" || closed.ClosedAt == nil || closed.ResolvedAt == nil {
		t.Errorf("close answered %+v", closed)
	}
	for _, tt := range []struct {
		name  string
		state string
		want  int
	}{{"StateClosed", "closed", 1}, {"StateOpen", "open", 0}, {"StateList", "open,known_error,closed", 1}} {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.client.ListProblems(ctx, api.ProblemQuery{State: tt.state})
			if err != nil || len(list.Problems) != tt.want {
				t.Errorf("state=%s: %d problems (%v), want %d", tt.state, len(list.Problems), err, tt.want)
			}
		})
	}
}

var cmpIgnoreTimeline = cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Timeline" }, cmp.Ignore())

func TestProblemsErrors(t *testing.T) {
	s := mustProblemServer(t, 3)
	ctx := context.Background()
	post := func(path, body string) error {
		resp, err := http.Post(s.url+path, "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		se := &api.StatusError{Code: resp.StatusCode}
		_ = json.NewDecoder(resp.Body).Decode(&se.Body)
		return se
	}
	get := func(path string) error {
		resp, err := http.Get(s.url + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		se := &api.StatusError{Code: resp.StatusCode}
		_ = json.NewDecoder(resp.Body).Decode(&se.Body)
		return se
	}
	tests := []struct {
		name  string
		call  func() error
		code  int
		where string
		msg   string
	}{
		{"ErrBadID", func() error { return get("/api/v1/problems/x") }, 400, "id", ""},
		{"ErrBadState", func() error { return get("/api/v1/problems?state=done") }, 400, "state", ""},
		{"ErrBadCursor", func() error { return get("/api/v1/problems?cursor=zz") }, 400, "cursor", ""},
		{"ErrBadLimit", func() error { return get("/api/v1/problems?limit=0") }, 400, "limit", ""},
		{"ErrNotFound", func() error { _, err := s.client.Problem(ctx, 99); return err }, 404, "id", "problem not found"},
		{"ErrNotFoundAction", func() error { _, err := s.client.ResolveProblem(ctx, 99, api.ProblemRequest{}); return err }, 404, "id", "problem not found"},
		{"ErrKnownErrorNoBody", func() error { return post("/api/v1/problems/1/known-error", "") }, 400, "", ""},
		{"ErrKnownErrorNoWorkaround", func() error {
			_, err := s.client.KnownError(ctx, 1, api.ProblemRequest{RootCause: "r"})
			return err
		}, 400, "workaround", ""},
		{"ErrUnknownField", func() error { return post("/api/v1/problems/1/resolve", `{"actr":"x"}`) }, 400, "actr", "unknown field"},
		{"ErrConflictCloseOpen", func() error { _, err := s.client.CloseProblem(ctx, 1, api.ProblemRequest{}); return err }, 409, "state",
			"close problem 1 in state open: conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var se *api.StatusError
			err := tt.call()
			if !errors.As(err, &se) || se.Code != tt.code || se.Body.Where != tt.where || (tt.msg != "" && se.Body.Error != tt.msg) {
				t.Errorf("err = %v, want %d where=%q %q", err, tt.code, tt.where, tt.msg)
			}
		})
	}
	// The refused commands changed nothing.
	p, err := s.client.Problem(ctx, 1)
	if err != nil || p.State != "open" || len(p.Timeline) != 4 {
		t.Errorf("after refused commands: %+v, %v", p, err)
	}
}

func TestProblemsPaging(t *testing.T) {
	// Two incidents per cluster open a problem per cluster: #1 for c0 ... #5 for c4.
	var alerts []map[string]string
	for i := 0; i < 5; i++ {
		for _, node := range []string{"a", "b"} {
			alerts = append(alerts, map[string]string{"alertname": "DiskFull", "cluster": fmt.Sprintf("c%d", i), "node": node})
		}
	}
	s := mustRulesServer(t, `correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
    by: [cluster, node]
problems:
  - name: per-cluster
    signature:
      labels: [cluster]
    threshold: 2
    window: 1h
`, alerts)
	ctx := context.Background()
	var ids []int64
	cursor := ""
	for page := 0; page < 10; page++ {
		list, err := s.client.ListProblems(ctx, api.ProblemQuery{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list.Problems {
			ids = append(ids, p.ID)
		}
		if cursor = list.NextCursor; cursor == "" {
			break
		}
	}
	if diff := cmp.Diff([]int64{5, 4, 3, 2, 1}, ids); diff != "" {
		t.Errorf("paged ids (-want +got):\n%s", diff)
	}
	p, err := s.client.Problem(ctx, 5)
	if err != nil || p.Signature != `per-cluster{cluster="c4"}` || p.IncidentCount != 2 || len(p.Incidents) != 2 {
		t.Errorf("problem 5 = %+v, %v", p, err)
	}
}

func TestProblemsEmptyList(t *testing.T) {
	s := mustProblemServer(t, 2)
	resp, err := http.Get(s.url + "/api/v1/problems")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"problems": []any{}, "next_cursor": ""}, raw); diff != "" {
		t.Errorf("below the threshold (-want +got):\n%s", diff)
	}
}
