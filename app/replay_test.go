package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/app"
	"github.com/alertbridge/alertbridge/config"
)

const hmacKey = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978"

// postSigned posts body to path signed with hmacKey at ts, as a CI job
// would (docs/config.md, auth.hmac).
func postSigned(t *testing.T, a *app.App, path string, body []byte, ts time.Time) (int, string) {
	t.Helper()
	stamp := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(hmacKey))
	m.Write([]byte(stamp + "."))
	m.Write(body)
	req, err := http.NewRequest(http.MethodPost, "http://"+a.Addr()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Alertbridge-Timestamp", stamp)
	req.Header.Set("X-Alertbridge-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// state is what a replay must not change: every incident with its alerts.
func state(t *testing.T, a *app.App) []api.Incident {
	t.Helper()
	ctx := context.Background()
	c := &api.Client{BaseURL: "http://" + a.Addr()}
	list, err := c.ListIncidents(ctx, api.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []api.Incident
	for _, inc := range list.Incidents {
		d, err := c.Incident(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// TestSignatureReplayAfterRestart captures a signed request, restarts the
// daemon on the same storage, and replays it: the store remembers the
// signature, so the replay is refused and changes nothing.
func TestSignatureReplayAfterRestart(t *testing.T) {
	cfg, err := config.Parse("c.yml", []byte("sources:\n  - name: ci\n    type: events\n    auth: {hmac: {secret: "+hmacKey+"}}\n"),
		config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", "events", "single-firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	signedAt := time.Now()

	first := mustApp(t, app.Options{Config: cfg, StoragePath: dir})
	if code, text := postSigned(t, first, "/ingest/events", body, signedAt); code != http.StatusOK {
		t.Fatalf("signed request: %d %s", code, text)
	}
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	second := mustApp(t, app.Options{Config: cfg, StoragePath: dir})
	before := state(t, second)
	if len(before) != 1 {
		t.Fatalf("%d incidents after the restart, want the signed request's 1", len(before))
	}
	code, text := postSigned(t, second, "/ingest/events", body, signedAt)
	if code != http.StatusForbidden || !strings.Contains(text, "signature already used") {
		t.Errorf("replay after the restart: %d %s, want 403 signature already used", code, text)
	}
	if diff := cmp.Diff(before, state(t, second)); diff != "" {
		t.Errorf("the replay changed the records (-before +after):\n%s", diff)
	}
	if got := metric(t, second.Registry(), "alertbridge_ingest_rejected_total", map[string]string{"source": "ci", "reason": "forbidden"}); got != 1 {
		t.Errorf("rejected{ci,forbidden} = %v, want 1", got)
	}
	// The source itself is not locked out: the same body signed anew is a
	// new request (a repeat of the alert, which only bumps its count).
	if code, text := postSigned(t, second, "/ingest/events", body, signedAt.Add(time.Second)); code != http.StatusOK {
		t.Errorf("the same body signed anew: %d %s, want 200", code, text)
	}
}
