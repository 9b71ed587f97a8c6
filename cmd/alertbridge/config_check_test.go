package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// Secrets in the config files of TestConfigCheck: none may show.
const (
	sourceToken  = "source-token-0123456789abcdef"
	apiToken     = "api-token-0123456789abcdef"
	misplacedKey = "misplaced-secret-0123456789"
	envSecret    = "env-secret-0123456789abcdef"
)

// TestConfigCheck: config check loads each file as the daemon does
// (config.Load, then the rule files of rule_files as one set) and says OK
// with what it found, or prints every problem as file:line:col: message,
// and never a secret.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("TEST_ALERTBRIDGE_OPS_TOKEN", envSecret)
	mustWriteFile(t, "rules/disk.yml", "correlations:\n  - name: disk\n  - name: mem\n")
	mustWriteFile(t, "rules/net.yml", "correlations:\n  - name: net\n")
	mustWriteFile(t, "broken-rules/x.yml", "correlations:\n  - name: disk\n    colour: red\n")
	mustWriteFile(t, "secrets/am.token", sourceToken+"\n")
	mustWriteFile(t, "good.yml", `sources:
  - name: am
    type: alertmanager
    auth: {bearer: {token_file: secrets/am.token}}
  - name: cron
    type: events
    auth: {bearer: {token: `+sourceToken+`-cron}}
api:
  users:
    - {name: ops, role: admin, bearer: {token_env: TEST_ALERTBRIDGE_OPS_TOKEN}}
rule_files: ['rules/*.yml']
`)
	mustWriteFile(t, "minimal.yml", "api:\n  users:\n    - {name: ops, role: admin, bearer: {token: "+apiToken+"}}\n")
	mustWriteFile(t, "empty.yml", "")
	mustWriteFile(t, "bad.yml", `sources:
  - name: am
    type: alertmanager
    auth:
      bearer: `+misplacedKey+`
  - {name: nag, type: nagios}
api:
  users:
    - {name: ops, role: boss, bearer: {token: `+apiToken+`}}
    - {name: bot, role: viewer, bearer: {token_env: TEST_ALERTBRIDGE_UNSET}}
limits: {max_json_depth: 1}
`)
	mustWriteFile(t, "bad-rules.yml", "rule_files: [broken-rules/x.yml]\n")
	mustWriteFile(t, "no-rules-yet.yml", "rule_files: ['rules.d/*.yml', 'rules/net.yml']\n")
	mustWriteFile(t, "missing-rules.yml", "rule_files: [rules/nope.yml]\n")
	abs := filepath.Join(dir, "good.yml")

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string // a prefix, when it ends in "..."
	}{
		{
			name:       "OK",
			args:       []string{"good.yml", "minimal.yml", "empty.yml"},
			wantStdout: "good.yml: OK (2 sources, 1 api user, 3 rules in 2 rule files)\nminimal.yml: OK (0 sources, 1 api user)\nempty.yml: OK (0 sources, 0 api users)\n",
		},
		{
			name:       "OKAbsoluteAsTyped",
			args:       []string{abs},
			wantStdout: abs + ": OK (2 sources, 1 api user, 3 rules in 2 rule files)\n",
		},
		{
			name:     "ErrEveryProblemNoSecret",
			args:     []string{"good.yml", "bad.yml"},
			wantCode: 1, wantStdout: "good.yml: OK (2 sources, 1 api user, 3 rules in 2 rule files)\n",
			wantStderr: `bad.yml:5:15: source "am": bearer: expected a mapping with token, token_file or token_env` + "\n" +
				`bad.yml:6:23: source "nag": type: unknown type "nagios", want one of alertmanager, grafana, pagerduty, events, changes, heartbeats` + "\n" +
				`bad.yml:9:25: api: user "ops": role: role "boss": want viewer, responder or admin` + "\n" +
				`bad.yml:10:53: api: user "bot": bearer: token_env: environment variable TEST_ALERTBRIDGE_UNSET is not set` + "\n" +
				`bad.yml:11:26: limits: max_json_depth: must be at least 4` + "\n",
		},
		{
			name:       "ErrRuleFiles",
			args:       []string{"bad-rules.yml"},
			wantCode:   1,
			wantStderr: "bad-rules.yml: the rule files of rule_files do not load:\nbroken-rules/x.yml:3:5: unknown field \"colour\"\n",
		},
		{
			// The daemon starts with an empty rules directory, so the
			// check passes, and says what the daemon will log.
			name:       "OKGlobMatchesNothing",
			args:       []string{"no-rules-yet.yml"},
			wantStdout: "no-rules-yet.yml: OK (0 sources, 0 api users, 1 rule in 1 rule file)\n",
			wantStderr: "no-rules-yet.yml: warning: rule_files: rules.d/*.yml matches no files; the daemon loads no rules from it\n",
		},
		{
			name:       "ErrRuleFileMissing",
			args:       []string{"missing-rules.yml"},
			wantCode:   1,
			wantStderr: "missing-rules.yml: the rule files of rule_files do not load:\nrules/nope.yml: no such file or directory\n",
		},
		{
			name:       "OKNoRules",
			args:       []string{"--no-rules", "bad-rules.yml"},
			wantStdout: "bad-rules.yml: OK (0 sources, 0 api users)\n",
		},
		{
			name:       "ErrMissingFile",
			args:       []string{"missing.yml", "minimal.yml"},
			wantCode:   1,
			wantStdout: "minimal.yml: OK (0 sources, 1 api user)\n",
			wantStderr: "missing.yml: no such file or directory\n",
		},
		{
			name:       "ErrUsageNoFiles",
			wantCode:   2,
			wantStderr: "alertbridge config check: no files given\n\nusage: alertbridge config check...",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(context.Background(), append([]string{"config", "check"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			checkOutput(t, "stdout", stdout, tt.wantStdout)
			checkOutput(t, "stderr", stderr, tt.wantStderr)
			for _, secret := range []string{sourceToken, apiToken, misplacedKey, envSecret} {
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("the output shows the secret %q", secret)
				}
			}
		})
	}
}
