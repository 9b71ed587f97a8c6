package sink_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/sink"
)

func TestCheckResponse(t *testing.T) {
	req := &http.Request{Method: http.MethodPost, URL: &url.URL{Scheme: "https", Host: "tool.example", Path: "/api",
		RawQuery: "token=s3cr3t", User: url.UserPassword("u", "p4ss")}}
	resp := func(code int, header, body string) *http.Response {
		h := http.Header{}
		if header != "" {
			h.Set("Retry-After", header)
		}
		return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: h, Request: req,
			Body: io.NopCloser(strings.NewReader(body))}
	}
	tests := []struct {
		name                        string
		r                           *http.Response
		ok, permanent, unauthorized bool
		retryAfter                  time.Duration
	}{
		{"200", resp(200, "", ""), true, false, false, 0},
		{"201", resp(201, "", ""), true, false, false, 0},
		{"400 permanent", resp(400, "", `{"error":"bad field"}`), false, true, false, 0},
		{"404 permanent", resp(404, "", ""), false, true, false, 0},
		{"409 permanent", resp(409, "", ""), false, true, false, 0},
		{"401 retried", resp(401, "", ""), false, false, true, 0},
		{"403 retried", resp(403, "", ""), false, false, true, 0},
		{"429 with seconds", resp(429, "17", ""), false, false, false, 17 * time.Second},
		{"429 without", resp(429, "", ""), false, false, false, 0},
		{"503 with seconds", resp(503, "3", ""), false, false, false, 3 * time.Second},
		{"500 retried", resp(500, "", ""), false, false, false, 0},
		{"408 retried", resp(408, "", ""), false, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sink.CheckResponse(tt.r)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if err == nil {
				return
			}
			if got := errors.Is(err, sink.ErrPermanent); got != tt.permanent {
				t.Errorf("permanent = %v", got)
			}
			if got := errors.Is(err, sink.ErrUnauthorized); got != tt.unauthorized {
				t.Errorf("unauthorized = %v", got)
			}
			var ra *sink.RetryAfterError
			if errors.As(err, &ra) != (tt.retryAfter > 0) || (ra != nil && ra.After != tt.retryAfter) {
				t.Errorf("retry after = %v, want %s", ra, tt.retryAfter)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "p4ss") {
				t.Errorf("error carries a credential: %v", err)
			}
		})
	}
	// An HTTP date in Retry-After.
	at := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	var ra *sink.RetryAfterError
	if err := sink.CheckResponse(resp(429, at, "")); !errors.As(err, &ra) || ra.After < 80*time.Second || ra.After > 91*time.Second {
		t.Errorf("Retry-After as a date: %v", err)
	}
}
