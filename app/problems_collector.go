package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
)

// problemCounter is the read the problem collector needs.
type problemCounter interface {
	ProblemCounts(ctx context.Context) ([]incident.ProblemCount, error)
}

// problemCollector reports problems by state, and how often the incidents
// of each problem rule recurred, at scrape time, straight from the store.
// It labels by problem rule, never by signature: a signature holds alert
// label values, which would make a series per value.
type problemCollector struct {
	st        problemCounter
	problems  *prometheus.Desc
	incidents *prometheus.Desc
}

func newProblemCollector(st problemCounter) *problemCollector {
	return &problemCollector{
		st: st,
		problems: prometheus.NewDesc("alertbridge_problems",
			"Problems by state.", []string{"state"}, nil),
		incidents: prometheus.NewDesc("alertbridge_problem_incidents",
			"Incidents linked to the problems of a problem rule, by the problems' state: the recurrences the rule caught.",
			[]string{"rule", "state"}, nil),
	}
}

func (c *problemCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.problems
	ch <- c.incidents
}

func (c *problemCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.st.ProblemCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.problems, err)
		ch <- prometheus.NewInvalidMetric(c.incidents, err)
		return
	}
	// Every state, 0 included, so that a dashboard's series never vanish.
	byState := map[incident.ProblemState]int{}
	for _, n := range counts {
		byState[n.State] += n.Problems
		ch <- prometheus.MustNewConstMetric(c.incidents, prometheus.GaugeValue, float64(n.Incidents), n.Rule, string(n.State))
	}
	for _, s := range []incident.ProblemState{incident.ProblemOpen, incident.ProblemKnownError, incident.ProblemResolved, incident.ProblemClosed} {
		ch <- prometheus.MustNewConstMetric(c.problems, prometheus.GaugeValue, float64(byState[s]), string(s))
	}
}
