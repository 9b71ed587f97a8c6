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
load, and 130 when interrupted (Ctrl-C stops the run between two steps).

flags:
`

func runRulesTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("rules test", flag.ContinueOnError)
	run := flags.String("run", "", "run only the tests whose name matches this regular expression")
	usage := func(w io.Writer) {
		fmt.Fprint(w, rulesTestUsage)
		flags.SetOutput(w)
		flags.PrintDefaults()
	}
	files, code, ok := parseFlags(flags, args, usage, stdout, stderr)
	if !ok {
		return code
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "alertbridge rules test: no test files given\n\n")
		usage(stderr)
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
	interrupted := false
files:
	for _, name := range files {
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
			if ctx.Err() != nil {
				interrupted = true
				break files
			}
			res, err := runRuleTest(ctx, f, t, log)
			switch {
			case ctx.Err() != nil:
				// The test stopped half-way: it neither passed nor failed.
				interrupted = true
				break files
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
		fmt.Fprintf(stdout, ", %d of %d files did not load", broken, len(files))
	}
	if interrupted {
		fmt.Fprint(stdout, ", interrupted")
	}
	fmt.Fprintln(stdout)
	switch {
	case interrupted:
		fmt.Fprintln(stderr, "alertbridge rules test: interrupted")
		return exitInterrupted
	case failed > 0 || broken > 0:
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
