package jira

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// do sends one request to Jira's REST API and decodes a 2xx answer's JSON
// into out (nil: the answer is dropped). A non-2xx answer is a
// *ticketing.Error whose message is Jira's.
func (s *Sink) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	u := s.o.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var decode func(io.Reader) error
	if out != nil {
		decode = func(r io.Reader) error { return json.NewDecoder(r).Decode(out) }
	}
	return s.client.Do(ctx, method, u, in, decode)
}

// auth sets the sink's credentials: Data Center's personal access token
// as a bearer token, else Cloud's e-mail and API token as basic auth.
func (s *Sink) auth(req *http.Request) {
	if !s.o.PersonalAccessToken.IsZero() {
		req.Header.Set("Authorization", "Bearer "+s.o.PersonalAccessToken.Reveal())
		return
	}
	req.SetBasicAuth(s.o.Username, s.o.APIToken.Reveal())
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
