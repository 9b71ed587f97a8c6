package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
)

// authCase is one request to an endpoint and what it must get.
type authCase struct {
	name      string
	path      string
	body      []byte
	hdr       []string
	code      int
	challenge []string // WWW-Authenticate values
	errMsg    string   // the error of the JSON body; "" for a success
	source    string   // the Source the submitted events carry
	reason    string   // the rejection counted
	// label is the source label it is counted under: the endpoint's type
	// unless a source was identified before the rejection.
	label string
}

func runAuthCases(t *testing.T, tests []authCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(t, edgeSources(), Limits{})
			rec := e.post(tt.path, tt.body, tt.hdr...)
			checkAuthCase(t, e, rec.Code, rec.Header(), rec.Body.String(), tt)
		})
	}
}

func checkAuthCase(t *testing.T, e *edge, code int, h http.Header, body string, tt authCase) {
	t.Helper()
	if code != tt.code {
		t.Errorf("code = %d, want %d (body %s)", code, tt.code, body)
	}
	if diff := cmp.Diff(tt.challenge, h.Values("WWW-Authenticate")); diff != "" {
		t.Errorf("WWW-Authenticate (-want +got):\n%s", diff)
	}
	if tt.errMsg != "" {
		var eb errorBody
		if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Error != tt.errMsg {
			t.Errorf("body %s: want error %q", body, tt.errMsg)
		}
	}
	var sources []string
	for _, ev := range e.sink.events {
		sources = append(sources, ev.Source)
	}
	for _, c := range e.sink.changes {
		sources = append(sources, c.Source)
	}
	sources = slices.Compact(sources)
	switch {
	case tt.source == "" && e.sink.called != 0:
		t.Errorf("a rejected request reached the sink (%d calls)", e.sink.called)
	case tt.source != "" && (len(sources) != 1 || sources[0] != tt.source):
		t.Errorf("submitted sources %v, want [%s]", sources, tt.source)
	}
	typ := strings.TrimPrefix(strings.TrimPrefix(tt.path, "/ingest/"), "/v2/enqueue")
	if typ == "" {
		typ = SourcePagerDuty
	}
	label := tt.label
	if label == "" {
		label = typ
	}
	if tt.reason != "" {
		if got := e.rejected(label, tt.reason); got != 1 {
			t.Errorf("rejected_total{source=%q,reason=%q} = %v, want 1", label, tt.reason, got)
		}
	}
}

var bothChallenges = []string{`Bearer realm="alertbridge"`, `Basic realm="alertbridge", charset="UTF-8"`}

