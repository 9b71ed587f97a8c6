package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
)

// maxAnswer bounds one Web API answer: a page of 200 messages of history,
// with their blocks, is well under it.
const maxAnswer = 8 << 20

// defaultRateLimitWait is how long to wait after a "ratelimited" answer
// that did not say (Slack sends Retry-After with its 429s).
const defaultRateLimitWait = 30 * time.Second

// APIError is a Web API call Slack refused: HTTP 200 with {"ok": false,
// "error": Code}.
type APIError struct {
	Method string
	Code   string
}

func (e *APIError) Error() string { return fmt.Sprintf("slack %s: %s", e.Method, e.Code) }

// The classes of Slack's error codes (each method's documented errors,
// and the errors every method may return).
var (
	// authCodes are credentials an operator must fix: retried, as a 401.
	authCodes = codes("not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired",
		"no_permission", "missing_scope", "not_allowed_token_type", "team_access_not_granted", "access_denied",
		"org_login_required", "ekm_access_denied")
	// rateCodes ask the sink to wait.
	rateCodes = codes("ratelimited", "rate_limited")
	// transientCodes are Slack's own troubles: retried with backoff.
	transientCodes = codes("internal_error", "fatal_error", "service_unavailable", "request_timeout",
		"team_added_to_org")
)

func codes(cs ...string) map[string]bool {
	m := make(map[string]bool, len(cs))
	for _, c := range cs {
		m[c] = true
	}
	return m
}

// classify gives a refusal its delivery class. Any code not known to pass
// (channel_not_found, not_in_channel, is_archived, msg_too_long,
// invalid_blocks, cant_update_message, …) is permanent: the request itself
// is what Slack refuses, and sending it again changes nothing.
// message_not_found stays an *APIError the sink handles.
func classify(e *APIError, h http.Header) error {
	switch {
	case rateCodes[e.Code]:
		after := defaultRateLimitWait
		if d, ok := retryAfter(h); ok {
			after = d
		}
		return &sink.RetryAfterError{After: after, Err: e}
	case authCodes[e.Code]:
		return fmt.Errorf("%w: %w", sink.ErrUnauthorized, e)
	case transientCodes[e.Code], e.Code == codeMessageNotFound:
		return e
	}
	return sink.Permanent(e)
}

const codeMessageNotFound = "message_not_found"

// isCode reports whether err is Slack's refusal code.
func isCode(err error, code string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == code
}

func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	var s int
	if _, err := fmt.Sscanf(v, "%d", &s); err != nil || s < 0 {
		return 0, false
	}
	return time.Duration(s) * time.Second, true
}

// client calls the Web API with a bot token.
type client struct {
	base  string
	token secret.Value
	ua    string
	http  *http.Client
}

// answer is what every Web API answer carries.
type answer struct {
	OK               bool   `json:"ok"`
	Error            string `json:"error"`
	ResponseMetadata struct {
		NextCursor string `json:"next_cursor"`
	} `json:"response_metadata"`
}

// post calls a write method with a JSON body.
func (c *client) post(ctx context.Context, method string, args, out any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return sink.Permanent(fmt.Errorf("encode %s: %w", method, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method, bytes.NewReader(body))
	if err != nil {
		return sink.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	return c.do(req, method, out)
}

// get calls a read method: Slack takes their arguments in the query, not
// as JSON.
func (c *client) get(ctx context.Context, method string, args url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+method+"?"+args.Encode(), nil)
	if err != nil {
		return sink.Permanent(err)
	}
	return c.do(req, method, out)
}

func (c *client) do(req *http.Request, method string, out any) error {
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := sink.CheckResponse(resp); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("slack %s: read answer: %w", method, err)
	}
	if len(b) > maxAnswer {
		return sink.Permanent(fmt.Errorf("slack %s: answer over %d bytes", method, maxAnswer))
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		// A proxy's error page, a cut answer: not Slack's word, so retried.
		return fmt.Errorf("slack %s: answer is not JSON: %w", method, err)
	}
	if !a.OK {
		if a.Error == "" {
			a.Error = "unknown_error"
		}
		return classify(&APIError{Method: method, Code: a.Error}, resp.Header)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("slack %s: decode answer: %w", method, err)
	}
	return nil
}
