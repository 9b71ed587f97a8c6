package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/webhook"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func notification() sink.Notification {
	inc := incident.Incident{ID: 42, State: incident.StateAcknowledged, Priority: 2, Impact: incident.LevelHigh,
		Urgency: incident.LevelMedium, Title: "HighRequestLatency: p99 above 500ms", Summary: "checkout p99 latency",
		Service: "checkout", Owner: "payments", Rule: "latency", Source: "alertmanager",
		Labels:   map[string]string{"alertname": "HighRequestLatency", "cluster": "eu-west-1", "severity": "critical"},
		OpenedAt: t0, AcknowledgedAt: t0.Add(4 * time.Minute), ImpactStartedAt: t0.Add(-time.Minute), SLA: incident.SLA{RespondBy: t0.Add(15 * time.Minute), ResolveBy: t0.Add(4 * time.Hour)}}
	return sink.Notification{
		ID: 7, Kind: incident.NotifyAcknowledged, Incident: inc, URL: "https://alertbridge.example/incidents/42",
		Entries: []incident.TimelineEntry{{ID: 3, IncidentID: 42, At: t0.Add(4 * time.Minute), Kind: incident.TimelineAcknowledged,
			Actor: "alice", OnBehalfOf: "for bob", Message: "looking"}},
		Alerts: []incident.Alert{{Source: "alertmanager", Fingerprint: "a1b2", Status: incident.StatusFiring,
			Labels: map[string]string{"alertname": "HighRequestLatency", "instance": "web-1"}, Annotations: map[string]string{"summary": "p99 above 500ms"},
			StartsAt: t0.Add(-time.Minute), GeneratorURL: "http://prometheus:9090/graph"}},
		AlertCount: 3,
	}
}

// TestBodyGolden pins the alertbridge/v1 body that docs/sinks.md documents.
func TestBodyGolden(t *testing.T) {
	for _, tt := range []struct {
		file string
		v    any
	}{{"body.golden.json", webhook.BodyOf(notification())}, {"event.golden.json", webhook.EventOf(notification())}} {
		got, err := json.MarshalIndent(tt.v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", tt.file)
		if *update {
			if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != string(got)+"\n" {
			t.Errorf("%s differs (run with -update to accept):\n%s", tt.file, got)
		}
	}
}

// receiver is a webhook receiver that checks signatures as our HMAC
// sources do and answers as told.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	header http.Header
	answer func(w http.ResponseWriter)
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rv.mu.Lock()
	rv.bodies = append(rv.bodies, b)
	rv.header = r.Header.Clone()
	answer := rv.answer
	rv.mu.Unlock()
	if answer != nil {
		answer(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestDeliverSignsTheBody(t *testing.T) {
	rv := &receiver{}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	now := time.Unix(1764579600, 0)
	s, err := webhook.New(webhook.Options{URL: srv.URL, Secret: secret.New("k3y"), Bearer: secret.New("tok"),
		UserAgent: "alertbridge/test", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := s.Deliver(context.Background(), notification())
	if err != nil || tk != nil {
		t.Fatalf("Deliver = %v, %v", tk, err)
	}
	body, h := rv.bodies[0], rv.header
	ts := strconv.FormatInt(now.Unix(), 10)
	if got := h.Get("X-Alertbridge-Timestamp"); got != ts {
		t.Errorf("timestamp = %q, want %q", got, ts)
	}
	if got, want := h.Get("X-Alertbridge-Signature"), "sha256="+webhook.Sign([]byte("k3y"), ts, body); got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "alertbridge/test",
		"X-Alertbridge-Delivery": "7", "X-Alertbridge-Event": "acknowledged", "Authorization": "Bearer tok"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var b webhook.Body
	if err := json.Unmarshal(body, &b); err != nil || b.Version != webhook.Version || b.Incident.ID != 42 {
		t.Errorf("body = %+v, %v", b, err)
	}
}

func TestDeliverErrorClasses(t *testing.T) {
	tests := []struct {
		name              string
		answer            func(w http.ResponseWriter)
		permanent, unauth bool
		retryAfter        time.Duration
	}{
		{"500", func(w http.ResponseWriter) { w.WriteHeader(500) }, false, false, 0},
		{"400", func(w http.ResponseWriter) { w.WriteHeader(400) }, true, false, 0},
		{"401", func(w http.ResponseWriter) { w.WriteHeader(401) }, false, true, 0},
		{"429", func(w http.ResponseWriter) { w.Header().Set("Retry-After", "9"); w.WriteHeader(429) }, false, false, 9 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&receiver{answer: tt.answer})
			defer srv.Close()
			s, _ := webhook.New(webhook.Options{URL: srv.URL})
			_, err := s.Deliver(context.Background(), notification())
			if err == nil {
				t.Fatal("no error")
			}
			var ra *sink.RetryAfterError
			if errors.Is(err, sink.ErrPermanent) != tt.permanent || errors.Is(err, sink.ErrUnauthorized) != tt.unauth ||
				(errors.As(err, &ra) && ra.After != tt.retryAfter) || (tt.retryAfter > 0 && ra == nil) {
				t.Errorf("err = %v", err)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
		defer srv.Close()
		defer close(block)
		s, _ := webhook.New(webhook.Options{URL: srv.URL})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := s.Deliver(ctx, notification())
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sink.ErrPermanent) {
			t.Errorf("err = %v, want a retryable deadline", err)
		}
	})
}

func TestEventOfResolvedIncident(t *testing.T) {
	n := notification()
	n.Incident.State, n.Incident.ResolvedAt = incident.StateResolved, t0.Add(time.Hour)
	ev := webhook.EventOf(n)
	if ev.Status != "resolved" || ev.EndsAt == nil || !ev.EndsAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("event of a resolved incident: %+v", ev)
	}
	if _, ok := ev.Labels["severity"]; ok {
		t.Error("the severity label would contradict the event's severity")
	}
	n.Incident.State, n.Incident.MergedInto = incident.StateResolved, 43
	if ev := webhook.EventOf(n); ev.Status != "resolved" {
		t.Errorf("merged away: status %s", ev.Status)
	}
}
