package web

import (
	"fmt"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// The problem chart's geometry (its viewBox; CSS scales it) and its most
// bars: a longer life takes several days a bar.
const (
	pcW, pcH           = 640, 160
	pcLeft, pcBottom   = 34, 22
	pcTop, pcRight     = 10, 8
	pcMaxBars          = 60
	pcMaxBarW          = 40
	pcLabelW           = 130 // room for both date labels
	pcDay              = 24 * time.Hour
	pcPlotW, pcPlotH   = pcW - pcLeft - pcRight, pcH - pcTop - pcBottom
	pcBaseline, pcAxis = pcTop + pcPlotH, pcLeft - 4
)

// problemChart is a problem's "linked incidents over time": how many of
// its incidents opened in each bar of Days days (UTC), from its first
// incident's day to the day it was resolved, or to today while it is
// active.
type problemChart struct {
	Bars []chartBar
	// Days is how many days one bar counts.
	Days       int
	Total, Max int
	// Busiest is the first bar with Max incidents.
	Busiest chartBar
	// The geometry, for the template; End is where the last bar ends.
	W, H, Left, Right, Top, Baseline, Axis int
	End                                    float64
}

// LabelEnd reports whether the last bar's date fits beside the first's.
func (c problemChart) LabelEnd() bool { return c.End-float64(c.Left) >= pcLabelW }

// chartBar is one bar: the incidents opened from From for Days days.
type chartBar struct {
	From, Until  time.Time // Until is the bar's last day
	Count        int
	X, Y, BW, BH float64
}

// Label names the bar's days.
func (b chartBar) Label() string {
	if b.Until.Equal(b.From) {
		return b.From.Format(time.DateOnly)
	}
	return b.From.Format(time.DateOnly) + " to " + b.Until.Format(time.DateOnly)
}

// Summary says what the chart shows, in words: its text equivalent.
func (c problemChart) Summary() string {
	if c.Total == 0 {
		return "No linked incidents to chart."
	}
	per := "day"
	if c.Days > 1 {
		per = fmt.Sprintf("%d days", c.Days)
	}
	first, last := c.Bars[0], c.Bars[len(c.Bars)-1]
	return fmt.Sprintf("%d linked %s from %s to %s (UTC), counted per %s; the most in one bar: %d (%s).",
		c.Total, plural(c.Total, "incident", "incidents"), first.From.Format(time.DateOnly), last.Until.Format(time.DateOnly),
		per, c.Max, c.Busiest.Label())
}

// chartUTCDay is the start of t's day in UTC.
func chartUTCDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// chartOf counts the problem's incidents per bar at now.
func chartOf(p incident.Problem, incs []incident.Incident, now time.Time) problemChart {
	c := problemChart{W: pcW, H: pcH, Left: pcLeft, Right: pcW - pcRight, Top: pcTop,
		Baseline: pcBaseline, Axis: pcAxis}
	var first, last time.Time
	for _, inc := range incs {
		if inc.OpenedAt.IsZero() {
			continue
		}
		if first.IsZero() || inc.OpenedAt.Before(first) {
			first = inc.OpenedAt
		}
		if inc.OpenedAt.After(last) {
			last = inc.OpenedAt
		}
	}
	if first.IsZero() {
		return c
	}
	end := p.ResolvedAt
	if p.State.Active() {
		end = now
	}
	if end.Before(last) {
		end = last
	}
	start := chartUTCDay(first)
	days := int(chartUTCDay(end).Sub(start)/pcDay) + 1
	c.Days = (days + pcMaxBars - 1) / pcMaxBars
	n := (days + c.Days - 1) / c.Days
	c.Bars = make([]chartBar, n)
	for _, inc := range incs {
		if inc.OpenedAt.IsZero() {
			continue
		}
		i := int(chartUTCDay(inc.OpenedAt).Sub(start)/pcDay) / c.Days
		c.Bars[i].Count++
		c.Total++
	}
	bw := min(float64(pcPlotW)/float64(n), pcMaxBarW)
	gap := 0.0
	if bw > 4 {
		gap = 1
	}
	for i := range c.Bars {
		b := &c.Bars[i]
		b.From = start.AddDate(0, 0, i*c.Days)
		b.Until = b.From.AddDate(0, 0, c.Days-1)
		if b.Count > c.Max {
			c.Max, c.Busiest = b.Count, *b
		}
	}
	for i := range c.Bars {
		b := &c.Bars[i]
		b.BH = float64(pcPlotH) * float64(b.Count) / float64(c.Max)
		b.X, b.Y, b.BW = float64(pcLeft)+float64(i)*bw+gap/2, float64(pcBaseline)-b.BH, bw-gap
	}
	c.End = float64(pcLeft) + float64(n)*bw
	return c
}
