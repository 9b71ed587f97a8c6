package incident

import (
	"slices"
	"time"
)

// Summary is what the stats say: the means, percentiles and ratios derived
// from a store's StatsFigures. The API's GET /api/v1/stats and the web UI's
// overview both show Summarize's result, so their numbers cannot drift.
type Summary struct {
	// Opened and Resolved are as in StatsFigures; OpenNow is the backlog's
	// total.
	Opened, Resolved, OpenNow int
	// MTTA is time to acknowledge, MTTR time to resolve.
	MTTA, MTTR DurationSummary
	// RespondAttainment and ResolveAttainment are the share of finished SLA
	// targets that were met, from 0 to 1; nil when none finished.
	RespondAttainment, ResolveAttainment *float64
	Backlog                              Backlog
	// OldestOpen is the backlog's oldest age; nil when the backlog is empty.
	OldestOpen *time.Duration
	// Events and Alerts are as in StatsFigures; EventsPerIncident is Events
	// over Opened, nil when nothing opened.
	Events, Alerts    int
	EventsPerIncident *float64
	// Signatures are the top signatures, most first.
	Signatures []Signature
	// OpenedPerDay is as in StatsFigures.
	OpenedPerDay []DayCount
}

// DurationSummary summarises durations: the mean in seconds (a float, since
// a sum of nanoseconds over a long window can overflow int64) and the
// nearest-rank 50th and 90th percentiles. All are zero when Count is 0.
type DurationSummary struct {
	Count       int
	MeanSeconds float64
	P50, P90    time.Duration
}

// Signature kinds: the name of the rule that grouped the incidents, or the
// correlation key of incidents no rule grouped.
const (
	SignatureRule           = "rule"
	SignatureCorrelationKey = "correlation_key"
)

// Signature is a recurring signature and how many incidents it opened.
type Signature struct {
	// Name is the rule's name or the correlation key, as Kind says.
	Name, Kind string
	Incidents  int
}

// Summarize derives the summary of a store's figures.
func Summarize(s StatsFigures) Summary {
	out := Summary{
		Opened: s.Opened, Resolved: s.Resolved, OpenNow: s.Backlog.Total(),
		MTTA: summarizeDurations(s.TimesToAcknowledge), MTTR: summarizeDurations(s.TimesToResolve),
		RespondAttainment: share(s.RespondMet, s.RespondMissed),
		ResolveAttainment: share(s.ResolveMet, s.ResolveMissed),
		Backlog:           s.Backlog, Events: s.Events, Alerts: s.Alerts,
		Signatures:   make([]Signature, 0, len(s.Signatures)),
		OpenedPerDay: s.OpenedPerDay,
	}
	if out.OpenNow > 0 {
		oldest := s.Backlog.Oldest
		out.OldestOpen = &oldest
	}
	if s.Opened > 0 {
		r := float64(s.Events) / float64(s.Opened)
		out.EventsPerIncident = &r
	}
	for _, sig := range s.Signatures {
		rs := Signature{Name: sig.Rule, Kind: SignatureRule, Incidents: sig.Incidents}
		if sig.Rule == "" {
			rs.Name, rs.Kind = sig.Key, SignatureCorrelationKey
		}
		out.Signatures = append(out.Signatures, rs)
	}
	return out
}

// summarizeDurations returns the mean and the nearest-rank 50th and 90th
// percentiles: the p-th percentile of n sorted values is the one at rank
// ⌈p·n/100⌉ (1-based), always an observed value, never interpolated.
func summarizeDurations(ds []time.Duration) DurationSummary {
	out := DurationSummary{Count: len(ds)}
	if len(ds) == 0 {
		return out
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	var sum float64
	for _, d := range sorted {
		sum += d.Seconds()
	}
	out.MeanSeconds = sum / float64(len(sorted))
	out.P50 = nearestRank(sorted, 50)
	out.P90 = nearestRank(sorted, 90)
	return out
}

// nearestRank returns the p-th percentile of sorted (not empty).
func nearestRank(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ⌈p·n/100⌉
	return sorted[max(rank, 1)-1]
}

// share is met / (met + missed), or nil when both are 0.
func share(met, missed int) *float64 {
	if met+missed == 0 {
		return nil
	}
	v := float64(met) / float64(met+missed)
	return &v
}
