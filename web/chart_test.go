package web

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// svgDoc is the structure of a chart's SVG, as a parser reads it.
type svgDoc struct {
	XMLName    xml.Name `xml:"svg"`
	Role       string   `xml:"role,attr"`
	LabelledBy string   `xml:"aria-labelledby,attr"`
	ViewBox    string   `xml:"viewBox,attr"`
	Title      struct {
		ID   string `xml:"id,attr"`
		Text string `xml:",chardata"`
	} `xml:"title"`
	Desc struct {
		ID   string `xml:"id,attr"`
		Text string `xml:",chardata"`
	} `xml:"desc"`
	Rects []struct {
		Class  string  `xml:"class,attr"`
		X      float64 `xml:"x,attr"`
		Y      float64 `xml:"y,attr"`
		Height float64 `xml:"height,attr"`
		Title  string  `xml:"title"`
	} `xml:"rect"`
	Texts []struct {
		Class string `xml:"class,attr"`
		Text  string `xml:",chardata"`
	} `xml:"text"`
}

// bar is a rect as the tests compare it: its series, its tooltip and the
// value its height stands for on the chart's scale.
type bar struct {
	Class, Title string
	Value        float64
}

func TestBarChartSVG(t *testing.T) {
	tests := []struct {
		name  string
		chart barChart
		// top is the value at the top of the scale (niceCeil of the
		// highest bar); 0 for an empty chart.
		top       int
		bars      []bar
		values    []string // the totals written above the bars
		labels    []string // the x labels written
		scale     []string // the y labels, bottom up
		emptyText string
	}{{
		name:      "Empty",
		chart:     barChart{Labels: []string{"a", "b"}, Series: []barSeries{{Name: "P1", Class: "s-p1", Values: []int{0, 0}}}, Empty: "Nothing here"},
		emptyText: "Nothing here",
	}, {
		name:  "NoLabels",
		chart: barChart{Empty: "Nothing here"}, emptyText: "Nothing here",
	}, {
		name:   "OneBar",
		chart:  barChart{Labels: []string{"<1h"}, Series: []barSeries{{Name: "open", Class: "s-backlog", Values: []int{3}}}},
		top:    5,
		bars:   []bar{{"s-backlog", "<1h open: 3", 3}},
		values: []string{"3"}, labels: []string{"<1h"}, scale: []string{"0", "5"},
	}, {
		// Zero parts draw nothing; each bar is its parts stacked, the
		// first series at the bottom.
		name: "Stacked",
		chart: barChart{Labels: []string{"d1", "d2", "d3"}, Series: []barSeries{
			{Name: "P1", Class: "s-p1", Values: []int{1, 0, 4}},
			{Name: "P2", Class: "s-p2", Values: []int{2, 0, 6}},
		}},
		top: 10,
		bars: []bar{
			{"s-p1", "d1 P1: 1", 1}, {"s-p2", "d1 P2: 2", 2},
			{"s-p1", "d3 P1: 4", 4}, {"s-p2", "d3 P2: 6", 6},
		},
		values: []string{"3", "10"}, labels: []string{"d1", "d2", "d3"}, scale: []string{"0", "5", "10"},
	}, {
		// 40 bars: no totals written, and every 4th label, so that
		// they do not overlap.
		name:   "ManyBars",
		chart:  manyBars(40),
		top:    1,
		bars:   manyBarRects(40),
		labels: []string{"0", "4", "8", "12", "16", "20", "24", "28", "32", "36"}, scale: []string{"0", "1"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.chart.ID, tt.chart.Title, tt.chart.Desc = "c1", "A <chart>", "Described & told"
			out := string(tt.chart.SVG())
			var doc svgDoc
			if err := xml.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("not well-formed SVG: %v\n%s", err, out)
			}
			if doc.Role != "img" || doc.LabelledBy != "c1-t c1-d" || doc.Title.ID != "c1-t" || doc.Desc.ID != "c1-d" {
				t.Errorf("accessible name: role %q labelledby %q title id %q desc id %q", doc.Role, doc.LabelledBy, doc.Title.ID, doc.Desc.ID)
			}
			if doc.Title.Text != "A <chart>" || doc.Desc.Text != "Described & told" {
				t.Errorf("title %q, desc %q: want them escaped and read back", doc.Title.Text, doc.Desc.Text)
			}
			var got []bar
			var base float64 = chartTop + chartPlotHeight
			tops := map[float64]float64{} // x → the top of the bar's stack so far
			for _, r := range doc.Rects {
				value := math.Round(r.Height/chartPlotHeight*float64(tt.top)*10) / 10
				got = append(got, bar{r.Class, r.Title, value})
				top, ok := tops[r.X]
				if !ok {
					top = base
				}
				if diff := r.Y + r.Height - top; diff > 0.15 || diff < -0.15 {
					t.Errorf("rect %q is not stacked on the one below: bottom %.1f, want %.1f", r.Title, r.Y+r.Height, top)
				}
				tops[r.X] = r.Y
			}
			if diff := cmp.Diff(tt.bars, got); diff != "" {
				t.Errorf("bars mismatch (-want +got):\n%s", diff)
			}
			var values, labels, scale []string
			empty := ""
			for _, x := range doc.Texts {
				switch x.Class {
				case "value":
					values = append(values, x.Text)
				case "empty":
					empty = x.Text
				case "x":
					labels = append(labels, x.Text)
				case "y":
					scale = append(scale, x.Text)
				}
			}
			if diff := cmp.Diff(tt.scale, scale); diff != "" {
				t.Errorf("y labels mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.values, values); diff != "" {
				t.Errorf("totals mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.labels, labels); diff != "" {
				t.Errorf("x labels mismatch (-want +got):\n%s", diff)
			}
			if empty != tt.emptyText {
				t.Errorf("empty text %q, want %q", empty, tt.emptyText)
			}
		})
	}
}

func manyBars(n int) barChart {
	c := barChart{Series: []barSeries{{Name: "n", Class: "s-noise", Values: make([]int, n)}}}
	for i := range n {
		c.Labels = append(c.Labels, strconv.Itoa(i))
		c.Series[0].Values[i] = 1
	}
	return c
}

func manyBarRects(n int) []bar {
	var out []bar
	for i := range n {
		out = append(out, bar{"s-noise", strconv.Itoa(i) + " n: 1", 1})
	}
	return out
}

func TestNiceCeil(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{1, 1}, {2, 2}, {3, 5}, {5, 5}, {6, 10}, {11, 20}, {21, 50}, {51, 100}, {101, 200}, {9999, 10000}} {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestPerDayChart: a bar for each UTC day the window touches, the
// store's counts in their day and priority.
func TestPerDayChart(t *testing.T) {
	until := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	f := incident.StatsFilter{Since: until.Add(-7 * 24 * time.Hour), Until: until}
	c := perDayChart(f, []incident.DayCount{
		{Day: day(24), Priority: 1, Incidents: 2}, {Day: day(24), Priority: 3, Incidents: 1},
		{Day: day(30), Priority: 5, Incidents: 4}, {Day: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Priority: 2, Incidents: 1},
	})
	wantLabels := []string{"11-24", "11-25", "11-26", "11-27", "11-28", "11-29", "11-30", "12-01"}
	if diff := cmp.Diff(wantLabels, c.Labels); diff != "" {
		t.Errorf("labels mismatch (-want +got):\n%s", diff)
	}
	want := [][]int{
		{2, 0, 0, 0, 0, 0, 0, 0}, // P1
		{0, 0, 0, 0, 0, 0, 0, 1}, // P2
		{1, 0, 0, 0, 0, 0, 0, 0}, // P3
		{0, 0, 0, 0, 0, 0, 0, 0}, // P4
		{0, 0, 0, 0, 0, 0, 4, 0}, // P5
	}
	var got [][]int
	for _, s := range c.Series {
		got = append(got, s.Values)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values by priority mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(c.Desc, "from 2026-11-24 to 2026-12-01; opened by priority: P1 2, P2 1, P3 1, P4 0, P5 4.") {
		t.Errorf("desc %q", c.Desc)
	}
}
