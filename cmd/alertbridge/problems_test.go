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
)

// mustProblemAPI serves the API over three DiskFull incidents that opened
// problem #1.
func mustProblemAPI(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
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
		{"OKShow", []string{"show", "1"}, 0, "rule \"disk-recurring\", 3 incidents"},
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
