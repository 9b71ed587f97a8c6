// Package sinktest helps the tests of sinks. Its Injector makes the
// routes of a fake tool fail on demand, as the real tools do: an error
// status with its headers, an answer lost after the tool acted (the
// connection closed unanswered), a request that hangs until the client
// gives up. Its Harness delivers one incident's notifications as the
// dispatcher does. Only tests import it.
package sinktest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Fault makes the next Times requests of Route fail (Times 0 means 1).
type Fault struct {
	Route string
	Times int
	// Status answers with this code, Header and Body (Body "": the
	// tool's own error body, from the injector's ErrorBody).
	Status int
	Header map[string]string
	Body   string
	// Lose runs the request, then closes the connection unanswered: the
	// tool acted, the client never hears of it.
	Lose bool
	// Block holds the request until the client gives up.
	Block bool
	// Before runs first (a deletion racing the request, say), then the
	// request fails as the fields above say, or runs when none is set.
	Before func()
}

// Injector keeps the faults of one fake tool and the requests it served.
type Injector struct {
	t testing.TB
	// ErrorBody writes the tool's error answer of a status.
	ErrorBody func(w http.ResponseWriter, status int, msg string)

	mu       sync.Mutex
	faults   []*Fault
	requests []string
	release  chan struct{}
}

// New returns an injector whose blocked requests end when the test ends.
// Register it after the fake's server, so that they end before the
// server's Close waits for them.
func New(t testing.TB, errorBody func(w http.ResponseWriter, status int, msg string)) *Injector {
	in := &Injector{t: t, ErrorBody: errorBody, release: make(chan struct{})}
	t.Cleanup(func() { close(in.release) })
	return in
}

// Add makes the next request(s) of f.Route fail as f says.
func (in *Injector) Add(f Fault) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	in.faults = append(in.faults, &f)
}

// Count is how many requests of route were served (failed ones too).
func (in *Injector) Count(route string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, r := range in.requests {
		if r == route {
			n++
		}
	}
	return n
}

// Wrap counts the requests of route and applies its faults before h.
func (in *Injector) Wrap(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		in.requests = append(in.requests, route)
		var f *Fault
		for _, c := range in.faults {
			if c.Route == route && c.Times > 0 {
				c.Times--
				f = c
				break
			}
		}
		in.mu.Unlock()
		if f == nil {
			h(w, r)
			return
		}
		if f.Before != nil {
			f.Before()
		}
		switch {
		case f.Block:
			// Read the body, so that the server notices the client going.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-in.release:
			}
		case f.Lose:
			h(httptest.NewRecorder(), r)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				in.t.Errorf("hijack: %v", err)
				return
			}
			_ = conn.Close()
		case f.Status != 0:
			for k, v := range f.Header {
				w.Header().Set(k, v)
			}
			if f.Body == "" {
				in.ErrorBody(w, f.Status, "injected failure")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, f.Body)
		default:
			h(w, r)
		}
	}
}
