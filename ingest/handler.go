package ingest

import (
	"bytes"
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

// DefaultMaxBodyBytes is the request body limit when Options.MaxBodyBytes is
// 0. Alertmanager never retries a 4xx, so an oversized body loses the
// notification: the limit is generous.
const DefaultMaxBodyBytes = 10 << 20

// Sink receives decoded events; *pipeline.Pipeline satisfies it.
type Sink interface {
	// Submit returns only after the events are durably committed, or an error
	// meaning nothing was committed. Any error (overload, store down, ctx
	// cancelled) makes the handler answer 503 so the sender retries.
	Submit(ctx context.Context, events []incident.Event) error
}

// Options configures a Handler.
type Options struct {
	// Sink receives the events of every valid request. Required.
	Sink Sink
	// Logger gets a child logger with component=ingest; nil discards logs.
	Logger *slog.Logger
	// Registerer receives the ingest metrics; nil means no metrics.
	Registerer prometheus.Registerer
	// MaxBodyBytes limits request bodies; 0 (or less) means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock used to measure request latency; nil means time.Now.
	Now func() time.Time
}

// Handler serves the ingest endpoints.
type Handler struct {
	sink    Sink
	log     *slog.Logger
	metrics *metrics
	maxBody int64
	now     func() time.Time
}

// decodeFunc decodes one source's payload and also returns how many alerts it
// carried, which is counted as rejected when the payload is invalid.
type decodeFunc func(body []byte) ([]incident.Event, int, error)

// New returns a Handler for o.
func New(o Options) *Handler {
	h := &Handler{
		sink:    o.Sink,
		log:     o.Logger,
		metrics: newMetrics(o.Registerer),
		maxBody: o.MaxBodyBytes,
		now:     o.Now,
	}
	if h.sink == nil {
		h.sink = noSink{}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.log = h.log.With("component", "ingest")
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// Register mounts the ingest endpoints on mux: POST /ingest/alertmanager.
func (h *Handler) Register(mux *http.ServeMux) {
	h.metrics.initSource(SourceAlertmanager)
	mux.Handle("POST /ingest/alertmanager", h.source(SourceAlertmanager, decodeAlertmanager))
}

// source returns the handler of one source's endpoint.
func (h *Handler) source(name string, decode decodeFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := h.now()
		code := h.serve(w, r, name, decode)
		h.metrics.requests.WithLabelValues(name, strconv.Itoa(code)).Inc()
		h.metrics.duration.WithLabelValues(name).Observe(h.now().Sub(start).Seconds())
	})
}

// serve handles one request and returns the status code it answered with.
// It never logs the body or the request headers: they carry alert contents
// and credentials.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, source string, decode decodeFunc) int {
	body, err := h.readBody(w, r)
	if err != nil {
		return h.reject(r.Context(), w, source, 0, err)
	}
	events, n, err := decode(body)
	if err != nil {
		return h.reject(r.Context(), w, source, n, err)
	}
	if err := h.sink.Submit(r.Context(), events); err != nil {
		h.metrics.events.WithLabelValues(source, outcomeFailed).Add(float64(len(events)))
		h.log.WarnContext(r.Context(), "events not committed", "source", source, "events", len(events), "err", err)
		return h.writeError(w, fmt.Errorf("submit %d events: %w: %w", len(events), errNotCommitted, err))
	}
	h.metrics.events.WithLabelValues(source, outcomeAccepted).Add(float64(len(events)))
	h.log.DebugContext(r.Context(), "events accepted", "source", source, "events", len(events))
	writeJSON(w, http.StatusOK, successBody{Status: "success", Events: len(events)})
	return http.StatusOK
}

// reject answers a request that is too large or invalid; n alerts are counted
// as rejected.
func (h *Handler) reject(ctx context.Context, w http.ResponseWriter, source string, n int, err error) int {
	reason := reasonInvalid
	if errors.Is(err, ErrTooLarge) {
		reason = reasonTooLarge
	}
	h.metrics.rejected.WithLabelValues(source, reason).Inc()
	h.metrics.events.WithLabelValues(source, outcomeRejected).Add(float64(n))
	h.log.WarnContext(ctx, "payload rejected", "source", source, "reason", reason, "err", err)
	return h.writeError(w, err)
}

// readBody reads the whole body, at most h.maxBody bytes of it.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, &tooLargeError{limit: h.maxBody}
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, &tooLargeError{limit: h.maxBody}
	case err != nil:
		return nil, inputErr("", "read body: %v", err)
	}
	return buf.Bytes(), nil
}

// writeError answers err as errorStatus maps it and returns the status.
func (h *Handler) writeError(w http.ResponseWriter, err error) int {
	code, body := errorStatus(err)
	switch code {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		w.Header().Set("Retry-After", retryAfterSeconds)
	case http.StatusInternalServerError:
		h.log.Error("internal error", "err", err)
	}
	writeJSON(w, code, body)
	return code
}

type successBody struct {
	Status string `json:"status"`
	Events int    `json:"events"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the sender may be gone; there is no one left to tell
}

// noSink stands in for a missing Options.Sink: every request gets a 503, so
// senders keep their alerts and retry until the daemon is fixed.
type noSink struct{}

func (noSink) Submit(context.Context, []incident.Event) error {
	return errors.New("no sink configured")
}
