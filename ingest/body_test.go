package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/alertbridge/alertbridge/incident"
)

func mustGzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zeros is an endless stream of zero bytes, counting what is read of it.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	clear(p)
	z.n += int64(len(p))
	return len(p), nil
}

// gzipBomb is the gzip of n zero bytes: about n/1000 bytes.
func gzipBomb(t testing.TB, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(zw, &zeros{}, n); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestContentEncoding(t *testing.T) {
	am := amBody(t)
	const limit = 64 << 10
	atLimit := append(bytes.Clone(am), bytes.Repeat([]byte(" "), limit-len(am))...)
	tests := []struct {
		name     string
		encoding []string // Content-Encoding header lines
		body     []byte
		code     int
		errMsg   string
		reason   string
	}{
		{name: "OKNone", body: am, code: 200},
		{name: "OKIdentity", encoding: []string{"identity"}, body: am, code: 200},
		{name: "OKGzip", encoding: []string{"gzip"}, body: mustGzip(t, am), code: 200},
		{name: "OKGzipCaseAndSpace", encoding: []string{" GZip "}, body: mustGzip(t, am), code: 200},
		{name: "OKXGzip", encoding: []string{"x-gzip"}, body: mustGzip(t, am), code: 200},
		{name: "OKGzipDecodedAtLimit", encoding: []string{"gzip"}, body: mustGzip(t, atLimit), code: 200},
		{name: "ErrGzipDecodedOverLimit", encoding: []string{"gzip"}, body: mustGzip(t, append(atLimit, ' ')), code: 413,
			errMsg: "request body exceeds 65536 bytes", reason: reasonTooLarge},
		// 16 MiB of zeros in 16 KiB: refused after 64 KiB+1 decoded bytes.
		{name: "ErrGzipBomb", encoding: []string{"gzip"}, body: gzipBomb(t, 16<<20), code: 413,
			errMsg: "request body exceeds 65536 bytes", reason: reasonTooLarge},
		{name: "ErrBrotli", encoding: []string{"br"}, body: am, code: 415,
			errMsg: `unsupported Content-Encoding "br", want gzip or identity`, reason: reasonUnsupportedEncoding},
		{name: "ErrDeflate", encoding: []string{"deflate"}, body: am, code: 415,
			errMsg: `unsupported Content-Encoding "deflate", want gzip or identity`, reason: reasonUnsupportedEncoding},
		{name: "ErrTwoCodings", encoding: []string{"gzip, identity"}, body: mustGzip(t, am), code: 415,
			errMsg: `unsupported Content-Encoding "gzip, identity", want gzip or identity`, reason: reasonUnsupportedEncoding},
		{name: "ErrTwoHeaders", encoding: []string{"gzip", "gzip"}, body: mustGzip(t, mustGzip(t, am)), code: 415,
			errMsg: `unsupported Content-Encoding "gzip, gzip", want gzip or identity`, reason: reasonUnsupportedEncoding},
		// Compressed bytes are never parsed as JSON, nor JSON as gzip.
		{name: "ErrJSONSentAsGzip", encoding: []string{"gzip"}, body: am, code: 400,
			errMsg: "Content-Encoding gzip: gzip: invalid header", reason: reasonInvalid},
		{name: "ErrGzipSentAsIdentity", body: mustGzip(t, am), code: 422, reason: reasonInvalidUTF8},
		{name: "ErrGzipTruncated", encoding: []string{"gzip"}, body: mustGzip(t, am)[:200], code: 400,
			errMsg: "Content-Encoding gzip: unexpected EOF", reason: reasonInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(t, nil, Limits{MaxBodyBytes: limit})
			req := jsonRequest("/ingest/alertmanager", tt.body)
			for _, v := range tt.encoding {
				req.Header.Add("Content-Encoding", v)
			}
			rec := httptest.NewRecorder()
			e.mux.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("code = %d (%s), want %d", rec.Code, rec.Body, tt.code)
			}
			if tt.code == 200 {
				want, err := DecodeAlertmanager(am)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, e.sink.events); diff != "" {
					t.Errorf("events (-plain +%v):\n%s", tt.encoding, diff)
				}
				return
			}
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil {
				t.Fatal(err)
			}
			if tt.errMsg != "" && eb.Error != tt.errMsg {
				t.Errorf("error %q, want %q", eb.Error, tt.errMsg)
			}
			if got := rec.Header().Get("Accept-Encoding"); (tt.code == 415) != (got == "gzip") {
				t.Errorf("Accept-Encoding = %q", got)
			}
			if e.sink.called != 0 || e.rejected("alertmanager", tt.reason) != 1 {
				t.Errorf("sink called %d, rejected{%s} %v; want 0, 1", e.sink.called, tt.reason, e.rejected("alertmanager", tt.reason))
			}
		})
	}
}