func TestAuthBearerAndBasic(t *testing.T) {
	am := amBody(t)
	const path = "/ingest/alertmanager"
	runAuthCases(t, []authCase{
		{name: "OKBearer", path: path, body: am, hdr: bearer(amToken), code: 200, source: "prod-am"},
		{name: "OKBearerSchemeCaseInsensitive", path: path, body: am, hdr: []string{"Authorization", "bearer " + amToken}, code: 200, source: "prod-am"},
		{name: "OKBasic", path: path, body: am, hdr: basic(amUser, amPassword), code: 200, source: "am-basic"},
		{name: "ErrMissing", path: path, body: am, code: 401, challenge: bothChallenges,
			errMsg: "missing or malformed credentials", reason: reasonUnauthorized},
		{name: "ErrBearerEmpty", path: path, body: am, hdr: []string{"Authorization", "Bearer "}, code: 401, challenge: bothChallenges, reason: reasonUnauthorized},
		{name: "ErrBasicNotBase64", path: path, body: am, hdr: []string{"Authorization", "Basic !!!"}, code: 401, challenge: bothChallenges, reason: reasonUnauthorized},
		{name: "ErrBasicNoColon", path: path, body: am, hdr: []string{"Authorization", "Basic YW0="}, code: 401, challenge: bothChallenges, reason: reasonUnauthorized},
		{name: "ErrUnknownScheme", path: path, body: am, hdr: []string{"Authorization", "Token " + amToken}, code: 401, challenge: bothChallenges, reason: reasonUnauthorized},
		{name: "ErrWrongToken", path: path, body: am, hdr: bearer(wrongSecret), code: 403,
			errMsg: "invalid credentials", reason: reasonForbidden},
		{name: "ErrTokenPrefix", path: path, body: am, hdr: bearer(amToken[:len(amToken)-1]), code: 403, reason: reasonForbidden},
		{name: "ErrWrongPassword", path: path, body: am, hdr: basic(amUser, wrongSecret), code: 403, reason: reasonForbidden},
		{name: "ErrWrongUser", path: path, body: am, hdr: basic(gfUser, amPassword), code: 403, reason: reasonForbidden},
		// Another type's credentials do not open this endpoint.
		{name: "ErrOtherSourcesCredentials", path: path, body: am, hdr: basic(gfUser, gfPassword), code: 403, reason: reasonForbidden},
		{name: "OKGrafanaBasic", path: "/ingest/grafana", body: grafanaBody(t), hdr: basic(gfUser, gfPassword), code: 200, source: "grafana-prod"},
		{name: "ErrGrafanaBearerOnBasicOnly", path: "/ingest/grafana", body: grafanaBody(t), hdr: bearer(amToken), code: 401,
			challenge: []string{`Basic realm="alertbridge", charset="UTF-8"`}, reason: reasonUnauthorized},
		// Credentials are checked before the body is read: a wrong token
		// gets 403, not 415.
		{name: "ErrWrongTokenBeforeContentType", path: path, body: []byte("x"), hdr: append(bearer(wrongSecret), "Content-Type", "text/plain"), code: 403, reason: reasonForbidden},
	})
}

func TestAuthHMAC(t *testing.T) {
	ch := changesBody(t)
	const path = "/ingest/changes"
	good := signedHeaders(ciKey, edgeNow, ch)
	with := func(hdr []string, k, v string) []string {
		out := slices.Clone(hdr)
		for i := 0; i < len(out); i += 2 {
			if out[i] == k {
				out[i+1] = v
			}
		}
		return out
	}
	runAuthCases(t, []authCase{
		{name: "OK", path: path, body: ch, hdr: good, code: 200, source: "ci"},
		{name: "OKSha256Prefix", path: path, body: ch, hdr: with(good, DefaultHMACHeader, "sha256="+good[3]), code: 200, source: "ci"},
		{name: "OKUpperHex", path: path, body: ch, hdr: with(good, DefaultHMACHeader, strings.ToUpper(good[3])), code: 200, source: "ci"},
		{name: "OKAtSkewPast", path: path, body: ch, hdr: signedHeaders(ciKey, edgeNow.Add(-DefaultHMACMaxSkew), ch), code: 200, source: "ci"},
		{name: "OKAtSkewFuture", path: path, body: ch, hdr: signedHeaders(ciKey, edgeNow.Add(DefaultHMACMaxSkew), ch), code: 200, source: "ci"},
		// No WWW-Authenticate: there is no standard scheme for a signature.
		{name: "ErrMissing", path: path, body: ch, code: 401, errMsg: "missing or malformed credentials", reason: reasonUnauthorized},
		{name: "ErrTimestampMissing", path: path, body: ch, hdr: good[2:], code: 401, reason: reasonUnauthorized},
		{name: "ErrSignatureMissing", path: path, body: ch, hdr: good[:2], code: 401, reason: reasonUnauthorized},
		{name: "ErrSignatureNotHex", path: path, body: ch, hdr: with(good, DefaultHMACHeader, strings.Repeat("zz", 32)), code: 401, reason: reasonUnauthorized},
		{name: "ErrSignatureShort", path: path, body: ch, hdr: with(good, DefaultHMACHeader, good[3][:62]), code: 401, reason: reasonUnauthorized},
		{name: "ErrTimestampNotUnixSeconds", path: path, body: ch, hdr: with(good, DefaultHMACTimestampHeader, edgeNow.Format(time.RFC3339)), code: 401, reason: reasonUnauthorized},
		{name: "ErrWrongKey", path: path, body: ch, hdr: signedHeaders(wrongSecret, edgeNow, ch), code: 403,
			errMsg: "invalid signature", reason: reasonForbidden},
		{name: "ErrOtherSourcesKey", path: path, body: ch, hdr: signedHeaders(scriptsKey, edgeNow, ch), code: 403, reason: reasonForbidden},
		{name: "ErrBodyTampered", path: path, body: append(slices.Clone(ch), ' '), hdr: good, code: 403, errMsg: "invalid signature", reason: reasonForbidden},
		// The timestamp is signed: moving it breaks the signature.
		{name: "ErrTimestampTampered", path: path, body: ch, hdr: with(good, DefaultHMACTimestampHeader, strconv.FormatInt(edgeNow.Unix()+1, 10)), code: 403, errMsg: "invalid signature", reason: reasonForbidden},
		{name: "ErrExpired", path: path, body: ch, hdr: signedHeaders(ciKey, edgeNow.Add(-DefaultHMACMaxSkew-time.Second), ch), code: 403,
			errMsg: "signature timestamp too old", reason: reasonForbidden},
		{name: "ErrFuture", path: path, body: ch, hdr: signedHeaders(ciKey, edgeNow.Add(DefaultHMACMaxSkew+time.Second), ch), code: 403,
			errMsg: "signature timestamp in the future", reason: reasonForbidden},
		{name: "ErrBearerOnHMACEndpoint", path: path, body: ch, hdr: bearer(amToken), code: 401, reason: reasonUnauthorized},
	})
}

