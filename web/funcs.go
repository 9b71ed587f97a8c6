package web

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// funcs are the template functions every page may use.
var funcs = template.FuncMap{
	"ts":         timestamp,
	"ago":        ago,
	"dur":        humanDuration,
	"prio":       prioClass,
	"state":      stateClass,
	"sla":        slaOf,
	"setq":       setQuery,
	"incURL":     func(id int64) string { return "/incidents/" + strconv.FormatInt(id, 10) },
	"problemURL": func(id int64) string { return "/problems/" + strconv.FormatInt(id, 10) },
	"join":       strings.Join,
	"plural":     plural,
	"add":        func(a, b int) int { return a + b },
}

// timestamp renders a time as a <time> element in UTC, which the page's
// script turns into the browser's zone, with the zone named; "–" for the
// zero time.
func timestamp(t time.Time) template.HTML {
	if t.IsZero() {
		return "–"
	}
	u := t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s" data-local>%s</time>`,
		u.Format(time.RFC3339), template.HTMLEscapeString(u.Format("2006-01-02 15:04 UTC"))))
}

// ago is how long before now t was, in one or two units ("3h 12m").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return humanDuration(now.Sub(t))
}

// humanDuration is d in its two largest units: "45s", "12m", "3h 12m",
// "2d 4h".
func humanDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		s = fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		s = fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
	if neg {
		return "-" + s
	}
	return s
}

func prioClass(p incident.Priority) string { return "p" + strconv.Itoa(int(p)) }

func stateClass(s incident.State) string { return "st-" + string(s) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// slaBadge is an incident's SLA clock as a list shows it: the next target
// and how much time is left, or which target was breached.
type slaBadge struct {
	// Text is "respond 12m", "resolve 3h 4m", "breached", "met", or "".
	Text string
	// Class is "ok", "warn" (under a quarter of the target left),
	// "breached" or "met".
	Class string
	// Deadline is the target counted down to (zero once breached or met):
	// the page's script keeps the text current.
	Deadline time.Time
	Label    string
}

// slaOf is the SLA badge of inc at now.
func slaOf(now time.Time, inc incident.Incident) slaBadge {
	switch {
	case inc.RespondBy.IsZero() && inc.ResolveBy.IsZero():
		return slaBadge{}
	case !inc.RespondBreachedAt.IsZero() || !inc.ResolveBreachedAt.IsZero():
		what := "resolve"
		if !inc.RespondBreachedAt.IsZero() {
			what = "respond"
		}
		return slaBadge{Text: what + " breached", Class: "breached"}
	case inc.State.Ended():
		return slaBadge{Text: "met", Class: "met"}
	}
	label, target, from := "resolve", inc.ResolveBy, inc.OpenedAt
	if inc.AcknowledgedAt.IsZero() && !inc.RespondBy.IsZero() {
		label, target = "respond", inc.RespondBy
	}
	left := target.Sub(now)
	b := slaBadge{Label: label, Deadline: target, Class: "ok"}
	if left <= 0 {
		b.Text, b.Class = label+" overdue", "breached"
		return b
	}
	if total := target.Sub(from); total > 0 && left < total/4 {
		b.Class = "warn"
	}
	b.Text = label + " " + humanDuration(left)
	return b
}

// setQuery is the current URL with key set to value ("" removes it) and
// the page cursor dropped: the links of filters and pages.
func setQuery(current, key, value string) string {
	u, err := url.Parse(current)
	if err != nil {
		return current
	}
	q := u.Query()
	q.Del("cursor")
	q.Del("notice")
	q.Del("error")
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
