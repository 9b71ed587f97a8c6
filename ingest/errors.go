package ingest

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// ErrTooLarge means a request body is over the configured size limit. The
// handler answers it with 413.
var ErrTooLarge = errors.New("request body too large")

// ErrUnsupportedMediaType means a request's Content-Type is not JSON. The
// handler answers it with 415.
var ErrUnsupportedMediaType = errors.New("unsupported media type")

// errNotCommitted marks a Sink failure: nothing was committed and the sender
// should retry. Its text is what the sender sees.
var errNotCommitted = errors.New("not committed, retry")

// errUnknownRoutingKey is a PagerDuty event whose routing_key names no
// configured pagerduty source. PagerDuty answers that with 400, and so does
// /v2/enqueue, so that a PagerDuty client reports it as it would there.
var errUnknownRoutingKey = &InputError{Where: pdRoutingKey, Msg: "invalid routing key"}

// errReplayed is a signed request whose signature was used before: the
// replay cache knew it, or the store did when the request tried to commit.
var errReplayed = &authError{msg: "signature already used"}

// overloadRetryAfter is the Retry-After sent when the pipeline is overloaded
// or down.
const overloadRetryAfter = 5 * time.Second

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

// LimitError is a well-formed payload that alertbridge refuses to take in:
// over one of the configured limits (Limits), or holding what it could not
// keep faithfully (text that is not UTF-8, a time the store cannot hold).
// The handler answers it with 422. Where is the JSON path of the offending
// field, as for InputError.
type LimitError struct {
	// Limit is the reason label it is counted under: limit_alerts,
	// limit_labels, limit_label_length, limit_annotations, limit_depth,
	// limit_fingerprint_length, limit_url_length, limit_string_length,
	// invalid_utf8 or invalid_time.
	Limit string
	Msg   string
	Where string
}

// Error renders the error as "where: msg", or msg alone when Where is empty.
func (e *LimitError) Error() string {
	if e.Where == "" {
		return e.Msg
	}
	return e.Where + ": " + e.Msg
}

func limitErr(limit, where, format string, args ...any) *LimitError {
	return &LimitError{Limit: limit, Where: where, Msg: fmt.Sprintf(format, args...)}
}

// tooLargeError is ErrTooLarge with the limit that was exceeded.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("request body exceeds %d bytes", e.limit)
}

func (e *tooLargeError) Is(target error) bool { return target == ErrTooLarge }

// mediaTypeError is ErrUnsupportedMediaType with what was sent.
type mediaTypeError struct{ got string }

func (e *mediaTypeError) Error() string {
	if e.got == "" {
		return "missing Content-Type, want application/json"
	}
	return fmt.Sprintf("unsupported Content-Type %q, want application/json", truncate(e.got, maxEchoed))
}

func (e *mediaTypeError) Is(target error) bool { return target == ErrUnsupportedMediaType }

// encodingError is a request whose Content-Encoding is not accepted.
type encodingError struct{ got string }

func (e *encodingError) Error() string {
	return fmt.Sprintf("unsupported Content-Encoding %q, want gzip or identity", truncate(e.got, maxEchoed))
}

// timeoutError is a request whose body did not arrive in time.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("request body not received within %s", e.after)
}

// authError is a request without acceptable credentials. missing is true
// when it carried none, or none in a form the endpoint accepts (401: the
// sender should authenticate); false when it carried credentials that are
// wrong, expired or replayed (403: authenticating again will not help).
// msg never holds a credential.
type authError struct {
	missing bool
	msg     string
	// challenges are the WWW-Authenticate values of a 401.
	challenges []string
}

func (e *authError) Error() string { return e.msg }

// rateLimitedError is a request over its source's rate limit.
type rateLimitedError struct{ retryAfter time.Duration }

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("rate limit exceeded, retry in %s", retryAfterValue(e.retryAfter)+"s")
}

// errorBody is the JSON body of every error response but a PagerDuty 400.
type errorBody struct {
	Error string `json:"error"`
	Where string `json:"where"`
	// Errors lists every problem of a batch (generic events, changes), one
	// per invalid item; Error and Where repeat the first.
	Errors []itemError `json:"errors,omitempty"`
}

// itemError is one problem of a batch.
type itemError struct {
	Error string `json:"error"`
	Where string `json:"where"`
}

