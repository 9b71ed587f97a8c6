package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
)

// Reader is the read side the API needs; the store implements it.
type Reader interface {
	// Incident returns incident.ErrNotFound for an unknown ID.
	Incident(ctx context.Context, id int64) (incident.Incident, error)
	Incidents(ctx context.Context, f incident.IncidentFilter) ([]incident.Incident, error)
	// AlertsPage is at most limit of an incident's alerts in join order,
	// those after the cursor.
	AlertsPage(ctx context.Context, incidentID int64, after incident.AlertCursor, limit int) ([]incident.Alert, error)
	// TimelinePage is at most limit of an incident's timeline entries with
	// IDs above afterID, oldest first.
	TimelinePage(ctx context.Context, incidentID, afterID int64, limit int) ([]incident.TimelineEntry, error)
	Changes(ctx context.Context, f incident.ChangeFilter) ([]incident.Change, error)
	IncidentChanges(ctx context.Context, incidentID int64) ([]incident.ChangeLink, error)
	// Stats counts the figures of GET /api/v1/stats at now. It returns an
	// error wrapping incident.ErrInvalid when the window holds more
	// incidents than the store is willing to read.
	Stats(ctx context.Context, f incident.StatsFilter, now time.Time) (incident.StatsFigures, error)
	ProblemReader
	OutboxReader
}

// Executor carries out manual commands; the pipeline implements it.
type Executor interface {
	// Execute returns incident.ErrNotFound, ErrConflict, ErrInvalid or ErrUnavailable.
	Execute(ctx context.Context, cmd incident.Command) (incident.Incident, error)
	// ExecuteProblem returns incident.ErrNotFound, ErrConflict, ErrInvalid or ErrUnavailable.
	ExecuteProblem(ctx context.Context, cmd incident.ProblemCommand) (incident.Problem, error)
	// Report opens an incident by hand. It returns an *incident.FieldError
	// (ErrInvalid) naming the field at fault, or ErrUnavailable.
	Report(ctx context.Context, r incident.Report) (incident.Incident, error)
}

// Options configures the API handler.
type Options struct {
	Reader   Reader
	Executor Executor
	// Guard decides who may call each route (viewer for every GET,
	// responder or admin for the writes); nil means a Guard with no
	// identities: reads open, writes from loopback only.
	Guard *access.Guard
	// Outbox replays dead letters; nil when no sink is configured.
	Outbox OutboxReplayer
	// Heartbeats lists the heartbeat monitors; nil lists none.
	Heartbeats Heartbeats
	Logger     *slog.Logger
	// Now is the clock (default time.Now): the stats' default window and
	// backlog ages count from it.
	Now func() time.Time
}

// Limits of a listing.
const (
	DefaultLimit = 50
	MaxLimit     = 500
	maxBody      = 64 << 10
)

// Handler serves /api/v1.
type Handler struct {
	o   Options
	log *slog.Logger
}

// New returns the API handler.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Guard == nil {
		o.Guard, _ = access.New(access.Options{Logger: o.Logger}) // no users: cannot fail
	}
	return &Handler{o: o, log: o.Logger.With("component", "api")}
}

// Register mounts the API routes on mux, each behind the role it needs:
// viewer for every GET; responder to report an incident, to acknowledge,
// resolve and comment on incidents and to record a known error; admin to
// merge and unlink.
func (h *Handler) Register(mux *http.ServeMux) {
	h.handle(mux, "GET /api/v1/incidents", access.RoleViewer, h.listIncidents)
	h.handle(mux, "POST /api/v1/incidents", access.RoleResponder, h.report)
	h.handle(mux, "GET /api/v1/incidents/{id}", access.RoleViewer, h.getIncident)
	h.handle(mux, "POST /api/v1/incidents/{id}/acknowledge", access.RoleResponder, h.action(incident.ActionAcknowledge))
	h.handle(mux, "POST /api/v1/incidents/{id}/resolve", access.RoleResponder, h.action(incident.ActionResolve))
	h.handle(mux, "POST /api/v1/incidents/{id}/comments", access.RoleResponder, h.action(incident.ActionComment))
	h.handle(mux, "POST /api/v1/incidents/{id}/merge", access.RoleAdmin, h.action(incident.ActionMerge))
	h.handle(mux, "POST /api/v1/incidents/{id}/unlink", access.RoleAdmin, h.action(incident.ActionUnlink))
	h.handle(mux, "GET /api/v1/changes", access.RoleViewer, h.listChanges)
	h.handle(mux, "GET /api/v1/stats", access.RoleViewer, h.getStats)
	h.registerProblems(mux)
	h.registerOutbox(mux)
	h.registerHeartbeats(mux)
}

// handle mounts fn behind the Guard for role. A state-changing route
// (POST) also refuses a body that is not JSON: a browser on another site
// can post text/plain or a form without asking, never application/json.
func (h *Handler) handle(mux *http.ServeMux, pattern string, role access.Role, fn http.HandlerFunc) {
	var next http.Handler = fn
	if strings.HasPrefix(pattern, http.MethodPost+" ") {
		next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := checkJSON(r.Header.Get("Content-Type")); err != nil {
				h.fail(w, r, err)
				return
			}
			fn(w, r)
		})
	}
	mux.Handle(pattern, h.o.Guard.Require(role, next))
}

