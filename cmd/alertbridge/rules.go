package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

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

const rulesCheckUsage = `usage: alertbridge rules check FILE...

Check rule files as the daemon loads them. Every problem in every file is
printed as file:line:col: message, and the exit status is 1; when all files
are valid, each is printed with its number of rules and the status is 0.
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
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(flags.Output(), rulesCheckUsage) }
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() == 0 {
		fmt.Fprintf(stderr, "alertbridge rules check: no files given\n\n%s", rulesCheckUsage)
		return 2
	}
	// LoadFiles reads paths as the operating system does (absolute, relative,
	// "../" included) and names them in messages exactly as typed here.
	set, err := rules.LoadFiles(flags.Args())
	if err != nil {
		writeErrors(stderr, err)
		return 1
	}
	count := make(map[string]int)
	for _, r := range set.Rules() {
		count[r.Pos.File]++
	}
	for _, f := range set.Files() {
		fmt.Fprintf(stdout, "%s: %d rules OK\n", f, count[f])
	}
	return 0
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
