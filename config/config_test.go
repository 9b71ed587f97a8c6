package config_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// Every secret of the tests; none may show up in an error or a rendering.
var secrets = []string{
	"am-token-0123456789", "grafana-password-0123", "hmac-secret-0123456789",
	"pd-routing-key-0123456789", "file-token-0123456789", "env-password-0123456789",
	"s3cr3t-scalar-token", "tok en-with-space",
}

var cmpSecret = cmp.Comparer(func(a, b secret.Value) bool { return a.Reveal() == b.Reveal() })

// fakeFS serves *_file reads and *_env lookups.
func opts() config.ParseOptions {
	files := map[string]string{
		"/etc/ab/token":      "file-token-0123456789\n",
		"/etc/ab/crlf":       "file-token-0123456789\r\n",
		"/etc/ab/two-lines":  "file-token-0123456789\n\n",
		"/etc/ab/empty":      "\n",
		"/etc/ab/sub/secret": "hmac-secret-0123456789",
	}
	env := map[string]string{"GRAFANA_PASSWORD": "env-password-0123456789", "EMPTY": ""}
	return config.ParseOptions{
		Dir: "/etc/ab",
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := files[name]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		},
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
}

const full = `sources:
  - name: prod-alertmanager
    type: alertmanager
    auth:
      bearer:
        token: am-token-0123456789
    rate_limit:
      requests_per_second: 20
      burst: 40
  - name: grafana
    type: grafana
    auth:
      basic:
        username: grafana
        password_env: GRAFANA_PASSWORD
  - name: ci
    type: changes
    auth:
      hmac:
        secret_file: sub/secret
        header: X-Hub-Signature-256
        max_skew: 90s
  - name: scripts
    type: events
    auth:
      bearer: {token_file: token}
    rate_limit: {requests_per_second: 0.5}
  - name: pd
    type: pagerduty
    routing_key: pd-routing-key-0123456789
limits:
  max_body_bytes: 1048576
  max_alerts_per_request: 1000
  max_json_depth: 16
  max_fingerprint_length: 255
  max_url_length: 8192
  max_string_length: 4096
  max_inflight_body_bytes: 67108864
  body_read_timeout: 45s
storage:
  path: data
rule_files: [rules/*.yml, /abs/rules.yml]
`

