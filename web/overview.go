package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

// overviewRoutes are the overview page.
func (u *UI) overviewRoutes() []route {
	return []route{
		// GET /overview: the service-level figures (viewer).
		{"GET /overview", access.RoleViewer, u.overview},
	}
}

// overviewPeriods are the periods the overview offers, shortest first.
var overviewPeriods = []struct {
	Name string
	D    time.Duration
}{
	{"24h", 24 * time.Hour},
	{"7d", 7 * 24 * time.Hour},
	{"30d", 30 * 24 * time.Hour},
	{"90d", 90 * 24 * time.Hour},
}

// defaultOverviewPeriod is the period without ?period: the API's default
// window (incident.DefaultStatsWindow).
const defaultOverviewPeriod = "7d"

// overviewFilter is the overview's filter as the URL carries it.
type overviewFilter struct {
	Period, Service, Priority string
}

// statsFilter is the stats filter of the period ending at now.
func (f overviewFilter) statsFilter(now time.Time) (incident.StatsFilter, error) {
	out := incident.StatsFilter{Until: now, Service: f.Service}
	names := make([]string, 0, len(overviewPeriods))
	for _, p := range overviewPeriods {
		names = append(names, p.Name)
		if p.Name == f.Period {
			out.Since = now.Add(-p.D)
		}
	}
	if out.Since.IsZero() {
		return out, fmt.Errorf("period %q: want one of %s", f.Period, strings.Join(names, ", "))
	}
	if f.Priority != "" {
		p, err := incident.ParsePriority(f.Priority)
		if err != nil {
			return out, fmt.Errorf("priority: %w", err)
		}
		out.Priority = p
	}
	return out, nil
}

// overviewView is the overview's data.
type overviewView struct {
	Filter     overviewFilter
	Periods    []string
	Priorities []string
	// Stats is nil when the filter was refused.
	Stats *overviewStats
}

// overviewStats are the figures of one period: incident.Summarize's, as
// GET /api/v1/stats shows them, and the charts drawn from them.
type overviewStats struct {
	Since, Until time.Time
	incident.Summary
	PerDayChart, BacklogChart, NoiseChart barChart
}

// overview serves the overview (viewer): the stats of a period ending now
// (?period=24h|7d|30d|90d, default 7d), of one service and priority when
// asked, read by the same Reader.Stats and incident.Summarize as GET
// /api/v1/stats.
func (u *UI) overview(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := overviewFilter{Period: q.Get("period"), Service: strings.TrimSpace(q.Get("service")), Priority: q.Get("priority")}
	if f.Period == "" {
		f.Period = defaultOverviewPeriod
	}
	ov := overviewView{Filter: f, Priorities: priorities}
	for _, p := range overviewPeriods {
		ov.Periods = append(ov.Periods, p.Name)
	}
	now := u.o.Now()
	sf, err := f.statsFilter(now)
	if err != nil {
		v := u.view(r, "overview", "Overview", ov)
		v.Error = err.Error()
		u.render(w, r, http.StatusBadRequest, "overview", v)
		return
	}
	figs, err := u.o.Reader.Stats(r.Context(), sf, now)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	s := incident.Summarize(figs)
	ov.Stats = &overviewStats{Since: sf.Since, Until: sf.Until, Summary: s,
		PerDayChart: perDayChart(sf, s.OpenedPerDay), BacklogChart: backlogChart(s.Backlog), NoiseChart: noiseChart(s)}
	u.render(w, r, http.StatusOK, "overview", u.view(r, "overview", "Overview", ov))
}

// perDayChart is the incidents opened per UTC day of the window, stacked
// by priority: a bar for every day the window touches, empty days too.
func perDayChart(f incident.StatsFilter, days []incident.DayCount) barChart {
	first := f.Since.UTC().Truncate(24 * time.Hour)
	last := f.Until.Add(-time.Nanosecond).UTC().Truncate(24 * time.Hour)
	c := barChart{ID: "chart-per-day", Title: "Incidents opened per day by priority",
		Empty: "No incidents opened in this period"}
	n := int(last.Sub(first)/(24*time.Hour)) + 1
	for d := range n {
		c.Labels = append(c.Labels, first.AddDate(0, 0, d).Format("01-02"))
	}
	for _, p := range priorities {
		c.Series = append(c.Series, barSeries{Name: p, Class: "s-" + strings.ToLower(p), Values: make([]int, n)})
	}
	byPriority := make([]int, len(priorities))
	for _, dc := range days {
		i, p := int(dc.Day.Sub(first)/(24*time.Hour)), int(dc.Priority)-1
		if i < 0 || i >= n || p < 0 || p >= len(c.Series) {
			continue // not of the window or no priority: cannot happen with the store's figures
		}
		c.Series[p].Values[i] += dc.Incidents
		byPriority[p] += dc.Incidents
	}
	parts := make([]string, len(priorities))
	for i, p := range priorities {
		parts[i] = fmt.Sprintf("%s %d", p, byPriority[i])
	}
	c.Desc = fmt.Sprintf("Stacked bars, one per UTC day from %s to %s; opened by priority: %s.",
		first.Format(time.DateOnly), last.Format(time.DateOnly), strings.Join(parts, ", "))
	return c
}

