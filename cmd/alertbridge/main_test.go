package main

import (
	"context"
	"strings"
	"testing"
)

// TestHelpAndVersion: --help, -h and help answer with the usage on stdout
// and exit status 0 at every level, as every Prometheus binary does, and
// --version prints the version line of one.
func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStdout string // a prefix, when it ends in "..."
		wantStderr string // the same
	}{
		{"TopShort", []string{"-h"}, "usage: alertbridge [client flags] <command> [flags] [args]\n...", ""},
		{"TopLong", []string{"--help"}, "usage: alertbridge [client flags] <command> [flags] [args]\n...", ""},
		{"TopWord", []string{"help"}, "usage: alertbridge [client flags] <command> [flags] [args]\n...", ""},
		{"TopAfterClientFlag", []string{"--url", "http://x:9097", "--help"}, "usage: alertbridge [client flags]...", ""},
		{"HelpCommand", []string{"help", "incidents"}, "usage: alertbridge incidents <command> [flags] [ID]\n...", ""},
		{"Incidents", []string{"incidents", "--help"}, "usage: alertbridge incidents <command> [flags] [ID]\n...", ""},
		{"IncidentsHelpWord", []string{"incidents", "help"}, "usage: alertbridge incidents <command>...", ""},
		{"IncidentsList", []string{"incidents", "list", "--help"}, "usage: alertbridge incidents list [flags]\n...", ""},
		{"IncidentsListHelpFirst", []string{"incidents", "-h", "list"}, "usage: alertbridge incidents list [flags]\n...", ""},
		{"IncidentsHelpShow", []string{"incidents", "help", "show"}, "usage: alertbridge incidents show ID [flags]\n...", ""},
		{"IncidentsAck", []string{"incidents", "ack", "-h"}, "usage: alertbridge incidents ack ID [flags]\n...", ""},
		{"Problems", []string{"problems", "-h"}, "usage: alertbridge problems <command> [flags] [ID]\n...", ""},
		{"ProblemsKnownError", []string{"problems", "known-error", "--help"}, "usage: alertbridge problems known-error ID [flags]\n...", ""},
		{"Rules", []string{"rules", "--help"}, "usage: alertbridge rules <command> [flags] [args]\n...", ""},
		{"RulesHelpCheck", []string{"rules", "help", "check"}, "usage: alertbridge rules check [--as-set] FILE...\n...", ""},
		{"RulesCheck", []string{"rules", "check", "--help"}, "usage: alertbridge rules check [--as-set] FILE...\n...", ""},
		{"RulesTest", []string{"rules", "test", "--help"}, "usage: alertbridge rules test [--run REGEXP] TESTFILE...\n...", ""},
		// explain, backtest, bench and serve print the usage as Go's flag
		// package does, on stderr.
		{"RulesExplain", []string{"rules", "explain", "--help"}, "", "usage: alertbridge rules explain..."},
		{"RulesBacktest", []string{"rules", "backtest", "-h"}, "", "usage: alertbridge rules backtest..."},
		{"Bench", []string{"bench", "--help"}, "", "usage: alertbridge bench [flags]\n..."},
		{"Serve", []string{"serve", "--help"}, "", "Usage of serve:\n..."},
		{"Config", []string{"config", "--help"}, "usage: alertbridge config <command> [flags] [args]\n...", ""},
		{"ConfigCheck", []string{"config", "check", "-h"}, "usage: alertbridge config check [--no-rules] FILE...\n...", ""},
		{"VersionHelp", []string{"version", "--help"}, "usage: alertbridge version\n...", ""},
		{"VersionFlag", []string{"--version"}, "alertbridge, version dev (branch: unknown, revision: ...", ""},
		{"VersionCommand", []string{"version"}, "alertbridge, version dev (branch: unknown, revision: ...", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(context.Background(), tt.args...)
			if code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			checkOutput(t, "stdout", stdout, tt.wantStdout)
			checkOutput(t, "stderr", stderr, tt.wantStderr)
		})
	}
}

