package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/alertbridge/alertbridge/ingest"
	"github.com/alertbridge/alertbridge/rules/ruletest"
)

const rulesTestUsage = `usage: alertbridge rules test [--run REGEXP] TESTFILE...

Run rule tests. A test file names rule files and lists tests: alerts (and
whole Alertmanager payload files) at simulated times, manual actions, and
the incidents expected after them. Each test runs on a fresh, temporary
store with a simulated clock, so windows, reopen_within and resolve_after
are tested without waiting. docs/rules.md ("Testing rules") describes the
format.

Each test prints PASS or FAIL with its name; a failing test prints every
broken expectation as file:line:col: message and the incidents there
actually were. The exit status is 1 when a test fails or a file does not
load.

flags:
`

func runRulesTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("rules test", flag.ContinueOnError)
	flags.SetOutput(stderr)
	run := flags.String("run", "", "run only the tests whose name matches this regular expression")
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), rulesTestUsage)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() == 0 {
		fmt.Fprintf(stderr, "alertbridge rules test: no test files given\n\n%s", rulesTestUsage)
		return 2
	}
	filter, err := regexp.Compile(*run)
	if err != nil {
		fmt.Fprintf(stderr, "alertbridge rules test: --run: %v\n", err)
		return 2
	}

	// Template failures at run time are logged by the pipeline; a rule
	// author wants to see them, without the daemon's timestamps.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	var passed, failed, broken int
	for _, name := range flags.Args() {
		f, err := ruletest.Load(name, ingest.DecodeAlertmanager)
		if err != nil {
			writeErrors(stderr, err)
			broken++
			continue
		}
		for _, t := range f.Tests {
			if !filter.MatchString(t.Name) {
				continue
			}
			res, err := runRuleTest(ctx, f, t, log)
			switch {
			case err != nil:
				fmt.Fprintf(stdout, "FAIL %s\n", t.Name)
				fmt.Fprintf(stdout, "  %s: %v\n", t.Pos, err)
				failed++
			case res.Passed():
				fmt.Fprintf(stdout, "PASS %s\n", t.Name)
				passed++
			default:
				fmt.Fprintf(stdout, "FAIL %s\n", t.Name)
				res.Write(stdout, "  ")
				failed++
			}
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed", passed, failed)
	if broken > 0 {
		fmt.Fprintf(stdout, ", %d of %d files did not load", broken, flags.NArg())
	}
	fmt.Fprintln(stdout)
	if failed > 0 || broken > 0 {
		return 1
	}
	return 0
}

// runRuleTest runs one test on a fresh replay store, removed afterwards.
func runRuleTest(ctx context.Context, f *ruletest.File, t *ruletest.Test, log *slog.Logger) (*ruletest.Result, error) {
	p, err := openReplay(ctx, f.Rules, f.Start, log)
	if err != nil {
		return nil, err
	}
	res, err := t.Run(ctx, p)
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return res, errors.Join(err, p.Close(closeCtx))
}
