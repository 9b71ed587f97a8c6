package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/alertbridge/alertbridge/internal/yamlfile"
	"github.com/alertbridge/alertbridge/rules"
)

const rulesUsage = `usage: alertbridge rules <command> [flags] [args]

commands:
  check FILE...       validate rule files as the daemon loads them
  test TESTFILE...    run rule tests: alerts on a simulated clock, expected incidents
  explain             show what the rules do with one alert, and what it would do now
  backtest            replay a daemon's stored events against candidate rules

Run "alertbridge rules <command> --help" for a command's flags. The exit
status is 0 when all is well, 1 for problems (invalid rules, failing tests),
2 for a usage error and 130 when interrupted (Ctrl-C).
`

const rulesCheckUsage = `usage: alertbridge rules check [--as-set] FILE...

Check rule files as the daemon loads them. FILE may be a glob, as in
rule_files. Each file is checked on its own, as promtool does: every problem
is printed as file:line:col: message; a valid file is printed with its
number of rules. The exit status is 1 when any file is invalid.

The daemon loads all its rule files as one set: a defaults block applies to
the rules of every file, a problem's signature may name a rule of another
file, a service may depend on one of another file, and a name must be unique
across the files. Files that only work together are invalid on their own;
files valid on their own may clash together. When the answer as one set
differs, a note says so. --as-set checks the files exactly as the daemon
loads them: use it in CI for the rule_files of a deployment.

flags:
`

// runRules runs "alertbridge rules ..."; args start after "rules". It returns
// the exit status: 0 when all is well, 1 for problems (invalid rules,
// failing tests), 2 for a usage error, 130 when ctx was cancelled first.
func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "alertbridge rules: no command given\n\n%s", rulesUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return runRulesCheck(args[1:], stdout, stderr)
	case "test":
		return runRulesTest(ctx, args[1:], stdout, stderr)
	case "explain":
		return runRulesExplain(ctx, args[1:], stdout, stderr)
	case "backtest":
		return runRulesBacktest(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			// "rules help check" is "rules check --help".
			return runRules(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, rulesUsage)
		return 0
	}
	fmt.Fprintf(stderr, "alertbridge rules: unknown command %q\n\n%s", args[0], rulesUsage)
	return 2
}

func runRulesCheck(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("rules check", flag.ContinueOnError)
	asSet := flags.Bool("as-set", false, "check the files as one set, exactly as the daemon loads its rule files")
	usage := func(w io.Writer) {
		fmt.Fprint(w, rulesCheckUsage)
		flags.SetOutput(w)
		flags.PrintDefaults()
	}
	patterns, code, ok := parseFlags(flags, args, usage, stdout, stderr)
	if !ok {
		return code
	}
	if len(patterns) == 0 {
		fmt.Fprint(stderr, "alertbridge rules check: no files given\n\n")
		usage(stderr)
		return 2
	}
	if *asSet {
		// LoadFiles reads paths as the operating system does (absolute,
		// relative, "../" included) and names them in messages exactly as
		// typed here.
		set, err := rules.LoadFiles(patterns)
		if err != nil {
			writeErrors(stderr, err)
			return 1
		}
		writeRuleCounts(stdout, set, set.Files())
		return 0
	}

	badPatterns, badFiles := 0, 0
	var checked, valid []string
	seen := make(map[string]bool)
	for _, p := range patterns {
		names := []string{p}
		if isGlob(p) {
			var err error
			if names, err = filepath.Glob(p); err != nil || len(names) == 0 {
				// The loader words a bad pattern as the daemon does.
				_, err = rules.LoadFiles([]string{p})
				writeErrors(stderr, err)
				badPatterns++
				continue
			}
		}
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			checked = append(checked, name)
			set, err := rules.LoadFiles([]string{name})
			if err != nil {
				writeErrors(stderr, err)
				badFiles++
				continue
			}
			writeRuleCounts(stdout, set, []string{name})
			valid = append(valid, name)
		}
	}
	// Loaded together, as the daemon loads them, the files may tell another
	// story: say so, and leave the details to --as-set.
	if len(valid) > 1 {
		if _, err := rules.LoadFiles(valid); err != nil {
			fmt.Fprintln(stderr, "note: the files valid on their own are not valid together, as the daemon loads them (one set): --as-set shows why")
		}
	}
	if badFiles > 0 && len(checked) > 1 {
		if _, err := rules.LoadFiles(checked); err == nil {
			fmt.Fprintln(stderr, "note: together the files are valid, as the daemon loads them (one set): they refer to each other; check them with --as-set")
		}
	}
	if badPatterns+badFiles > 0 {
		return 1
	}
	return 0
}

// isGlob reports whether a rule file pattern is a glob, as the rules loader
// decides it.
func isGlob(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// writeRuleCounts prints each of files with its number of rules in set.
func writeRuleCounts(w io.Writer, set *rules.Set, files []string) {
	count := make(map[string]int)
	for _, r := range set.Rules() {
		count[r.Pos.File]++
	}
	for _, f := range files {
		fmt.Fprintf(w, "%s: %d rules OK\n", f, count[f])
	}
}

// writeErrors prints err one problem a line: every problem of a
// yamlfile.Errors as file:line:col: message, any other error as it is.
func writeErrors(w io.Writer, err error) {
	var list yamlfile.Errors
	if !errors.As(err, &list) {
		list = yamlfile.Errors{{Msg: err.Error()}}
	}
	for _, e := range list {
		fmt.Fprintln(w, e.Error())
	}
}