func TestAuthHMACCustomHeadersAndSkew(t *testing.T) {
	ev := eventsBody(t)
	sign := func(ts time.Time) []string {
		stamp := strconv.FormatInt(ts.Unix(), 10)
		return []string{scriptsStamp, stamp, scriptsSig, hex.EncodeToString(signature([]byte(scriptsKey), stamp, ev))}
	}
	runAuthCases(t, []authCase{
		{name: "OK", path: "/ingest/events", body: ev, hdr: sign(edgeNow), code: 200, source: "scripts"},
		{name: "ErrDefaultHeaderNames", path: "/ingest/events", body: ev, hdr: signedHeaders(scriptsKey, edgeNow, ev), code: 401, reason: reasonUnauthorized},
		{name: "ErrExpiredPastCustomSkew", path: "/ingest/events", body: ev, hdr: sign(edgeNow.Add(-scriptsSkew - time.Second)), code: 403,
			errMsg: "signature timestamp too old", reason: reasonForbidden},
	})
}

func TestAuthHMACReplay(t *testing.T) {
	ch := changesBody(t)
	hdr := signedHeaders(ciKey, edgeNow, ch)

	t.Run("ErrReplayed", func(t *testing.T) {
		e := newEdge(t, edgeSources(), Limits{})
		if rec := e.post("/ingest/changes", ch, hdr...); rec.Code != 200 {
			t.Fatalf("first: %d %s", rec.Code, rec.Body)
		}
		rec := e.post("/ingest/changes", ch, hdr...)
		if rec.Code != 403 || !strings.Contains(rec.Body.String(), "signature already used") {
			t.Errorf("replay: %d %s, want 403 signature already used", rec.Code, rec.Body)
		}
		if e.sink.called != 1 || e.rejected("changes", reasonForbidden) != 1 {
			t.Errorf("sink called %d times, forbidden %v; want 1, 1", e.sink.called, e.rejected("changes", reasonForbidden))
		}
		// Later, within the window, still a replay; past 2×max_skew the
		// timestamp is too old anyway.
		e.now = edgeNow.Add(DefaultHMACMaxSkew)
		if rec := e.post("/ingest/changes", ch, hdr...); rec.Code != 403 || !strings.Contains(rec.Body.String(), "already used") {
			t.Errorf("replay at the edge of the window: %d %s", rec.Code, rec.Body)
		}
		e.now = edgeNow.Add(DefaultHMACMaxSkew + time.Second)
		if rec := e.post("/ingest/changes", ch, hdr...); rec.Code != 403 || !strings.Contains(rec.Body.String(), "too old") {
			t.Errorf("replay past the window: %d %s", rec.Code, rec.Body)
		}
	})

	t.Run("OKRetryAfter503", func(t *testing.T) {
		// A sender retries a 503 with the very same request; that is not a
		// replay.
		e := newEdge(t, edgeSources(), Limits{})
		e.sink.err = errors.New("store down")
		if rec := e.post("/ingest/changes", ch, hdr...); rec.Code != 503 {
			t.Fatalf("first: %d %s, want 503", rec.Code, rec.Body)
		}
		e.sink.err = nil
		if rec := e.post("/ingest/changes", ch, hdr...); rec.Code != 200 {
			t.Fatalf("retry: %d %s, want 200", rec.Code, rec.Body)
		}
		if rec := e.post("/ingest/changes", ch, hdr...); rec.Code != 403 {
			t.Errorf("replay of the accepted request: %d, want 403", rec.Code)
		}
	})

	t.Run("ErrSameAfter4xx", func(t *testing.T) {
		// A request refused for its content committed nothing, so its
		// signature was not used up: it is refused again, for its content.
		e := newEdge(t, edgeSources(), Limits{MaxAlertsPerRequest: 1})
		for i := range 2 {
			if rec := e.post("/ingest/changes", ch, hdr...); rec.Code != 422 {
				t.Errorf("attempt %d: %d %s, want 422", i, rec.Code, rec.Body)
			}
		}
	})

	t.Run("ErrReplayedFoundByTheStore", func(t *testing.T) {
		// The replay cache is only a cache: after a restart, or when another
		// daemon accepted the request, the Sink finds the nonce used.
		e := newEdge(t, edgeSources(), Limits{})
		e.sink.err = fmt.Errorf("commit: %w", incident.ErrReplay)
		rec := e.post("/ingest/changes", ch, hdr...)
		if rec.Code != 403 || !strings.Contains(rec.Body.String(), "signature already used") {
			t.Errorf("replay: %d %s, want 403 signature already used", rec.Code, rec.Body)
		}
		if got := e.rejected("ci", reasonForbidden); got != 1 {
			t.Errorf("rejected{ci,forbidden} = %v, want 1", got)
		}
		// The cache learnt it: the next replay does not reach the Sink.
		e.sink.err = nil
		if rec := e.post("/ingest/changes", ch, hdr...); rec.Code != 403 || e.sink.called != 1 {
			t.Errorf("second replay: %d, sink called %d times; want 403 and 1", rec.Code, e.sink.called)
		}
	})
}

