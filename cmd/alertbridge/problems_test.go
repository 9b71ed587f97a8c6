package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// mustProblemAPI serves the API over three DiskFull incidents that opened
// problem #1.
func mustProblemAPI(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, storetest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Parse("rules.yml", []byte(`correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
    by: [cluster]
problems:
  - name: disk-recurring
    signature: {rule: disk}
    threshold: 3
    window: 1h
`))
	if err != nil {
		t.Fatal(err)
	}
	var rs atomic.Pointer[rules.Set]
	rs.Store(set)
	t0 := time.Date(2026, 11, 28, 20, 13, 5, 0, time.UTC)
	p, err := pipeline.New(pipeline.Options{Store: st, Rules: &rs, Now: func() time.Time { return t0 }})
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
		st.Close()
	})
	for i := 0; i < 3; i++ {
		labels := map[string]string{"alertname": "DiskFull", "cluster": fmt.Sprintf("c%d", i)}
		ev := incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(labels), Status: incident.StatusFiring,
			Labels: labels, StartsAt: t0}
		if err := p.Submit(ctx, []incident.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	return ts.URL
}

// TestProblemsCommand walks problem #1 through its lifecycle: the cases run
// in order, each on the state the one before left.
func TestProblemsCommand(t *testing.T) {
	url := mustProblemAPI(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"OKList", []string{"list"}, 0, `disk-recurring{rule="disk"}`},
		{"OKShow", []string{"show", "1"}, 0, "rule \"disk-recurring\", priority P4, 3 incidents, downtime "},
		{"ErrKnownErrorNoWorkaround", []string{"known-error", "1"}, 1, "answered 400 Bad Request: workaround: a known error needs a workaround\n"},
		{"OKKnownError", []string{"known-error", "1", "--workaround", "restart vector", "--root-cause", "log rotation"}, 0,
			"workaround: restart vector"},
		{"ErrCloseKnownError", []string{"close", "1"}, 1, "answered 409 Conflict: state: close problem 1 in state known_error: conflict\n"},
		{"OKResolve", []string{"resolve", "1", "--actor", "alice"}, 0, "[resolved]"},
		{"OKCloseJSON", []string{"--json", "close", "1"}, 0, `"state": "closed"`},
		{"ErrNotFound", []string{"show", "9"}, 1, "answered 404 Not Found: id: problem not found\n"},
		{"ErrUsageID", []string{"show", "x"}, 2, `problem id "x" is not a number`},
		{"ErrUsage", []string{"reopen"}, 2, "usage: alertbridge problems"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"problems", "--url", url}, tt.args...)
			code := run(context.Background(), args, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tt.code || !strings.Contains(out, tt.contains) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, out, tt.code, tt.contains)
			}
		})
	}
}

// TestPrintProblemFigures: the list and the detail show a problem's
// priority and downtime, what it cost, next to its incident count.
func TestPrintProblemFigures(t *testing.T) {
	last := time.Date(2026, 11, 28, 20, 13, 5, 0, time.UTC)
	p := api.Problem{ID: 4, Rule: "disk-recurring", Signature: `disk-recurring{rule="disk"}`, State: "open", Title: "Disk",
		IncidentCount: 3, LastSeenAt: last, FirstSeenAt: last, Priority: "P2", DowntimeSeconds: 5400.4}
	none := api.Problem{ID: 5, State: "open", Signature: "s", LastSeenAt: last}
	tests := []struct {
		name  string
		print func(w *bytes.Buffer)
		want  []string
	}{
		{"OKList", func(w *bytes.Buffer) { printProblems(w, api.ProblemList{Problems: []api.Problem{p, none}}, time.UTC) },
			[]string{"ID  STATE  PRIO  INCIDENTS  DOWNTIME", "4   open   P2    3          1h30m", "5   open   -     0          0s"}},
		{"OKShow", func(w *bytes.Buffer) { printProblem(w, p, time.UTC) },
			[]string{`rule "disk-recurring", priority P2, 3 incidents, downtime 1h30m, first`}},
		{"OKShowNoIncidents", func(w *bytes.Buffer) { printProblem(w, none, time.UTC) },
			[]string{"priority -, 0 incidents, downtime 0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.print(&b)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output:\n%s\nwant it to contain %q", b.String(), w)
				}
			}
		})
	}
}
