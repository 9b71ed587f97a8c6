package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/api"
)

// incidentsRules has a catalog service (for the SERVICE and OWNER columns)
// and a rule that keeps an incident pending until two disks fill.
const incidentsRules = `services:
  - name: api-server
    matchers: ['job="api-server"']
    owner: team-web
correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
    by: [cluster]
    min_alerts: 2
`

// mustIncidentsDaemon runs a daemon with four incidents:
//
//   - #1 HighRequestLatency of api-server, three alerts of which one
//     resolved, acknowledged for alice and commented on;
//   - #2 DiskFull, pending: one disk of the two the rule waits for;
//   - #3 Watchdog, an alert without an instance label;
//   - #4 TargetDown, two alerts on the same instance.
func mustIncidentsDaemon(t *testing.T) *testDaemon {
	t.Helper()
	d := mustDaemon(t, daemonOptions{rules: incidentsRules})
	web := func(i string) map[string]string {
		return labelSet("alertname", "HighRequestLatency", "cluster", "eu-west-1", "instance", "web-"+i+":8080", "job", "api-server", "severity", "warning")
	}
	d.mustNotify(t, []string{"alertname", "cluster"}, web("1"), web("2"), web("3"))
	d.mustNotify(t, []string{"alertname", "cluster"}, labelSet("alertname", "DiskFull", "cluster", "c1", "instance", "n1:9100", "severity", "critical"))
	d.mustNotify(t, []string{"alertname"}, labelSet("alertname", "Watchdog", "severity", "none"))
	d.mustNotify(t, []string{"alertname"},
		labelSet("alertname", "TargetDown", "instance", "n2:9100", "job", "node", "severity", "critical"),
		labelSet("alertname", "TargetDown", "instance", "n2:9100", "job", "blackbox", "severity", "critical"))
	resolved := web("3")
	resolved["status"] = "resolved"
	d.mustNotify(t, []string{"alertname", "cluster"}, web("1"), web("2"), resolved)
	for _, args := range [][]string{
		{"incidents", "ack", "1", "--actor", "alice", "--message", "looking", "--url", d.url},
		{"incidents", "comment", "1", "--message", "rolled back deploy 42", "--url", d.url},
	} {
		if code, _, stderr := runCLI(context.Background(), args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	return d
}

// indented is body as --json prints it: the API's JSON, indented.
func indented(t *testing.T, body []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(body), "", "  "); err != nil {
		t.Fatal(err)
	}
	return b.String() + "\n"
}

// TestClientFlagPositions: the client flags work before the command,
// between it and its verb and after the verb, and the ID before or after
// flags, as with amtool. --json prints the API's JSON as it came.
func TestClientFlagPositions(t *testing.T) {
	d := mustIncidentsDaemon(t)
	list := indented(t, d.mustGet(t, "/api/v1/incidents?limit=50"))
	show3 := indented(t, d.mustGet(t, "/api/v1/incidents/3"))
	pending := indented(t, d.mustGet(t, "/api/v1/incidents?limit=50&state=pending"))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"FlagsAfterVerb", []string{"incidents", "list", "--json", "--url", d.url}, list},
		{"FlagBetweenCommandAndVerb", []string{"incidents", "--json", "list", "--url", d.url}, list},
		{"FlagsBeforeCommand", []string{"--url", d.url, "--json", "incidents", "list"}, list},
		{"SingleDashBeforeCommand", []string{"-url", d.url, "incidents", "-json", "list"}, list},
		{"EqualsForm", []string{"--url=" + d.url, "incidents", "--json=true", "list"}, list},
		{"FlagsAfterID", []string{"incidents", "show", "3", "--url", d.url, "--json"}, show3},
		{"FlagsBeforeID", []string{"incidents", "show", "--json", "--url", d.url, "3"}, show3},
		{"IDFirst", []string{"incidents", "--json", "show", "3", "--url", d.url}, show3},
		{"DoubleDash", []string{"incidents", "show", "--url", d.url, "--json", "--", "3"}, show3},
		{"VerbFlagBeforeVerb", []string{"incidents", "--state", "pending", "--url", d.url, "list", "--json"}, pending},
		{"VerbFlagAmongClientFlags", []string{"--url", d.url, "incidents", "list", "--json", "--state=pending"}, pending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(context.Background(), tt.args...)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if diff := cmp.Diff(tt.want, stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClientEnvURL: $ALERTBRIDGE_URL is the default of --url, and --url
// wins over it.
func TestClientEnvURL(t *testing.T) {
	d := mustIncidentsDaemon(t)
	dead := deadURL(t)
	tests := []struct {
		name     string
		env      string
		args     []string
		wantCode int
		want     string // in stdout, or in stderr when the exit status is not 0
	}{
		{"OKFromEnv", d.url, []string{"incidents", "show", "1"}, 0, "#1 HighRequestLatency"},
		{"OKFlagWinsOverEnv", dead, []string{"incidents", "show", "1", "--url", d.url}, 0, "#1 HighRequestLatency"},
		{"ErrEnvNobodyListens", dead, []string{"incidents", "show", "1"}, 1,
			"connection refused; is alertbridge running there? --url or $ALERTBRIDGE_URL says where"},
		{"ErrEnvNotAURL", "localhost:9097", []string{"problems", "list"}, 2,
			`alertbridge problems list: --url "localhost:9097": want http://HOST:PORT or https://HOST:PORT`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ALERTBRIDGE_URL", tt.env)
			code, stdout, stderr := runCLI(context.Background(), tt.args...)
			out := stdout
			if tt.wantCode != 0 {
				out = stderr
			}
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d and %q", code, stdout, stderr, tt.wantCode, tt.want)
			}
			if tt.wantCode == 1 && !strings.Contains(stderr, dead) {
				t.Errorf("the error does not name the address it tried (%s):\n%s", dead, stderr)
			}
		})
	}
}

// deadURL is an address nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

var cursorRE = regexp.MustCompile(`(?m)^\(more: --cursor (\S+)\)$`)

// TestClientPaging follows the "(more: --cursor X)" hint of incidents list
// to the last page, and the same for problems list.
func TestClientPaging(t *testing.T) {
	incidents := mustIncidentsDaemon(t)
	problems := mustProblemsDaemon(t)
	idRE := regexp.MustCompile(`(?m)^(\d+)\s`)
	tests := []struct {
		name    string
		args    []string
		url     string
		wantIDs [][]string // per page
	}{
		{"Incidents", []string{"incidents", "list", "--limit", "3"}, incidents.url, [][]string{{"4", "3", "2"}, {"1"}}},
		{"IncidentsFiltered", []string{"incidents", "list", "--state", "open,pending", "--limit", "2"}, incidents.url,
			[][]string{{"4", "3"}, {"2"}}},
		{"Problems", []string{"problems", "list", "--limit", "2"}, problems.url, [][]string{{"3", "2"}, {"1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]string
			args := append(tt.args, "--url", tt.url)
			for page := 0; page < 5; page++ {
				code, stdout, stderr := runCLI(context.Background(), args...)
				if code != 0 {
					t.Fatalf("page %d: exit %d: %s", page+1, code, stderr)
				}
				var ids []string
				for _, m := range idRE.FindAllStringSubmatch(stdout, -1) {
					ids = append(ids, m[1])
				}
				got = append(got, ids)
				m := cursorRE.FindStringSubmatch(stdout)
				if m == nil {
					break
				}
				args = append(slices.Clone(args), "--cursor", m[1])
			}
			if diff := cmp.Diff(tt.wantIDs, got); diff != "" {
				t.Errorf("IDs per page (-want +got):\n%s", diff)
			}
		})
	}
}

// problemsRules open a problem per cluster once two of its disks filled.
const problemsRules = `correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
    by: [cluster, instance]
problems:
  - name: disk-per-cluster
    signature: {labels: [cluster]}
    threshold: 2
    window: 1h
`

// mustProblemsDaemon runs a daemon with three problems, one per cluster.
func mustProblemsDaemon(t *testing.T) *testDaemon {
	t.Helper()
	d := mustDaemon(t, daemonOptions{rules: problemsRules})
	for _, c := range []string{"c1", "c2", "c3"} {
		for _, n := range []string{"n1", "n2"} {
			d.mustNotify(t, []string{"alertname", "cluster"}, labelSet("alertname", "DiskFull", "cluster", c, "instance", n+":9100"))
		}
	}
	return d
}

// TestClientTables compares the text output with
// testdata/cli/NAME.golden: times with their zone (UTC here), the
// FIRING/TOTAL, SERVICE and OWNER columns, and timelines that say which
// alert each entry is about and on whose behalf an identity acted.
func TestClientTables(t *testing.T) {
	incidents := mustIncidentsDaemon(t)
	problems := mustProblemsDaemon(t)
	if code, _, stderr := runCLI(context.Background(), "problems", "known-error", "1", "--workaround", "clean /var/log",
		"--actor", "bob", "--url", problems.url); code != 0 {
		t.Fatal(stderr)
	}
	tests := []struct {
		name string
		url  string
		args []string
	}{
		{"IncidentsList", incidents.url, []string{"incidents", "list"}},
		{"IncidentsListPending", incidents.url, []string{"incidents", "list", "--state", "pending"}},
		{"IncidentsListPage", incidents.url, []string{"incidents", "list", "--limit", "2"}},
		{"IncidentsShow", incidents.url, []string{"incidents", "show", "1"}},
		{"IncidentsShowPending", incidents.url, []string{"incidents", "show", "2"}},
		{"IncidentsShowSameInstance", incidents.url, []string{"incidents", "show", "4"}},
		{"ProblemsList", problems.url, []string{"problems", "list"}},
		{"ProblemsShow", problems.url, []string{"problems", "show", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(context.Background(), append(tt.args, "--utc", "--url", tt.url)...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			checkGolden(t, filepath.Join("testdata", "cli", tt.name+".golden"), stdout)
		})
	}
}

func TestFmtTime(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	summer := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		t    *time.Time
		loc  *time.Location
		want string
	}{
		{"UTC", &testNow, time.UTC, "2026-11-28 20:13:06 UTC"},
		{"WinterTime", &testNow, berlin, "2026-11-28 21:13:06 CET"},
		{"SummerTime", &summer, berlin, "2026-07-01 14:00:00 CEST"},
		{"NoAbbreviation", &testNow, time.FixedZone("", 5*3600+1800), "2026-11-29 01:43:06 +0530"},
		{"Nil", nil, time.UTC, "-"},
		{"Zero", &time.Time{}, time.UTC, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmtTime(tt.t, tt.loc); got != tt.want {
				t.Errorf("fmtTime = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAlertNames(t *testing.T) {
	tests := []struct {
		name   string
		alerts []api.Alert
		want   map[string]string
	}{
		{"Instance", []api.Alert{{Fingerprint: "f1", Labels: labelSet("alertname", "A", "instance", "n1:9100")}},
			map[string]string{"f1": "n1:9100"}},
		{"AlertnameWithoutInstance", []api.Alert{{Fingerprint: "f1", Labels: labelSet("alertname", "Watchdog")}},
			map[string]string{"f1": "Watchdog"}},
		{"FingerprintWithoutEither", []api.Alert{{Fingerprint: "f1", Labels: labelSet("job", "x")}},
			map[string]string{"f1": "f1"}},
		{"SharedNameGetsFingerprint", []api.Alert{
			{Fingerprint: "f1", Labels: labelSet("alertname", "A", "instance", "n1")},
			{Fingerprint: "f2", Labels: labelSet("alertname", "B", "instance", "n1")},
			{Fingerprint: "f3", Labels: labelSet("alertname", "C", "instance", "n2")},
		}, map[string]string{"f1": "n1 (f1)", "f2": "n1 (f2)", "f3": "n2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, alertNames(tt.alerts)); diff != "" {
				t.Errorf("alertNames (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPrintClosedIncident: the detail says when an incident closed and
// when retention deleted its history, and nothing of either otherwise.
func TestPrintClosedIncident(t *testing.T) {
	closed := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	deleted := closed.Add(90 * 24 * time.Hour)
	tests := []struct {
		name string
		inc  api.Incident
		want []string
	}{
		{"OKOpen", api.Incident{ID: 1, State: "open"}, nil},
		{"OKClosed", api.Incident{ID: 2, State: "closed", ClosedAt: &closed}, []string{"closed 2026-12-01 09:00:00 UTC: final"}},
		{"OKHistoryDeleted", api.Incident{ID: 3, State: "closed", ClosedAt: &closed, HistoryDeletedAt: &deleted},
			[]string{"closed 2026-12-01 09:00:00 UTC", "deleted by storage.retention 2027-03-01 09:00:00 UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printIncident(&b, tt.inc, time.UTC)
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.want == nil && (strings.Contains(out, "closed") || strings.Contains(out, "retention")) {
				t.Errorf("an open incident's output speaks of closing:\n%s", out)
			}
		})
	}
}

// TestDurationFlag: --storage.retention and --incidents.close-after take
// Prometheus durations, 0s included, and stay nil (the config file's)
// until given.
func TestDurationFlag(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Duration
		err      bool
	}{
		{"OKDays", "90d", 90 * 24 * time.Hour, false},
		{"OKOff", "0s", 0, false},
		{"ErrNegative", "-1d", 0, true},
		{"ErrUnit", "90", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d *time.Duration
			f := durationFlag{&d}
			if f.String() != "" {
				t.Errorf("unset flag shows %q", f.String())
			}
			err := f.Set(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("Set(%q) = %v, want error %v", tt.in, err, tt.err)
			}
			if !tt.err && (d == nil || *d != tt.want) {
				t.Errorf("Set(%q) gave %v, want %s", tt.in, d, tt.want)
			}
		})
	}
}