// TestReadAllStopsAtLimit: however much a body or its decoding would give,
// readAll reads one byte past the limit at most, and holds what it reads.
func TestReadAllStopsAtLimit(t *testing.T) {
	const limit = 1 << 20
	b := newBudget(1<<30, newMetrics(nil).inflight)
	t.Run("ErrEndless", func(t *testing.T) {
		z := &zeros{}
		h := held{b: b}
		if _, err := readAll(z, limit, -1, &h); !errors.Is(err, errTooLong) {
			t.Fatalf("readAll = %v, want errTooLong", err)
		}
		if z.n > limit+1 {
			t.Errorf("read %d bytes, at most %d allowed", z.n, limit+1)
		}
		h.release()
	})
	t.Run("ErrGzipBomb", func(t *testing.T) {
		zr, err := gzip.NewReader(bytes.NewReader(gzipBomb(t, 8<<20)))
		if err != nil {
			t.Fatal(err)
		}
		h := held{b: b}
		if _, err := readAll(zr, limit, -1, &h); !errors.Is(err, errTooLong) {
			t.Fatalf("readAll = %v, want errTooLong", err)
		}
		h.release()
	})
	if u := b.used.Load(); u != 0 {
		t.Errorf("%d bytes still held", u)
	}
}

// TestReadAllGrowsWithBytesReceived: memory follows the bytes that arrived,
// never the length a client announces.
func TestReadAllGrowsWithBytesReceived(t *testing.T) {
	tests := []struct {
		name       string
		sent, hint int64
		wantHeld   int64
	}{
		{"AnnouncedTenMiBSentFourKiB", 4 << 10, 10 << 20, bodyStep},
		{"AnnouncedLengthIsTheLastPiece", 100 << 10, 100 << 10, 100<<10 + 1},
		{"ChunkedDoubles", 100 << 10, -1, 128 << 10},
		{"Small", 300, 300, 301},
		{"Empty", 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBudget(1<<30, newMetrics(nil).inflight)
			h := held{b: b}
			got, err := readAll(io.LimitReader(&zeros{}, tt.sent), 10<<20, tt.hint, &h)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(got)) != tt.sent || int64(cap(got)) != tt.wantHeld || h.n != tt.wantHeld || b.used.Load() != tt.wantHeld {
				t.Errorf("len %d cap %d, held %d, budget used %d; want len %d, %d held", len(got), cap(got), h.n, b.used.Load(), tt.sent, tt.wantHeld)
			}
			h.release()
			if b.used.Load() != 0 {
				t.Errorf("released, %d still used", b.used.Load())
			}
		})
	}
}

