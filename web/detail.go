package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

const (
	// alertLimit is how many alerts the page lists (firing first); the
	// API has them all.
	alertLimit = 200
	// timelineLimit is how many timeline entries the page shows, the
	// newest; the API has them all.
	timelineLimit = 1000
	// historyPerAlert is how many of an alert's latest firings its
	// history strip draws.
	historyPerAlert = 20
)

// incidentRoutes are the incident detail page and its forms. Who may call
// them: the page is a viewer's; acknowledge, resolve and comment are a
// responder's; merge and unlink an admin's, as in the API.
func (u *UI) incidentRoutes() []route {
	return []route{
		{"GET /incidents/{id}", access.RoleViewer, u.incident},
		{"POST /incidents/{id}/acknowledge", access.RoleResponder, u.act(incident.ActionAcknowledge)},
		{"POST /incidents/{id}/resolve", access.RoleResponder, u.act(incident.ActionResolve)},
		{"POST /incidents/{id}/comment", access.RoleResponder, u.act(incident.ActionComment)},
		{"POST /incidents/{id}/merge", access.RoleAdmin, u.act(incident.ActionMerge)},
		{"POST /incidents/{id}/unlink", access.RoleAdmin, u.act(incident.ActionUnlink)},
	}
}

// detailView is the incident page's data.
type detailView struct {
	Inc incident.Incident
	SLA slaBadge
	// Clocks are the respond and resolve targets.
	Clocks []slaClock
	// Alerts are the listed alerts, firing first; Hidden counts the rest.
	Alerts []alertRow
	Hidden int
	// HistoryFrom is where the history strips begin.
	HistoryFrom time.Time
	Why         why
	Changes     []incident.ChangeLink
	Problem     *incident.Problem
	Tickets     []incident.Ticket
	// Timeline is oldest first; Older counts the entries left out before
	// it.
	Timeline []incident.TimelineEntry
	Older    int
}

// slaClock is one SLA target of an incident as the page shows it.
type slaClock struct {
	Name string
	Due  time.Time
	// Breached is when it was missed, Met when it was met (zero: not).
	Breached, Met time.Time
	Badge         slaBadge
}

// alertRow is one correlated alert.
type alertRow struct {
	incident.Alert
	Name string
	// Symptom says why it joined as a symptom of another service's
	// incident ("" if it did not).
	Symptom string
	// History draws its latest firings.
	History template.HTML
	// Firings counts them.
	Firings int
}

// labelPair is a label's name and value.
type labelPair struct{ Name, Value string }

// why is why the incident's alerts are together.
type why struct {
	Rule string
	Key  string
	// By are the rule's by labels and their values.
	By []labelPair
	// Symptoms are the dependencies that pulled alerts in ("symptom of #12
	// via depends_on"), Merged the merges into and out of it.
	Symptoms []string
	Merged   []incident.TimelineEntry
	Manual   bool
}