// Day is the date of bar i of the per-day chart.
func (s *overviewStats) Day(i int) string {
	return s.Since.UTC().Truncate(24*time.Hour).AddDate(0, 0, i).Format(time.DateOnly)
}

// backlogChart is the open backlog by age bucket.
func backlogChart(b incident.Backlog) barChart {
	c := barChart{ID: "chart-backlog", Title: "Open incidents by age", Empty: "No open incidents",
		Series: []barSeries{{Name: "open", Class: "s-backlog", Values: b.Counts[:]}}}
	parts := make([]string, 0, len(incident.BacklogAges))
	for i, a := range incident.BacklogAges {
		c.Labels = append(c.Labels, a.Label)
		parts = append(parts, fmt.Sprintf("%s %d", a.Label, b.Counts[i]))
	}
	c.Desc = "Bars by age: " + strings.Join(parts, ", ") + "."
	return c
}

// noiseChart is events → alerts → incidents.
func noiseChart(s incident.Summary) barChart {
	return barChart{ID: "chart-noise", Title: "Noise reduction",
		Desc:   fmt.Sprintf("Bars: %d events, %d alerts, %d incidents.", s.Events, s.Alerts, s.Opened),
		Labels: []string{"events", "alerts", "incidents"}, Empty: "No events in this period",
		Series: []barSeries{{Name: "count", Class: "s-noise", Values: []int{s.Events, s.Alerts, s.Opened}}}}
}

// figure is one number of the overview: Text as the page shows it and
// Value as GET /api/v1/stats writes it (a data-value, for scripts and
// tests; "" where the API says null).
type figure struct{ Text, Value string }

// durationFigures are the mean, p50 and p90 of a duration summary.
func durationFigures(d incident.DurationSummary) (mean, p50, p90 figure) {
	if d.Count == 0 {
		return figure{Text: "–"}, figure{Text: "–"}, figure{Text: "–"}
	}
	of := func(secs float64) figure {
		return figure{Text: humanDuration(time.Duration(secs * float64(time.Second))), Value: floatValue(secs)}
	}
	return of(d.MeanSeconds), of(d.P50.Seconds()), of(d.P90.Seconds())
}

// Durations are the rows of the response times' table.
func (s *overviewStats) Durations() []durationRow {
	row := func(name, id string, d incident.DurationSummary) durationRow {
		r := durationRow{Name: name, ID: id, Count: d.Count}
		r.Mean, r.P50, r.P90 = durationFigures(d)
		return r
	}
	return []durationRow{row("Time to acknowledge (MTTA)", "mtta", s.MTTA), row("Time to resolve (MTTR)", "mttr", s.MTTR)}
}

// durationRow is a row of the response times' table.
type durationRow struct {
	Name, ID       string
	Count          int
	Mean, P50, P90 figure
}

// RespondFigure is the respond target's attainment.
func (s *overviewStats) RespondFigure() figure { return ratioFigure(s.RespondAttainment) }

// ResolveFigure is the resolve target's attainment.
func (s *overviewStats) ResolveFigure() figure { return ratioFigure(s.ResolveAttainment) }

// OldestFigure is the age of the oldest open incident.
func (s *overviewStats) OldestFigure() figure {
	if s.OldestOpen == nil {
		return figure{Text: "–"}
	}
	return figure{Text: humanDuration(*s.OldestOpen), Value: floatValue(s.OldestOpen.Seconds())}
}

// EventsPerIncidentFigure is events over incidents opened.
func (s *overviewStats) EventsPerIncidentFigure() figure {
	if s.EventsPerIncident == nil {
		return figure{Text: "–"}
	}
	return figure{Text: strconv.FormatFloat(*s.EventsPerIncident, 'f', 1, 64), Value: floatValue(*s.EventsPerIncident)}
}

func ratioFigure(r *float64) figure {
	if r == nil {
		return figure{Text: "–"}
	}
	return figure{Text: strconv.FormatFloat(*r*100, 'f', 1, 64) + "%", Value: floatValue(*r)}
}

// floatValue writes v exactly, so a reader parses back the same float.
func floatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
