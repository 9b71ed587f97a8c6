package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// barChart is a bar chart drawn on the server as inline SVG, so a page
// needs no script to show it: one bar per label, each bar its series'
// values stacked bottom up. The SVG is an image to assistive technology
// (role="img" with a title and a description); the page shows the same
// numbers as a table beside it.
type barChart struct {
	// ID prefixes the ids of the SVG's title and description; unique in
	// the page.
	ID          string
	Title, Desc string
	// Labels name the bars, left to right.
	Labels []string
	// Series are stacked in order, the first at the bottom.
	Series []barSeries
	// Empty is what the chart says when every value is 0.
	Empty string
}

// barSeries is one stacked part of every bar.
type barSeries struct {
	Name string
	// Class is the CSS class filling its bars (app.css: .s-*).
	Class string
	// Values has one value per label.
	Values []int
}

// The chart's geometry, in SVG user units: CSS scales the whole to the
// page's width (svg.chart in app.css), so it reads at a phone's width too.
const (
	chartWidth, chartHeight = 480, 180
	chartLeft, chartRight   = 30, 6
	chartTop, chartBottom   = 18, 24
	chartPlotWidth          = chartWidth - chartLeft - chartRight
	chartPlotHeight         = chartHeight - chartTop - chartBottom
	// chartLabelWidth is the room one x label needs; labels are skipped
	// to keep that much between them.
	chartLabelWidth = 44
	// chartMaxValueLabels: above this many bars, the totals are only in
	// the page's table.
	chartMaxValueLabels = 31
	// chartBarShare is the part of its slot a bar fills.
	chartBarShare    = 0.7
	chartMinBarWidth = 1.0
)

// Total is the height of bar i: its series' values added.
func (c barChart) Total(i int) int {
	n := 0
	for _, s := range c.Series {
		if i < len(s.Values) {
			n += s.Values[i]
		}
	}
	return n
}

// SVG draws the chart.
func (c barChart) SVG() template.HTML {
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-labelledby="%[1]s-t %[1]s-d" viewBox="0 0 %[2]d %[3]d" width="%[2]d" height="%[3]d" xmlns="http://www.w3.org/2000/svg">`,
		esc(c.ID), chartWidth, chartHeight)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Desc))
	top := 0
	for i := range c.Labels {
		top = max(top, c.Total(i))
	}
	base := chartTop + chartPlotHeight
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, chartLeft, base, chartWidth-chartRight, base)
	if top == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d" text-anchor="middle">%s</text></svg>`,
			chartLeft+chartPlotWidth/2, chartTop+chartPlotHeight/2, esc(c.Empty))
		return template.HTML(b.String())
	}
	scale := niceCeil(top)
	// Grid lines at 0, the middle (when it is a whole number) and the top.
	ticks := []int{0, scale}
	if scale%2 == 0 {
		ticks = []int{0, scale / 2, scale}
	}
	for _, v := range ticks {
		y := float64(base) - float64(v)/float64(scale)*chartPlotHeight
		if v > 0 {
			fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%s" x2="%d" y2="%s"/>`, chartLeft, num(y), chartWidth-chartRight, num(y))
		}
		fmt.Fprintf(&b, `<text class="y" x="%d" y="%s" text-anchor="end">%d</text>`, chartLeft-4, num(y+4), v)
	}
	n := len(c.Labels)
	slot := float64(chartPlotWidth) / float64(n)
	bw := max(slot*chartBarShare, chartMinBarWidth)
	every := int(math.Ceil(float64(n) * chartLabelWidth / chartPlotWidth))
	for i, label := range c.Labels {
		x := float64(chartLeft) + float64(i)*slot + (slot-bw)/2
		y := float64(base)
		for _, s := range c.Series {
			if i >= len(s.Values) || s.Values[i] <= 0 {
				continue
			}
			h := float64(s.Values[i]) / float64(scale) * chartPlotHeight
			y -= h
			fmt.Fprintf(&b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s"><title>%s %s: %d</title></rect>`,
				esc(s.Class), num(x), num(y), num(bw), num(h), esc(label), esc(s.Name), s.Values[i])
		}
		if total := c.Total(i); total > 0 && n <= chartMaxValueLabels {
			fmt.Fprintf(&b, `<text class="value" x="%s" y="%s" text-anchor="middle">%d</text>`, num(x+bw/2), num(y-3), total)
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text class="x" x="%s" y="%d" text-anchor="middle">%s</text>`, num(x+bw/2), base+16, esc(label))
		}
	}
	b.WriteString(`</svg>`)
	// Safe: every string that came from data was escaped above.
	return template.HTML(b.String())
}

// niceCeil is the smallest 1, 2 or 5 × 10ⁿ at or above v (v > 0): the
// chart's top, so that its grid lines fall on round numbers.
func niceCeil(v int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
	}
}

// num formats a coordinate with at most one decimal.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}
