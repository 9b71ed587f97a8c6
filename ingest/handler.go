package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/incident"
)

// Sink receives what a request carries; *pipeline.Pipeline satisfies it.
type Sink interface {
	// Ingest returns only after the submission (its events or changes, and
	// the nonce of a signed request) is durably committed, or an error
	// meaning nothing was committed. incident.ErrReplay, for a nonce used
	// before, makes the handler answer 403; any other error (overload,
	// store down, ctx cancelled) 503 (429 on /v2/enqueue for
	// incident.ErrUnavailable), so that the sender retries.
	Ingest(ctx context.Context, s incident.Submission) error
}

// overloadSink is a Sink that can tell, before a request is read, that it
// would refuse it for overload; *pipeline.Pipeline is one. Overloaded
// returns an incident.ErrUnavailable then.
type overloadSink interface {
	Overloaded() error
}

// Options configures a Handler.
type Options struct {
	// Sink receives what every valid request carries. Required: without one
	// every request gets a 503.
	Sink Sink
	// Logger gets a child logger with component=ingest; nil discards logs.
	Logger *slog.Logger
	// Registerer receives the ingest metrics; nil means no metrics.
	Registerer prometheus.Registerer
	// Limits bound each request; zero fields take their defaults.
	Limits Limits
	// Sources are the configured senders. With none, every endpoint is
	// open. With some, an endpoint requires the credentials of one of the
	// sources of its type, and one with no source of its type refuses
	// everything (403).
	Sources []Source
	// Now is the clock of latencies, signature timestamps, rate limits and
	// received-at times; nil means time.Now.
	Now func() time.Time
	// Truncated, when set, hears of every accepted notification that left
	// out some of its group's alerts (Alertmanager's max_alerts): the
	// source's name and the group's labels. The daemon asks that source's
	// anti-entropy poller, if it has one, to fetch them. It must not block.
	Truncated func(source string, group map[string]string)
	// Buckets, when set, hold the sources' rate limits for every replica
	// on the database (PostgreSQL); nil keeps each in this process.
	Buckets Buckets
}

// Handler serves the ingest endpoints.
type Handler struct {
	sink    Sink
	log     *slog.Logger
	metrics *metrics
	limits  Limits
	budget  *budget
	now     func() time.Time
	// truncated is Options.Truncated.
	truncated func(source string, group map[string]string)
	// open is true when no source is configured: nothing is authenticated.
	open bool
	// auth holds the sources of each type that has any.
	auth    map[string]*endpointAuth
	sources []*source
}

// endpoint is one ingest endpoint.
type endpoint struct {
	typ, path string
	// accept decodes a request that passed the edge checks, checks it
	// against the limits, submits it and answers it; it returns the status.
	accept func(h *Handler, q *request) int
}

// endpoints are the ingest endpoints, each named by its source type.
var endpoints = []*endpoint{
	{SourceAlertmanager, "/ingest/alertmanager", acceptEvents(
		func(b []byte, _ time.Time, l Limits) ([]incident.Event, int, error) { return decodeAlertmanager(b, l) },
		func([]byte) locator { return alertsLocator })},
	{SourceGrafana, "/ingest/grafana", acceptEvents(
		func(b []byte, _ time.Time, l Limits) ([]incident.Event, int, error) { return decodeGrafana(b, l) },
		func([]byte) locator { return alertsLocator })},
	{SourcePagerDuty, "/v2/enqueue", acceptPagerDuty},
	{SourceEvents, "/ingest/events", acceptEvents(decodeEvents,
		func(b []byte) locator { return batchLocator(b, "events") })},
	{SourceChanges, "/ingest/changes", acceptChanges},
	{SourceHeartbeats, "/ingest/heartbeats/{name}", acceptHeartbeat(false)},
	{SourceHeartbeats, "/ingest/heartbeats/{name}/fail", acceptHeartbeat(true)},
}

func knownType(t string) bool {
	for _, e := range endpoints {
		if e.typ == t {
			return true
		}
	}
	return false
}