// TestSignedRequestCarriesItsNonce checks what the store is asked to
// remember: the signature's digest, under the source's name, for twice
// max_skew, and nothing for a request without a signature.
func TestSignedRequestCarriesItsNonce(t *testing.T) {
	ch := changesBody(t)
	hdr := signedHeaders(ciKey, edgeNow, ch)
	e := newEdge(t, edgeSources(), Limits{})
	if rec := e.post("/ingest/changes", ch, hdr...); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rec := e.post("/ingest/alertmanager", amBody(t), bearer(amToken)...); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	sig, err := hex.DecodeString(hdr[3])
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(sig)
	want := []incident.Nonce{{Source: "ci", Value: hex.EncodeToString(d[:]), Expires: edgeNow.Add(2 * DefaultHMACMaxSkew)}}
	if diff := cmp.Diff(want, e.sink.nonces); diff != "" {
		t.Errorf("nonces (-want +got):\n%s", diff)
	}
	for _, n := range e.sink.nonces {
		if strings.Contains(n.Value, hdr[3]) {
			t.Error("the store is asked to keep the signature itself")
		}
	}
}

func TestReplayCacheBounded(t *testing.T) {
	c := newReplayCache(2, time.Minute)
	for _, k := range []string{"a", "b", "c"} {
		if c.used(k, edgeNow) {
			t.Fatalf("%s: used before it was added", k)
		}
		c.add(k, edgeNow)
	}
	if !c.used("c", edgeNow) || !c.used("b", edgeNow) {
		t.Error("recent signatures forgotten")
	}
	if c.used("a", edgeNow) {
		t.Error("the oldest signature was not the one forgotten")
	}
	if c.used("b", edgeNow.Add(time.Minute)) {
		t.Error("an expired signature is still remembered")
	}
}

