package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alertbridge/alertbridge/api"
)

const incidentsUsage = `usage: alertbridge incidents <command> [flags] [ID]

List, show, report, acknowledge, resolve or comment on incidents through
the REST API of a running alertbridge (docs/api.md). Flags may come before or after
the command and the ID.

commands:
  list      [--state S] [--priority P] [--service S] [--q TEXT] [--limit N] [--cursor C]
  show ID
  create    --title T --impact L --urgency L [--service S] [--description TEXT] [--actor NAME]
  ack ID    [--actor NAME] [--message TEXT]
  resolve ID [--actor NAME] [--message TEXT]
  comment ID --message TEXT [--actor NAME]

Run "alertbridge incidents <command> --help" for a command's flags. The exit
status is 0 on success, 1 when the call fails and 2 for a usage error.
`

// actionFlags are the flags of a verb that changes an incident.
func actionFlags(fs *flag.FlagSet, req *api.ActionRequest) {
	fs.StringVar(&req.Actor, "actor", "", "on whose behalf you act: recorded as on_behalf_of next to your API identity")
	fs.StringVar(&req.Message, "message", "", "note for the timeline")
}

// incidentAction wraps a call that answers with an incident.
func incidentAction(call func(ctx context.Context, c *cliClient, id int64) (api.Incident, error)) clientAction {
	return func(ctx context.Context, c *cliClient, id int64) (func(io.Writer, *time.Location), error) {
		inc, err := call(ctx, c, id)
		return func(w io.Writer, loc *time.Location) { printIncident(w, inc, loc) }, err
	}
}

var incidentsGroup = &clientGroup{
	name:  "incidents",
	noun:  "incident",
	usage: incidentsUsage,
	verbs: []clientVerb{
		{
			name:  "list",
			about: "List incidents, newest first, one page at a time: when there are more, the last line says\nwhich --cursor shows the next page.",
			flags: func(fs *flag.FlagSet) clientAction {
				var q api.ListQuery
				fs.StringVar(&q.State, "state", "", "pending, open, acknowledged, resolved, closed, or a comma-separated list of them")
				fs.StringVar(&q.Priority, "priority", "", "P1 .. P5")
				fs.StringVar(&q.Service, "service", "", "service name")
				fs.StringVar(&q.Q, "q", "", "text in the title or the correlation key")
				fs.IntVar(&q.Limit, "limit", 50, "page size, 1 to 500")
				fs.StringVar(&q.Cursor, "cursor", "", "continue a listing where its last page ended")
				return func(ctx context.Context, c *cliClient, _ int64) (func(io.Writer, *time.Location), error) {
					list, err := c.ListIncidents(ctx, q)
					return func(w io.Writer, loc *time.Location) { printList(w, list, loc) }, err
				}
			},
		},
		{
			name:  "show",
			id:    true,
			about: "Show an incident: its alerts and its timeline.",
			flags: func(*flag.FlagSet) clientAction {
				return incidentAction(func(ctx context.Context, c *cliClient, id int64) (api.Incident, error) {
					return c.Incident(ctx, id)
				})
			},
		},
		{
			name: "create",
			about: "Report an incident by hand (needs the responder role): its priority comes from impact x urgency\n" +
				"by the ITIL matrix, its source is manual, and its timeline says you reported it.",
			flags: func(fs *flag.FlagSet) clientAction {
				var req api.ReportRequest
				fs.StringVar(&req.Title, "title", "", "what is wrong, in one line (required)")
				fs.StringVar(&req.Service, "service", "", "the service affected")
				fs.StringVar(&req.Impact, "impact", "", "high, medium or low: how much is affected (required)")
				fs.StringVar(&req.Urgency, "urgency", "", "high, medium or low: how soon it must be fixed (required)")
				fs.StringVar(&req.Description, "description", "", "what is known so far")
				fs.StringVar(&req.OnBehalfOf, "actor", "", "on whose behalf you report: recorded as on_behalf_of next to your API identity")
				return incidentAction(func(ctx context.Context, c *cliClient, _ int64) (api.Incident, error) {
					return c.Report(ctx, req)
				})
			},
		},
		{
			name:  "ack",
			id:    true,
			about: "Acknowledge an incident (needs the responder role).",
			flags: func(fs *flag.FlagSet) clientAction {
				var req api.ActionRequest
				actionFlags(fs, &req)
				return incidentAction(func(ctx context.Context, c *cliClient, id int64) (api.Incident, error) {
					return c.Acknowledge(ctx, id, req)
				})
			},
		},
		{
			name:  "resolve",
			id:    true,
			about: "Resolve an incident by hand (needs the responder role).",
			flags: func(fs *flag.FlagSet) clientAction {
				var req api.ActionRequest
				actionFlags(fs, &req)
				return incidentAction(func(ctx context.Context, c *cliClient, id int64) (api.Incident, error) {
					return c.Resolve(ctx, id, req)
				})
			},
		},
		{
			name:  "comment",
			id:    true,
			about: "Add a comment to an incident's timeline (needs the responder role).",
			flags: func(fs *flag.FlagSet) clientAction {
				var req api.ActionRequest
				actionFlags(fs, &req)
				return incidentAction(func(ctx context.Context, c *cliClient, id int64) (api.Incident, error) {
					return c.Comment(ctx, id, req)
				})
			},
		},
	},
}