// New returns a Handler for o. It fails on an invalid Source or Limits;
// config validates them first, so that is a programming error there.
func New(o Options) (*Handler, error) {
	h := &Handler{
		truncated: o.Truncated,
		sink:      o.Sink,
		log:       o.Logger,
		metrics:   newMetrics(o.Registerer),
		limits:    o.Limits.withDefaults(),
		now:       o.Now,
		open:      len(o.Sources) == 0,
		auth:      make(map[string]*endpointAuth),
	}
	if err := h.limits.validate(); err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	h.budget = newBudget(h.limits.MaxInflightBodyBytes, h.metrics.inflight)
	if h.sink == nil {
		h.sink = noSink{}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.log = h.log.With("component", "ingest")
	if h.now == nil {
		h.now = time.Now
	}
	byType := make(map[string][]*source)
	names := make(map[string]bool)
	for _, s := range o.Sources {
		src, err := newSource(s)
		if err != nil {
			return nil, err
		}
		if names[src.name] {
			return nil, fmt.Errorf("source %q: duplicate name", src.name)
		}
		names[src.name] = true
		if src.limiter != nil && o.Buckets != nil {
			src.limiter.shared, src.limiter.key, src.limiter.log = o.Buckets, "source/"+src.name, h.log
		}
		h.sources = append(h.sources, src)
		byType[src.typ] = append(byType[src.typ], src)
	}
	for t, srcs := range byType {
		h.auth[t] = newEndpointAuth(srcs)
	}
	if h.open {
		h.log.Warn("ingest endpoints are open to anyone: no sources configured")
	}
	return h, nil
}

// Register mounts the ingest endpoints on mux: POST /ingest/alertmanager,
// /ingest/grafana, /v2/enqueue, /ingest/events, /ingest/changes and
// /ingest/heartbeats/{name} (and its /fail).
func (h *Handler) Register(mux *http.ServeMux) {
	for _, e := range endpoints {
		h.metrics.initSource(e.typ)
		mux.Handle("POST "+e.path, h.handle(e))
	}
	for _, s := range h.sources {
		h.metrics.initSource(s.name)
	}
}

// request is the state of one ingest request.
type request struct {
	w   http.ResponseWriter
	r   *http.Request
	e   *endpoint
	now time.Time
	// label is the source label of the metrics: the endpoint's type until a
	// source is identified, then its name.
	label string
	// src is the identified source; nil on an open endpoint.
	src *source
	// sig is the request's verified HMAC signature, if it has one.
	sig *signed
	// wire is the body as sent, which a signature covers; body is the same
	// decoded from its Content-Encoding (readBody).
	wire, body []byte
	// held is the memory budget the body holds until the request is done.
	held held
}

// identify records the source a request comes from.
func (q *request) identify(s *source) {
	q.src, q.label = s, s.name
}

func (h *Handler) handle(e *endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &request{w: w, r: r, e: e, now: h.now(), label: e.typ, held: held{b: h.budget}}
		defer q.held.release()
		code := h.serve(q)
		h.metrics.requests.WithLabelValues(q.label, strconv.Itoa(code)).Inc()
		h.metrics.duration.WithLabelValues(q.label).Observe(h.now().Sub(q.now).Seconds())
	})
}

// serve handles one request and returns the status code it answered with.
// It never logs the body or the request headers: they carry alert contents
// and credentials.
func (h *Handler) serve(q *request) int {
	if err := h.edge(q); err != nil {
		return h.reject(q, 0, err)
	}
	return q.e.accept(h, q)
}

// edge runs the checks every endpoint shares, cheapest first, so that what
// can be refused from the headers is refused before the body is read:
// credentials in headers (bearer, basic), the source's rate limit, the
// Content-Type, the Sink's overload, the Content-Encoding, the body size
// and the memory budget as the body arrives, an HMAC signature (which covers
// the body as sent), the JSON nesting depth, and that the text is UTF-8. A
// pagerduty source is identified by the routing_key inside its event, so
// /v2/enqueue authenticates in acceptPagerDuty instead.
func (h *Handler) edge(q *request) error {
	a := h.auth[q.e.typ]
	if !h.open && a == nil {
		return &authError{msg: "no source of type " + q.e.typ + " is configured"}
	}
	headerPresented := false
	if a != nil && q.e.typ != SourcePagerDuty {
		if a.byHeader {
			var src *source
			src, headerPresented = matchHeader(a.sources, q.r)
			if src != nil {
				q.identify(src)
			}
		}
		if q.src == nil && !a.bySignature {
			return credentialsError(a, headerPresented, "invalid credentials")
		}
		if q.src != nil {
			if err := q.src.limiter.allow(q.r.Context(), q.now); err != nil {
				return err
			}
		}
	}
	// A cron job's bare `curl -X POST` beats a heartbeat: no body, no
	// Content-Type. A body must still say it is JSON.
	bare := q.e.typ == SourceHeartbeats && q.r.ContentLength == 0 && q.r.Header.Get("Content-Type") == ""
	if err := checkContentType(q.r.Header.Get("Content-Type")); err != nil && !bare {
		return err
	}
	// Under overload the Sink would refuse the request whatever it holds:
	// refusing it before reading the body saves the CPU the writer needs.
	if o, ok := h.sink.(overloadSink); ok {
		if err := o.Overloaded(); err != nil {
			return fmt.Errorf("%w: %w", errNotCommitted, err)
		}
	}
	if err := h.readBody(q); err != nil {
		return err
	}
	if a != nil && q.e.typ != SourcePagerDuty && q.src == nil {
		sig, presented, why := matchSignature(a.sources, q.r, q.wire, q.now)
		if sig == nil {
			if headerPresented {
				why = "invalid credentials"
			}
			return credentialsError(a, headerPresented || presented, why)
		}
		q.identify(sig.src)
		q.sig = sig
		if err := q.src.limiter.allow(q.r.Context(), q.now); err != nil {
			return err
		}
	}
	if err := checkDepth(q.body, h.limits.MaxJSONDepth); err != nil {
		return err
	}
	return checkUTF8(q.body)
}

