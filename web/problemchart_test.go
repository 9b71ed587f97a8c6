package web

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func TestChartOf(t *testing.T) {
	d0 := time.Date(2026, 11, 1, 22, 0, 0, 0, time.UTC)
	opened := func(offsets ...time.Duration) []incident.Incident {
		var out []incident.Incident
		for _, o := range offsets {
			out = append(out, incident.Incident{OpenedAt: d0.Add(o)})
		}
		return out
	}
	const h = time.Hour
	now := d0.Add(10 * 24 * h)
	tests := []struct {
		name    string
		p       incident.Problem
		incs    []incident.Incident
		days    int
		counts  []int
		summary string
	}{
		{"NoIncidents", incident.Problem{State: incident.ProblemOpen}, nil, 0, nil, "No linked incidents to chart."},
		{"PendingIncidentsSkipped", incident.Problem{State: incident.ProblemOpen}, []incident.Incident{{}}, 0, nil, "No linked incidents to chart."},
		// Active: up to today; UTC days (22:00 and 03:00 the next day are two days).
		{"ActiveUntilNow", incident.Problem{State: incident.ProblemOpen}, opened(0, 5*h, 3*24*h), 1,
			[]int{1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0},
			"3 linked incidents from 2026-11-01 to 2026-11-11 (UTC), counted per day; the most in one bar: 1 (2026-11-01)."},
		{"ResolvedUntilResolved", incident.Problem{State: incident.ProblemResolved, ResolvedAt: d0.Add(2 * 24 * h)},
			opened(0, 1*h, 30*h), 1, []int{2, 0, 1},
			"3 linked incidents from 2026-11-01 to 2026-11-03 (UTC), counted per day; the most in one bar: 2 (2026-11-01)."},
		{"LongLifeInWeeks", incident.Problem{State: incident.ProblemClosed, ResolvedAt: d0.Add(100 * 24 * h)},
			opened(0, 24*h, 100*24*h), 2, append(append([]int{2}, make([]int, 49)...), 1),
			"3 linked incidents from 2026-11-01 to 2027-02-10 (UTC), counted per 2 days; the most in one bar: 2 (2026-11-01 to 2026-11-02)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chartOf(tt.p, tt.incs, now)
			var counts []int
			for _, b := range c.Bars {
				counts = append(counts, b.Count)
				if b.BH < 0 || b.Y+b.BH != float64(pcBaseline) || b.X < pcLeft || b.X+b.BW > pcW-pcRight+0.01 {
					t.Errorf("bar %s outside the plot: %+v", b.Label(), b)
				}
			}
			if c.Days != tt.days {
				t.Errorf("days per bar = %d, want %d", c.Days, tt.days)
			}
			if diff := cmp.Diff(tt.counts, counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			if got := c.Summary(); got != tt.summary {
				t.Errorf("summary = %q\nwant      %q", got, tt.summary)
			}
		})
	}
}
