package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/alertbridge/alertbridge/sink"
)

// maxAnswer bounds a Jira answer the sink decodes: a search of one issue,
// a page of comments.
const maxAnswer = 4 << 20

// maxErrorAnswer bounds the part of an error answer read for its message.
const maxErrorAnswer = 8 << 10

// apiError is a Jira answer other than 2xx: its status, and the error
// sink.CheckResponse classed it as (retried, permanent, retry-after).
type apiError struct {
	Status int
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

// hasStatus reports whether err is a Jira answer with one of codes.
func hasStatus(err error, codes ...int) bool {
	var ae *apiError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.Status == c {
			return true
		}
	}
	return false
}

// do sends one request to Jira's REST API and decodes a 2xx answer's JSON
// into out (nil: the answer is dropped). The request carries ctx, the
// dispatcher's per-attempt timeout.
func (s *Sink) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return sink.Permanent(fmt.Errorf("encode %s %s: %w", method, path, err))
		}
		body = bytes.NewReader(b)
	}
	u := s.o.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return sink.Permanent(err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", s.o.UserAgent)
	if !s.o.PersonalAccessToken.IsZero() {
		req.Header.Set("Authorization", "Bearer "+s.o.PersonalAccessToken.Reveal())
	} else {
		req.SetBasicAuth(s.o.Username, s.o.APIToken.Reveal())
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return failure(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		// A 2xx answer we cannot read: Jira did what it did, and the next
		// attempt looks again rather than guessing.
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

// failure classes a non-2xx answer with sink.CheckResponse, its message
// being Jira's errorMessages and errors rather than the raw body. A 409 is
// retried rather than dropped: Jira answers it to an edit that raced
// another, and the next attempt reads the issue anew.
func failure(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorAnswer))
	resp.Body = io.NopCloser(strings.NewReader(errorText(b)))
	err := sink.CheckResponse(resp)
	if resp.StatusCode == http.StatusConflict {
		err = fmt.Errorf("%s %s: %s: %s (retried)", resp.Request.Method, resp.Request.URL.Path, resp.Status, errorText(b))
	}
	return &apiError{Status: resp.StatusCode, err: err}
}

// errorText is Jira's error answer as one line: its errorMessages, then
// its errors by field; the raw text when it is not that JSON.
func errorText(b []byte) string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
		Message       string            `json:"message"`
	}
	if json.Unmarshal(b, &e) != nil || (len(e.ErrorMessages) == 0 && len(e.Errors) == 0 && e.Message == "") {
		return strings.TrimSpace(string(b))
	}
	parts := append([]string(nil), e.ErrorMessages...)
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	fields := make([]string, 0, len(e.Errors))
	for f := range e.Errors {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		parts = append(parts, f+": "+e.Errors[f])
	}
	return strings.Join(parts, "; ")
}
