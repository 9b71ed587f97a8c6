package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

// clientGroup is an API client command and its verbs: "incidents" with
// list, show, ack ...
type clientGroup struct {
	name  string // "incidents"
	noun  string // "incident", as in `incident id "x" is not a number`
	usage string // the group's usage, without the client flags
	verbs []clientVerb
}

// clientVerb is one verb of a client command.
type clientVerb struct {
	name  string
	id    bool   // takes one ID argument
	about string // what it does, for its usage
	// flags registers the verb's own flags on fs and returns what runs it.
	flags func(fs *flag.FlagSet) clientAction
}

// clientAction calls the API and returns how to print the answer as text.
type clientAction func(ctx context.Context, c *cliClient, id int64) (text func(w io.Writer, loc *time.Location), err error)

func (g *clientGroup) verb(name string) *clientVerb {
	for i := range g.verbs {
		if g.verbs[i].name == name {
			return &g.verbs[i]
		}
	}
	return nil
}

func (g *clientGroup) writeUsage(w io.Writer) {
	fmt.Fprint(w, g.usage)
	fmt.Fprint(w, "\nclient flags (before or after the command):\n")
	printDefaults(w, new(clientFlags).register)
}

func (g *clientGroup) writeVerbUsage(w io.Writer, v *clientVerb) {
	arg := ""
	if v.id {
		arg = " ID"
	}
	fmt.Fprintf(w, "usage: alertbridge %s %s%s [flags]\n\n%s\n", g.name, v.name, arg, v.about)
	own := flag.NewFlagSet("", flag.ContinueOnError)
	v.flags(own)
	if hasFlags(own) {
		fmt.Fprint(w, "\nflags:\n")
		printDefaults(w, func(fs *flag.FlagSet) { v.flags(fs) })
	}
	fmt.Fprint(w, "\nclient flags (also before the command):\n")
	printDefaults(w, new(clientFlags).register)
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// run runs "alertbridge GROUP ..."; args start after the group's name and
// may hold client flags given before it. It returns the exit status: 0 when
// the call succeeded, 1 when it failed, 2 for a usage error.
func (g *clientGroup) run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	prog := "alertbridge " + g.name
	// The verb is the first positional argument; to find it, the flags of
	// every verb are known, so that "--state open list" finds "list".
	sets := []*flag.FlagSet{globalFlagSet()}
	for _, v := range g.verbs {
		fs := flag.NewFlagSet(v.name, flag.ContinueOnError)
		v.flags(fs)
		sets = append(sets, fs)
	}
	flags, pos := splitArgs(args, flagsOf(sets...))
	switch {
	case len(pos) == 0 && wantsHelp(flags), len(pos) == 1 && pos[0] == "help":
		g.writeUsage(stdout)
		return 0
	case len(pos) == 0:
		fmt.Fprintf(stderr, "%s: no command given\n\n", prog)
		g.writeUsage(stderr)
		return 2
	case pos[0] == "help":
		// "incidents help list" is "incidents list --help".
		pos, flags = pos[1:], append(flags, "--help")
	}
	v := g.verb(pos[0])
	if v == nil {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", prog, pos[0])
		g.writeUsage(stderr)
		return 2
	}
	prog += " " + v.name

	var cf clientFlags
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	cf.register(fs)
	action := v.flags(fs)
	usage := func(w io.Writer) { g.writeVerbUsage(w, v) }
	if code, ok := parseSplit(fs, flags, usage, stdout, stderr); !ok {
		return code
	}
	rest := pos[1:]
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s\n\n", prog, fmt.Sprintf(format, a...))
		usage(stderr)
		return 2
	}
	var id int64
	switch {
	case v.id && len(rest) == 0:
		return usageErr("no %s id given", g.noun)
	case v.id:
		n, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || n <= 0 {
			return usageErr("%s id %q is not a number", g.noun, rest[0])
		}
		id, rest = n, rest[1:]
	}
	switch {
	case len(rest) > 0:
		return usageErr("unexpected argument %q", rest[0])
	case cf.timeout <= 0:
		return usageErr("--timeout %s: must be positive", cf.timeout)
	}
	c, err := cf.newClient()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 2
	}

	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	text, err := action(ctx, c, id)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", prog, c.explain(err))
		if errors.Is(ctx.Err(), context.Canceled) {
			return exitInterrupted
		}
		return 1
	}
	if cf.json {
		c.writeJSON(stdout)
		return 0
	}
	text(stdout, cf.location())
	return 0
}
