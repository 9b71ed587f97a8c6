package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alertbridge/alertbridge/api"
)

const incidentsUsage = `usage: alertbridge incidents [--url URL] [--json] <list|show|ack|resolve|comment> ...

  list [--state S] [--priority P] [--service S] [--q TEXT] [--limit N]
  show ID
  ack ID [--actor NAME] [--message TEXT]
  resolve ID [--actor NAME] [--message TEXT]
  comment ID --message TEXT [--actor NAME]
`

func runIncidents(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("incidents", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:9097", "alertbridge address")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	fs.Usage = func() { fmt.Fprint(stderr, incidentsUsage) }
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
		var q api.ListQuery
		lf.StringVar(&q.State, "state", "", "open, acknowledged, resolved (comma-separated)")
		lf.StringVar(&q.Priority, "priority", "", "P1..P5")
		lf.StringVar(&q.Service, "service", "", "service name")
		lf.StringVar(&q.Q, "q", "", "text in the title or key")
		lf.IntVar(&q.Limit, "limit", 50, "page size")
		if lf.Parse(rest) != nil {
			return 2
		}
		var list api.IncidentList
		list, err = c.ListIncidents(ctx, q)
		if err == nil && !*asJSON {
			printList(stdout, list)
			return 0
		}
		out = list
	case "show", "ack", "resolve", "comment":
		if len(rest) == 0 {
			fs.Usage()
			return 2
		}
		id, perr := strconv.ParseInt(rest[0], 10, 64)
		if perr != nil {
			fmt.Fprintf(stderr, "incidents %s: incident id %q is not a number\n", sub, rest[0])
			return 2
		}
		af := flag.NewFlagSet(sub, flag.ContinueOnError)
		af.SetOutput(stderr)
		var req api.ActionRequest
		af.StringVar(&req.Actor, "actor", "", "who acts (recorded on the timeline)")
		af.StringVar(&req.Message, "message", "", "note for the timeline")
		if af.Parse(rest[1:]) != nil {
			return 2
		}
		var inc api.Incident
		switch sub {
		case "show":
			inc, err = c.Incident(ctx, id)
		case "ack":
			inc, err = c.Acknowledge(ctx, id, req)
		case "resolve":
			inc, err = c.Resolve(ctx, id, req)
		case "comment":
			inc, err = c.Comment(ctx, id, req)
		}
		if err == nil && !*asJSON {
			printIncident(stdout, inc)
			return 0
		}
		out = inc
	default:
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "incidents %s: %v\n", sub, err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
	return 0
}

func printList(w io.Writer, l api.IncidentList) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPRIO\tSTATE\tALERTS\tOPENED\tTITLE")
	for _, i := range l.Incidents {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\n", i.ID, i.Priority, i.State, i.FiringCount, i.AlertCount,
			fmtTime(i.OpenedAt), i.Title)
	}
	tw.Flush()
	if l.NextCursor != "" {
		fmt.Fprintf(w, "(more: --cursor %s)\n", l.NextCursor)
	}
}

func printIncident(w io.Writer, i api.Incident) {
	fmt.Fprintf(w, "#%d %s [%s %s] %s\n", i.ID, i.Title, i.Priority, i.State, i.CorrelationKey)
	fmt.Fprintf(w, "impact %s, urgency %s, service %q, owner %q, rule %q, opened %s\n", i.Impact, i.Urgency, i.Service,
		i.Owner, i.Rule, fmtTime(i.OpenedAt))
	if i.Summary != "" {
		fmt.Fprintf(w, "%s\n", i.Summary)
	}
	fmt.Fprintf(w, "\nalerts (%d firing of %d):\n", i.FiringCount, i.AlertCount)
	for _, a := range i.Alerts {
		fmt.Fprintf(w, "  %s/%s %-8s x%d %s\n", a.Source, a.Fingerprint, a.Status, a.Count, formatLabels(a.Labels))
	}
	fmt.Fprintln(w, "\ntimeline:")
	for _, e := range i.Timeline {
		fmt.Fprintf(w, "  %s %-16s %-10s %s\n", e.At.Local().Format(time.DateTime), e.Kind, e.Actor, e.Message)
	}
}

func formatLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}
