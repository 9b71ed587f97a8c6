package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/alertbridge/alertbridge/api"
)

const problemsUsage = `usage: alertbridge problems <command> [flags] [ID]

List, show, mark as known error, resolve or close problems through the REST
API of a running alertbridge (docs/api.md). Flags may come before or after
the command and the ID.

commands:
  list           [--state S] [--limit N] [--cursor C]
  show ID
  known-error ID --workaround TEXT [--root-cause TEXT] [--actor NAME] [--message TEXT]
  resolve ID     [--actor NAME] [--message TEXT]
  close ID       [--actor NAME] [--message TEXT]

Run "alertbridge problems <command> --help" for a command's flags. The exit
status is 0 on success, 1 when the call fails and 2 for a usage error.
`

// problemFlags are the flags of a verb that changes a problem.
func problemFlags(fs *flag.FlagSet, req *api.ProblemRequest) {
	fs.StringVar(&req.Actor, "actor", "", "on whose behalf you act: recorded as on_behalf_of next to your API identity")
	fs.StringVar(&req.Message, "message", "", "note for the timeline")
}

// problemAction wraps a call that answers with a problem.
func problemAction(call func(ctx context.Context, c *cliClient, id int64) (api.Problem, error)) clientAction {
	return func(ctx context.Context, c *cliClient, id int64) (func(io.Writer, *time.Location), error) {
		p, err := call(ctx, c, id)
		return func(w io.Writer, loc *time.Location) { printProblem(w, p, loc) }, err
	}
}

var problemsGroup = &clientGroup{
	name:  "problems",
	noun:  "problem",
	usage: problemsUsage,
	verbs: []clientVerb{
		{
			name:  "list",
			about: "List problems, newest first, one page at a time: when there are more, the last line says\nwhich --cursor shows the next page.",
			flags: func(fs *flag.FlagSet) clientAction {
				var q api.ProblemQuery
				fs.StringVar(&q.State, "state", "", "open, known_error, resolved, closed, or a comma-separated list of them")
				fs.IntVar(&q.Limit, "limit", 50, "page size, 1 to 500")
				fs.StringVar(&q.Cursor, "cursor", "", "continue a listing where its last page ended")
				return func(ctx context.Context, c *cliClient, _ int64) (func(io.Writer, *time.Location), error) {
					list, err := c.ListProblems(ctx, q)
					return func(w io.Writer, loc *time.Location) { printProblems(w, list, loc) }, err
				}
			},
		},
		{
			name:  "show",
			id:    true,
			about: "Show a problem: its incidents and its timeline.",
			flags: func(*flag.FlagSet) clientAction {
				return problemAction(func(ctx context.Context, c *cliClient, id int64) (api.Problem, error) {
					return c.Problem(ctx, id)
				})
			},
		},
		{
			name:  "known-error",
			id:    true,
			about: "Mark an open problem as a known error with its workaround, which every new matching\nincident then carries (needs the responder role).",
			flags: func(fs *flag.FlagSet) clientAction {
				var req api.ProblemRequest
				problemFlags(fs, &req)
				fs.StringVar(&req.RootCause, "root-cause", "", "the root cause")
				fs.StringVar(&req.Workaround, "workaround", "", "what responders do meanwhile (attached to new matching incidents)")
				return problemAction(func(ctx context.Context, c *cliClient, id int64) (api.Problem, error) {
					return c.KnownError(ctx, id, req)
				})
			},
		},
		{
			name:  "resolve",
			id:    true,
			about: "Resolve a problem (needs the admin role).",
			flags: func(fs *flag.FlagSet) clientAction {
				var req api.ProblemRequest
				problemFlags(fs, &req)
				return problemAction(func(ctx context.Context, c *cliClient, id int64) (api.Problem, error) {
					return c.ResolveProblem(ctx, id, req)
				})
			},
		},
		{
			name:  "close",
			id:    true,
			about: "Close a resolved problem (needs the admin role).",
			flags: func(fs *flag.FlagSet) clientAction {
				var req api.ProblemRequest
				problemFlags(fs, &req)
				return problemAction(func(ctx context.Context, c *cliClient, id int64) (api.Problem, error) {
					return c.CloseProblem(ctx, id, req)
				})
			},
		},
	},
}

func runProblems(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return problemsGroup.run(ctx, args, stdout, stderr)
}

func printProblems(w io.Writer, l api.ProblemList, loc *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tPRIO\tINCIDENTS\tDOWNTIME\tLAST SEEN\tSIGNATURE\tTITLE")
	for _, p := range l.Problems {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", p.ID, p.State, orDash(p.Priority), p.IncidentCount,
			fmtDowntime(p.DowntimeSeconds), fmtTime(&p.LastSeenAt, loc), p.Signature, p.Title)
	}
	tw.Flush()
	if l.NextCursor != "" {
		fmt.Fprintf(w, "(more: --cursor %s)\n", l.NextCursor)
	}
}

func printProblem(w io.Writer, p api.Problem, loc *time.Location) {
	fmt.Fprintf(w, "problem #%d %s [%s] %s\n", p.ID, p.Title, p.State, p.Signature)
	fmt.Fprintf(w, "rule %q, priority %s, %d incidents, downtime %s, first %s, last %s\n", p.Rule, orDash(p.Priority),
		p.IncidentCount, fmtDowntime(p.DowntimeSeconds), fmtTime(&p.FirstSeenAt, loc), fmtTime(&p.LastSeenAt, loc))
	if p.RootCause != "" {
		fmt.Fprintf(w, "root cause: %s\n", p.RootCause)
	}
	if p.Workaround != "" {
		fmt.Fprintf(w, "workaround: %s\n", p.Workaround)
	}
	fmt.Fprintln(w, "\nincidents:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tPRIO\tSTATE\tOPENED\tSERVICE\tTITLE")
	for _, i := range p.Incidents {
		fmt.Fprintf(tw, "  #%d\t%s\t%s\t%s\t%s\t%s\n", i.ID, i.Priority, i.State, fmtTime(i.OpenedAt, loc), orDash(i.Service), i.Title)
	}
	tw.Flush()
	fmt.Fprintln(w, "\ntimeline:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  AT\tKIND\tACTOR\tMESSAGE")
	for _, e := range p.Timeline {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", fmtTime(&e.At, loc), e.Kind, actor(e.Actor, e.OnBehalfOf), oneLine(e.Message))
	}
	tw.Flush()
}

// fmtDowntime renders a problem's downtime to the second: it is what the
// problem cost, and fractions of a second are noise.
func fmtDowntime(seconds float64) string { return dur(time.Duration(seconds * float64(time.Second))) }
