package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRules(t *testing.T) {
	dir := t.TempDir()
	mustWriteFile(t, filepath.Join(dir, "a.yml"), "correlations:\n  - name: a1\n  - name: a2\n")
	mustWriteFile(t, filepath.Join(dir, "empty.yml"), "")
	mustWriteFile(t, filepath.Join(dir, "bad.yml"), "correlations:\n  - name: disk\n    by: [cluster, cluster]\n    impact: huge\n")
	mustWriteFile(t, filepath.Join(dir, "dup.yml"), "correlations:\n  - name: a1\n")
	// dep.yml depends on a service of svc.yml: valid only together.
	mustWriteFile(t, filepath.Join(dir, "svc.yml"), "services:\n  - name: postgres\n")
	mustWriteFile(t, filepath.Join(dir, "dep.yml"), "services:\n  - name: checkout\n    depends_on: [postgres]\n")
	// problems.yml misuses the problem keys and known_errors (#14).
	mustWriteFile(t, filepath.Join(dir, "problems.yml"), `correlations:
  - name: disk
problems:
  - name: disk-recurring
    signature: {rule: disk}
    threshold: 2
    window: 1h
    resolve_known_errors: true
    close_after: 30
known_errors:
  - name: vector
    signature: 'disk-recurring{rule="cpu"}'
    workaround: systemctl restart vector
    runbook_url: runbooks/vector.md
`)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	abs := filepath.Join(dir, "a.yml")

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // a prefix of stdout when it ends in "..."
		wantStderr string // the same for stderr
	}{
		{
			name:       "OKRelative",
			args:       []string{"check", "a.yml", "empty.yml"},
			wantStdout: "a.yml: 2 rules OK\nempty.yml: 0 rules OK\n",
		},
		{
			name:       "OKAbsoluteAsTyped",
			args:       []string{"check", abs},
			wantStdout: abs + ": 2 rules OK\n",
		},
		{
			name:       "OKDotSlashAsTyped",
			args:       []string{"check", "./a.yml"},
			wantStdout: "./a.yml: 2 rules OK\n",
		},
		{
			name:       "OKParentAsTyped",
			args:       []string{"check", "sub/../a.yml"},
			wantStdout: "sub/../a.yml: 2 rules OK\n",
		},
		{
			name:       "ErrInvalidEveryProblem",
			args:       []string{"check", "./bad.yml"},
			wantCode:   1,
			wantStderr: "./bad.yml:3:19: rule \"disk\": by: duplicate label \"cluster\"\n./bad.yml:4:13: rule \"disk\": impact: level \"huge\": want high, medium or low\n",
		},
		{
			name:     "ErrInvalidProblemKeysAndKnownErrors",
			args:     []string{"check", "problems.yml"},
			wantCode: 1,
			wantStderr: "problems.yml:8:27: problem \"disk-recurring\": resolve_known_errors: needs resolve_when_quiet\n" +
				"problems.yml:9:18: problem \"disk-recurring\": close_after: not a valid duration string: \"30\"\n" +
				"problems.yml:12:16: known error \"vector\": signature: problem rule \"disk-recurring\" signs only incidents of rule \"disk\", not \"cpu\"\n" +
				"problems.yml:14:18: known error \"vector\": runbook_url: want an http or https URL, got \"runbooks/vector.md\"\n",
		},
		{
			name:       "ErrOneFileOfThree",
			args:       []string{"check", "a.yml", "./bad.yml", "empty.yml"},
			wantCode:   1,
			wantStdout: "a.yml: 2 rules OK\nempty.yml: 0 rules OK\n",
			wantStderr: "./bad.yml:3:19: rule \"disk\": by: duplicate label \"cluster\"\n./bad.yml:4:13: rule \"disk\": impact: level \"huge\": want high, medium or low\n",
		},
		{
			name:       "OKEachFileButNotAsSet",
			args:       []string{"check", "a.yml", abs[:len(abs)-len("a.yml")] + "dup.yml"},
			wantStdout: "a.yml: 2 rules OK\n" + abs[:len(abs)-len("a.yml")] + "dup.yml: 1 rules OK\n",
			wantStderr: "note: the files valid on their own are not valid together, as the daemon loads them (one set): --as-set shows why\n",
		},
		{
			name:       "ErrAsSetAcrossFiles",
			args:       []string{"check", "--as-set", "a.yml", abs[:len(abs)-len("a.yml")] + "dup.yml", "missing.yml"},
			wantCode:   1,
			wantStderr: abs[:len(abs)-len("a.yml")] + "dup.yml:2:11: rule \"a1\": name: duplicate name, first defined at a.yml:2:11\nmissing.yml: no such file or directory\n",
		},
		{
			name:       "ErrAsSetFlagLast",
			args:       []string{"check", "a.yml", "dup.yml", "--as-set"},
			wantCode:   1,
			wantStderr: "dup.yml:2:11: rule \"a1\": name: duplicate name, first defined at a.yml:2:11\n",
		},
		{
			name:       "ErrOnlyValidTogether",
			args:       []string{"check", "svc.yml", "dep.yml"},
			wantCode:   1,
			wantStdout: "svc.yml: 0 rules OK\n",
			wantStderr: "dep.yml:3:18: service \"checkout\": depends_on: unknown service \"postgres\"\n" +
				"note: together the files are valid, as the daemon loads them (one set): they refer to each other; check them with --as-set\n",
		},
		{
			name:       "OKAsSetTogether",
			args:       []string{"check", "--as-set", "svc.yml", "dep.yml"},
			wantStdout: "svc.yml: 0 rules OK\ndep.yml: 0 rules OK\n",
		},
		{
			name:       "ErrMissingFile",
			args:       []string{"check", "a.yml", "missing.yml"},
			wantCode:   1,
			wantStdout: "a.yml: 2 rules OK\n",
			wantStderr: "missing.yml: no such file or directory\n",
		},
		{
			name:       "OKGlobEachFile",
			args:       []string{"check", "[ae]*.yml"},
			wantStdout: "a.yml: 2 rules OK\nempty.yml: 0 rules OK\n",
		},
		{
			name:       "ErrGlobMatchesNothing",
			args:       []string{"check", "a.yml", "nothing*.yml"},
			wantCode:   1,
			wantStdout: "a.yml: 2 rules OK\n",
			wantStderr: "nothing*.yml: pattern matches no files\n",
		},
		{
			name:       "ErrUsageNoCommand",
			args:       nil,
			wantCode:   2,
			wantStderr: "alertbridge rules: no command given\n\nusage: alertbridge rules <command> [flags] [args]\n...",
		},
		{
			name:       "ErrUsageNoFiles",
			args:       []string{"check"},
			wantCode:   2,
			wantStderr: "alertbridge rules check: no files given\n...",
		},
		{
			name:       "ErrUsageUnknownCommand",
			args:       []string{"lint", "a.yml"},
			wantCode:   2,
			wantStderr: "alertbridge rules: unknown command \"lint\"\n...",
		},
		{
			name:       "ErrUsageUnknownFlag",
			args:       []string{"check", "-x", "a.yml"},
			wantCode:   2,
			wantStderr: "flag provided but not defined: -x\n...",
		},
		{
			name:       "OKHelp",
			args:       []string{"check", "-h"},
			wantStdout: "usage: alertbridge rules check [--as-set] FILE...\n...",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := runRules(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit status = %d, want %d", code, tt.wantCode)
			}
			checkOutput(t, "stdout", stdout.String(), tt.wantStdout)
			checkOutput(t, "stderr", stderr.String(), tt.wantStderr)
		})
	}
}

// mustWriteFile writes a file, and the directories it is in.
func mustWriteFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