// TestMemoryBudget: a request whose body does not fit in what the bodies in
// flight leave of the budget is refused at once, as overload is: 503 (429 on
// /v2/enqueue) with Retry-After, so that the sender retries. The budget is
// given back when a request is done, whatever its answer.
func TestMemoryBudget(t *testing.T) {
	e := newEdge(t, nil, Limits{})
	b := e.h.budget
	if b.limit != DefaultMaxInflightBodyBytes {
		t.Fatalf("budget %d, want the default %d", b.limit, DefaultMaxInflightBodyBytes)
	}
	// Other requests hold all but left, less than any body below.
	const left = 100
	if !b.tryAcquire(b.limit - left) {
		t.Fatal("could not take the budget")
	}
	for _, tt := range []struct {
		path string
		body []byte
		code int
	}{
		{"/ingest/alertmanager", amBody(t), 503},
		{"/ingest/grafana", grafanaBody(t), 503},
		{"/ingest/events", eventsBody(t), 503},
		{"/ingest/changes", changesBody(t), 503},
		{"/v2/enqueue", pdBodyFor("k"), 429},
	} {
		rec := e.post(tt.path, tt.body)
		if rec.Code != tt.code || rec.Header().Get("Retry-After") != "5" {
			t.Errorf("%s: %d, Retry-After %q; want %d, 5", tt.path, rec.Code, rec.Header().Get("Retry-After"), tt.code)
		}
		var eb errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error != "too many request bodies in flight, retry" {
			t.Errorf("%s: body %s", tt.path, rec.Body)
		}
		if got := e.rejected(typeOf(tt.path), reasonMemoryBudget); got != 1 {
			t.Errorf("%s: memory_budget counted %v times, want 1", tt.path, got)
		}
	}
	if e.sink.called != 0 {
		t.Errorf("sink called %d times", e.sink.called)
	}
	b.release(b.limit - left)

	// Whatever the answer, the budget is given back.
	e.post("/ingest/alertmanager", amBody(t))
	e.post("/ingest/alertmanager", []byte(`{"version":"4"}`))
	e.post("/ingest/alertmanager", append(amBody(t), "\xff"...))
	e.post("/ingest/alertmanager", mustGzip(t, amBody(t)), "Content-Encoding", "gzip")
	e.post("/ingest/alertmanager", amBody(t), "Content-Encoding", "br")
	if u := b.used.Load(); u != 0 {
		t.Errorf("%d bytes still held after every request was answered", u)
	}
	if g := testutil.ToFloat64(e.h.metrics.inflight); g != 0 {
		t.Errorf("alertbridge_ingest_inflight_body_bytes = %v, want 0", g)
	}
}

func TestLimitsValidate(t *testing.T) {
	if _, err := New(Options{Limits: Limits{MaxBodyBytes: 10 << 20, MaxInflightBodyBytes: 20 << 20}}); err == nil ||
		!strings.Contains(err.Error(), "want at least 31457283") {
		t.Errorf("New with a budget smaller than one compressed body: %v", err)
	}
	h := mustNew(t, Options{Limits: Limits{MaxBodyBytes: 100 << 20}})
	if h.limits.MaxInflightBodyBytes != minInflightBodyBytes(100<<20) {
		t.Errorf("derived budget %d, want %d", h.limits.MaxInflightBodyBytes, minInflightBodyBytes(100<<20))
	}
}

// TestSignatureCoversWireBytes: an HMAC signature is over the body as sent,
// compressed or not, which is what a sender has in hand when it signs.
func TestSignatureCoversWireBytes(t *testing.T) {
	ch := changesBody(t)
	gz := mustGzip(t, ch)
	tests := []struct {
		name   string
		signed []byte
		code   int
	}{
		{"OKSignedCompressed", gz, 200},
		{"ErrSignedDecoded", ch, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(t, edgeSources(), Limits{})
			hdr := append(signedHeaders(ciKey, edgeNow, tt.signed), "Content-Encoding", "gzip")
			rec := e.post("/ingest/changes", gz, hdr...)
			if rec.Code != tt.code {
				t.Errorf("%d %s, want %d", rec.Code, rec.Body, tt.code)
			}
		})
	}
}

// slowSink makes Ingest take d, as a slow commit does.
type slowSink struct {
	recordingSink
	d time.Duration
}

func (s *slowSink) Ingest(ctx context.Context, sub incident.Submission) error {
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.recordingSink.Ingest(ctx, sub)
}

