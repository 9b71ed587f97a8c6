package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

// ProblemReader is the read side of problem management.
type ProblemReader interface {
	// Problem returns incident.ErrNotFound for an unknown ID.
	Problem(ctx context.Context, id int64) (incident.Problem, error)
	Problems(ctx context.Context, f incident.ProblemFilter) ([]incident.Problem, error)
	ProblemIncidents(ctx context.Context, id int64) ([]incident.Incident, error)
	ProblemTimeline(ctx context.Context, id int64) ([]incident.ProblemEntry, error)
	// ProblemFigures returns each problem's worst incident priority and
	// total downtime at now; a problem without incidents is absent.
	ProblemFigures(ctx context.Context, ids []int64, now time.Time) (map[int64]incident.ProblemFigures, error)
}

// Problem is the wire form of a problem. The field names are a contract:
// add fields, never rename them.
type Problem struct {
	ID int64 `json:"id"`
	// Rule is the problem rule that opened it.
	Rule          string     `json:"rule"`
	Signature     string     `json:"signature"`
	State         string     `json:"state"`
	Title         string     `json:"title"`
	RootCause     string     `json:"root_cause"`
	Workaround    string     `json:"workaround"`
	FirstSeenAt   time.Time  `json:"first_seen_at"`
	LastSeenAt    time.Time  `json:"last_seen_at"`
	IncidentCount int        `json:"incident_count"`
	OpenedAt      time.Time  `json:"opened_at"`
	ResolvedAt    *time.Time `json:"resolved_at"`
	ClosedAt      *time.Time `json:"closed_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	// Priority is the worst priority of its incidents, "" without any.
	Priority string `json:"priority"`
	// DowntimeSeconds is the sum of its incidents' impact, from when each
	// began to its resolve or, while active, to now. With IncidentCount
	// and LastSeenAt (the last occurrence) it is what the problem cost.
	DowntimeSeconds float64 `json:"downtime_seconds"`
	// Detail view only.
	Incidents []ProblemIncident `json:"incidents,omitempty"`
	Timeline  []ProblemEntry    `json:"timeline,omitempty"`
}

// ProblemIncident is an incident as a problem lists it.
type ProblemIncident struct {
	ID       int64      `json:"id"`
	Title    string     `json:"title"`
	State    string     `json:"state"`
	Priority string     `json:"priority"`
	Service  string     `json:"service"`
	OpenedAt *time.Time `json:"opened_at"`
}

// ProblemEntry is the wire form of a problem's timeline entry.
type ProblemEntry struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"`
	Actor string    `json:"actor"`
	// OnBehalfOf is the free text the actor gave as the request's "actor".
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
	Message    string `json:"message"`
}

// ProblemList is the answer of GET /api/v1/problems.
type ProblemList struct {
	Problems   []Problem `json:"problems"`
	NextCursor string    `json:"next_cursor"`
}

// ProblemRequest is the body of the problem actions: required for
// known-error (with a workaround), optional for resolve and close.
type ProblemRequest struct {
	// Actor is recorded as "on behalf of" text next to the authenticated
	// identity, which is the actor; it never replaces it.
	Actor      string `json:"actor"`
	Message    string `json:"message,omitempty"`
	RootCause  string `json:"root_cause,omitempty"`
	Workaround string `json:"workaround,omitempty"`
}

func (h *Handler) registerProblems(mux *http.ServeMux) {
	h.handle(mux, "GET /api/v1/problems", access.RoleViewer, h.listProblems)
	h.handle(mux, "GET /api/v1/problems/{id}", access.RoleViewer, h.getProblem)
	h.handle(mux, "POST /api/v1/problems/{id}/known-error", access.RoleResponder, h.problemAction(incident.ProblemActionKnownError))
	// Resolving and closing a problem are problem management's decisions,
	// not a responder's.
	h.handle(mux, "POST /api/v1/problems/{id}/resolve", access.RoleAdmin, h.problemAction(incident.ProblemActionResolve))
	h.handle(mux, "POST /api/v1/problems/{id}/close", access.RoleAdmin, h.problemAction(incident.ProblemActionClose))
}

// problemError marks an error as being about a problem, so that a missing
// record is reported as a missing problem.
type problemError struct{ err error }

func (e *problemError) Error() string { return e.err.Error() }
func (e *problemError) Unwrap() error { return e.err }

// notFoundMessage names the record that does not exist.
func notFoundMessage(err error) string {
	var pe *problemError
	if errors.As(err, &pe) {
		return "problem not found"
	}
	return "incident not found"
}

func (h *Handler) listProblems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := incident.ProblemFilter{}
	var err error
	if f.Limit, err = parseLimit(q.Get("limit")); err != nil {
		h.fail(w, r, err)
		return
	}
	if v := q.Get("state"); v != "" {
		for _, s := range strings.Split(v, ",") {
			st, err := incident.ParseProblemState(s)
			if err != nil {
				h.fail(w, r, &inputError{"state", err.Error()})
				return
			}
			f.States = append(f.States, st)
		}
	}
	if f.AfterID, err = parseCursor(q.Get("cursor")); err != nil {
		h.fail(w, r, err)
		return
	}
	want := f.Limit
	f.Limit++ // one more than the page: is there a next one?
	list, err := h.o.Reader.Problems(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var out ProblemList
	list, out.NextCursor = page(list, want, func(p incident.Problem) int64 { return p.ID })
	ids := make([]int64, len(list))
	for i, p := range list {
		ids[i] = p.ID
	}
	figs, err := h.o.Reader.ProblemFigures(r.Context(), ids, h.o.Now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out.Problems = make([]Problem, 0, len(list))
	for _, p := range list {
		out.Problems = append(out.Problems, fromProblem(p, figs[p.ID]))
	}
	writeJSON(w, http.StatusOK, out)
}

func problemID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &inputError{"id", fmt.Sprintf("problem id must be a positive integer, got %q", r.PathValue("id"))}
	}
	return id, nil
}