// itemErrors returns every input or limit problem err joins, when it joins
// more than one.
func itemErrors(err error) []itemError {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil
	}
	var out []itemError
	for _, e := range joined.Unwrap() {
		var ie *InputError
		var le *LimitError
		switch {
		case errors.As(e, &ie):
			out = append(out, itemError{Error: ie.Msg, Where: ie.Where})
		case errors.As(e, &le):
			out = append(out, itemError{Error: le.Msg, Where: le.Where})
		}
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// response is how errorStatus answers an error.
type response struct {
	code int
	// body is the JSON body: an errorBody, or PagerDuty's invalid-event
	// body (already encoded) on /v2/enqueue.
	body any
	// reason is the alertbridge_ingest_rejected_total reason, "" for a
	// failure that is not a rejection (a Sink error other than overload).
	reason string
	// retryAfter, when positive, is sent as Retry-After in seconds.
	retryAfter time.Duration
	// challenges are sent as WWW-Authenticate values.
	challenges []string
}

// errorStatus is the one place that maps an error from authenticating,
// reading, decoding, checking or submitting a request to the status, body
// and headers the sender sees, and to the reason it is counted under. typ is
// the endpoint's source type: senders differ in what they retry.
// Alertmanager, Grafana and the generic endpoints retry only 5xx, so every
// "try again later" is a 503; PagerDuty clients retry 429 (and PagerDuty
// answers its rate limit with one), so /v2/enqueue says 429 for a rate limit
// and an overload.
//
// A Sink error is checked first: whatever it wraps, nothing was committed,
// so the sender must retry rather than drop the notification.
func errorStatus(typ string, err error) response {
	busy := http.StatusServiceUnavailable
	if typ == SourcePagerDuty {
		busy = http.StatusTooManyRequests
	}
	var (
		ie *InputError
		le *LimitError
		tl *tooLargeError
		mt *mediaTypeError
		ce *encodingError
		to *timeoutError
		ae *authError
		rl *rateLimitedError
		nf *notFoundError
	)
	switch {
	case errors.Is(err, errNotCommitted) && errors.Is(err, incident.ErrUnavailable):
		return response{code: busy, body: errorBody{Error: errNotCommitted.Error()}, reason: reasonOverloaded, retryAfter: overloadRetryAfter}
	case errors.Is(err, errNotCommitted):
		// Not overload: the store failed or the request was cancelled.
		// PagerDuty answers its own failures with 5xx, which its clients
		// retry too.
		return response{code: http.StatusServiceUnavailable, body: errorBody{Error: errNotCommitted.Error()}, retryAfter: overloadRetryAfter}
	case errors.As(err, &ae) && ae.missing:
		return response{code: http.StatusUnauthorized, body: errorBody{Error: ae.msg}, reason: reasonUnauthorized, challenges: ae.challenges}
	case errors.As(err, &ae):
		return response{code: http.StatusForbidden, body: errorBody{Error: ae.msg}, reason: reasonForbidden}
	case errors.As(err, &rl):
		return response{code: busy, body: errorBody{Error: rl.Error()}, reason: reasonRateLimited, retryAfter: rl.retryAfter}
	case errors.Is(err, errOverBudget):
		return response{code: busy, body: errorBody{Error: errOverBudget.Error()}, reason: reasonMemoryBudget, retryAfter: overloadRetryAfter}
	case errors.As(err, &to):
		return response{code: http.StatusRequestTimeout, body: errorBody{Error: to.Error()}, reason: reasonTimeout}
	case errors.As(err, &tl):
		return response{code: http.StatusRequestEntityTooLarge, body: errorBody{Error: tl.Error()}, reason: reasonTooLarge}
	case errors.Is(err, ErrTooLarge):
		return response{code: http.StatusRequestEntityTooLarge, body: errorBody{Error: ErrTooLarge.Error()}, reason: reasonTooLarge}
	case errors.As(err, &mt):
		return response{code: http.StatusUnsupportedMediaType, body: errorBody{Error: mt.Error()}, reason: reasonUnsupportedMediaType}
	case errors.As(err, &ce):
		return response{code: http.StatusUnsupportedMediaType, body: errorBody{Error: ce.Error()}, reason: reasonUnsupportedEncoding}
	case errors.As(err, &le):
		return response{code: http.StatusUnprocessableEntity, body: errorBody{Error: le.Msg, Where: le.Where, Errors: itemErrors(err)}, reason: le.Limit}
	case errors.As(err, &nf):
		return response{code: http.StatusNotFound, body: errorBody{Error: nf.msg, Where: nf.where}, reason: reasonNotFound}
	case errors.As(err, &ie) && typ == SourcePagerDuty:
		reason := reasonInvalid
		if ie == errUnknownRoutingKey {
			reason = reasonForbidden
		}
		return response{code: http.StatusBadRequest, body: pdBody(PDError(PDErrorMessages(err))), reason: reason}
	case errors.As(err, &ie):
		return response{code: http.StatusBadRequest, body: errorBody{Error: ie.Msg, Where: ie.Where, Errors: itemErrors(err)}, reason: reasonInvalid}
	default:
		return response{code: http.StatusInternalServerError, body: errorBody{Error: "internal error"}}
	}
}

// pdBody is a response body that is already JSON.
type pdBody []byte

// retryAfterValue renders d as whole seconds, rounded up and at least 1, as
// Retry-After wants them.
func retryAfterValue(d time.Duration) string {
	return strconv.FormatInt(int64(math.Max(1, math.Ceil(d.Seconds()))), 10)
}
