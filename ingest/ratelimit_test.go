package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
)

func TestRateLimit(t *testing.T) {
	srcs := []Source{
		{Name: "am", Type: SourceAlertmanager, Bearer: secret.New(amToken), RateLimit: RateLimit{RequestsPerSecond: 1, Burst: 2}},
		{Name: "pd", Type: SourcePagerDuty, RoutingKey: secret.New(pdKey), RateLimit: RateLimit{RequestsPerSecond: 0.1}},
		{Name: "ci", Type: SourceChanges, HMACSecret: secret.New(ciKey), RateLimit: RateLimit{RequestsPerSecond: 0.5, Burst: 1}},
	}
	am, ch := amBody(t), changesBody(t)

	t.Run("Alertmanager503", func(t *testing.T) {
		e := newEdge(t, srcs, Limits{})
		for i := range 2 {
			if rec := e.post("/ingest/alertmanager", am, bearer(amToken)...); rec.Code != 200 {
				t.Fatalf("request %d (burst 2): %d %s", i+1, rec.Code, rec.Body)
			}
		}
		rec := e.post("/ingest/alertmanager", am, bearer(amToken)...)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
			t.Errorf("over the limit: %d Retry-After %q, want 503 and 1", rec.Code, rec.Header().Get("Retry-After"))
		}
		if got := e.rejected("am", reasonRateLimited); got != 1 || e.sink.called != 2 {
			t.Errorf("rate_limited{source=am} = %v, sink called %d; want 1, 2", got, e.sink.called)
		}
		// Refused before the body is read: not 415 for a bad one.
		if rec := e.post("/ingest/alertmanager", []byte("x"), append(bearer(amToken), "Content-Type", "text/plain")...); rec.Code != 503 {
			t.Errorf("over the limit with a bad body: %d, want 503", rec.Code)
		}
		e.now = e.now.Add(time.Second)
		if rec := e.post("/ingest/alertmanager", am, bearer(amToken)...); rec.Code != 200 {
			t.Errorf("a second later: %d", rec.Code)
		}
	})

	t.Run("PagerDuty429", func(t *testing.T) {
		e := newEdge(t, srcs, Limits{})
		if rec := e.post("/v2/enqueue", pdBodyFor(pdKey)); rec.Code != 202 {
			t.Fatalf("first: %d %s", rec.Code, rec.Body)
		}
		rec := e.post("/v2/enqueue", pdBodyFor(pdKey))
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "10" {
			t.Errorf("over the limit: %d Retry-After %q, want 429 and 10", rec.Code, rec.Header().Get("Retry-After"))
		}
		if got := e.rejected("pd", reasonRateLimited); got != 1 {
			t.Errorf("rate_limited{source=pd} = %v", got)
		}
	})

	t.Run("HMACSignatureReleased", func(t *testing.T) {
		e := newEdge(t, srcs, Limits{})
		first := signedHeaders(ciKey, e.now, ch)
		if rec := e.post("/ingest/changes", ch, first...); rec.Code != 200 {
			t.Fatalf("first: %d %s", rec.Code, rec.Body)
		}
		e.now = e.now.Add(time.Second)
		second := signedHeaders(ciKey, e.now, ch)
		if rec := e.post("/ingest/changes", ch, second...); rec.Code != 503 || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("over the limit: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
		e.now = e.now.Add(time.Second)
		if rec := e.post("/ingest/changes", ch, second...); rec.Code != 200 {
			t.Errorf("the same request retried: %d %s, want 200 (not a replay)", rec.Code, rec.Body)
		}
	})

	t.Run("OtherSourcesUnaffected", func(t *testing.T) {
		e := newEdge(t, append(srcs, Source{Name: "am2", Type: SourceAlertmanager, Bearer: secret.New(wrongSecret)}), Limits{})
		for range 3 {
			e.post("/ingest/alertmanager", am, bearer(amToken)...)
		}
		if rec := e.post("/ingest/alertmanager", am, bearer(wrongSecret)...); rec.Code != 200 {
			t.Errorf("another source: %d", rec.Code)
		}
	})
}

func TestOverload(t *testing.T) {
	overloaded := fmt.Errorf("pipeline overloaded: %w", incident.ErrUnavailable)
	for _, tt := range []struct {
		name, path string
		body       []byte
		err        error
		code       int
		reason     string
	}{
		{"Alertmanager503", "/ingest/alertmanager", amBody(t), overloaded, 503, reasonOverloaded},
		{"Grafana503", "/ingest/grafana", grafanaBody(t), overloaded, 503, reasonOverloaded},
		{"Events503", "/ingest/events", eventsBody(t), overloaded, 503, reasonOverloaded},
		{"Changes503", "/ingest/changes", changesBody(t), overloaded, 503, reasonOverloaded},
		{"PagerDuty429", "/v2/enqueue", pdBodyFor(pdKey), overloaded, 429, reasonOverloaded},
		// A store failure is not overload: PagerDuty clients retry 5xx too.
		{"PagerDutyStoreDown503", "/v2/enqueue", pdBodyFor(pdKey), errors.New("disk I/O error"), 503, ""},
		{"AlertmanagerStoreDown503", "/ingest/alertmanager", amBody(t), errors.New("disk I/O error"), 503, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(t, nil, Limits{})
			e.sink.err = tt.err
			rec := e.post(tt.path, tt.body)
			if rec.Code != tt.code || rec.Header().Get("Retry-After") != "5" {
				t.Errorf("%d Retry-After %q, want %d and 5", rec.Code, rec.Header().Get("Retry-After"), tt.code)
			}
			if rec.Body.String() != `{"error":"not committed, retry","where":""}`+"\n" {
				t.Errorf("body %s", rec.Body)
			}
			typ := endpointType(tt.path)
			if got := e.rejected(typ, reasonOverloaded); (tt.reason != "") != (got == 1) {
				t.Errorf("overloaded{source=%s} = %v", typ, got)
			}
		})
	}
}

func endpointType(path string) string {
	for _, e := range endpoints {
		if e.path == path {
			return e.typ
		}
	}
	return ""
}
