package web

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

// TestFailLogsAbandonedPagesAtDebug: a page whose client went away (a new
// navigation cancels the old request) is not logged as the daemon's
// error; a cancellation that is not the request's own still is.
func TestFailLogsAbandonedPagesAtDebug(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cancelClient bool
		err          error
		wantLevel    string
	}{
		{"client gone", true, fmt.Errorf("times to acknowledge and resolve: %w", context.Canceled), "DEBUG"},
		{"canceled inside, client still there", false, fmt.Errorf("stats: %w", context.Canceled), "ERROR"},
		{"client gone, other error", true, errors.New("disk I/O error"), "ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			u := &UI{log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancelClient {
				cancel()
			}
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/overview", nil)
			u.fail(httptest.NewRecorder(), r, tc.err)
			if !strings.Contains(logs.String(), "level="+tc.wantLevel) {
				t.Errorf("logged %q, want level %s", logs.String(), tc.wantLevel)
			}
		})
	}
}
