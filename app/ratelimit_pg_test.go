package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// TestRateLimitSharedByReplicas: two replicas on one PostgreSQL hold a
// source to one rate limit between them, not to one each.
func TestRateLimitSharedByReplicas(t *testing.T) {
	dsn := storetest.MustPostgresSchema(t)
	cfg := parseConfig(t, `sources:
  - name: am
    type: alertmanager
    auth: {bearer: {token: source-token-0123456789}}
    rate_limit: {requests_per_second: 0.01, burst: 2}
`)
	a := mustApp(t, app.Options{Config: cfg, StorageDSN: dsn})
	b := mustApp(t, app.Options{Config: cfg, StorageDSN: dsn})
	hc := &http.Client{Timeout: 10 * time.Second}
	post := func(base string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/ingest/alertmanager", strings.NewReader(string(fixture(t, "firing-group"))))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer source-token-0123456789")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i, base := range []string{"http://" + a.Addr(), "http://" + b.Addr()} {
		if resp := post(base); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d within the shared burst: %s", i+1, resp.Status)
		}
	}
	resp := post("http://" + a.Addr())
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third request, over the burst the replicas share: %s, Retry-After %q; want 503 with Retry-After",
			resp.Status, resp.Header.Get("Retry-After"))
	}
}