func (h *Handler) getProblem(w http.ResponseWriter, r *http.Request) {
	id, err := problemID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.problemDetail(r.Context(), id)
	if err != nil {
		h.fail(w, r, &problemError{err})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) problemDetail(ctx context.Context, id int64) (Problem, error) {
	p, err := h.o.Reader.Problem(ctx, id)
	if err != nil {
		return Problem{}, err
	}
	incs, err := h.o.Reader.ProblemIncidents(ctx, id)
	if err != nil {
		return Problem{}, err
	}
	tl, err := h.o.Reader.ProblemTimeline(ctx, id)
	if err != nil {
		return Problem{}, err
	}
	figs, err := h.o.Reader.ProblemFigures(ctx, []int64{id}, h.o.Now())
	if err != nil {
		return Problem{}, err
	}
	out := fromProblem(p, figs[id])
	out.Incidents = make([]ProblemIncident, 0, len(incs))
	for _, inc := range incs {
		out.Incidents = append(out.Incidents, ProblemIncident{ID: inc.ID, Title: inc.Title, State: string(inc.State),
			Priority: inc.Priority.String(), Service: inc.Service, OpenedAt: optTime(inc.OpenedAt)})
	}
	out.Timeline = make([]ProblemEntry, 0, len(tl))
	for _, e := range tl {
		out.Timeline = append(out.Timeline, ProblemEntry{ID: e.ID, At: e.At, Kind: string(e.Kind), Actor: e.Actor,
			OnBehalfOf: e.OnBehalfOf, Message: e.Message})
	}
	return out, nil
}

func (h *Handler) problemAction(a incident.ProblemAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := problemID(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		var req ProblemRequest
		knownError := a == incident.ProblemActionKnownError
		if err := decodeBody(r, &req, knownError); err != nil {
			h.fail(w, r, err)
			return
		}
		if knownError && strings.TrimSpace(req.Workaround) == "" {
			h.fail(w, r, &inputError{"workaround", "a known error needs a workaround"})
			return
		}
		res, err := h.o.Executor.ExecuteProblem(r.Context(), incident.ProblemCommand{
			ProblemID: id, Action: a, Actor: actor(r), OnBehalfOf: req.Actor, Message: req.Message,
			RootCause: req.RootCause, Workaround: req.Workaround,
		})
		if err != nil {
			h.fail(w, r, &problemError{err})
			return
		}
		out, err := h.problemDetail(r.Context(), res.ID)
		if err != nil {
			h.fail(w, r, &problemError{err})
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func fromProblem(p incident.Problem, f incident.ProblemFigures) Problem {
	out := Problem{
		ID: p.ID, Rule: p.Name, Signature: p.Signature, State: string(p.State), Title: p.Title, RootCause: p.RootCause,
		Workaround: p.Workaround, FirstSeenAt: p.FirstSeenAt, LastSeenAt: p.LastSeenAt, IncidentCount: p.IncidentCount,
		OpenedAt: p.OpenedAt, ResolvedAt: optTime(p.ResolvedAt), ClosedAt: optTime(p.ClosedAt), UpdatedAt: p.UpdatedAt,
		DowntimeSeconds: f.Downtime.Seconds(),
	}
	if f.Priority != 0 {
		out.Priority = f.Priority.String()
	}
	return out
}

// ProblemQuery selects problems; empty fields are not sent.
type ProblemQuery struct {
	State, Cursor string
	Limit         int
}

// ListProblems returns one page of problems, newest first.
func (c *Client) ListProblems(ctx context.Context, q ProblemQuery) (ProblemList, error) {
	v := url.Values{}
	if q.State != "" {
		v.Set("state", q.State)
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/api/v1/problems"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out ProblemList
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// Problem returns one problem with its incidents and timeline.
func (c *Client) Problem(ctx context.Context, id int64) (Problem, error) {
	var out Problem
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/problems/%d", id), nil, &out)
}

// KnownError records a problem's root cause and workaround.
func (c *Client) KnownError(ctx context.Context, id int64, req ProblemRequest) (Problem, error) {
	var out Problem
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/problems/%d/known-error", id), req, &out)
}

// ResolveProblem resolves a problem.
func (c *Client) ResolveProblem(ctx context.Context, id int64, req ProblemRequest) (Problem, error) {
	var out Problem
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/problems/%d/resolve", id), req, &out)
}

// CloseProblem closes a resolved problem.
func (c *Client) CloseProblem(ctx context.Context, id int64, req ProblemRequest) (Problem, error) {
	var out Problem
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/problems/%d/close", id), req, &out)
}
