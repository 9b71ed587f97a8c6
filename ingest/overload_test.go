package ingest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/incident"
)

// overloadedSink refuses everything for overload before it is read.
type overloadedSink struct{ recordingSink }

func (*overloadedSink) Overloaded() error {
	return fmt.Errorf("write queue full: %w", incident.ErrUnavailable)
}

// countingReader counts the reads of a request body.
type countingReader struct {
	r     *bytes.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) { c.reads++; return c.r.Read(p) }

// TestOverloadRefusedBeforeTheBody: a Sink that is overloaded whatever the
// request holds has it refused as "retry later" without a read of its body,
// so that hostile load costs next to nothing to shed.
func TestOverloadRefusedBeforeTheBody(t *testing.T) {
	tests := []struct {
		name, path, typ string
		body            []byte
		code            int
	}{
		{"Alertmanager", "/ingest/alertmanager", SourceAlertmanager, []byte(payload(alert)), http.StatusServiceUnavailable},
		{"PagerDuty", "/v2/enqueue", SourcePagerDuty, pdBodyFor(pdKey), http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &overloadedSink{}
			reg := prometheus.NewRegistry()
			h := mustNew(t, Options{Sink: sink, Registerer: reg})
			mux := http.NewServeMux()
			h.Register(mux)
			body := &countingReader{r: bytes.NewReader(tt.body)}
			req := httptest.NewRequest(http.MethodPost, tt.path, body)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tt.code || rec.Header().Get("Retry-After") != "5" {
				t.Errorf("answer %d, Retry-After %q; want %d and 5", rec.Code, rec.Header().Get("Retry-After"), tt.code)
			}
			if body.reads != 0 || sink.called != 0 {
				t.Errorf("body read %d times, sink called %d times; want neither", body.reads, sink.called)
			}
			if got := testutil.ToFloat64(h.metrics.rejected.WithLabelValues(tt.typ, reasonOverloaded)); got != 1 {
				t.Errorf("rejected{%s,overloaded} = %v, want 1", tt.typ, got)
			}
		})
	}
}
