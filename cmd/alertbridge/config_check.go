package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"

	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/rules"
)

const configUsage = `usage: alertbridge config <command> [flags] [args]

commands:
  check FILE...   validate daemon config files (--config.file) as the daemon loads them

Run "alertbridge config <command> --help" for a command's flags.
`

const configCheckUsage = `usage: alertbridge config check [--no-rules] FILE...

Check daemon config files (--config.file, docs/config.md) exactly as the
daemon loads them at start, secrets included: *_file secrets are read
(relative to the file's directory) and *_env ones from this environment, so
run it where and as whom the daemon runs. Then, as the daemon does, the rule
files that rule_files names are loaded as one set.

A valid file is printed as "FILE: OK (N sources, M api users, ...)"; every
problem in an invalid one as file:line:col: message, and the exit status is
1. No output ever shows a secret.

flags:
`

// runConfig runs "alertbridge config ..."; args start after "config".
func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "alertbridge config: no command given\n\n%s", configUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return runConfigCheck(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			return runConfig(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, configUsage)
		return 0
	}
	fmt.Fprintf(stderr, "alertbridge config: unknown command %q\n\n%s", args[0], configUsage)
	return 2
}

func runConfigCheck(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("config check", flag.ContinueOnError)
	noRules := flags.Bool("no-rules", false, "do not load the rule files that rule_files names")
	usage := func(w io.Writer) {
		fmt.Fprint(w, configCheckUsage)
		flags.SetOutput(w)
		flags.PrintDefaults()
	}
	files, code, ok := parseFlags(flags, args, usage, stdout, stderr)
	if !ok {
		return code
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "alertbridge config check: no files given\n\n")
		usage(stderr)
		return 2
	}
	bad := 0
	for _, name := range files {
		cfg, err := config.Load(name)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) && pe.Path == name {
				err = fmt.Errorf("%s: %w", name, pe.Err)
			}
			writeErrors(stderr, err)
			bad++
			continue
		}
		summary := fmt.Sprintf("%s, %s", plural(len(cfg.Sources), "source"), plural(len(cfg.API.Users), "api user"))
		if len(cfg.RuleFiles) > 0 && !*noRules {
			// As the daemon loads them: a glob that matches nothing is no
			// error there (it starts without rules from it), so it is a
			// warning here, not a failed check.
			set, unmatched, err := rules.LoadFilesAllowEmpty(cfg.RuleFiles)
			if err != nil {
				fmt.Fprintf(stderr, "%s: the rule files of rule_files do not load:\n", name)
				writeErrors(stderr, err)
				bad++
				continue
			}
			for _, p := range unmatched {
				fmt.Fprintf(stderr, "%s: warning: rule_files: %s matches no files; the daemon loads no rules from it\n", name, p)
			}
			summary += fmt.Sprintf(", %s in %s", plural(set.Len(), "rule"), plural(len(set.Files()), "rule file"))
		}
		fmt.Fprintf(stdout, "%s: OK (%s)\n", name, summary)
	}
	if bad > 0 {
		return 1
	}
	return 0
}