func TestAuthPagerDuty(t *testing.T) {
	const path = "/v2/enqueue"
	runAuthCases(t, []authCase{
		{name: "OK", path: path, body: pdBodyFor(pdKey), code: 202, source: "pd"},
		{name: "OKWithAuth", path: path, body: pdBodyFor(pdAuthKey), hdr: bearer(pdAuthToken), code: 202, source: "pd-auth"},
		// The routing key is the credential, and PagerDuty answers an
		// unknown one with 400 (in its own body shape).
		{name: "ErrUnknownRoutingKey", path: path, body: pdBodyFor(wrongSecret), code: 400, reason: reasonForbidden},
		{name: "ErrAuthMissing", path: path, body: pdBodyFor(pdAuthKey), code: 401,
			challenge: []string{`Bearer realm="alertbridge"`}, reason: reasonUnauthorized, label: "pd-auth"},
		{name: "ErrAuthWrong", path: path, body: pdBodyFor(pdAuthKey), hdr: bearer(wrongSecret), code: 403, reason: reasonForbidden, label: "pd-auth"},
		// Both are required: the token without its routing key is not enough.
		{name: "ErrTokenWithOtherRoutingKey", path: path, body: pdBodyFor(wrongSecret), hdr: bearer(pdAuthToken), code: 400, reason: reasonForbidden},
		{name: "ErrInvalidEvent", path: path, body: []byte(`{"routing_key":"` + pdKey + `","event_action":"explode"}`), code: 400, reason: reasonInvalid},
	})
}

func TestPagerDutyResponses(t *testing.T) {
	e := newEdge(t, edgeSources(), Limits{})
	rec := e.post("/v2/enqueue", pdBodyFor(pdKey))
	if rec.Code != 202 || rec.Body.String() != string(PDSuccess("db-1/disk")) {
		t.Errorf("accepted: %d %s, want 202 %s", rec.Code, rec.Body, PDSuccess("db-1/disk"))
	}
	rec = e.post("/v2/enqueue", pdBodyFor(wrongSecret))
	if want := string(PDError([]string{"routing_key: invalid routing key"})); rec.Code != 400 || rec.Body.String() != want {
		t.Errorf("unknown routing key: %d %s, want 400 %s", rec.Code, rec.Body, want)
	}
	if strings.Contains(rec.Body.String(), wrongSecret) {
		t.Error("the response echoes the routing key")
	}
	rec = e.post("/v2/enqueue", []byte(`{"routing_key":"`+pdKey+`","event_action":"trigger"}`))
	var got pdInvalid
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 400 || got.Status != "invalid event" || len(got.Errors) == 0 {
		t.Errorf("invalid event: %d %s", rec.Code, rec.Body)
	}
	if ev := e.sink.events; len(ev) != 1 || ev[0].Source != "pd" || ev[0].Fingerprint != "db-1/disk" {
		t.Errorf("submitted %+v", ev)
	}
}

