package api

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// Stats is the answer of GET /api/v1/stats. Durations are in seconds.
type Stats struct {
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	Service  string    `json:"service"`
	Priority string    `json:"priority"` // "" for any
	Opened   int       `json:"opened"`
	Resolved int       `json:"resolved"`
	OpenNow  int       `json:"open_now"`
	// MTTA is time to acknowledge, MTTR time to resolve.
	MTTA DurationSummary `json:"mtta"`
	MTTR DurationSummary `json:"mttr"`
	// SLA attainment: the share of finished targets that were met, as a
	// fraction from 0 to 1 (null when no target of the window finished).
	SLARespondAttainment *float64             `json:"sla_respond_attainment"`
	SLAResolveAttainment *float64             `json:"sla_resolve_attainment"`
	Backlog              []BacklogBucket      `json:"backlog"`
	OldestOpenAgeSeconds *float64             `json:"oldest_open_age_seconds"`
	Noise                Noise                `json:"noise"`
	TopSignatures        []RecurringSignature `json:"top_signatures"`
}

// DurationSummary summarises durations in seconds; the figures are null
// when Count is 0.
type DurationSummary struct {
	Count       int      `json:"count"`
	MeanSeconds *float64 `json:"mean_seconds"`
	P50Seconds  *float64 `json:"p50_seconds"`
	P90Seconds  *float64 `json:"p90_seconds"`
}

// BacklogBucket is one age bucket of the open backlog.
type BacklogBucket struct {
	Age       string `json:"age"`
	Incidents int    `json:"incidents"`
}

// Noise is how much the pipeline reduced: events received, the distinct
// alerts they carried, and the incidents opened.
type Noise struct {
	Events            int      `json:"events"`
	Alerts            int      `json:"alerts"`
	Incidents         int      `json:"incidents"`
	EventsPerIncident *float64 `json:"events_per_incident"` // null without incidents
}

// RecurringSignature is a signature and how many incidents it opened. Kind
// is "rule" (Signature is the rule's name) or "correlation_key" (for
// incidents no rule grouped).
type RecurringSignature struct {
	Signature string `json:"signature"`
	Kind      string `json:"kind"`
	Incidents int    `json:"incidents"`
}

func (h *Handler) getStats(w http.ResponseWriter, r *http.Request) {
	now := h.o.Now()
	f, err := parseStatsFilter(r, now)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	figs, err := h.o.Reader.Stats(r.Context(), f, now)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, summarize(f, figs))
}

// parseStatsFilter reads since, until (RFC 3339; until defaults to now and
// since to until − incident.DefaultStatsWindow), service and priority (P1..P5).
func parseStatsFilter(r *http.Request, now time.Time) (incident.StatsFilter, error) {
	q := r.URL.Query()
	f := incident.StatsFilter{Until: now, Service: q.Get("service")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, &inputError{p.name, fmt.Sprintf("want an RFC 3339 time, got %q", v)}
			}
			*p.dst = t
		}
	}
	if f.Since.IsZero() {
		f.Since = f.Until.Add(-incident.DefaultStatsWindow)
	}
	if !f.Since.Before(f.Until) {
		return f, &inputError{"since", "since must be before until"}
	}
	if f.Until.Sub(f.Since) > incident.MaxStatsWindow {
		return f, &inputError{"since", fmt.Sprintf("the window is at most %d days", incident.MaxStatsWindow/(24*time.Hour))}
	}
	if v := q.Get("priority"); v != "" {
		p, err := incident.ParsePriority(v)
		if err != nil {
			return f, &inputError{"priority", err.Error()}
		}
		f.Priority = p
	}
	return f, nil
}

// summarize turns a store's figures into the wire form.
func summarize(f incident.StatsFilter, s incident.StatsFigures) Stats {
	out := Stats{
		Since: f.Since.UTC(), Until: f.Until.UTC(), Service: f.Service,
		Opened: s.Opened, Resolved: s.Resolved, OpenNow: s.Backlog.Total(),
		MTTA: summarizeDurations(s.TimesToAcknowledge), MTTR: summarizeDurations(s.TimesToResolve),
		Backlog:       make([]BacklogBucket, 0, len(incident.BacklogAges)),
		Noise:         Noise{Events: s.Events, Alerts: s.Alerts, Incidents: s.Opened},
		TopSignatures: make([]RecurringSignature, 0, len(s.Signatures)),
	}
	if f.Priority != 0 {
		out.Priority = f.Priority.String()
	}
	out.SLARespondAttainment = share(s.RespondMet, s.RespondMissed)
	out.SLAResolveAttainment = share(s.ResolveMet, s.ResolveMissed)
	for i, b := range incident.BacklogAges {
		out.Backlog = append(out.Backlog, BacklogBucket{Age: b.Label, Incidents: s.Backlog.Counts[i]})
	}
	if out.OpenNow > 0 {
		out.OldestOpenAgeSeconds = seconds(s.Backlog.Oldest)
	}
	if s.Opened > 0 {
		r := float64(s.Events) / float64(s.Opened)
		out.Noise.EventsPerIncident = &r
	}
	for _, sig := range s.Signatures {
		rs := RecurringSignature{Signature: sig.Rule, Kind: "rule", Incidents: sig.Incidents}
		if sig.Rule == "" {
			rs.Signature, rs.Kind = sig.Key, "correlation_key"
		}
		out.TopSignatures = append(out.TopSignatures, rs)
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
	// Sum seconds as floats: a sum of nanoseconds over a long window can
	// overflow int64.
	var sum float64
	for _, d := range sorted {
		sum += d.Seconds()
	}
	mean := sum / float64(len(sorted))
	out.MeanSeconds = &mean
	out.P50Seconds = seconds(nearestRank(sorted, 50))
	out.P90Seconds = seconds(nearestRank(sorted, 90))
	return out
}

// nearestRank returns the p-th percentile of sorted (not empty).
func nearestRank(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ⌈p·n/100⌉
	return sorted[max(rank, 1)-1]
}

func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

// share is met / (met + missed), or nil when both are 0.
func share(met, missed int) *float64 {
	if met+missed == 0 {
		return nil
	}
	v := float64(met) / float64(met+missed)
	return &v
}
