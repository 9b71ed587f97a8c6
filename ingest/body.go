package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"strings"
)

// This file reads a request's body: within the body limit and the memory
// budget, and decoded from its Content-Encoding.

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
	wire, err := readAll(http.MaxBytesReader(q.w, q.r.Body, limit), limit, q.r.ContentLength, &q.held)
	if err != nil {
		return h.bodyError(err, "read body")
	}
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
	}
	return inputErr("", "%s: %v", op, err)
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
