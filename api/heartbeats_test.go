package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/api"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/storetest"
)

const heartbeatRules = `heartbeats:
  - name: watchdog
    matchers: ['alertname="Watchdog"']
    by: [cluster]
    interval: 1m
    grace: 30s
`

// mustHeartbeatAPI serves the API behind a Guard with a viewer and a
// responder, over a pipeline that saw the eu-1 Watchdog at t0 and the
// us-1 one at t0-5m, then swept at t0+1m: eu-1 is up, us-1 missing.
func mustHeartbeatAPI(t *testing.T) http.Handler {
	t.Helper()
	ctx := context.Background()
	st := storetest.MustOpen(t)
	set, err := rules.Parse("rules.yml", []byte(heartbeatRules))
	if err != nil {
		t.Fatal(err)
	}
	var rs atomic.Pointer[rules.Set]
	rs.Store(set)
	var clock atomic.Int64
	clock.Store(t0.Add(-5 * time.Minute).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	p, err := pipeline.New(pipeline.Options{Store: st, Rules: &rs, Now: now, Started: t0.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	t.Cleanup(func() {
		if err := p.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	beat := func(cluster string) {
		ev := incident.Event{Source: "am", Fingerprint: "wd-" + cluster, Status: incident.StatusFiring,
			Labels: map[string]string{"alertname": "Watchdog", "cluster": cluster}, StartsAt: now()}
		if err := p.Submit(ctx, []incident.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	beat("us-1")
	clock.Store(t0.UnixNano())
	beat("eu-1")
	clock.Store(t0.Add(time.Minute).UnixNano())
	if err := p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	g, err := access.New(access.Options{Users: []access.User{
		{Name: "val", Role: access.RoleViewer, Token: secret.New(viewerToken)},
		{Name: "rita", Role: access.RoleResponder, Token: secret.New(responderToken)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.New(api.Options{Reader: st, Executor: p, Guard: g, Heartbeats: pipeline.HeartbeatLister{R: st, P: p}}).Register(mux)
	return mux
}

func TestListHeartbeats(t *testing.T) {
	h := mustHeartbeatAPI(t)
	w := call{method: http.MethodGet, path: "/api/v1/heartbeats", token: viewerToken}.do(h)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got api.HeartbeatList
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	one := int64(1)
	want := api.HeartbeatList{Heartbeats: []api.Heartbeat{
		{Name: "watchdog", Kind: "rule", Key: `watchdog{cluster="eu-1"}`, Labels: map[string]string{"cluster": "eu-1"}, State: "up",
			LastBeatAt: at(0), NextDeadline: at(90 * time.Second), Interval: "1m0s", Grace: "30s"},
		{Name: "watchdog", Kind: "rule", Key: `watchdog{cluster="us-1"}`, Labels: map[string]string{"cluster": "us-1"}, State: "missing",
			LastBeatAt: at(-5 * time.Minute), Interval: "1m0s", Grace: "30s", IncidentID: &one},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /api/v1/heartbeats (-want +got):\n%s", diff)
	}
}

// TestHeartbeatsWhoMayCall: viewers and above; no or wrong credentials
// get 401 with a JSON error.
func TestHeartbeatsWhoMayCall(t *testing.T) {
	h := mustHeartbeatAPI(t)
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"Viewer", viewerToken, http.StatusOK},
		{"Responder", responderToken, http.StatusOK},
		{"ErrNoCredentials", "", http.StatusUnauthorized},
		{"ErrWrongCredentials", "not-a-token", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := call{method: http.MethodGet, path: "/api/v1/heartbeats", token: tt.token, remote: "192.0.2.7:1234"}.do(h)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tt.want != http.StatusOK {
				var e api.Error
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("body %s: want a JSON error (%v)", w.Body, err)
				}
			}
		})
	}
	// A POST is not a route: the list is read-only.
	if w := (call{method: http.MethodPost, path: "/api/v1/heartbeats", token: responderToken}.do(h)); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", w.Code)
	}
}