// credentialsError is the error for a request that no source accepted:
// 403 when it presented credentials, 401 when it did not.
func credentialsError(a *endpointAuth, presented bool, why string) error {
	if !presented {
		return a.missing()
	}
	return &authError{msg: why}
}

// authenticateAs checks that a request carries the credentials of src,
// which its routing key identified.
func (h *Handler) authenticateAs(q *request, src *source) error {
	one := []*source{src}
	a := newEndpointAuth(one)
	if src.hmac == nil {
		match, presented := matchHeader(one, q.r)
		if match == nil {
			return credentialsError(a, presented, "invalid credentials")
		}
		return nil
	}
	sig, presented, why := matchSignature(one, q.r, q.wire, q.now)
	if sig == nil {
		return credentialsError(a, presented, why)
	}
	q.sig = sig
	return nil
}

// acceptEvents returns the accept function of an endpoint whose payload
// decodes to events. decode also returns how many items the payload
// carried, counted as rejected when it is invalid; loc locates limit
// problems in the body.
func acceptEvents(decode func(body []byte, now time.Time, l Limits) ([]incident.Event, int, error), loc func(body []byte) locator) func(*Handler, *request) int {
	return func(h *Handler, q *request) int {
		events, n, err := decode(q.body, q.now, h.limits)
		if err != nil {
			return h.reject(q, n, err)
		}
		if err := h.limits.checkEvents(events, func() locator { return loc(q.body) }); err != nil {
			return h.reject(q, len(events), err)
		}
		q.stamp(events)
		if err := h.ingest(q, incident.Submission{Events: events}); err != nil {
			return h.notCommitted(q, len(events), err)
		}
		h.accepted(q, len(events))
		if g := events[0].Group; g != nil && g.Truncated > 0 && h.truncated != nil {
			h.truncated(events[0].Source, events[0].GroupLabels)
		}
		writeJSON(q.w, http.StatusOK, successBody{Status: "success", Events: len(events)})
		return http.StatusOK
	}
}

// stamp sets the Source of events to the identified source's name; on an
// open endpoint they keep the decoder's (the endpoint's type).
func (q *request) stamp(events []incident.Event) {
	if q.src == nil {
		return
	}
	for i := range events {
		events[i].Source = q.src.name
	}
}

func acceptChanges(h *Handler, q *request) int {
	changes, n, err := decodeChanges(q.body, q.now, h.limits)
	if err != nil {
		return h.reject(q, n, err)
	}
	loc := func() locator { return batchLocator(q.body, "changes") }
	if err := h.limits.checkChanges(changes, loc); err != nil {
		return h.reject(q, len(changes), err)
	}
	if q.src != nil {
		for i := range changes {
			changes[i].Source = q.src.name
		}
	}
	if err := h.ingest(q, incident.Submission{Changes: changes}); err != nil {
		return h.notCommitted(q, len(changes), err)
	}
	h.accepted(q, len(changes))
	writeJSON(q.w, http.StatusOK, changesOKBody{Status: "success", Changes: len(changes)})
	return http.StatusOK
}

