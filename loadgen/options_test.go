package loadgen

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Options{URL: "http://127.0.0.1:9097/ingest/alertmanager"}
	with := func(f func(*Options)) Options {
		o := ok
		f(&o)
		return o
	}
	tests := []struct {
		name    string
		o       Options
		wantErr string // a substring; empty means valid
		notLoop bool   // the error must match ErrNotLoopback
	}{
		{name: "OK", o: ok},
		{name: "OKLoopbackRange", o: with(func(o *Options) { o.URL = "http://127.3.2.1:80/x" })},
		{name: "OKIPv6", o: with(func(o *Options) { o.URL = "http://[::1]:9097/ingest/alertmanager" })},
		{name: "OKLocalhost", o: with(func(o *Options) { o.URL = "https://LocalHost:9097/ingest/alertmanager" })},
		{name: "OKMetricsURL", o: with(func(o *Options) { o.MetricsURL = "http://localhost:9100/metrics" })},
		{name: "ErrNotLoopbackPrivate", o: with(func(o *Options) { o.URL = "http://10.0.0.1/" }), wantErr: `host "10.0.0.1"`, notLoop: true},
		{name: "ErrNotLoopbackName", o: with(func(o *Options) { o.URL = "http://example.com/" }), wantErr: `host "example.com"`, notLoop: true},
		{name: "ErrNotLoopbackLocalhostSubdomain", o: with(func(o *Options) { o.URL = "http://localhost.example.com/" }), notLoop: true, wantErr: "url"},
		{name: "ErrNotLoopbackUnspecified", o: with(func(o *Options) { o.URL = "http://0.0.0.0:9097/" }), notLoop: true, wantErr: "url"},
		{name: "ErrNotLoopbackIPv6", o: with(func(o *Options) { o.URL = "http://[2001:db8::1]:9097/" }), notLoop: true, wantErr: "url"},
		{name: "ErrNotLoopbackUserinfo", o: with(func(o *Options) { o.URL = "http://127.0.0.1@example.com/" }), notLoop: true, wantErr: "url"},
		{name: "ErrNotLoopbackMetrics", o: with(func(o *Options) { o.MetricsURL = "http://192.168.1.5:9097/metrics" }), wantErr: "metrics url", notLoop: true},
		{name: "ErrMissingURL", o: with(func(o *Options) { o.URL = "" }), wantErr: "url: missing"},
		{name: "ErrScheme", o: with(func(o *Options) { o.URL = "ftp://127.0.0.1/" }), wantErr: "scheme"},
		{name: "ErrNegativeGroups", o: with(func(o *Options) { o.Groups = -1 }), wantErr: "groups -1"},
		{name: "ErrConcurrencyOverGroups", o: with(func(o *Options) { o.Groups, o.Concurrency = 4, 8 }), wantErr: "exceeds groups 4"},
		{name: "ErrNegativeRequests", o: with(func(o *Options) { o.Requests = -5 }), wantErr: "requests -5"},
		{name: "ErrNegativeDuration", o: with(func(o *Options) { o.Duration = -time.Second }), wantErr: "duration -1s"},
		{name: "ErrNegativeMix", o: with(func(o *Options) { o.Mix = Mix{Repeat: 1, AddAlert: -1} }), wantErr: "mix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr == "":
				return
			case err == nil:
				t.Fatalf("Validate() = nil, want an error containing %q", tt.wantErr)
			case !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrNotLoopback); got != tt.notLoop {
				t.Errorf("errors.Is(%v, ErrNotLoopback) = %t, want %t", err, got, tt.notLoop)
			}
		})
	}
}

// TestRunRefusesNonLoopback checks that Run sends nothing anywhere but to
// this machine, even with a client that would.
func TestRunRefusesNonLoopback(t *testing.T) {
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("request sent to %s", r.URL)
		return nil, errors.New("unreachable")
	})}
	tests := []struct {
		name string
		o    Options
	}{
		{"ErrNotLoopbackPrivate", Options{URL: "http://10.0.0.1/"}},
		{"ErrNotLoopbackName", Options{URL: "http://example.com/"}},
		{"ErrNotLoopbackHTTPS", Options{URL: "https://alertbridge.example.com:443/ingest/alertmanager"}},
		{"ErrNotLoopbackMetrics", Options{URL: "http://127.0.0.1:1/", MetricsURL: "http://example.com/metrics"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Client, tt.o.Requests, tt.o.Groups = client, 10, 2
			rep, err := Run(context.Background(), tt.o)
			if !errors.Is(err, ErrNotLoopback) {
				t.Fatalf("Run() error = %v, want ErrNotLoopback", err)
			}
			if rep.Requests != 0 {
				t.Errorf("Run() sent %d requests", rep.Requests)
			}
		})
	}
}

func TestDialLoopbackOnly(t *testing.T) {
	tests := []struct {
		address string
		ok      bool
	}{
		{"127.0.0.1:9097", true},
		{"127.9.9.9:80", true},
		{"[::1]:9097", true},
		{"10.0.0.1:80", false},
		{"[2001:db8::1]:80", false},
		{"0.0.0.0:9097", false},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			err := dialLoopbackOnly("tcp", tt.address, nil)
			if tt.ok && err != nil {
				t.Errorf("dialLoopbackOnly(%s) = %v, want nil", tt.address, err)
			}
			if !tt.ok && !errors.Is(err, ErrNotLoopback) {
				t.Errorf("dialLoopbackOnly(%s) = %v, want ErrNotLoopback", tt.address, err)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
