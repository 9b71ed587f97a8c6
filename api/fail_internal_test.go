package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFailLogsAbandonedRequestsAtDebug: a request whose client went away
// is not logged as the daemon's error; a cancellation that is not the
// request's own still is.
func TestFailLogsAbandonedRequestsAtDebug(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cancelClient bool
		err          error
		wantLevel    string
	}{
		{"client gone", true, fmt.Errorf("list: %w", context.Canceled), "DEBUG"},
		{"canceled inside, client still there", false, fmt.Errorf("list: %w", context.Canceled), "ERROR"},
		{"client gone, other error", true, errors.New("disk I/O error"), "ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := New(Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancelClient {
				cancel()
			}
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/stats", nil)
			h.fail(httptest.NewRecorder(), r, tc.err)
			if !strings.Contains(logs.String(), "level="+tc.wantLevel) {
				t.Errorf("logged %q, want level %s", logs.String(), tc.wantLevel)
			}
		})
	}
}
