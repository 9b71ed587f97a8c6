package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
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
