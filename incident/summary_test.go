package incident

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	d := func(v time.Duration) *time.Duration { return &v }
	mins := func(ms ...int) []time.Duration {
		out := make([]time.Duration, len(ms))
		for i, m := range ms {
			out[i] = time.Duration(m) * time.Minute
		}
		return out
	}
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   StatsFigures
		want Summary
	}{{
		name: "Empty",
		want: Summary{Signatures: []Signature{}},
	}, {
		// Ten values: p50 is the 5th, p90 the 9th (nearest rank, never
		// interpolated); the input's order does not matter.
		name: "Percentiles",
		in: StatsFigures{
			Opened: 10, Resolved: 1,
			TimesToAcknowledge: mins(10, 9, 8, 7, 6, 5, 4, 3, 2, 1),
			TimesToResolve:     mins(30),
		},
		want: Summary{
			Opened: 10, Resolved: 1,
			MTTA:              DurationSummary{Count: 10, MeanSeconds: 330, P50: 5 * time.Minute, P90: 9 * time.Minute},
			MTTR:              DurationSummary{Count: 1, MeanSeconds: 1800, P50: 30 * time.Minute, P90: 30 * time.Minute},
			EventsPerIncident: f(0), Signatures: []Signature{},
		},
	}, {
		name: "AttainmentBacklogNoiseSignatures",
		in: StatsFigures{
			Opened:  4,
			Backlog: Backlog{Counts: [5]int{1, 0, 2, 0, 0}, Oldest: 5 * time.Hour},
			Events:  10, Alerts: 6,
			RespondMet: 3, RespondMissed: 1, ResolveMissed: 2,
			Signatures: []SignatureCount{{Rule: "disk", Key: "ignored", Incidents: 3}, {Key: "k-1", Incidents: 1}},
			OpenedPerDay: []DayCount{
				{Day: day, Priority: 1, Incidents: 3}, {Day: day, Priority: 3, Incidents: 1},
			},
		},
		want: Summary{
			Opened: 4, OpenNow: 3,
			RespondAttainment: f(0.75), ResolveAttainment: f(0),
			Backlog:    Backlog{Counts: [5]int{1, 0, 2, 0, 0}, Oldest: 5 * time.Hour},
			OldestOpen: d(5 * time.Hour),
			Events:     10, Alerts: 6, EventsPerIncident: f(2.5),
			Signatures: []Signature{
				{Name: "disk", Kind: SignatureRule, Incidents: 3}, {Name: "k-1", Kind: SignatureCorrelationKey, Incidents: 1},
			},
			OpenedPerDay: []DayCount{
				{Day: day, Priority: 1, Incidents: 3}, {Day: day, Priority: 3, Incidents: 1},
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Summarize(tt.in)); diff != "" {
				t.Errorf("Summarize() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