// TestUsageErrors: an unknown command at any level is named, the usage
// follows, and the exit status is 2; so with other usage errors.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string // a prefix, when it ends in "..."
	}{
		{"Top", []string{"frob"}, "alertbridge: unknown command \"frob\"\n\nusage: alertbridge [client flags] <command>..."},
		{"TopAfterClientFlags", []string{"--url", "http://x:9097", "frob"}, "alertbridge: unknown command \"frob\"\n..."},
		{"Incidents", []string{"incidents", "frob"}, "alertbridge incidents: unknown command \"frob\"\n\nusage: alertbridge incidents <command>..."},
		{"IncidentsAfterFlags", []string{"incidents", "--json", "--url", "http://x:9097", "frob"}, "alertbridge incidents: unknown command \"frob\"\n..."},
		{"Problems", []string{"problems", "frob", "1"}, "alertbridge problems: unknown command \"frob\"\n\nusage: alertbridge problems <command>..."},
		{"Rules", []string{"rules", "frob"}, "alertbridge rules: unknown command \"frob\"\n\nusage: alertbridge rules <command>..."},
		{"Config", []string{"config", "frob"}, "alertbridge config: unknown command \"frob\"\n\nusage: alertbridge config <command>..."},
		{"IncidentsNoCommand", []string{"incidents", "--json"}, "alertbridge incidents: no command given\n\nusage: alertbridge incidents <command>..."},
		{"ConfigNoCommand", []string{"config"}, "alertbridge config: no command given\n..."},
		{"ExtraArgument", []string{"incidents", "list", "open"}, "alertbridge incidents list: unexpected argument \"open\"\n\nusage: alertbridge incidents list [flags]\n..."},
		{"NoID", []string{"incidents", "show", "--json"}, "alertbridge incidents show: no incident id given\n\nusage: alertbridge incidents show ID [flags]\n..."},
		{"IDNotANumber", []string{"problems", "show", "x"}, "alertbridge problems show: problem id \"x\" is not a number\n..."},
		{"TwoIDs", []string{"incidents", "ack", "1", "2"}, "alertbridge incidents ack: unexpected argument \"2\"\n..."},
		{"UnknownFlag", []string{"incidents", "list", "--frob"}, "flag provided but not defined: -frob\n\nusage: alertbridge incidents list [flags]\n..."},
		{"FlagOfAnotherVerb", []string{"incidents", "list", "--actor", "alice"}, "flag provided but not defined: -actor\n..."},
		{"FlagWithoutValue", []string{"incidents", "list", "--state"}, "flag needs an argument: -state\n..."},
		{"ClientFlagBeforeOtherCommand", []string{"--url", "http://x:9097", "rules", "check", "a.yml"},
			"alertbridge: --url is a flag of the incidents and problems commands, not of rules\n..."},
		{"ServeFlagAfterClientFlag", []string{"--json", "--config.file", "x.yml"},
			"alertbridge: --config.file is not a client flag: give the command first, then its flags\n..."},
		{"TimeoutNotPositive", []string{"incidents", "list", "--timeout", "0s"}, "alertbridge incidents list: --timeout 0s: must be positive\n..."},
		{"VersionArgument", []string{"version", "x"}, "alertbridge version: unexpected argument \"x\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(context.Background(), tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout: %q, want nothing", stdout)
			}
			checkOutput(t, "stderr", stderr, tt.wantStderr)
		})
	}
}

// TestServeIsTheDefault: flags without a command are serve's, as before.
func TestServeIsTheDefault(t *testing.T) {
	code, _, stderr := runCLI(context.Background(), "--web.listen-address=127.0.0.1:0", "--log.level=nonsense")
	if code != 2 || !strings.Contains(stderr, "serve: log.level \"nonsense\"") {
		t.Errorf("exit %d, stderr:\n%s\nwant serve's complaint about --log.level", code, stderr)
	}
}

// checkOutput compares what a command wrote on a stream with want, or with
// the prefix want ends in "..." with.
func checkOutput(t *testing.T, stream, got, want string) {
	t.Helper()
	if prefix, ok := strings.CutSuffix(want, "..."); ok {
		if !strings.HasPrefix(got, prefix) {
			t.Errorf("%s:\n%s\nwant it to start with:\n%s", stream, got, prefix)
		}
	} else if got != want {
		t.Errorf("%s:\n%s\nwant:\n%s", stream, got, want)
	}
}
