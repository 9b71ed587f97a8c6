package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	var healthy, broken, unauthorized atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			unauthorized.Add(1)
		}
		if r.URL.Path == "/broken" {
			broken.Add(1)
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		healthy.Add(1)
		// A write may fail: the poller cancels its requests when it
		// stops, closing the connection under an answer.
		_, _ = w.Write([]byte(strings.Repeat("x", 10000)))
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []PollReport, 1)
	go func() {
		reps, err := Poll(ctx, PollOptions{Base: srv.URL, Paths: []string{"/api/v1/stats", "/broken"}, Rate: 200, BearerToken: "tok"})
		if err != nil {
			t.Error(err)
		}
		done <- reps
	}()
	// Until both paths were answered a few times, however slow the machine.
	deadline := time.Now().Add(30 * time.Second)
	for healthy.Load() < 3 || broken.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("in 30s only %d and %d requests", healthy.Load(), broken.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	reps := <-done
	if len(reps) != 2 {
		t.Fatalf("%d reports, want 2", len(reps))
	}
	ok, bad := reps[0], reps[1]
	if ok.Path != "/api/v1/stats" || ok.OK < 2 || ok.Errors != 0 || ok.P50 <= 0 || ok.P99 < ok.P50 || ok.Max < ok.P99 {
		t.Errorf("healthy path: %+v", ok)
	}
	if bad.OK != 0 || bad.Errors < 2 || !strings.Contains(bad.FirstError, "status 500") {
		t.Errorf("broken path: %+v, want only errors, the first saying status 500", bad)
	}
	if n := unauthorized.Load(); n != 0 {
		t.Errorf("%d requests without the bearer token", n)
	}
}

func TestPollRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    PollOptions
		want error
	}{
		{"not loopback", PollOptions{Base: "http://192.0.2.1:9097", Paths: []string{"/metrics"}, Rate: 1}, ErrNotLoopback},
		{"no rate", PollOptions{Base: "http://127.0.0.1:9097", Paths: []string{"/metrics"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Poll(context.Background(), tc.o)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Poll = %v, want an error (%v)", err, tc.want)
			}
		})
	}
}
