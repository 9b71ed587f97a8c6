package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/alertbridge/alertbridge/internal/yamlfile"
	"github.com/alertbridge/alertbridge/rules"
)

const rulesUsage = `usage: alertbridge rules check FILE...

Check rule files as the daemon loads them. Every problem in every file is
printed as file:line:col: message, and the exit status is 1; when all files
are valid, each is printed with its number of rules and the status is 0.
`

// runRules runs "alertbridge rules ..."; args start after "rules". It returns
// the exit status: 0 when the files are valid, 1 when they are not, 2 for a
// usage error.
func runRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return runRulesCheck(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, rulesUsage)
		return 0
	}
	fmt.Fprintf(stderr, "alertbridge rules: unknown command %q\n\n%s", args[0], rulesUsage)
	return 2
}

func runRulesCheck(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("rules check", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(flags.Output(), rulesUsage) }
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() == 0 {
		fmt.Fprintf(stderr, "alertbridge rules check: no files given\n\n%s", rulesUsage)
		return 2
	}
	// LoadFiles reads paths as the operating system does (absolute, relative,
	// "../" included) and names them in messages exactly as typed here.
	set, err := rules.LoadFiles(flags.Args())
	if err != nil {
		var list yamlfile.Errors
		if !errors.As(err, &list) {
			list = yamlfile.Errors{{Msg: err.Error()}}
		}
		for _, e := range list {
			fmt.Fprintln(stderr, e.Error())
		}
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
