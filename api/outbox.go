package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

// OutboxReader reads the outbox and what the sinks made of incidents.
type OutboxReader interface {
	// OutboxRows lists rows in a state ("" for all), newest first, after
	// the row afterID (0: from the newest), at most limit.
	OutboxRows(ctx context.Context, state incident.OutboxState, afterID int64, limit int) ([]incident.OutboxRow, error)
	// Tickets returns what every sink made of an incident.
	Tickets(ctx context.Context, incidentID int64) ([]incident.Ticket, error)
}

// OutboxReplayer puts a dead letter back in line (the dispatcher). It
// returns incident.ErrNotFound for an unknown row and ErrConflict for one
// that is not dead.
type OutboxReplayer interface {
	Replay(ctx context.Context, id int64) (incident.OutboxRow, error)
}

// OutboxEntry is the wire form of an outbox row: one notification of one
// sink about one incident.
type OutboxEntry struct {
	ID         int64  `json:"id"`
	Sink       string `json:"sink"`
	IncidentID int64  `json:"incident_id"`
	Kind       string `json:"kind"`
	// State is pending, held (flapping, maintenance) or dead.
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	Attempts  int       `json:"attempts"`
	// NextAttemptAt is when a pending row is tried next; for a dead one,
	// when it died.
	NextAttemptAt time.Time `json:"next_attempt_at"`
	LastError     string    `json:"last_error"`
}

// OutboxList is a page of outbox rows, newest first.
type OutboxList struct {
	Entries    []OutboxEntry `json:"entries"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// Ticket is the wire form of what a sink made of an incident.
type Ticket struct {
	Sink       string    `json:"sink"`
	ExternalID string    `json:"external_id"`
	URL        string    `json:"url,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func fromOutbox(r incident.OutboxRow) OutboxEntry {
	return OutboxEntry{ID: r.ID, Sink: r.Sink, IncidentID: r.IncidentID, Kind: string(r.Kind), State: string(r.State),
		CreatedAt: r.CreatedAt, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt, LastError: r.LastError}
}

// registerOutbox mounts the outbox routes: anyone who may read incidents
// may see what was sent about them and what failed (viewer); only an admin
// may send a dead letter again, as that acts on other tools.
func (h *Handler) registerOutbox(mux *http.ServeMux) {
	h.handle(mux, "GET /api/v1/outbox", access.RoleViewer, h.listOutbox)
	h.handle(mux, "POST /api/v1/outbox/{id}/replay", access.RoleAdmin, h.replayOutbox)
}

func (h *Handler) listOutbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var state incident.OutboxState
	switch s := incident.OutboxState(q.Get("state")); s {
	case "", incident.OutboxPending, incident.OutboxHeld, incident.OutboxDead:
		state = s
	default:
		h.fail(w, r, &inputError{"state", fmt.Sprintf("want pending, held or dead, got %q", s)})
		return
	}
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	after, err := parseCursor(q.Get("cursor"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows, err := h.o.Reader.OutboxRows(r.Context(), state, after, limit+1)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var out OutboxList
	rows, out.NextCursor = page(rows, limit, func(x incident.OutboxRow) int64 { return x.ID })
	out.Entries = make([]OutboxEntry, 0, len(rows))
	for _, x := range rows {
		out.Entries = append(out.Entries, fromOutbox(x))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) replayOutbox(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(w, r, &inputError{"id", fmt.Sprintf("outbox id must be a positive integer, got %q", r.PathValue("id"))})
		return
	}
	if err := decodeBody(r, &struct{}{}, false); err != nil {
		h.fail(w, r, err)
		return
	}
	if h.o.Outbox == nil {
		h.fail(w, r, fmt.Errorf("outbox row %d: no sinks configured: %w", id, incident.ErrNotFound))
		return
	}
	row, err := h.o.Outbox.Replay(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("dead letter replayed", "outbox_id", id, "sink", row.Sink, "incident_id", row.IncidentID, "actor", actor(r))
	writeJSON(w, http.StatusOK, fromOutbox(row))
}
