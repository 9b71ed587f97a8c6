package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
)

const (
	cronToken = "cron-token-0123456789"
	amToken2  = "am-token-0123456789abc"
)

// TestHeartbeatEndpoint: who may call POST /ingest/heartbeats/{name} (a
// heartbeats source's credentials, nobody else's), what it accepts, and
// what it answers.
func TestHeartbeatEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		body     string
		ctype    string // "-" for none
		hdr      []string
		sinkErr  error
		wantCode int
		wantBody string
		want     *incident.Event
	}{
		{name: "OKBare", path: "/ingest/heartbeats/nightly", ctype: "-", hdr: bearer(cronToken),
			wantCode: 200, wantBody: `{"status":"success","heartbeat":"nightly","failed":false}`,
			want: &incident.Event{Source: "cron", Fingerprint: "nightly", Status: incident.StatusFiring, StartsAt: edgeNow,
				Heartbeat: "nightly", Labels: map[string]string{}}},
		{name: "OKLabels", path: "/ingest/heartbeats/backup", body: `{"labels":{"host":"db-1"}}`, hdr: bearer(cronToken),
			wantCode: 200, wantBody: `{"status":"success","heartbeat":"backup","failed":false}`,
			want: &incident.Event{Source: "cron", Fingerprint: "backup", Status: incident.StatusFiring, StartsAt: edgeNow,
				Heartbeat: "backup", Labels: map[string]string{"host": "db-1"}}},
		{name: "OKFail", path: "/ingest/heartbeats/backup/fail", body: `{}`, hdr: bearer(cronToken),
			wantCode: 200, wantBody: `{"status":"success","heartbeat":"backup","failed":true}`,
			want: &incident.Event{Source: "cron", Fingerprint: "backup", Status: incident.StatusFiring, StartsAt: edgeNow,
				Heartbeat: "backup", HeartbeatFailed: true, Labels: map[string]string{}}},
		{name: "ErrNoCredentials", path: "/ingest/heartbeats/nightly", wantCode: 401},
		{name: "ErrWrongCredentials", path: "/ingest/heartbeats/nightly", hdr: bearer("not-the-token-0123456789"), wantCode: 403},
		{name: "ErrOtherSourceTypesCredentials", path: "/ingest/heartbeats/nightly", hdr: bearer(amToken2), wantCode: 403},
		{name: "ErrUnknownHeartbeat", path: "/ingest/heartbeats/nosuch", hdr: bearer(cronToken), sinkErr: fmt.Errorf("x: %w", incident.ErrNotFound),
			wantCode: 404, wantBody: `{"error":"no heartbeat rule named nosuch in the rule files","where":"path"}`},
		{name: "ErrBadName", path: "/ingest/heartbeats/a.b", hdr: bearer(cronToken),
			wantCode: 400, wantBody: `{"error":"heartbeat name \"a.b\": must consist of letters, digits, '_' and '-'","where":"path"}`},
		{name: "ErrUnknownField", path: "/ingest/heartbeats/nightly", body: `{"labls":{}}`, hdr: bearer(cronToken),
			wantCode: 400, wantBody: `{"error":"unknown field","where":"labls"}`},
		{name: "ErrLabelNotString", path: "/ingest/heartbeats/nightly", body: `{"labels":{"host":1}}`, hdr: bearer(cronToken),
			wantCode: 400, wantBody: `{"error":"want string, got number","where":"labels.host"}`},
		{name: "ErrNotJSON", path: "/ingest/heartbeats/nightly", body: `{"labels":`, hdr: bearer(cronToken), wantCode: 400},
		{name: "ErrBodyWithoutContentType", path: "/ingest/heartbeats/nightly", body: `{}`, ctype: "-", hdr: bearer(cronToken), wantCode: 415},
		{name: "ErrStoreDown", path: "/ingest/heartbeats/nightly", hdr: bearer(cronToken), sinkErr: fmt.Errorf("disk full"), wantCode: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(t, []Source{{Name: "cron", Type: SourceHeartbeats, Bearer: secret.New(cronToken)},
				{Name: "am", Type: SourceAlertmanager, Bearer: secret.New(amToken2)}}, Limits{})
			e.sink.err = tt.sinkErr
			req := httptest.NewRequest(http.MethodPost, tt.path, bytes.NewReader([]byte(tt.body)))
			if tt.ctype == "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				req.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			rec := httptest.NewRecorder()
			e.mux.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantCode, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Errorf("body %s is not JSON: %v", rec.Body, err)
			}
			if tt.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tt.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tt.wantBody)
			}
			var got *incident.Event
			if tt.sinkErr == nil && len(e.sink.events) == 1 {
				got = &e.sink.events[0]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("submitted (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzDecodeHeartbeat(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"labels":{"host":"db-1"}}`, `{"labels":null}`, `[]`, `{"labels":{"":"x"}}`} {
		f.Add("nightly", []byte(s))
	}
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		ev, err := decodeHeartbeat(name, body, edgeNow)
		if err != nil {
			return
		}
		if ev.Heartbeat != name || ev.Labels == nil || ev.Status != incident.StatusFiring {
			t.Errorf("decoded %+v from %q", ev, body)
		}
	})
}
