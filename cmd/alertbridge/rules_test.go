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
		wantStdout string
		wantStderr string // a prefix of stderr when it ends in "..."
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
			name:       "ErrAcrossFiles",
			args:       []string{"check", "a.yml", abs[:len(abs)-len("a.yml")] + "dup.yml", "missing.yml"},
			wantCode:   1,
			wantStderr: abs[:len(abs)-len("a.yml")] + "dup.yml:2:11: rule \"a1\": name: duplicate name, first defined at a.yml:2:11\nmissing.yml: no such file or directory\n",
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
			wantStderr: "usage: alertbridge rules check FILE...\n...",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := runRules(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit status = %d, want %d", code, tt.wantCode)
			}
			if got := stdout.String(); got != tt.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, tt.wantStdout)
			}
			got, want := stderr.String(), tt.wantStderr
			if prefix, ok := strings.CutSuffix(want, "..."); ok {
				if !strings.HasPrefix(got, prefix) {
					t.Errorf("stderr:\n%s\nwant it to start with:\n%s", got, prefix)
				}
			} else if got != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func mustWriteFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
