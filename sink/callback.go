package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
)

// Callbacks is a sink whose tool calls back when a responder acts there: a
// button pressed in Slack, an incident acknowledged in PagerDuty, a Jira
// issue resolved.
type Callbacks interface {
	// Callback authenticates a request of the tool (its signature or shared
	// token, over the raw body) and says what it asks for. An error
	// wrapping ErrUnauthenticated is answered 401, any other 400; neither
	// changes anything. now is the daemon's clock, for signed timestamps.
	Callback(r *http.Request, body []byte, now time.Time) (Callback, error)
}

// ErrUnauthenticated marks a callback whose signature or token is missing
// or wrong, or whose signed timestamp is too far from now.
var ErrUnauthenticated = errors.New("unauthenticated")

// Callback is what one authenticated request of a tool asks for.
type Callback struct {
	// Nonce identifies the request (its signature, the tool's delivery ID)
	// so that the same request sent again is refused; it is remembered
	// until Expires. "" only for a request with no Actions.
	Nonce   string
	Expires time.Time
	// Actions are what the tool's users did that alertbridge acts on;
	// none for a request that carries nothing for it (a ping, another
	// project's issue), which is answered 200 all the same.
	Actions []Action
	// Reply, when set, answers the tool once the actions ran, given their
	// outcomes; nil answers 200 {"status":"ok"} with the outcomes.
	Reply func(w http.ResponseWriter, results []Result)
}

// Action is one thing a responder did in the tool.
type Action struct {
	// IncidentID is our incident when the tool carries our ID; else
	// ExternalID names the ticket this sink keeps for it.
	IncidentID int64
	ExternalID string
	// Action is acknowledge, resolve or comment.
	Action incident.Action
	// User is the tool's user who acted: the timeline's actor is
	// "<sink>:<user>".
	User    string
	Message string
}

// Result is the outcome of one Action.
type Result struct {
	Action Action
	// Incident is the incident after the action (zero if not found).
	Incident incident.Incident
	// Err is nil, or incident.ErrNotFound (not ours), or
	// incident.ErrConflict (it is so already: acknowledged twice).
	Err error
}

// Executor carries out a command and uses up a nonce in the same
// transaction (*pipeline.Pipeline's ExecuteOnce).
type Executor interface {
	ExecuteOnce(ctx context.Context, cmd incident.Command, nonce *incident.Nonce) (incident.Incident, error)
}

// TicketFinder finds the incident of a ticket by its external ID.
type TicketFinder interface {
	TicketByExternalID(ctx context.Context, sink, externalID string) (incident.Ticket, error)
}

// CallbackOptions configures the callback handler.
type CallbackOptions struct {
	// Sinks are the sinks whose tools may call back, by name.
	Sinks      map[string]Callbacks
	Exec       Executor
	Tickets    TicketFinder
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// maxCallbackBody bounds a callback's body: tools send a few KiB.
const maxCallbackBody = 1 << 20

// maxUserLength bounds the tool's user name on the timeline.
const maxUserLength = 128

// NewCallbackHandler serves POST /ingest/callbacks/{sink}: the only
// callers are the tools holding the sink's secret (anyone else gets 401),
// and what they ask for runs as the same commands as the API's, with the
// tool's user as the actor and the sink as the origin, so the change is not
// sent back to it.
func NewCallbackHandler(o CallbackOptions) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &callbackHandler{o: o, log: o.Logger.With("component", "callbacks"),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbridge_sink_callbacks_total",
			Help: "Callbacks from sinks' tools, by sink and outcome: ok, unauthenticated, replayed, invalid, failed.",
		}, []string{"sink", "outcome"})}
	if o.Registerer != nil {
		o.Registerer.MustRegister(h.total)
	}
	for name := range o.Sinks {
		for _, out := range []string{"ok", "unauthenticated", "replayed", "invalid", "failed"} {
			h.total.WithLabelValues(name, out)
		}
	}
	return h
}

type callbackHandler struct {
	o     CallbackOptions
	log   *slog.Logger
	total *prometheus.CounterVec
}

