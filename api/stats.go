package api

import (
	"fmt"
	"net/http"
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

// summarize turns a store's figures into the wire form, through
// incident.Summarize as the web UI's overview does.
func summarize(f incident.StatsFilter, figs incident.StatsFigures) Stats {
	s := incident.Summarize(figs)
	out := Stats{
		Since: f.Since.UTC(), Until: f.Until.UTC(), Service: f.Service,
		Opened: s.Opened, Resolved: s.Resolved, OpenNow: s.OpenNow,
		MTTA: durationSummary(s.MTTA), MTTR: durationSummary(s.MTTR),
		SLARespondAttainment: s.RespondAttainment, SLAResolveAttainment: s.ResolveAttainment,
		Backlog:       make([]BacklogBucket, 0, len(incident.BacklogAges)),
		Noise:         Noise{Events: s.Events, Alerts: s.Alerts, Incidents: s.Opened, EventsPerIncident: s.EventsPerIncident},
		TopSignatures: make([]RecurringSignature, 0, len(s.Signatures)),
	}
	if f.Priority != 0 {
		out.Priority = f.Priority.String()
	}
	for i, b := range incident.BacklogAges {
		out.Backlog = append(out.Backlog, BacklogBucket{Age: b.Label, Incidents: s.Backlog.Counts[i]})
	}
	if s.OldestOpen != nil {
		out.OldestOpenAgeSeconds = seconds(*s.OldestOpen)
	}
	for _, sig := range s.Signatures {
		out.TopSignatures = append(out.TopSignatures, RecurringSignature{Signature: sig.Name, Kind: sig.Kind, Incidents: sig.Incidents})
	}
	return out
}

// durationSummary is the wire form of d: null figures when it is empty.
func durationSummary(d incident.DurationSummary) DurationSummary {
	out := DurationSummary{Count: d.Count}
	if d.Count == 0 {
		return out
	}
	mean := d.MeanSeconds
	out.MeanSeconds = &mean
	out.P50Seconds = seconds(d.P50)
	out.P90Seconds = seconds(d.P90)
	return out
}

func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}
