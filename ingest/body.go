package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"
)

// This file reads a request's body: within the body limit, the memory
// budget and the body read timeout, and decoded from its Content-Encoding.

// acceptedEncodings is the Accept-Encoding sent with a 415 for an encoding
// that is not accepted (RFC 7694): gzip, and identity, which is implied.
const acceptedEncodings = "gzip"

// readBody reads q's body into q.wire, the bytes as sent, and q.body, the
// same decoded: they are one slice unless the body is gzip-compressed. A
// signature covers q.wire (what the sender signed); everything else reads
// q.body. MaxBodyBytes bounds both, so a gzip bomb is refused after at most
// MaxBodyBytes+1 decoded bytes. Compressed bytes are never parsed as JSON.
//
// A Content-Encoding that is not accepted is refused before reading
// anything, and a Content-Length over the limit too.
func (h *Handler) readBody(q *request) error {
	gzipped, err := contentEncoding(q.r.Header)
	if err != nil {
		q.w.Header().Set("Accept-Encoding", acceptedEncodings)
		return err
	}
	limit := h.limits.MaxBodyBytes
	if q.r.ContentLength > limit {
		return &tooLargeError{limit: limit}
	}
	clearDeadline := h.setBodyDeadline(q.w)
	wire, err := readAll(http.MaxBytesReader(q.w, q.r.Body, limit), limit, q.r.ContentLength, &q.held)
	if err != nil {
		return h.bodyError(err, "read body")
	}
	clearDeadline()
	q.wire, q.body = wire, wire
	if !gzipped {
		return nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(wire))
	if err != nil {
		return inputErr("", "Content-Encoding gzip: %v", err)
	}
	body, err := readAll(zr, limit, -1, &q.held)
	if err != nil {
		return h.bodyError(err, "Content-Encoding gzip")
	}
	q.body = body
	return nil
}

// bodyError maps an error of reading or decoding a body; op says which.
func (h *Handler) bodyError(err error, op string) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errTooLong) || errors.As(err, &mbe):
		return &tooLargeError{limit: h.limits.MaxBodyBytes}
	case errors.Is(err, errOverBudget):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &timeoutError{after: h.limits.BodyReadTimeout}
	}
	return inputErr("", "%s: %v", op, err)
}

// setBodyDeadline gives the body BodyReadTimeout to arrive, counted from
// now, and returns the function that lifts the deadline again once it has.
// It replaces the server's ReadTimeout for this request, so that a slow body
// gets a 408 rather than a silently closed connection. Lifting it matters:
// once a body is in, net/http reads ahead on the connection while the
// handler runs (for an empty body, from before the handler starts), and a
// deadline passing during that read would cancel the request's context,
// and so its commit.
//
// The deadline is on the wall clock, not on Options.Now: it is the
// network's. A ResponseWriter that cannot set deadlines (a test recorder)
// reads without one.
func (h *Handler) setBodyDeadline(w http.ResponseWriter) (clear func()) {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(h.limits.BodyReadTimeout)); err != nil {
		return func() {}
	}
	return func() { _ = rc.SetReadDeadline(time.Time{}) } // the body is in; nothing depends on it
}

// contentEncoding reads the Content-Encoding of a request: gzip (or its
// alias x-gzip) is decoded, identity or none is taken as is; anything else,
// including several codings, is an *encodingError.
func contentEncoding(hd http.Header) (gzipped bool, err error) {
	vals := hd.Values("Content-Encoding")
	if len(vals) == 0 {
		return false, nil
	}
	got := strings.Join(vals, ", ")
	if len(vals) > 1 {
		return false, &encodingError{got: got}
	}
	switch strings.ToLower(strings.TrimSpace(got)) {
	case "", "identity":
		return false, nil
	case "gzip", "x-gzip":
		return true, nil
	}
	return false, &encodingError{got: got}
}