// rawPost writes a request with the header Content-Length: announced and
// then body to a new connection to srv, and returns the connection.
func rawPost(t testing.TB, srv *httptest.Server, path string, announced int, body []byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, announced)
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestBodyReadTimeout: a body that stops arriving gets 408 with a JSON body
// once limits.body_read_timeout has passed, instead of a connection the
// server closes without a word; it is counted as a timeout.
func TestBodyReadTimeout(t *testing.T) {
	e := newEdge(t, nil, Limits{BodyReadTimeout: 200 * time.Millisecond})
	srv := httptest.NewServer(e.mux)
	defer srv.Close()
	body := amBody(t)
	conn := rawPost(t, srv, "/ingest/alertmanager", len(body), body[:len(body)/2])
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil { // only so that a bug fails instead of hanging
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || string(got) != `{"error":"request body not received within 200ms","where":""}`+"\n" ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%d %s %s, want 408 with a JSON body", resp.StatusCode, resp.Header.Get("Content-Type"), got)
	}
	if e.sink.called != 0 || e.rejected("alertmanager", reasonTimeout) != 1 {
		t.Errorf("sink called %d, timeout %v; want 0, 1", e.sink.called, e.rejected("alertmanager", reasonTimeout))
	}
}

// TestBodyReadTimeoutEndsWithTheBody: the deadline is the body's only. A
// commit that takes longer than it is neither cut nor cancelled.
func TestBodyReadTimeoutEndsWithTheBody(t *testing.T) {
	sink := &slowSink{d: 500 * time.Millisecond}
	h := mustNew(t, Options{Sink: sink, Limits: Limits{BodyReadTimeout: 100 * time.Millisecond}})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/ingest/alertmanager", "application/json", bytes.NewReader(amBody(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("%d %s, want 200", resp.StatusCode, b)
	}
}

// FuzzGzipBody: a body sent gzip-compressed gets exactly the answer it gets
// sent as is, on every endpoint.
func FuzzGzipBody(f *testing.F) {
	f.Add(uint8(0), amBody(f))
	f.Add(uint8(1), grafanaBody(f))
	f.Add(uint8(2), pdBodyFor("k"))
	f.Add(uint8(3), eventsBody(f))
	f.Add(uint8(4), changesBody(f))
	f.Add(uint8(0), []byte("{\"version\":\"4\",\"alerts\":[{\"labels\":{\"a\":\"\xff\"}}]}"))
	f.Add(uint8(3), []byte(`{"labels":{"a":"1"},"starts_at":"9999-01-01T00:00:00Z"}`))
	paths := []string{"/ingest/alertmanager", "/ingest/grafana", "/v2/enqueue", "/ingest/events", "/ingest/changes"}
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		fixedDedupKey(t, generatedKey)
		path := paths[int(endpoint)%len(paths)]
		answer := func(encoding string, b []byte) string {
			e := newEdge(t, nil, Limits{MaxBodyBytes: 1 << 20})
			rec := e.post(path, b, "Content-Encoding", encoding)
			return strconv.Itoa(rec.Code) + " " + rec.Header().Get("Retry-After") + " " + rec.Body.String()
		}
		plain, compressed := answer("identity", body), answer("gzip", mustGzip(t, body))
		if plain != compressed {
			t.Errorf("as is: %s\ngzip:  %s", plain, compressed)
		}
	})
}

// TestInflightGauge: the gauge shows what the bodies in flight hold while
// they are read.
func TestInflightGauge(t *testing.T) {
	e := newEdge(t, nil, Limits{})
	srv := httptest.NewServer(e.mux)
	defer srv.Close()
	var conns []net.Conn
	for range 3 {
		conns = append(conns, rawPost(t, srv, "/ingest/alertmanager", 1<<20, []byte("{")))
	}
	waitFor(t, func() bool { return e.h.budget.used.Load() == 3*bodyStep })
	if g := testutil.ToFloat64(e.h.metrics.inflight); g != 3*bodyStep {
		t.Errorf("gauge %v, want %d", g, 3*bodyStep)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
	waitFor(t, func() bool { return e.h.budget.used.Load() == 0 })
}

// waitFor polls cond until it holds, or fails the test after a minute. It
// waits for the server to reach a state; it measures nothing.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
