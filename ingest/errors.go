package ingest

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrTooLarge means a request body is over the configured size limit. The
// handler answers it with 413.
var ErrTooLarge = errors.New("request body too large")

// errNotCommitted marks a Sink failure: nothing was committed and the sender
// should retry. Its text is what the sender sees.
var errNotCommitted = errors.New("not committed, retry")

// retryAfterSeconds is the Retry-After value sent with a 503.
const retryAfterSeconds = "5"

// InputError is a payload the sender must fix; the handler answers it with
// 400. Where is a JSON path into the payload ("alerts[3].labels", "version"),
// "offset N" for malformed JSON, or "" for the body as a whole.
type InputError struct {
	Msg   string
	Where string
}

// Error renders the error as "where: msg", or msg alone when Where is empty.
func (e *InputError) Error() string {
	if e.Where == "" {
		return e.Msg
	}
	return e.Where + ": " + e.Msg
}

func inputErr(where, format string, args ...any) *InputError {
	return &InputError{Where: where, Msg: fmt.Sprintf(format, args...)}
}

// tooLargeError is ErrTooLarge with the limit that was exceeded.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("request body exceeds %d bytes", e.limit)
}

func (e *tooLargeError) Is(target error) bool { return target == ErrTooLarge }

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error string `json:"error"`
	Where string `json:"where"`
}

// errorStatus is the one place that maps an error from reading, decoding or
// submitting a payload to the status and body the sender sees. A Sink error is
// checked first: whatever it wraps, nothing was committed, so the sender must
// retry rather than drop the notification.
func errorStatus(err error) (int, errorBody) {
	var (
		ie *InputError
		tl *tooLargeError
	)
	switch {
	case errors.Is(err, errNotCommitted):
		return http.StatusServiceUnavailable, errorBody{Error: errNotCommitted.Error()}
	case errors.As(err, &tl):
		return http.StatusRequestEntityTooLarge, errorBody{Error: tl.Error()}
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, errorBody{Error: ErrTooLarge.Error()}
	case errors.As(err, &ie):
		return http.StatusBadRequest, errorBody{Error: ie.Msg, Where: ie.Where}
	default:
		return http.StatusInternalServerError, errorBody{Error: "internal error"}
	}
}
