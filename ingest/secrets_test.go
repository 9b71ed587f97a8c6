package ingest

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/alertbridge/alertbridge/internal/secret"
)

// TestNoSecretLeaks drives every failure path of the edge with the
// credentials of edgeSources, right and wrong, and checks that no secret (a
// token, a password, an HMAC key, a routing key), nor its hex or base64
// form, shows in the logs, in /metrics, or in any response.
func TestNoSecretLeaks(t *testing.T) {
	srcs := edgeSources()
	srcs[0].RateLimit = RateLimit{RequestsPerSecond: 1, Burst: 1}
	e := newEdge(t, srcs, Limits{MaxAlertsPerRequest: 2})
	am, ch, ev := amBody(t), changesBody(t), eventsBody(t)
	old := edgeNow.Add(-time.Hour)
	var out strings.Builder
	post := func(path string, body []byte, hdr ...string) {
		rec := e.post(path, body, hdr...)
		fmt.Fprintf(&out, "%d %v %s\n", rec.Code, rec.Header(), rec.Body)
	}
	for _, creds := range [][]string{
		nil, bearer(amToken), bearer(wrongSecret), basic(amUser, amPassword), basic(amUser, wrongSecret),
		basic(wrongSecret, amPassword), basic(gfUser, gfPassword), bearer(pdAuthToken),
		{"Authorization", "Basic " + wrongSecret}, {"Authorization", wrongSecret},
		signedHeaders(ciKey, edgeNow, ch), signedHeaders(wrongSecret, edgeNow, ch), signedHeaders(ciKey, old, ch),
	} {
		for _, path := range []string{"/ingest/alertmanager", "/ingest/grafana", "/ingest/events", "/ingest/changes"} {
			post(path, am, creds...)
			post(path, ch, creds...)
			post(path, []byte(`{"version":"4"`), creds...)
			post(path, am, append(creds, "Content-Type", "text/plain")...)
		}
		for _, key := range []string{pdKey, pdAuthKey, wrongSecret, ""} {
			post("/v2/enqueue", pdBodyFor(key), creds...)
		}
	}
	// Replays, rate limits, overload and a store failure, with good
	// credentials.
	post("/ingest/changes", ch, signedHeaders(ciKey, edgeNow, ch)...)
	stamp := []string{scriptsStamp, fmt.Sprint(edgeNow.Unix()), scriptsSig, hex.EncodeToString(signature([]byte(scriptsKey), fmt.Sprint(edgeNow.Unix()), ev))}
	post("/ingest/events", ev, stamp...)
	post("/ingest/events", ev, stamp...)
	e.sink.err = fmt.Errorf("store: token %w", errNotCommitted)
	post("/ingest/alertmanager", am, basic(amUser, amPassword)...)
	post("/v2/enqueue", pdBodyFor(pdKey))

	rec := httptest.NewRecorder()
	promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	metrics := rec.Body.String()
	if !strings.Contains(metrics, `alertbridge_ingest_rejected_total{reason="forbidden",source="alertmanager"}`) ||
		!strings.Contains(metrics, `alertbridge_ingest_rejected_total{reason="rate_limited",source="prod-am"} `) {
		t.Fatalf("the failure paths were not exercised:\n%s", metrics)
	}

	var rendered strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		fmt.Fprintf(&rendered, verb, srcs)
		for _, s := range e.h.sources {
			fmt.Fprintf(&rendered, verb, s)
			fmt.Fprintf(&rendered, verb, *s)
			if s.hmac != nil {
				fmt.Fprintf(&rendered, verb, s.hmac)
			}
		}
	}
	for what, text := range map[string]string{"logs": e.logs.String(), "/metrics": metrics, "responses": out.String(), "renderings": rendered.String()} {
		for _, sec := range edgeSecrets {
			for _, form := range []string{sec, hex.EncodeToString([]byte(sec)), base64.StdEncoding.EncodeToString([]byte(sec))} {
				if strings.Contains(text, form) {
					t.Errorf("%s contain the secret %q (as %q)", what, sec, form)
				}
			}
		}
	}
	if !strings.Contains(e.logs.String(), `"reason":"unauthorized"`) || !strings.Contains(e.logs.String(), `"reason":"forbidden"`) {
		t.Errorf("rejections not logged:\n%.2000s", e.logs)
	}
}

// TestNewErrorsHoldNoSecret checks the errors of invalid sources.
func TestNewErrorsHoldNoSecret(t *testing.T) {
	s := secret.New(amToken)
	for _, src := range []Source{
		{Name: "a", Type: SourceEvents, Bearer: s, HMACSecret: s},
		{Name: "a", Type: SourceEvents, Bearer: s, RoutingKey: s},
		{Name: "a", Type: "x" + amToken, Bearer: s},
	} {
		_, err := New(Options{Sources: []Source{src}})
		if err == nil {
			t.Fatalf("New(%v): no error", src)
		}
		if strings.Contains(strings.ReplaceAll(err.Error(), "x"+amToken, ""), amToken) {
			t.Errorf("error %q holds the secret", err)
		}
	}
}