// acceptPagerDuty serves /v2/enqueue as PagerDuty's Events API v2 does: 202
// with the dedup_key, 400 with every problem of an invalid event. With
// pagerduty sources configured, the event's routing_key must be one of
// theirs (PagerDuty answers an unknown one with 400 too), and when that
// source also has auth, the request must carry its credentials as well.
func acceptPagerDuty(h *Handler, q *request) int {
	pd, err := decodePagerDuty(q.body, q.now, h.limits)
	if err != nil {
		return h.reject(q, 1, err)
	}
	if a := h.auth[SourcePagerDuty]; a != nil {
		src := matchRoutingKey(a.sources, pd.RoutingKey)
		if src == nil {
			return h.reject(q, 1, errUnknownRoutingKey)
		}
		q.identify(src)
		if src.hasAuth() {
			if err := h.authenticateAs(q, src); err != nil {
				return h.reject(q, 1, err)
			}
		}
		if err := src.limiter.allow(q.r.Context(), q.now); err != nil {
			return h.reject(q, 1, err)
		}
	}
	events := []incident.Event{pd.Event}
	if err := h.limits.checkEvents(events, func() locator { return pdLocator }); err != nil {
		return h.reject(q, 1, err)
	}
	q.stamp(events)
	if err := h.ingest(q, incident.Submission{Events: events}); err != nil {
		return h.notCommitted(q, 1, err)
	}
	h.accepted(q, 1)
	writeRaw(q.w, http.StatusAccepted, PDSuccess(pd.DedupKey))
	return http.StatusAccepted
}

// ingest hands s to the Sink with the request's nonce, if it is signed.
// The signature joins the replay cache only once it is committed (or
// found committed before): a request that did not commit may be retried
// unchanged.
func (h *Handler) ingest(q *request, s incident.Submission) error {
	if q.sig != nil {
		s.Nonce = q.sig.nonce(q.now)
	}
	err := h.sink.Ingest(q.r.Context(), s)
	if q.sig != nil && (err == nil || errors.Is(err, incident.ErrReplay)) {
		q.sig.remember(q.now)
	}
	return err
}

func (h *Handler) accepted(q *request, n int) {
	h.metrics.events.WithLabelValues(q.label, outcomeAccepted).Add(float64(n))
	h.log.DebugContext(q.r.Context(), "events accepted", "source", q.label, "events", n)
}

// notCommitted answers a Sink failure of n items. A replay is refused as
// the replay cache refuses it, so it does not matter which of the two
// catches it.
func (h *Handler) notCommitted(q *request, n int, err error) int {
	if errors.Is(err, incident.ErrReplay) {
		return h.reject(q, n, errReplayed)
	}
	h.metrics.events.WithLabelValues(q.label, outcomeFailed).Add(float64(n))
	h.log.WarnContext(q.r.Context(), "events not committed", "source", q.label, "events", n, "err", err)
	return h.writeError(q, fmt.Errorf("submit %d events: %w: %w", n, errNotCommitted, err))
}

// reject answers a request that is refused without any effect; n items of
// its payload are counted as rejected.
func (h *Handler) reject(q *request, n int, err error) int {
	h.metrics.events.WithLabelValues(q.label, outcomeRejected).Add(float64(n))
	h.log.WarnContext(q.r.Context(), "request rejected", "source", q.label, "reason", errorStatus(q.e.typ, err).reason,
		"remote_addr", q.r.RemoteAddr, "err", err)
	return h.writeError(q, err)
}

// writeError answers err as errorStatus maps it, counts a rejection, and
// returns the status.
func (h *Handler) writeError(q *request, err error) int {
	resp := errorStatus(q.e.typ, err)
	if resp.reason != "" {
		h.metrics.rejected.WithLabelValues(q.label, resp.reason).Inc()
	}
	if resp.retryAfter > 0 {
		q.w.Header().Set("Retry-After", retryAfterValue(resp.retryAfter))
	}
	for _, c := range resp.challenges {
		q.w.Header().Add("WWW-Authenticate", c)
	}
	if resp.code == http.StatusInternalServerError {
		h.log.Error("internal error", "source", q.label, "err", err)
	}
	if b, ok := resp.body.(pdBody); ok {
		writeRaw(q.w, resp.code, b)
	} else {
		writeJSON(q.w, resp.code, resp.body)
	}
	return resp.code
}

type successBody struct {
	Status string `json:"status"`
	Events int    `json:"events"`
}

type changesOKBody struct {
	Status  string `json:"status"`
	Changes int    `json:"changes"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the sender may be gone; there is no one left to tell
}

// writeRaw answers with a body that is JSON already.
func writeRaw(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// noSink stands in for a missing Options.Sink: every request gets a 503, so
// senders keep their alerts and retry until the daemon is fixed.
type noSink struct{}

func (noSink) Ingest(context.Context, incident.Submission) error {
	return errors.New("no sink configured")
}
