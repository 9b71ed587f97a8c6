// Command alertbridge is the daemon and its tools: serve, rules check, bench,
// incidents and problems (REST API clients) and version.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	// Time zone data in the binary: SLA calendars name zones, and a rule file
	// must mean the same on a machine (or scratch image) without zoneinfo.
	_ "time/tzdata"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: alertbridge <command> [flags]

commands:
  serve       run the daemon (the default when no command is given)
  rules       check, test, explain and backtest rule files (alertbridge rules -h)
  bench       replay realistic Alertmanager traffic against a daemon on 127.0.0.1
  incidents   list, show, acknowledge, resolve or comment on incidents via the API
  problems    list, show, mark as known error, resolve or close problems via the API
  version     print the version

Run "alertbridge <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stderr)
	case "rules":
		return runRules(args, stdout, stderr)
	case "bench":
		return runBench(ctx, args, stdout, stderr)
	case "incidents":
		return runIncidents(ctx, args, stdout, stderr)
	case "problems":
		return runProblems(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "alertbridge %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "alertbridge: unknown command %q\n\n%s", cmd, usage)
	return 2
}