func TestEndpointsOpenWithoutSources(t *testing.T) {
	e := newEdge(t, nil, Limits{})
	for _, tt := range []struct {
		path, source string
		body         []byte
		code         int
	}{
		{"/ingest/alertmanager", SourceAlertmanager, amBody(t), 200},
		{"/ingest/grafana", SourceGrafana, grafanaBody(t), 200},
		{"/v2/enqueue", SourcePagerDuty, pdBodyFor("any-key-at-all"), 202},
		{"/ingest/events", SourceEvents, eventsBody(t), 200},
		{"/ingest/changes", SourceChanges, changesBody(t), 200},
	} {
		e.sink.events, e.sink.changes = nil, nil
		rec := e.post(tt.path, tt.body)
		if rec.Code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.path, rec.Code, rec.Body, tt.code)
			continue
		}
		var got []string
		for _, ev := range e.sink.events {
			got = append(got, ev.Source)
		}
		for _, c := range e.sink.changes {
			got = append(got, c.Source)
		}
		if slices.Compact(got)[0] != tt.source {
			t.Errorf("%s: sources %v, want %s (the decoder's)", tt.path, got, tt.source)
		}
	}
	if !strings.Contains(e.logs.String(), `"level":"WARN","msg":"ingest endpoints are open to anyone: no sources configured"`) {
		t.Errorf("no warning about open endpoints:\n%s", e.logs)
	}
}

func TestEndpointClosedWithoutSourceOfItsType(t *testing.T) {
	e := newEdge(t, []Source{{Name: "am", Type: SourceAlertmanager, Bearer: secret.New(amToken)}}, Limits{})
	rec := e.post("/ingest/grafana", grafanaBody(t), bearer(amToken)...)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "no source of type grafana is configured") {
		t.Errorf("grafana without a grafana source: %d %s, want 403", rec.Code, rec.Body)
	}
	if e.sink.called != 0 || e.rejected("grafana", reasonForbidden) != 1 {
		t.Errorf("sink called %d, forbidden %v", e.sink.called, e.rejected("grafana", reasonForbidden))
	}
	if strings.Contains(e.logs.String(), "no sources configured") {
		t.Error("warned about open endpoints with a source configured")
	}
}

func TestNewRejectsBadSources(t *testing.T) {
	tok := secret.New("t")
	for _, tt := range []struct {
		name string
		srcs []Source
		want string
	}{
		{"ErrNoName", []Source{{Type: SourceEvents, Bearer: tok}}, "source without a name"},
		{"ErrUnknownType", []Source{{Name: "a", Type: "nagios", Bearer: tok}}, `source "a": unknown type "nagios"`},
		{"ErrDuplicate", []Source{{Name: "a", Type: SourceEvents, Bearer: tok}, {Name: "a", Type: SourceChanges, Bearer: tok}}, `source "a": duplicate name`},
		{"ErrNoCredentials", []Source{{Name: "a", Type: SourceEvents}}, `source "a": no credentials`},
		{"ErrTwoMethods", []Source{{Name: "a", Type: SourceEvents, Bearer: tok, HMACSecret: tok}}, `source "a": more than one of bearer, basic and hmac auth`},
		{"ErrPagerDutyNoKey", []Source{{Name: "a", Type: SourcePagerDuty}}, `source "a": a pagerduty source needs a routing key`},
		{"ErrRoutingKeyElsewhere", []Source{{Name: "a", Type: SourceEvents, Bearer: tok, RoutingKey: tok}}, `source "a": only a pagerduty source has a routing key`},
		{"ErrRateLimit", []Source{{Name: "a", Type: SourceEvents, Bearer: tok, RateLimit: RateLimit{Burst: 3}}}, `source "a": rate limit: requests per second must be greater than 0`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{Sources: tt.srcs})
			if err == nil || err.Error() != tt.want {
				t.Errorf("New: %v, want %q", err, tt.want)
			}
		})
	}
}

// TestEventSourceIsTheSourceName checks that every event of a batch carries
// the name of the source that sent it, which incidents then show.
func TestEventSourceIsTheSourceName(t *testing.T) {
	e := newEdge(t, edgeSources(), Limits{})
	if rec := e.post("/ingest/alertmanager", amBody(t), basic(amUser, amPassword)...); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	want, err := DecodeAlertmanager(amBody(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].Source = "am-basic"
	}
	if diff := cmp.Diff(want, e.sink.events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
