package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesTest runs rules test on the files under testdata/ruletest and
// compares what it prints (stdout and stderr, as a terminal shows them) with
// testdata/ruletest/NAME.golden.
func TestRulesTest(t *testing.T) {
	t.Chdir("testdata/ruletest")
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "OKPayloads", args: []string{"payloads.test.yml"}},
		{name: "OKRunFilter", args: []string{"--run", "twice", "payloads.test.yml"}},
		{name: "ErrFailing", args: []string{"failing.test.yml"}, wantCode: 1},
		{name: "ErrDoesNotLoad", args: []string{"broken.test.yml", "payloads.test.yml"}, wantCode: 1},
		{name: "ErrUsageNoFiles", args: nil, wantCode: 2},
		{name: "ErrUsageBadRun", args: []string{"--run", "(", "payloads.test.yml"}, wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			code := runRules(context.Background(), append([]string{"test"}, tt.args...), &out, &out)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d; output:\n%s", code, tt.wantCode, out.String())
			}
			got := out.String()
			if tt.wantCode == 2 {
				got, _, _ = strings.Cut(got, "\nusage:")
			}
			checkGolden(t, filepath.Join("..", "..", "testdata", "ruletest", tt.name+".golden"), got)
		})
	}
}