// mediaTypeError is a state-changing call whose body is not declared JSON.
type mediaTypeError struct{ got string }

func (e *mediaTypeError) Error() string {
	if e.got == "" {
		return "Content-Type: missing; state-changing calls take application/json (an empty body is fine)"
	}
	return fmt.Sprintf("Content-Type: %q; state-changing calls take application/json (an empty body is fine)", e.got)
}

// checkJSON accepts application/json with no charset or UTF-8.
func checkJSON(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &mediaTypeError{got: ct}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &mediaTypeError{got: ct}
	}
	return nil
}

// actor is the authenticated identity of a request: who acts, always.
func actor(r *http.Request) string {
	id, _ := access.FromContext(r.Context())
	return id.Name
}

// inputError is a client mistake with its location.
type inputError struct {
	where, msg string
}

func (e *inputError) Error() string { return e.where + ": " + e.msg }

func (h *Handler) listIncidents(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	want := f.Limit
	f.Limit++ // one more than the page: is there a next one?
	incs, err := h.o.Reader.Incidents(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var out IncidentList
	incs, out.NextCursor = page(incs, want, func(i incident.Incident) int64 { return i.ID })
	out.Incidents = make([]Incident, 0, len(incs))
	for _, inc := range incs {
		out.Incidents = append(out.Incidents, fromIncident(inc))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) listChanges(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := incident.ChangeFilter{Limit: DefaultLimit, Service: q.Get("service")}
	var err error
	if f.Limit, err = parseLimit(q.Get("limit")); err != nil {
		h.fail(w, r, err)
		return
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			if *p.dst, err = time.Parse(time.RFC3339, v); err != nil {
				h.fail(w, r, &inputError{p.name, fmt.Sprintf("want an RFC 3339 time, got %q", v)})
				return
			}
		}
	}
	if f.AfterID, err = parseCursor(q.Get("cursor")); err != nil {
		h.fail(w, r, err)
		return
	}
	want := f.Limit
	f.Limit++ // one more than the page: is there a next one?
	changes, err := h.o.Reader.Changes(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var out ChangeList
	changes, out.NextCursor = page(changes, want, func(c incident.Change) int64 { return c.ID })
	out.Changes = make([]Change, 0, len(changes))
	for _, c := range changes {
		out.Changes = append(out.Changes, fromChange(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func parseLimit(v string) (int, error) {
	if v == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, &inputError{"limit", fmt.Sprintf("want a whole number from 1 to %d, got %q", MaxLimit, v)}
	}
	return n, nil
}

func parseFilter(r *http.Request) (incident.IncidentFilter, error) {
	q := r.URL.Query()
	f := incident.IncidentFilter{Limit: DefaultLimit, Service: q.Get("service"), Query: q.Get("q")}
	if v := q.Get("state"); v != "" {
		for _, s := range strings.Split(v, ",") {
			st, err := incident.ParseState(s)
			if err != nil {
				return f, &inputError{"state", err.Error()}
			}
			f.States = append(f.States, st)
		}
	}
	if v := q.Get("priority"); v != "" {
		p, err := incident.ParsePriority(v)
		if err != nil {
			return f, &inputError{"priority", err.Error()}
		}
		f.Priority = p
	}
	n, err := parseLimit(q.Get("limit"))
	if err != nil {
		return f, err
	}
	f.Limit = n
	f.AfterID, err = parseCursor(q.Get("cursor"))
	return f, err
}

// Cursors are opaque to clients so the paging scheme can change.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("i" + strconv.FormatInt(id, 10)))
}

// parseCursor reads the cursor parameter: 0 (the first page) when empty.
func parseCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	bad := &inputError{"cursor", "not a cursor this server issued"}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != 'i' {
		return 0, bad
	}
	id, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil || id <= 0 {
		return 0, bad
	}
	return id, nil
}

// page trims a listing fetched with one row more than want (newest first)
// and returns the cursor of the next page, "" when this is the last.
func page[T any](items []T, want int, id func(T) int64) ([]T, string) {
	if len(items) <= want {
		return items, ""
	}
	items = items[:want]
	return items, encodeCursor(id(items[want-1]))
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &inputError{"id", fmt.Sprintf("incident id must be a positive integer, got %q", r.PathValue("id"))}
	}
	return id, nil
}

func (h *Handler) getIncident(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg, err := parseDetailPage(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.detail(r.Context(), id, pg)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// detail is an incident's detail view with one page of its alerts and of
// its timeline, and the cursors of the next ones.
func (h *Handler) detail(ctx context.Context, id int64, pg detailPage) (Incident, error) {
	inc, err := h.o.Reader.Incident(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	// One row more than the page: is there a next one?
	alerts, err := h.o.Reader.AlertsPage(ctx, id, pg.alertsAfter, pg.alertsLimit+1)
	if err != nil {
		return Incident{}, err
	}
	tl, err := h.o.Reader.TimelinePage(ctx, id, pg.timelineAfter, pg.timelineLimit+1)
	if err != nil {
		return Incident{}, err
	}
	out := fromIncident(inc)
	if len(alerts) > pg.alertsLimit {
		alerts = alerts[:pg.alertsLimit]
		out.AlertsNextCursor = encodeAlertCursor(alerts[len(alerts)-1].Cursor())
	}
	tl, out.TimelineNextCursor = page(tl, pg.timelineLimit, func(e incident.TimelineEntry) int64 { return e.ID })
	out.Alerts = make([]Alert, 0, len(alerts))
	for _, a := range alerts {
		out.Alerts = append(out.Alerts, fromAlert(a))
	}
	out.Timeline = make([]TimelineEntry, 0, len(tl))
	for _, e := range tl {
		out.Timeline = append(out.Timeline, fromTimeline(e))
	}
	links, err := h.o.Reader.IncidentChanges(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	out.Changes = make([]LinkedChange, 0, len(links))
	for _, l := range links {
		out.Changes = append(out.Changes, LinkedChange{Change: fromChange(l.Change), Rank: l.Rank, Reason: l.Reason})
	}
	tickets, err := h.o.Reader.Tickets(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	out.Tickets = make([]Ticket, 0, len(tickets))
	for _, t := range tickets {
		out.Tickets = append(out.Tickets, Ticket{Sink: t.Sink, ExternalID: t.ExternalID, URL: t.URL, UpdatedAt: t.UpdatedAt})
	}
	return out, nil
}

func (h *Handler) action(a incident.Action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		var req ActionRequest
		if err := decodeBody(r, &req, a == incident.ActionComment); err != nil {
			h.fail(w, r, err)
			return
		}
		switch {
		case a == incident.ActionComment && strings.TrimSpace(req.Message) == "":
			h.fail(w, r, &inputError{"message", "a comment needs a message"})
			return
		case a == incident.ActionMerge && req.Into <= 0:
			h.fail(w, r, &inputError{"into", "the id of the incident to merge into"})
			return
		case a == incident.ActionUnlink && req.Fingerprint == "":
			h.fail(w, r, &inputError{"fingerprint", "the fingerprint of the alert to move out"})
			return
		}
		res, err := h.o.Executor.Execute(r.Context(), incident.Command{
			IncidentID: id, Action: a, Actor: actor(r), OnBehalfOf: req.Actor, Message: req.Message, Into: req.Into,
			Fingerprint: req.Fingerprint, Source: req.Source,
		})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		// Merge answers with the target, unlink with the new incident.
		out, err := h.detail(r.Context(), res.ID, firstDetailPage)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		status := http.StatusOK
		if a == incident.ActionComment || a == incident.ActionUnlink {
			status = http.StatusCreated
		}
		writeJSON(w, status, out)
	}
}

// decodeBody reads an optional (or, with required, mandatory) JSON body with
// no unknown fields.
func decodeBody(r *http.Request, v any, required bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return &inputError{"", fmt.Sprintf("request body: %v", err)}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if required {
			return &inputError{"", "request body: want a JSON object"}
		}
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &inputError{te.Field, fmt.Sprintf("want %s", te.Type)}
		}
		// encoding/json has no type for it: name the field as where.
		if q, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			if name, uerr := strconv.Unquote(q); uerr == nil {
				return &inputError{name, "unknown field"}
			}
		}
		return &inputError{"", fmt.Sprintf("request body: %v", err)}
	}
	return nil
}

// fail is the one place that maps errors to statuses.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ie *inputError
	var me *mediaTypeError
	var amb *incident.AmbiguousAlertError
	var fe *incident.FieldError
	switch {
	case errors.As(err, &me):
		writeJSON(w, http.StatusUnsupportedMediaType, Error{Error: me.Error(), Where: "Content-Type"})
	case errors.As(err, &ie):
		writeJSON(w, http.StatusBadRequest, Error{Error: ie.msg, Where: ie.where})
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, Error{Error: fe.Msg, Where: fe.Field})
	case errors.As(err, &amb):
		writeJSON(w, http.StatusBadRequest, Error{Error: amb.Error(), Where: "source"})
	case errors.Is(err, incident.ErrNotFound):
		writeJSON(w, http.StatusNotFound, Error{Error: notFoundMessage(err), Where: "id"})
	case errors.Is(err, incident.ErrConflict):
		writeJSON(w, http.StatusConflict, Error{Error: err.Error(), Where: "state"})
	case errors.Is(err, incident.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, Error{Error: err.Error(), Where: ""})
	case errors.Is(err, incident.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, Error{Error: "temporarily unavailable, retry", Where: ""})
	case abandoned(r, err):
		// The client went away (a closed tab, a poller's timeout): not
		// the daemon's failure, and nobody reads an answer.
		h.log.Debug("request abandoned by the client", "err", err, "path", r.URL.Path)
	default:
		h.log.Error("request failed", "err", err, "path", r.URL.Path)
		writeJSON(w, http.StatusInternalServerError, Error{Error: "internal error", Where: ""})
	}
}

// abandoned says whether err is the cancellation of the request's own
// context, the client having gone away.
func abandoned(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
