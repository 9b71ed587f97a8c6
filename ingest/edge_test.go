package ingest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/internal/secret"
)

// This file holds what the tests of the edge (auth, limits, rate limits)
// share: a handler with sources on a fixed clock, and the credentials.

// edgeNow is the handler's clock in edge tests.
var edgeNow = time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)

// The credentials of edgeSources. No test output, log or metric may show one.
const (
	amToken      = "am-bearer-token-secret-0001"
	amUser       = "am"
	amPassword   = "am-basic-password-secret-0002"
	gfUser       = "grafana"
	gfPassword   = "grafana-password-secret-0003"
	ciKey        = "ci-hmac-key-secret-0004"
	scriptsKey   = "scripts-hmac-key-secret-0005"
	pdKey        = "pd-routing-key-secret-0006"
	pdAuthKey    = "pd-routing-key-secret-0007"
	pdAuthToken  = "pd-bearer-token-secret-0008"
	wrongSecret  = "wrong-secret-0009"
	scriptsSkew  = time.Minute
	scriptsSig   = "X-Signature"
	scriptsStamp = "X-Signature-Timestamp"
)

var edgeSecrets = []string{amToken, amPassword, gfPassword, ciKey, scriptsKey, pdKey, pdAuthKey, pdAuthToken, wrongSecret}

func edgeSources() []Source {
	return []Source{
		{Name: "prod-am", Type: SourceAlertmanager, Bearer: secret.New(amToken)},
		{Name: "am-basic", Type: SourceAlertmanager, BasicUsername: amUser, BasicPassword: secret.New(amPassword)},
		{Name: "grafana-prod", Type: SourceGrafana, BasicUsername: gfUser, BasicPassword: secret.New(gfPassword)},
		{Name: "ci", Type: SourceChanges, HMACSecret: secret.New(ciKey)},
		{Name: "scripts", Type: SourceEvents, HMACSecret: secret.New(scriptsKey),
			HMACHeader: scriptsSig, HMACTimestampHeader: scriptsStamp, HMACMaxSkew: scriptsSkew},
		{Name: "pd", Type: SourcePagerDuty, RoutingKey: secret.New(pdKey)},
		{Name: "pd-auth", Type: SourcePagerDuty, RoutingKey: secret.New(pdAuthKey), Bearer: secret.New(pdAuthToken)},
	}
}

type edge struct {
	h    *Handler
	mux  *http.ServeMux
	reg  *prometheus.Registry
	sink *recordingSink
	logs *bytes.Buffer
	now  time.Time
}

func newEdge(t *testing.T, sources []Source, limits Limits) *edge {
	t.Helper()
	e := &edge{mux: http.NewServeMux(), reg: prometheus.NewRegistry(), sink: &recordingSink{}, logs: &bytes.Buffer{}, now: edgeNow}
	e.h = mustNew(t, Options{
		Sink:       e.sink,
		Logger:     slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer: e.reg,
		Limits:     limits,
		Sources:    sources,
		Now:        func() time.Time { return e.now },
	})
	e.h.Register(e.mux)
	return e
}

// post sends body to path as application/json with the header pairs hdr.
func (e *edge) post(path string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	req := jsonRequest(path, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

func (e *edge) rejected(source, reason string) float64 {
	return testutil.ToFloat64(e.h.metrics.rejected.WithLabelValues(source, reason))
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func basic(user, pass string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

// signed returns the headers of an HMAC signature of body made at ts, with
// the default header names.
func signedHeaders(key string, ts time.Time, body []byte) []string {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	return []string{
		DefaultHMACTimestampHeader, stamp,
		DefaultHMACHeader, hex.EncodeToString(signature([]byte(key), stamp, body)),
	}
}

// The valid bodies of each endpoint, as their senders send them.
func amBody(t testing.TB) []byte {
	return mustRead(t, filepath.Join("testdata", "alertmanager", "firing-group.json"))
}

func grafanaBody(t testing.TB) []byte {
	return mustRead(t, filepath.Join("testdata", "grafana", "firing-group.json"))
}

func eventsBody(t testing.TB) []byte {
	return mustRead(t, filepath.Join("testdata", "events", "batch.json"))
}

func changesBody(t testing.TB) []byte {
	return mustRead(t, filepath.Join("testdata", "changes", "batch.json"))
}

func pdBodyFor(routingKey string) []byte {
	return []byte(`{"routing_key":"` + routingKey + `","event_action":"trigger","dedup_key":"db-1/disk",` +
		`"payload":{"summary":"disk full on db-1","source":"db-1","severity":"critical"}}`)
}