// incident serves an incident's page (viewer).
func (u *UI) incident(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(r)
	if !ok {
		u.fail(w, r, incident.ErrNotFound)
		return
	}
	inc, err := u.o.Reader.Incident(ctx, id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	now := u.o.Now()
	dv := detailView{Inc: inc, SLA: slaOf(now, inc), Clocks: clocksOf(now, inc)}
	alerts, err := u.o.Reader.Alerts(ctx, id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	timeline, err := u.o.Reader.Timeline(ctx, id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	history, err := u.o.Reader.AlertHistory(ctx, id, historyPerAlert)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if dv.Changes, err = u.o.Reader.IncidentChanges(ctx, id); err != nil {
		u.fail(w, r, err)
		return
	}
	if dv.Tickets, err = u.o.Reader.Tickets(ctx, id); err != nil {
		u.fail(w, r, err)
		return
	}
	if inc.ProblemID != 0 {
		p, err := u.o.Reader.Problem(ctx, inc.ProblemID)
		switch {
		case err == nil:
			dv.Problem = &p
		case !errors.Is(err, incident.ErrNotFound):
			u.fail(w, r, err)
			return
		}
	}
	dv.Why = whyOf(inc, timeline)
	dv.Alerts, dv.Hidden, dv.HistoryFrom = alertRows(now, alerts, timeline, history)
	if len(timeline) > timelineLimit {
		dv.Older = len(timeline) - timelineLimit
		timeline = timeline[dv.Older:]
	}
	dv.Timeline = timeline
	u.render(w, r, http.StatusOK, "incident", u.view(r, "incidents", fmt.Sprintf("#%d %s", inc.ID, inc.Title), dv))
}

// act carries out a form of the incident page as the signed-in identity
// and returns to the page (to the target for a merge, to the new incident
// for an unlink) with what happened.
func (u *UI) act(a incident.Action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(r)
		if !ok {
			u.fail(w, r, incident.ErrNotFound)
			return
		}
		self := "/incidents/" + strconv.FormatInt(id, 10)
		cmd := incident.Command{IncidentID: id, Action: a, Actor: actor(r), Message: strings.TrimSpace(r.PostFormValue("message"))}
		switch a {
		case incident.ActionComment:
			if cmd.Message == "" {
				back(w, r, self, "", errors.New("comment: write something to add"))
				return
			}
		case incident.ActionMerge:
			into, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("into")), "#"), 10, 64)
			if err != nil || into <= 0 {
				back(w, r, self, "", errors.New("merge: give the number of the incident to merge into"))
				return
			}
			cmd.Into = into
		case incident.ActionUnlink:
			cmd.Fingerprint, cmd.Source = r.PostFormValue("fingerprint"), r.PostFormValue("source")
			if cmd.Fingerprint == "" {
				back(w, r, self, "", errors.New("unlink: choose an alert"))
				return
			}
		}
		if len(cmd.Message) > 10000 {
			back(w, r, self, "", errors.New("message: at most 10000 characters"))
			return
		}
		got, err := u.o.Executor.Execute(r.Context(), cmd)
		switch {
		case err == nil:
		case errors.Is(err, incident.ErrInvalid), errors.Is(err, incident.ErrConflict):
			back(w, r, self, "", err)
			return
		case errors.Is(err, incident.ErrNotFound) && a == incident.ActionMerge:
			back(w, r, self, "", fmt.Errorf("merge: no incident #%d", cmd.Into))
			return
		default:
			u.fail(w, r, err)
			return
		}
		target := self
		if (a == incident.ActionMerge || a == incident.ActionUnlink) && got.ID != 0 {
			target = "/incidents/" + strconv.FormatInt(got.ID, 10)
		}
		back(w, r, target, actionNotice[a], nil)
	}
}

// actionNotice is what the page says after a form.
var actionNotice = map[incident.Action]string{
	incident.ActionAcknowledge: "Acknowledged.",
	incident.ActionResolve:     "Resolved.",
	incident.ActionComment:     "Comment added.",
	incident.ActionMerge:       "Merged.",
	incident.ActionUnlink:      "Alert moved to this new incident.",
}

// pathID is the {id} of the path.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// clocksOf are inc's SLA targets.
func clocksOf(now time.Time, inc incident.Incident) []slaClock {
	var out []slaClock
	add := func(name string, due, breached, met time.Time) {
		if due.IsZero() {
			return
		}
		c := slaClock{Name: name, Due: due, Breached: breached}
		if breached.IsZero() && !met.IsZero() && !met.After(due) {
			c.Met = met
		}
		if c.Breached.IsZero() && c.Met.IsZero() {
			left := due.Sub(now)
			c.Badge = slaBadge{Text: name + " " + humanDuration(left), Class: "ok", Deadline: due, Label: name}
			if left <= 0 {
				c.Badge = slaBadge{Text: name + " overdue", Class: "breached"}
			} else if total := due.Sub(inc.OpenedAt); total > 0 && left < total/4 {
				c.Badge.Class = "warn"
			}
		}
		out = append(out, c)
	}
	add("respond", inc.RespondBy, inc.RespondBreachedAt, inc.AcknowledgedAt)
	add("resolve", inc.ResolveBy, inc.ResolveBreachedAt, inc.ResolvedAt)
	return out
}

