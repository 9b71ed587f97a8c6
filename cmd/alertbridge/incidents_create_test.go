package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestIncidentsCreate reports an incident through the CLI to a real daemon
// with identities, a source and an SLA policy: a responder opens it with
// the matrix's priority, the SLA and the owner applied and a timeline that
// names them; bad input, a viewer and a source's token open nothing.
func TestIncidentsCreate(t *testing.T) {
	const (
		viewerToken = "val-viewer-token-0123456789"
		sourceToken = "am-source-token-0123456789"
	)
	d := mustDaemon(t, daemonOptions{
		config: `sources:
  - {name: am, type: alertmanager, auth: {bearer: {token: ` + sourceToken + `}}}
api:
  users:
    - {name: rita, role: responder, bearer: {token: ` + ritaToken + `}}
    - {name: val, role: viewer, bearer: {token: ` + viewerToken + `}}
`,
		rules: `services:
  - name: checkout
    matchers: ['job="checkout"']
    owner: team-shop
sla:
  policies:
    - priority: P2
      respond: 30m
      resolve: 8h
`,
	})
	creds := func(name, token string) string {
		path := filepath.Join(d.dir, name)
		mustWriteFile(t, path, "authorization:\n  credentials: "+token+"\n")
		return path
	}
	rita, val, source := creds("rita.yml", ritaToken), creds("val.yml", viewerToken), creds("source.yml", sourceToken)
	create := []string{"incidents", "create", "--title", "Checkout fails for card payments", "--service", "checkout",
		"--impact", "high", "--urgency", "medium", "--description", "Customers call since 20:00", "--actor", "alice"}

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // in stdout, or in stderr when the exit status is not 0
	}{
		{"ErrViewer", slices.Concat(create, []string{"--http.config.file", val}), 1,
			[]string{"403 Forbidden: val has the viewer role; this needs responder"}},
		{"ErrSourceToken", slices.Concat(create, []string{"--http.config.file", source}), 1, []string{"401 Unauthorized"}},
		{"ErrNoCredentials", create, 1, []string{"401 Unauthorized"}},
		{"ErrNoTitle", []string{"incidents", "create", "--impact", "high", "--urgency", "low", "--http.config.file", rita}, 1,
			[]string{"400 Bad Request: title: required"}},
		{"ErrBadImpact", []string{"incidents", "create", "--title", "x", "--impact", "critical", "--urgency", "low",
			"--http.config.file", rita}, 1, []string{`impact: "critical" is not a level: want high, medium or low`}},
		{"ErrUnexpectedArgument", []string{"incidents", "create", "7", "--http.config.file", rita}, 2,
			[]string{`unexpected argument "7"`}},
		{"OKResponder", slices.Concat(create, []string{"--http.config.file", rita}), 0, []string{
			"#1 Checkout fails for card payments [P2 open] manual/",
			`impact high, urgency medium, service "checkout", owner "team-shop"`,
			"Customers call since 20:00",
			"rita for alice", "reported by rita (on behalf of alice) as P2 (impact high, urgency medium): Customers call since 20:00",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(context.Background(), append([]string{"--url", d.url}, tt.args...)...)
			out := stdout
			if tt.wantCode != 0 {
				out = stderr
			}
			for _, w := range tt.want {
				if code != tt.wantCode || !strings.Contains(out, w) {
					t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d and %q", code, stdout, stderr, tt.wantCode, w)
				}
			}
		})
	}

	// The API agrees, and the refused calls opened nothing.
	code, stdout, stderr := runCLI(context.Background(), "--url", d.url, "--http.config.file", val, "incidents", "list",
		"--json", "--state", "open,acknowledged,resolved,pending")
	if code != 0 {
		t.Fatalf("list: %d %s", code, stderr)
	}
	var list struct {
		Incidents []struct {
			ID        int64  `json:"id"`
			Source    string `json:"source"`
			Priority  string `json:"priority"`
			SLAPolicy string `json:"sla_policy"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Incidents) != 1 || list.Incidents[0].Source != "manual" || list.Incidents[0].Priority != "P2" ||
		list.Incidents[0].SLAPolicy != "P2" {
		t.Errorf("incidents = %+v, want the one reported, source manual, P2 with its SLA policy", list.Incidents)
	}
}
