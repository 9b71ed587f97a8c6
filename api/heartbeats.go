package api

import (
	"context"
	"net/http"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

// Heartbeats lists the heartbeat monitors with their deadlines; the daemon
// implements it over the store and the running rules.
type Heartbeats interface {
	Heartbeats(ctx context.Context) ([]incident.HeartbeatStatus, error)
}

// Heartbeat is the wire form of a heartbeat monitor: a heartbeat rule's
// instance (kind "rule", one per value of its by labels) or a source's
// expect_traffic_within (kind "source").
type Heartbeat struct {
	Name   string            `json:"name"`
	Kind   string            `json:"kind"`
	Key    string            `json:"key"`
	Labels map[string]string `json:"labels"`
	// State is waiting (no beat yet), up, missing or failed.
	State      string     `json:"state"`
	LastBeatAt *time.Time `json:"last_beat_at"`
	// NextDeadline is when it is missing unless it beats; null while
	// missing or failed.
	NextDeadline *time.Time `json:"next_deadline"`
	Interval     string     `json:"interval"`
	Grace        string     `json:"grace"`
	// IncidentID is the incident open for a miss or a failure; null while
	// up.
	IncidentID *int64 `json:"incident_id"`
}

// HeartbeatList is the answer of GET /api/v1/heartbeats.
type HeartbeatList struct {
	Heartbeats []Heartbeat `json:"heartbeats"`
}

// registerHeartbeats mounts GET /api/v1/heartbeats, for viewers.
func (h *Handler) registerHeartbeats(mux *http.ServeMux) {
	h.handle(mux, "GET /api/v1/heartbeats", access.RoleViewer, h.listHeartbeats)
}

func (h *Handler) listHeartbeats(w http.ResponseWriter, r *http.Request) {
	out := HeartbeatList{Heartbeats: []Heartbeat{}}
	if h.o.Heartbeats == nil {
		writeJSON(w, http.StatusOK, out)
		return
	}
	hbs, err := h.o.Heartbeats.Heartbeats(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, s := range hbs {
		hb := Heartbeat{Name: s.Name, Kind: string(s.Kind), Key: s.Key, Labels: s.Labels, State: string(s.State),
			LastBeatAt: optTime(s.LastBeatAt), NextDeadline: optTime(s.NextDeadline),
			Interval: s.Interval.String(), Grace: s.Grace.String()}
		if hb.Labels == nil {
			hb.Labels = map[string]string{}
		}
		if s.IncidentID != 0 {
			id := s.IncidentID
			hb.IncidentID = &id
		}
		out.Heartbeats = append(out.Heartbeats, hb)
	}
	writeJSON(w, http.StatusOK, out)
}