func TestParseOK(t *testing.T) {
	tests := []struct {
		name string
		data string
		want *config.Config
	}{
		{"OKEmpty", "", &config.Config{File: "c.yml", Limits: config.DefaultLimits()}},
		{"OKComments", "# nothing yet\n", &config.Config{File: "c.yml", Limits: config.DefaultLimits()}},
		{"OKFull", full, &config.Config{
			File: "c.yml",
			Sources: []config.Source{
				{Name: "prod-alertmanager", Type: config.TypeAlertmanager,
					Auth:      config.Auth{Bearer: &config.BearerAuth{Token: secret.New("am-token-0123456789")}},
					RateLimit: &config.RateLimit{RequestsPerSecond: 20, Burst: 40}},
				{Name: "grafana", Type: config.TypeGrafana,
					Auth: config.Auth{Basic: &config.BasicAuth{Username: "grafana", Password: secret.New("env-password-0123456789")}}},
				{Name: "ci", Type: config.TypeChanges,
					Auth: config.Auth{HMAC: &config.HMACAuth{Secret: secret.New("hmac-secret-0123456789"),
						Header: "X-Hub-Signature-256", TimestampHeader: "X-Alertbridge-Timestamp", MaxSkew: 90 * time.Second}}},
				{Name: "scripts", Type: config.TypeEvents,
					Auth:      config.Auth{Bearer: &config.BearerAuth{Token: secret.New("file-token-0123456789")}},
					RateLimit: &config.RateLimit{RequestsPerSecond: 0.5, Burst: 1}, ResolveTimeout: 24 * time.Hour},
				{Name: "pd", Type: config.TypePagerDuty, RoutingKey: secret.New("pd-routing-key-0123456789"), ResolveTimeout: 24 * time.Hour},
			},
			Limits: config.Limits{MaxBodyBytes: 1 << 20, MaxAlertsPerRequest: 1000, MaxLabelsPerAlert: 64,
				MaxLabelNameLength: 256, MaxLabelValueLength: 4096, MaxAnnotationBytes: 64 << 10, MaxJSONDepth: 16,
				MaxFingerprintLength: 255, MaxURLLength: 8192, MaxStringLength: 4096, MaxInflightBodyBytes: 64 << 20,
				BodyReadTimeout: 45 * time.Second},
			Storage:   config.Storage{Path: "/etc/ab/data"},
			RuleFiles: []string{"/etc/ab/rules/*.yml", "/abs/rules.yml"},
		}},
		{"OKHMACDefaults", "sources:\n  - {name: a, type: events, auth: {hmac: {secret: hmac-secret-0123456789}}}\n", &config.Config{
			File: "c.yml",
			Sources: []config.Source{{Name: "a", Type: config.TypeEvents, Auth: config.Auth{HMAC: &config.HMACAuth{
				Secret: secret.New("hmac-secret-0123456789"), Header: "X-Alertbridge-Signature",
				TimestampHeader: "X-Alertbridge-Timestamp", MaxSkew: 5 * time.Minute}}, ResolveTimeout: 24 * time.Hour}},
			Limits: config.DefaultLimits(),
		}},
		{"OKSecretFileCRLF", "sources:\n  - {name: a, type: events, auth: {bearer: {token_file: crlf}}}\n", &config.Config{
			File: "c.yml",
			Sources: []config.Source{{Name: "a", Type: config.TypeEvents, Auth: config.Auth{Bearer: &config.BearerAuth{Token: secret.New("file-token-0123456789")}},
				ResolveTimeout: 24 * time.Hour}},
			Limits: config.DefaultLimits(),
		}},
		{"OKPagerDutyWithAuth", "sources:\n  - {name: pd, type: pagerduty, routing_key_env: GRAFANA_PASSWORD, auth: {bearer: {token: am-token-0123456789}}}\n", &config.Config{
			File: "c.yml",
			Sources: []config.Source{{Name: "pd", Type: config.TypePagerDuty, RoutingKey: secret.New("env-password-0123456789"),
				Auth: config.Auth{Bearer: &config.BearerAuth{Token: secret.New("am-token-0123456789")}}, ResolveTimeout: 24 * time.Hour}},
			Limits: config.DefaultLimits(),
		}},
		{"OKHeartbeatsAndTimeouts", "sources:\n  - {name: am, type: alertmanager, auth: {bearer: {token: am-token-0123456789}}, expect_traffic_within: 10m, resolve_timeout: 1h}\n" +
			"  - {name: ev, type: events, auth: {bearer: {token: ev-token-0123456789}}, resolve_timeout: 0s}\n" +
			"  - {name: cron, type: heartbeats, auth: {bearer: {token: cron-token-0123456789}}}\n", &config.Config{
			File: "c.yml",
			Sources: []config.Source{
				{Name: "am", Type: config.TypeAlertmanager, Auth: config.Auth{Bearer: &config.BearerAuth{Token: secret.New("am-token-0123456789")}},
					ExpectTrafficWithin: 10 * time.Minute, ResolveTimeout: time.Hour},
				{Name: "ev", Type: config.TypeEvents, Auth: config.Auth{Bearer: &config.BearerAuth{Token: secret.New("ev-token-0123456789")}}},
				{Name: "cron", Type: config.TypeHeartbeats, Auth: config.Auth{Bearer: &config.BearerAuth{Token: secret.New("cron-token-0123456789")}}},
			},
			Limits: config.DefaultLimits(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse("c.yml", []byte(tt.data), opts())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tt.want.API.WebConfigRole == access.RoleNone {
				tt.want.API.WebConfigRole = access.RoleAdmin // the default
			}
			if tt.want.Notifications.MaxPending == 0 {
				tt.want.Notifications = config.Default().Notifications
			}
			if tt.want.Storage.Retention == 0 {
				tt.want.Storage.Retention = config.DefaultRetention
			}
			if tt.want.Incidents.CloseAfter == 0 {
				tt.want.Incidents = config.Default().Incidents
			}
			if diff := cmp.Diff(tt.want, got, cmpSecret); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"ErrUnknownKey", "sources:\n  - name: a\n    type: events\n    auth: {bearer: {token: x}}\n    colour: red\n",
			[]string{`c.yml:5:5: unknown field "colour"`}},
		{"ErrSyntax", "sources: [\n", []string{"c.yml:2: yaml: did not find expected node content"}},
		{"ErrNameTypeMissing", "sources:\n  - auth: {bearer: {token: x}}\n", []string{
			"c.yml:2:5: source #1: name: required",
			"c.yml:2:5: source #1: type: required, one of alertmanager, grafana, pagerduty, events, changes, heartbeats",
		}},
		{"ErrBadNameAndType", "sources:\n  - {name: 'a b', type: nagios}\n", []string{
			`c.yml:2:12: source #1: name: "a b" must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit`,
			`c.yml:2:25: source #1: type: unknown type "nagios", want one of alertmanager, grafana, pagerduty, events, changes, heartbeats`,
		}},
		{"ErrResolveTimeoutBad", "sources:\n  - {name: a, type: events, auth: {bearer: {token: x}}, resolve_timeout: -1h}\n",
			[]string{`c.yml:2:74: source "a": resolve_timeout: not a valid duration string: "-1h"`}},
		{"ErrResolveTimeoutOfHeartbeats", "sources:\n  - {name: a, type: heartbeats, auth: {bearer: {token: x}}, resolve_timeout: 1h}\n",
			[]string{`c.yml:2:78: source "a": resolve_timeout: a heartbeats source sends no alerts`}},
		{"ErrExpectTrafficBad", "sources:\n  - {name: a, type: events, auth: {bearer: {token: x}}, expect_traffic_within: soon}\n",
			[]string{`c.yml:2:80: source "a": expect_traffic_within: not a valid duration string: "soon"`}},
		{"ErrExpectTrafficZero", "sources:\n  - {name: a, type: events, auth: {bearer: {token: x}}, expect_traffic_within: 0s}\n",
			[]string{`c.yml:2:80: source "a": expect_traffic_within: must be greater than 0`}},
		{"ErrExpectTrafficOfChanges", "sources:\n  - {name: a, type: changes, auth: {bearer: {token: x}}, expect_traffic_within: 1h}\n",
			[]string{`c.yml:2:81: source "a": expect_traffic_within: a changes source is not expected to send regularly`}},
		{"ErrDuplicateName", "sources:\n  - {name: a, type: events, auth: {bearer: {token: x}}}\n  - {name: a, type: changes, auth: {bearer: {token: y}}}\n",
			[]string{`c.yml:3:12: source "a": duplicate name, first at line 2`}},
		{"ErrAuthRequired", "sources:\n  - name: a\n    type: alertmanager\n",
			[]string{`c.yml:2:5: source "a": auth: required for a source of type alertmanager (only a pagerduty source may go without, its routing_key identifies it)`}},
		{"ErrAuthEmpty", "sources:\n  - {name: a, type: events, auth: {}}\n",
			[]string{`c.yml:2:35: source "a": auth: set one of bearer, basic or hmac`}},
		{"ErrAuthTwoMethods", "sources:\n  - name: a\n    type: events\n    auth:\n      bearer: {token: x}\n      hmac: {secret: y}\n",
			[]string{`c.yml:5:7: source "a": auth: set only one of bearer, basic or hmac`}},
		{"ErrAuthScalarNotEchoed", "sources:\n  - name: a\n    type: events\n    auth: s3cr3t-scalar-token\n",
			[]string{`c.yml:4:11: source "a": auth: expected a mapping with one of bearer, basic or hmac`}},
		{"ErrBearerScalarNotEchoed", "sources:\n  - name: a\n    type: events\n    auth:\n      bearer: s3cr3t-scalar-token\n",
			[]string{`c.yml:5:15: source "a": bearer: expected a mapping with token, token_file or token_env`}},
		{"ErrBearerNoToken", "sources:\n  - name: a\n    type: events\n    auth:\n      bearer: {token: ''}\n",
			[]string{`c.yml:5:23: source "a": bearer: token: required: set one of token, token_file or token_env`}},
		{"ErrBearerTwoTokens", "sources:\n  - name: a\n    type: events\n    auth:\n      bearer: {token: am-token-0123456789, token_env: X}\n",
			[]string{`c.yml:5:23: source "a": bearer: token: set only one of token, token_file or token_env`}},
		{"ErrBearerTokenSpace", "sources:\n  - name: a\n    type: events\n    auth:\n      bearer: {token: 'tok en-with-space'}\n",
			[]string{`c.yml:5:23: source "a": bearer: token: must not contain spaces or control characters`}},
		{"ErrSecretFileMissing", "sources:\n  - name: a\n    type: events\n    auth:\n      bearer:\n        token_file: missing\n",
			[]string{`c.yml:6:21: source "a": bearer: token_file: read /etc/ab/missing: file does not exist`}},
		{"ErrSecretFileEmpty", "sources:\n  - name: a\n    type: events\n    auth:\n      bearer:\n        token_file: /etc/ab/empty\n",
			[]string{`c.yml:6:21: source "a": bearer: token_file: /etc/ab/empty is empty`}},
		{"ErrSecretEnvMissing", "sources:\n  - name: a\n    type: grafana\n    auth:\n      basic:\n        username: u\n        password_env: NOT_SET\n",
			[]string{`c.yml:7:23: source "a": basic: password_env: environment variable NOT_SET is not set`}},
		{"ErrSecretEnvEmpty", "sources:\n  - name: a\n    type: grafana\n    auth:\n      basic: {username: u, password_env: EMPTY}\n",
			[]string{`c.yml:5:42: source "a": basic: password_env: environment variable EMPTY is empty`}},
		{"ErrBasicUsername", "sources:\n  - name: a\n    type: grafana\n    auth:\n      basic: {password: grafana-password-0123}\n  - name: b\n    type: grafana\n    auth:\n      basic: {username: 'a:b', password: x}\n", []string{
			`c.yml:5:14: source "a": basic: username: required`,
			`c.yml:9:25: source "b": basic: username: must not contain ':'`,
		}},
		{"ErrHMAC", "sources:\n  - name: a\n    type: events\n    auth:\n      hmac:\n        secret: x\n        header: 'X Sig'\n        timestamp_header: x-sig\n        max_skew: -1m\n", []string{
			`c.yml:7:17: source "a": hmac: header: "X Sig" is not a valid HTTP header name`,
			`c.yml:9:19: source "a": hmac: max_skew: not a valid duration string: "-1m"`,
		}},
		{"ErrHMACSameHeaders", "sources:\n  - name: a\n    type: events\n    auth:\n      hmac: {secret: x, header: X-T, timestamp_header: x-t, max_skew: 0s}\n", []string{
			`c.yml:5:56: source "a": hmac: timestamp_header: must differ from header`,
			`c.yml:5:71: source "a": hmac: max_skew: must be greater than 0`,
		}},
		{"ErrRoutingKey", "sources:\n  - {name: pd, type: pagerduty}\n  - {name: am, type: alertmanager, routing_key: pd-routing-key-0123456789, auth: {bearer: {token: x}}}\n", []string{
			`c.yml:2:5: source "pd": routing_key: required: set one of routing_key, routing_key_file or routing_key_env`,
			`c.yml:3:49: source "am": routing_key: only a pagerduty source has one`,
		}},
		{"ErrSameCredentials", "sources:\n" +
			"  - {name: pd1, type: pagerduty, routing_key: pd-routing-key-0123456789}\n" +
			"  - {name: pd2, type: pagerduty, routing_key: pd-routing-key-0123456789}\n" +
			"  - {name: am1, type: alertmanager, auth: {bearer: {token: am-token-0123456789}}}\n" +
			"  - {name: am2, type: alertmanager, auth: {bearer: {token: am-token-0123456789}}}\n" +
			"  - {name: ev, type: events, auth: {bearer: {token: am-token-0123456789}}}\n", []string{
			`c.yml:3:12: source "pd2": same routing_key as source "pd1": the two could not be told apart`,
			`c.yml:5:12: source "am2": same bearer token as source "am1": the two could not be told apart`,
		}},
		{"ErrRateLimit", "sources:\n  - name: a\n    type: events\n    auth: {bearer: {token: x}}\n    rate_limit: {burst: 0}\n  - name: b\n    type: events\n    auth: {bearer: {token: y}}\n    rate_limit: {requests_per_second: -1}\n", []string{
			`c.yml:5:17: source "a": rate_limit: requests_per_second: required`,
			`c.yml:5:25: source "a": rate_limit: burst: must be at least 1`,
			`c.yml:9:39: source "b": rate_limit: requests_per_second: must be greater than 0`,
		}},
		{"ErrLimits", "limits:\n  max_body_bytes: 10\n  max_alerts_per_request: 0\n  max_json_depth: 3\n  max_labels_per_alert: 1.5\n", []string{
			"c.yml:2:19: limits: max_body_bytes: must be at least 1024",
			"c.yml:3:27: limits: max_alerts_per_request: must be at least 1",
			"c.yml:4:19: limits: max_json_depth: must be at least 4",
			`c.yml:5:25: max_labels_per_alert: expected an integer, found "1.5"`,
		}},
		{"ErrNewLimits", "limits:\n  max_body_bytes: 1048576\n  max_fingerprint_length: 0\n  max_url_length: -1\n  max_string_length: 0\n" +
			"  max_inflight_body_bytes: 3145728\n  body_read_timeout: 0s\n", []string{
			"c.yml:3:27: limits: max_fingerprint_length: must be at least 1",
			"c.yml:4:19: limits: max_url_length: must be at least 1",
			"c.yml:5:22: limits: max_string_length: must be at least 1",
			"c.yml:6:28: limits: max_inflight_body_bytes: must be at least 3145731, room for one compressed body of max_body_bytes",
			"c.yml:7:22: limits: body_read_timeout: must be greater than 0",
		}},
		{"ErrBodyReadTimeout", "limits: {body_read_timeout: soon}\n", []string{
			`c.yml:1:29: limits: body_read_timeout: not a valid duration string: "soon"`,
		}},
		{"ErrRuleFiles", "rule_files: ['', 'a[']\n", []string{
			"c.yml:1:14: rule_files: empty pattern",
			`c.yml:1:18: rule_files: bad pattern "a["`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("c.yml", []byte(tt.data), opts())
			if err == nil {
				t.Fatal("Parse: no error")
			}
			var list yamlfile.Errors
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not a yamlfile.Errors: %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			t.Errorf("secret %q appears in:\n%s", sec, s)
		}
	}
}

// TestConfigNeverRendersSecrets prints and marshals a loaded config every
// way a log line or a debug dump might.
func TestConfigNeverRendersSecrets(t *testing.T) {
	cfg, err := config.Parse("c.yml", []byte(full), opts())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out = append(out, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, *cfg), fmt.Sprintf(verb, cfg.Sources))
		for _, s := range cfg.Sources {
			out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, s.Auth))
			for _, a := range []any{s.Auth.Bearer, s.Auth.Basic, s.Auth.HMAC} {
				out = append(out, fmt.Sprintf(verb, a))
			}
		}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(b))
	all := strings.Join(out, "\n")
	assertNoSecret(t, all)
	for _, hexed := range secrets {
		if strings.Contains(all, fmt.Sprintf("%x", hexed)) {
			t.Errorf("secret %q appears hex-encoded", hexed)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "token"), "file-token-0123456789\n")
	path := filepath.Join(dir, "alertbridge.yml")
	mustWrite(t, path, "sources:\n  - {name: a, type: events, auth: {bearer: {token_file: token}}}\nrule_files: [r.yml]\nstorage: {path: /var/lib/ab}\n")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Sources[0].Auth.Bearer.Token.Reveal(); got != "file-token-0123456789" {
		t.Errorf("token from file = %q", got)
	}
	if cfg.File != path || cfg.Storage.Path != "/var/lib/ab" || cfg.RuleFiles[0] != filepath.Join(dir, "r.yml") {
		t.Errorf("file %q storage %q rule files %v", cfg.File, cfg.Storage.Path, cfg.RuleFiles)
	}
	t.Setenv("AB_TEST_TOKEN", "env-password-0123456789")
	mustWrite(t, path, "sources:\n  - {name: a, type: events, auth: {bearer: {token_env: AB_TEST_TOKEN}}}\n")
	if cfg, err = config.Load(path); err != nil || cfg.Sources[0].Auth.Bearer.Token.Reveal() != "env-password-0123456789" {
		t.Errorf("token from env: %v", err)
	}
	if _, err := config.Load(filepath.Join(dir, "missing.yml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestSourcesOf(t *testing.T) {
	cfg, err := config.Parse("c.yml", []byte(full), opts())
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.SourcesOf(config.TypeAlertmanager); len(got) != 1 || got[0].Name != "prod-alertmanager" {
		t.Errorf("SourcesOf(alertmanager) = %v", got)
	}
	if got := cfg.SourcesOf(config.TypeGrafana); len(got) != 1 || got[0].Name != "grafana" {
		t.Errorf("SourcesOf(grafana) = %v", got)
	}
}

// TestDocsExamplesLoad keeps docs/config.md honest: every ```yaml example
// in it is a config file and must load, with its *_file and *_env secrets
// provided (each file its own secret; a .bcrypt file a bcrypt hash). (YAML
// of other files, such as the web config, is fenced as ```yml there.)
func TestDocsExamplesLoad(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) == 0 {
		t.Fatal("no yaml examples in docs/config.md")
	}
	o := config.ParseOptions{
		Dir: "/etc/alertbridge",
		ReadFile: func(name string) ([]byte, error) {
			if strings.HasSuffix(name, ".bcrypt") {
				return []byte(aliceHash + "\n"), nil
			}
			return []byte("from-file-" + filepath.Base(name) + "\n"), nil
		},
		LookupEnv: func(k string) (string, bool) { return "from-env-" + k, true },
	}
	for i, b := range blocks {
		if _, err := config.Parse(fmt.Sprintf("docs/config.md example %d", i+1), b[1], o); err != nil {
			t.Errorf("docs/config.md example %d:\n%s\n%v", i+1, b[1], err)
		}
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte("sources:\n  - {name: a, type: events, auth: {hmac: {secret: x}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("f.yml", data, opts())
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", cfg != nil, err)
		}
		var list yamlfile.Errors
		if err != nil && !errors.As(err, &list) {
			t.Fatalf("error %T is not a yamlfile.Errors", err)
		}
	})
}