func runIncidents(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return incidentsGroup.run(ctx, args, stdout, stderr)
}

func printList(w io.Writer, l api.IncidentList, loc *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPRIO\tSTATE\tFIRING/TOTAL\tOPENED\tSERVICE\tOWNER\tTITLE")
	for _, i := range l.Incidents {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", i.ID, i.Priority, i.State, i.FiringCount, i.AlertCount,
			fmtTime(i.OpenedAt, loc), orDash(i.Service), orDash(i.Owner), i.Title)
	}
	tw.Flush()
	if l.NextCursor != "" {
		fmt.Fprintf(w, "(more: --cursor %s)\n", l.NextCursor)
	}
}

func printIncident(w io.Writer, i api.Incident, loc *time.Location) {
	fmt.Fprintf(w, "#%d %s [%s %s] %s\n", i.ID, i.Title, i.Priority, i.State, i.CorrelationKey)
	fmt.Fprintf(w, "impact %s, urgency %s, service %q, owner %q, rule %q, opened %s\n", i.Impact, i.Urgency, i.Service,
		i.Owner, i.Rule, fmtTime(i.OpenedAt, loc))
	if i.ClosedAt != nil {
		fmt.Fprintf(w, "closed %s: final, a new alert of its key opens a new incident\n", fmtTime(i.ClosedAt, loc))
	}
	if i.HistoryDeletedAt != nil {
		fmt.Fprintf(w, "alerts, timeline and events deleted by storage.retention %s\n", fmtTime(i.HistoryDeletedAt, loc))
	}
	if i.Summary != "" {
		fmt.Fprintf(w, "%s\n", i.Summary)
	}
	names := alertNames(i.Alerts)
	fmt.Fprintf(w, "\nalerts (%d firing of %d):\n", i.FiringCount, i.AlertCount)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ALERT\tSTATUS\tCOUNT\tSTARTED\tSOURCE/FINGERPRINT\tLABELS")
	for _, a := range i.Alerts {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\n", names[a.Fingerprint], a.Status, a.Count, fmtTime(&a.StartsAt, loc),
			a.Source+"/"+a.Fingerprint, formatLabels(a.Labels))
	}
	tw.Flush()
	fmt.Fprintln(w, "\ntimeline:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  AT\tKIND\tACTOR\tALERT\tMESSAGE")
	for _, e := range i.Timeline {
		alert := "-"
		if e.Fingerprint != "" {
			alert = names[e.Fingerprint]
			if alert == "" {
				alert = e.Fingerprint // an alert no longer on the incident (unlinked)
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", fmtTime(&e.At, loc), e.Kind, actor(e.Actor, e.OnBehalfOf), alert, oneLine(e.Message))
	}
	tw.Flush()
}

// actor renders who acted: the authenticated identity, and on whose behalf
// it said it acted ("rita for alice").
func actor(name, onBehalfOf string) string {
	if onBehalfOf == "" || onBehalfOf == name {
		return name
	}
	return name + " for " + onBehalfOf
}

// alertNames names each alert the way a responder recognises it: by its
// instance label, else its alertname, else its fingerprint. Where two
// alerts would share a name, the fingerprint tells them apart.
func alertNames(alerts []api.Alert) map[string]string {
	names := make(map[string]string, len(alerts))
	count := make(map[string]int, len(alerts))
	for _, a := range alerts {
		n := a.Fingerprint
		if v := a.Labels["instance"]; v != "" {
			n = v
		} else if v := a.Labels["alertname"]; v != "" {
			n = v
		}
		names[a.Fingerprint] = n
		count[n]++
	}
	for fp, n := range names {
		if count[n] > 1 && n != fp {
			names[fp] = n + " (" + fp + ")"
		}
	}
	return names
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
