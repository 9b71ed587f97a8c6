package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/alertbridge/alertbridge/api"
)

const problemsUsage = `usage: alertbridge problems [--url URL] [--json] <list|show|known-error|resolve|close> ...

  list [--state S] [--limit N] [--cursor C]
  show ID
  known-error ID --workaround TEXT [--root-cause TEXT] [--actor NAME] [--message TEXT]
  resolve ID [--actor NAME] [--message TEXT]
  close ID [--actor NAME] [--message TEXT]
`

func runProblems(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("problems", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:9097", "alertbridge address")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	fs.Usage = func() { fmt.Fprint(stderr, problemsUsage) }
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	c := &api.Client{BaseURL: *url}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out any
	var err error
	switch sub {
	case "list":
		lf := flag.NewFlagSet("list", flag.ContinueOnError)
		lf.SetOutput(stderr)
		var q api.ProblemQuery
		lf.StringVar(&q.State, "state", "", "open, known_error, resolved, closed (comma-separated)")
		lf.StringVar(&q.Cursor, "cursor", "", "continue a listing")
		lf.IntVar(&q.Limit, "limit", 50, "page size")
		if lf.Parse(rest) != nil {
			return 2
		}
		var list api.ProblemList
		list, err = c.ListProblems(ctx, q)
		if err == nil && !*asJSON {
			printProblems(stdout, list)
			return 0
		}
		out = list
	case "show", "known-error", "resolve", "close":
		if len(rest) == 0 {
			fs.Usage()
			return 2
		}
		id, perr := strconv.ParseInt(rest[0], 10, 64)
		if perr != nil {
			fmt.Fprintf(stderr, "problems %s: problem id %q is not a number\n", sub, rest[0])
			return 2
		}
		af := flag.NewFlagSet(sub, flag.ContinueOnError)
		af.SetOutput(stderr)
		var req api.ProblemRequest
		af.StringVar(&req.Actor, "actor", "", "who acts (recorded on the problem's timeline)")
		af.StringVar(&req.Message, "message", "", "note for the timeline")
		if sub == "known-error" {
			af.StringVar(&req.RootCause, "root-cause", "", "the root cause")
			af.StringVar(&req.Workaround, "workaround", "", "what responders do meanwhile (attached to new matching incidents)")
		}
		if af.Parse(rest[1:]) != nil {
			return 2
		}
		var p api.Problem
		switch sub {
		case "show":
			p, err = c.Problem(ctx, id)
		case "known-error":
			p, err = c.KnownError(ctx, id, req)
		case "resolve":
			p, err = c.ResolveProblem(ctx, id, req)
		case "close":
			p, err = c.CloseProblem(ctx, id, req)
		}
		if err == nil && !*asJSON {
			printProblem(stdout, p)
			return 0
		}
		out = p
	default:
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "problems %s: %v\n", sub, err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
	return 0
}

func printProblems(w io.Writer, l api.ProblemList) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tINCIDENTS\tLAST SEEN\tSIGNATURE\tTITLE")
	for _, p := range l.Problems {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", p.ID, p.State, p.IncidentCount, fmtTime(&p.LastSeenAt), p.Signature, p.Title)
	}
	tw.Flush()
	if l.NextCursor != "" {
		fmt.Fprintf(w, "(more: --cursor %s)\n", l.NextCursor)
	}
}

func printProblem(w io.Writer, p api.Problem) {
	fmt.Fprintf(w, "problem #%d %s [%s] %s\n", p.ID, p.Title, p.State, p.Signature)
	fmt.Fprintf(w, "rule %q, %d incidents, first %s, last %s\n", p.Rule, p.IncidentCount, fmtTime(&p.FirstSeenAt),
		fmtTime(&p.LastSeenAt))
	if p.RootCause != "" {
		fmt.Fprintf(w, "root cause: %s\n", p.RootCause)
	}
	if p.Workaround != "" {
		fmt.Fprintf(w, "workaround: %s\n", p.Workaround)
	}
	fmt.Fprintln(w, "\nincidents:")
	for _, i := range p.Incidents {
		fmt.Fprintf(w, "  #%d %s %-12s %s %s\n", i.ID, i.Priority, i.State, fmtTime(i.OpenedAt), i.Title)
	}
	fmt.Fprintln(w, "\ntimeline:")
	for _, e := range p.Timeline {
		fmt.Fprintf(w, "  %s %-16s %-10s %s\n", e.At.Local().Format(time.DateTime), e.Kind, e.Actor, e.Message)
	}
}
