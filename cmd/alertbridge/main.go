// Command alertbridge is the daemon and its tools: serve, rules, config
// check, bench, incidents and problems (REST API clients) and version.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"syscall"
	// Time zone data in the binary: SLA calendars name zones, and a rule file
	// must mean the same on a machine (or scratch image) without zoneinfo.
	_ "time/tzdata"

	promversion "github.com/prometheus/common/version"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: alertbridge [client flags] <command> [flags] [args]

commands:
  serve       run the daemon (the default when no command is given)
  rules       check, test, explain and backtest rule files (alertbridge rules --help)
  config      check daemon config files (alertbridge config --help)
  bench       replay realistic Alertmanager traffic against a daemon on 127.0.0.1
  backup      copy the SQLite database while the daemon runs
  migrate     show or apply the database's schema migrations
  incidents   list, show, report (create), acknowledge, resolve or comment on incidents via the API
  problems    list, show, mark as known error, resolve or close problems via the API
  version     print the version

flags:
  -h, --help  show this help; "alertbridge <command> --help" shows a command's
  --version   print the version

client flags, for incidents and problems (before or after the command):
  --url URL                alertbridge's address (default: $ALERTBRIDGE_URL, else http://127.0.0.1:9097)
  --http.config.file FILE  TLS and credentials in Prometheus' http_config format
  --json                   print the API's JSON as it came
  --timeout DURATION       how long to wait for the answer (default 30s)
  --utc                    print times in UTC instead of the local time zone

docs/api.md ("The CLI") has examples.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills at once, as it would
		// without the handler: an operator pressing Ctrl-C twice means it.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command in args (without the program name) until it ends or
// ctx is cancelled, and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// Client flags may precede the command (alertbridge --url X incidents
	// list); any other flag there belongs to serve, the default command.
	isGlobal := flagsOf(globalFlagSet())
	var globals []string
	cmd := "serve"
	rest := args
scan:
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, withValue, isFlag := flagName(a)
		switch {
		case !isFlag:
			cmd, rest = a, args[i+1:]
			break scan
		case a == "--":
			rest = args[i+1:]
			break scan
		case name == "version":
			fmt.Fprintln(stdout, versionInfo())
			return 0
		case name == "h" || name == "help":
			fmt.Fprint(stdout, usage)
			return 0
		}
		known, takesValue := isGlobal(name)
		if !known {
			if len(globals) > 0 {
				fmt.Fprintf(stderr, "alertbridge: %s is not a client flag: give the command first, then its flags\n\n%s", a, usage)
				return 2
			}
			return runServe(ctx, args, stderr)
		}
		globals = append(globals, a)
		if takesValue && !withValue && i+1 < len(args) {
			i++
			globals = append(globals, args[i])
		}
	}
	switch {
	case !slices.Contains(commands, cmd):
		fmt.Fprintf(stderr, "alertbridge: unknown command %q\n\n%s", cmd, usage)
		return 2
	case len(globals) > 0 && cmd != "incidents" && cmd != "problems":
		fmt.Fprintf(stderr, "alertbridge: %s is a flag of the incidents and problems commands, not of %s\n\n%s", globals[0], cmd, usage)
		return 2
	}
	switch cmd {
	case "serve":
		if wantsHelp(rest) {
			// serve's flag set answers -h with its flags but exit status 2,
			// and serve.go is busy with new flags: ask it for the usage and
			// answer 0 here.
			runServe(ctx, []string{"-h"}, stderr)
			return 0
		}
		return runServe(ctx, rest, stderr)
	case "rules":
		return runRules(ctx, rest, stdout, stderr)
	case "config":
		return runConfig(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "incidents":
		return runIncidents(ctx, append(globals, rest...), stdout, stderr)
	case "problems":
		return runProblems(ctx, append(globals, rest...), stdout, stderr)
	case "version":
		switch {
		case wantsHelp(rest):
			fmt.Fprint(stdout, "usage: alertbridge version\n\nPrint the version, the revision and the Go version it was built with.\n")
			return 0
		case len(rest) > 0:
			fmt.Fprintf(stderr, "alertbridge version: unexpected argument %q\n", rest[0])
			return 2
		}
		fmt.Fprintln(stdout, versionInfo())
		return 0
	case "help":
		if len(rest) > 0 {
			// "alertbridge help incidents" is "alertbridge incidents --help".
			return run(ctx, []string{rest[0], "--help"}, stdout, stderr)
		}
	}
	fmt.Fprint(stdout, usage)
	return 0
}

// commands are the commands run knows.
var commands = []string{"serve", "rules", "config", "bench", "backup", "migrate", "incidents", "problems", "version", "help"}

// versionInfo is the version as every Prometheus binary prints it. The
// revision comes from -ldflags (github.com/prometheus/common/version.Revision),
// else from the VCS stamp Go puts in the binary.
func versionInfo() string {
	branch := promversion.Branch
	if branch == "" {
		branch = "unknown"
	}
	return fmt.Sprintf("alertbridge, version %s (branch: %s, revision: %s)\n  go version:       %s\n  platform:         %s/%s",
		version, branch, promversion.GetRevision(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