func (h *callbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("sink")
	cb, ok := h.o.Sinks[name]
	if !ok {
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("no sink %q takes callbacks", name))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSONError(w, http.StatusMethodNotAllowed, "callbacks are POST")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.count(name, "invalid")
			writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxCallbackBody))
			return
		}
		writeJSONError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	now := h.o.Now()
	c, err := cb.Callback(r, body, now)
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			h.count(name, "unauthenticated")
			h.log.Warn("callback refused", "sink", name, "err", err)
			writeJSONError(w, http.StatusUnauthorized, err.Error())
			return
		}
		h.count(name, "invalid")
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	results := make([]Result, 0, len(c.Actions))
	var nonce *incident.Nonce
	if c.Nonce != "" {
		nonce = &incident.Nonce{Source: "callback:" + name, Value: c.Nonce, Expires: c.Expires}
	}
	for _, a := range c.Actions {
		res, err := h.run(r.Context(), name, a, nonce)
		switch {
		case errors.Is(err, incident.ErrReplay):
			h.count(name, "replayed")
			writeJSONError(w, http.StatusUnauthorized, "request already used")
			return
		case err != nil:
			h.count(name, "failed")
			h.log.Warn("callback not committed", "sink", name, "err", err)
			w.Header().Set("Retry-After", "5")
			writeJSONError(w, http.StatusServiceUnavailable, "not committed, retry: "+err.Error())
			return
		}
		if res.Err == nil {
			nonce = nil // used up with the action that committed
		}
		results = append(results, res)
	}
	h.count(name, "ok")
	if c.Reply != nil {
		c.Reply(w, results)
		return
	}
	type outcome struct {
		Incident int64  `json:"incident_id,omitempty"`
		Action   string `json:"action"`
		Outcome  string `json:"outcome"`
	}
	out := struct {
		Status  string    `json:"status"`
		Results []outcome `json:"results"`
	}{Status: "ok", Results: []outcome{}}
	for _, res := range results {
		o := outcome{Incident: res.Incident.ID, Action: string(res.Action.Action), Outcome: "done"}
		switch {
		case errors.Is(res.Err, incident.ErrNotFound):
			o.Outcome = "not_found"
		case errors.Is(res.Err, incident.ErrConflict):
			o.Outcome = "unchanged"
		case res.Err != nil:
			o.Outcome = "invalid"
		}
		out.Results = append(out.Results, o)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// run carries out one action. A domain outcome (not ours, already so,
// invalid) is the Result's Err and not an error: the tool's request was
// fine, and answering it with an error would only make the tool retry.
func (h *callbackHandler) run(ctx context.Context, sink string, a Action, nonce *incident.Nonce) (Result, error) {
	res := Result{Action: a}
	id := a.IncidentID
	if id == 0 && a.ExternalID != "" {
		t, err := h.o.Tickets.TicketByExternalID(ctx, sink, a.ExternalID)
		switch {
		case errors.Is(err, incident.ErrNotFound):
			res.Err = err
			return res, nil
		case err != nil:
			return res, err
		}
		id = t.IncidentID
	}
	if id == 0 {
		res.Err = fmt.Errorf("no incident named: %w", incident.ErrNotFound)
		return res, nil
	}
	switch a.Action {
	case incident.ActionAcknowledge, incident.ActionResolve, incident.ActionComment:
	default:
		res.Err = fmt.Errorf("action %q is not taken from a sink: %w", a.Action, incident.ErrInvalid)
		return res, nil
	}
	cmd := incident.Command{IncidentID: id, Action: a.Action, Actor: sink + ":" + cleanUser(a.User),
		Message: a.Message, Origin: sink}
	inc, err := h.o.Exec.ExecuteOnce(ctx, cmd, nonce)
	res.Incident = inc
	if errors.Is(err, incident.ErrReplay) {
		return res, err // a conflict too, but the request's, not the incident's: refused
	}
	if errors.Is(err, incident.ErrNotFound) || errors.Is(err, incident.ErrConflict) || errors.Is(err, incident.ErrInvalid) {
		res.Err = err
		return res, nil
	}
	return res, err
}

// cleanUser makes a tool's user name fit for the timeline: printable, one
// line, bounded; "unknown" when the tool sent none.
func cleanUser(u string) string {
	u = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, strings.TrimSpace(u))
	if len(u) > maxUserLength {
		u = strings.ToValidUTF8(u[:maxUserLength], "")
	}
	if u == "" {
		return "unknown"
	}
	return u
}

func (h *callbackHandler) count(sink, outcome string) { h.total.WithLabelValues(sink, outcome).Inc() }

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