// whyOf explains why inc's alerts are together: its rule and key, the
// symptoms that joined through dependencies and the merges.
func whyOf(inc incident.Incident, timeline []incident.TimelineEntry) why {
	w := why{Rule: inc.Rule, Key: inc.CorrelationKey, Manual: inc.Source == incident.SourceManual}
	if i := strings.IndexByte(inc.CorrelationKey, '{'); i >= 0 {
		if ms, err := labels.ParseMatchers(inc.CorrelationKey[i:]); err == nil {
			for _, m := range ms {
				w.By = append(w.By, labelPair{Name: m.Name, Value: m.Value})
			}
		}
	}
	for _, e := range timeline {
		switch e.Kind {
		case incident.TimelineSymptom:
			if !slices.Contains(w.Symptoms, e.Message) {
				w.Symptoms = append(w.Symptoms, e.Message)
			}
		case incident.TimelineMerged:
			w.Merged = append(w.Merged, e)
		}
	}
	return w
}

// alertRows are the alerts the page lists (firing first, then by when
// they joined), with their symptom reason and firing history, how many
// were left out, and where the history strips begin.
func alertRows(now time.Time, alerts []incident.Alert, timeline []incident.TimelineEntry, history []incident.Episode) ([]alertRow, int, time.Time) {
	slices.SortStableFunc(alerts, func(a, b incident.Alert) int {
		return boolRank(a.Status != incident.StatusFiring) - boolRank(b.Status != incident.StatusFiring)
	})
	hidden := 0
	if len(alerts) > alertLimit {
		hidden = len(alerts) - alertLimit
		alerts = alerts[:alertLimit]
	}
	symptom := map[string]string{}
	for _, e := range timeline {
		if e.Kind == incident.TimelineSymptom && e.Fingerprint != "" {
			symptom[e.Fingerprint] = e.Message
		}
	}
	type alertKey struct{ source, fp string }
	firings := map[alertKey][]incident.Episode{}
	from := now.Add(-time.Hour)
	for _, ep := range history {
		k := alertKey{ep.Source, ep.Fingerprint}
		firings[k] = append(firings[k], ep)
		if ep.StartsAt.Before(from) {
			from = ep.StartsAt
		}
	}
	rows := make([]alertRow, len(alerts))
	for i, a := range alerts {
		eps := firings[alertKey{a.Source, a.Fingerprint}]
		rows[i] = alertRow{Alert: a, Name: a.Labels["alertname"], Symptom: symptom[a.Fingerprint], Firings: len(eps),
			History: historyStrip(from, now, eps)}
	}
	return rows, hidden, from
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// historyStrip draws an alert's firings between from and now as a small
// inline SVG: one bar per firing, open-ended ones up to now. A firing with
// no end that a later firing of the alert followed is not still firing:
// its resolve never came (lost, or never sent), and it ended before the
// later one started, so it is drawn up to that start and says so.
func historyStrip(from, now time.Time, eps []incident.Episode) template.HTML {
	const width, height = 160.0, 14.0
	span := now.Sub(from).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 {
		v := t.Sub(from).Seconds() / span * width
		return min(max(v, 0), width)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="history" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%d %s since %s">`,
		width, height, width, height, len(eps), plural(len(eps), "firing", "firings"), from.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, `<rect class="track" x="0" y="5" width="%.0f" height="4"/>`, width)
	for _, ep := range eps {
		end, open := ep.EndsAt, ep.EndsAt.IsZero() || ep.EndsAt.After(now)
		text := ""
		if next := nextStart(eps, ep.StartsAt); open && !next.IsZero() && !next.After(now) {
			end, open = next, false
			text = "end not received, before " + next.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		if open {
			end = now
		}
		x0, x1 := x(ep.StartsAt), x(end)
		cls := "fired"
		if open {
			cls = "firing"
		}
		if text == "" {
			text = endText(ep.EndsAt, open)
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="1" width="%.1f" height="12"><title>%s – %s</title></rect>`,
			cls, x0, max(x1-x0, 1.5), ep.StartsAt.UTC().Format("2006-01-02 15:04:05 UTC"), text)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every value above is a number, a formatted time or a constant text
}

// nextStart is the earliest start among eps after t, or the zero time.
func nextStart(eps []incident.Episode, t time.Time) time.Time {
	var next time.Time
	for _, ep := range eps {
		if ep.StartsAt.After(t) && (next.IsZero() || ep.StartsAt.Before(next)) {
			next = ep.StartsAt
		}
	}
	return next
}

func endText(end time.Time, open bool) string {
	if open {
		return "still firing"
	}
	return end.UTC().Format("2006-01-02 15:04:05 UTC")
}
