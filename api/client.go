package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Client talks to a running alertbridge's REST API.
type Client struct {
	// BaseURL is the daemon's address, e.g. http://127.0.0.1:9097.
	BaseURL string
	HTTP    *http.Client
	// Token, when set, is sent as a bearer token; Username and Password,
	// when Username is set, as basic auth. They name an api.users identity.
	Token              string
	Username, Password string
}

// StatusError is a non-2xx answer, with the server's error body.
type StatusError struct {
	Code int
	Body Error
}

func (e *StatusError) Error() string {
	if e.Body.Where != "" {
		return fmt.Sprintf("HTTP %d: %s: %s", e.Code, e.Body.Where, e.Body.Error)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Body.Error)
}

// ListQuery selects incidents; empty fields are not sent.
type ListQuery struct {
	State, Priority, Service, Q, Cursor string
	Limit                               int
}

// ListIncidents returns one page of incidents.
func (c *Client) ListIncidents(ctx context.Context, q ListQuery) (IncidentList, error) {
	v := url.Values{}
	for k, s := range map[string]string{"state": q.State, "priority": q.Priority, "service": q.Service, "q": q.Q, "cursor": q.Cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out IncidentList
	path := "/api/v1/incidents"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// Changes returns one page of changes, newest first.
func (c *Client) Changes(ctx context.Context, service, cursor string, limit int) (ChangeList, error) {
	v := url.Values{}
	if service != "" {
		v.Set("service", service)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out ChangeList
	return out, c.do(ctx, http.MethodGet, "/api/v1/changes?"+v.Encode(), nil, &out)
}

// Heartbeats lists the heartbeat monitors (GET /api/v1/heartbeats).
func (c *Client) Heartbeats(ctx context.Context) (HeartbeatList, error) {
	var out HeartbeatList
	return out, c.do(ctx, http.MethodGet, "/api/v1/heartbeats", nil, &out)
}

// Incident returns one incident with all its alerts and timeline,
// following the detail view's pages.
func (c *Client) Incident(ctx context.Context, id int64) (Incident, error) {
	var out Incident
	path := fmt.Sprintf("/api/v1/incidents/%d", id)
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return out, err
	}
	for out.AlertsNextCursor != "" || out.TimelineNextCursor != "" {
		// A list already whole is asked for one row, which is dropped.
		v := url.Values{}
		if out.AlertsNextCursor != "" {
			v.Set("alerts_after", out.AlertsNextCursor)
		} else {
			v.Set("alerts_limit", "1")
		}
		if out.TimelineNextCursor != "" {
			v.Set("timeline_after", out.TimelineNextCursor)
		} else {
			v.Set("timeline_limit", "1")
		}
		var next Incident
		if err := c.do(ctx, http.MethodGet, path+"?"+v.Encode(), nil, &next); err != nil {
			return out, err
		}
		if out.AlertsNextCursor != "" {
			out.Alerts, out.AlertsNextCursor = append(out.Alerts, next.Alerts...), next.AlertsNextCursor
		}
		if out.TimelineNextCursor != "" {
			out.Timeline, out.TimelineNextCursor = append(out.Timeline, next.Timeline...), next.TimelineNextCursor
		}
	}
	return out, nil
}

// Report opens an incident by hand (POST /api/v1/incidents) and answers
// with it.
func (c *Client) Report(ctx context.Context, req ReportRequest) (Incident, error) {
	var out Incident
	return out, c.do(ctx, http.MethodPost, "/api/v1/incidents", req, &out)
}

// Acknowledge acknowledges an incident.
func (c *Client) Acknowledge(ctx context.Context, id int64, req ActionRequest) (Incident, error) {
	var out Incident
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/acknowledge", id), req, &out)
}

// Resolve resolves an incident by hand.
func (c *Client) Resolve(ctx context.Context, id int64, req ActionRequest) (Incident, error) {
	var out Incident
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/resolve", id), req, &out)
}

// Merge moves incident id's alerts into req.Into and answers with the target.
func (c *Client) Merge(ctx context.Context, id int64, req ActionRequest) (Incident, error) {
	var out Incident
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/merge", id), req, &out)
}

// Unlink moves alert req.Fingerprint (of source req.Source, which may be
// empty unless several sources' alerts have the fingerprint) out of
// incident id into a new incident and answers with the new one.
func (c *Client) Unlink(ctx context.Context, id int64, req ActionRequest) (Incident, error) {
	var out Incident
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/unlink", id), req, &out)
}

// Comment adds a comment to an incident's timeline.
func (c *Client) Comment(ctx context.Context, id int64, req ActionRequest) (Incident, error) {
	var out Incident
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/comments", id), req, &out)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	if in != nil || method != http.MethodGet {
		// State-changing calls take JSON only, even with an empty body.
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.Username != "":
		req.SetBasicAuth(c.Username, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Code: resp.StatusCode}
		if json.Unmarshal(b, &se.Body) != nil || se.Body.Error == "" {
			// Not alertbridge's error body: a proxy's page, or Go's answer
			// to plain HTTP on a TLS port. Its first line says more than
			// nothing.
			se.Body = Error{Error: firstLine(b)}
		}
		return se
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// firstLine is the first line of a body, trimmed and cut to 200 bytes.
func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return strings.TrimSpace(s)
}
