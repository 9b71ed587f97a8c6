package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

func TestProblemCollector(t *testing.T) {
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	type problem struct {
		rule      string
		state     incident.ProblemState
		incidents int
	}
	tests := []struct {
		name     string
		problems []problem
		want     string
	}{{
		name: "EveryStateEvenWithoutProblems",
		want: `
alertbridge_problems{state="closed"} 0
alertbridge_problems{state="known_error"} 0
alertbridge_problems{state="open"} 0
alertbridge_problems{state="resolved"} 0
`,
	}, {
		name: "ByStateAndRule",
		problems: []problem{
			{"disk-recurring", incident.ProblemOpen, 3},
			{"disk-recurring", incident.ProblemOpen, 5},
			{"disk-recurring", incident.ProblemResolved, 2},
			{"oom", incident.ProblemKnownError, 4},
		},
		want: `
alertbridge_problem_incidents{rule="disk-recurring",state="open"} 8
alertbridge_problem_incidents{rule="disk-recurring",state="resolved"} 2
alertbridge_problem_incidents{rule="oom",state="known_error"} 4
alertbridge_problems{state="closed"} 0
alertbridge_problems{state="known_error"} 1
alertbridge_problems{state="open"} 2
alertbridge_problems{state="resolved"} 1
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, storetest.SQLiteDir(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			err = st.Update(ctx, func(tx incident.Tx) error {
				for i, p := range tt.problems {
					pr := incident.Problem{Name: p.rule, Signature: p.rule + string(rune('a'+i)), State: p.state,
						IncidentCount: p.incidents, FirstSeenAt: at, LastSeenAt: at, OpenedAt: at, UpdatedAt: at}
					if p.state == incident.ProblemResolved {
						pr.ResolvedAt = at
					}
					if err := tx.CreateProblem(ctx, &pr); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(newProblemCollector(st))
			var want strings.Builder
			if len(tt.problems) > 0 {
				want.WriteString(`
# HELP alertbridge_problem_incidents Incidents linked to the problems of a problem rule, by the problems' state: the recurrences the rule caught.
# TYPE alertbridge_problem_incidents gauge`)
			}
			want.WriteString(`
# HELP alertbridge_problems Problems by state.
# TYPE alertbridge_problems gauge`)
			want.WriteString(tt.want)
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want.String())); err != nil {
				t.Error(err)
			}
		})
	}
}
