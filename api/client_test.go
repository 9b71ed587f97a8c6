package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/api"
)

// TestClientStatusError: an error answer becomes a StatusError with the
// server's message, also when the body is not alertbridge's JSON (a proxy's
// page, or Go's answer to plain HTTP on a TLS port).
func TestClientStatusError(t *testing.T) {
	tests := []struct {
		name        string
		code        int
		contentType string
		body        string
		want        api.Error
	}{
		{"JSONBody", 404, "application/json", `{"error":"incident not found","where":"id"}`,
			api.Error{Error: "incident not found", Where: "id"}},
		{"PlainText", 400, "text/plain", "Client sent an HTTP request to an HTTPS server.\n",
			api.Error{Error: "Client sent an HTTP request to an HTTPS server."}},
		{"FirstLineOnly", 502, "text/html", "  <h1>502 Bad Gateway</h1>\n<p>nginx</p>\n",
			api.Error{Error: "<h1>502 Bad Gateway</h1>"}},
		{"LongLineCut", 500, "text/plain", strings.Repeat("é", 150),
			api.Error{Error: strings.Repeat("é", 100) + "…"}},
		{"Empty", 503, "", "", api.Error{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.code)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer ts.Close()
			_, err := (&api.Client{BaseURL: ts.URL}).Incident(context.Background(), 1)
			var se *api.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a StatusError", err)
			}
			if se.Code != tt.code {
				t.Errorf("code %d, want %d", se.Code, tt.code)
			}
			if diff := cmp.Diff(tt.want, se.Body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}
