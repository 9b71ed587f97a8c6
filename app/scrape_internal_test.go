package app

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},                    // Prometheus, Go's client
		{[]string{"GZip"}, true},                    // codings are case-insensitive
		{[]string{"x-gzip"}, true},                  // its old name
		{[]string{"deflate, gzip, br, zstd"}, true}, // curl --compressed
		{[]string{"identity"}, false},
		{[]string{"br;q=1.0, zstd"}, false},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzip;Q=0.5"}, true},
		{[]string{"gzip;q=0.001"}, true},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false}, // gzip listed: its own weight decides
		{[]string{"*;q=0, gzip;q=0.5"}, true},
		{[]string{"identity", "gzip"}, true}, // two header lines
		{[]string{"gzip;q=abc"}, false},      // a weight that does not parse
		{[]string{"gzip;q=2"}, false},        // outside [0, 1]
		{[]string{"gzip;level=1"}, true},     // another parameter
	} {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

// exposition is a scrape's body, long enough to compress across several
// writes.
var exposition = strings.Repeat("# TYPE x counter\nx{a=\"b\"} 1\n", 2000)

// serveExposition writes the exposition in small writes, as an encoder does.
var serveExposition = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	for i := 0; i < len(exposition); i += 1000 {
		if _, err := io.WriteString(w, exposition[i:min(i+1000, len(exposition))]); err != nil {
			return
		}
	}
})

// scrape GETs from h with the Accept-Encoding given (none when empty) and
// returns the response with its body, decompressed if it was gzipped.
func scrape(t *testing.T, h http.Handler, method, acceptEncoding string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, "/metrics", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body := io.Reader(resp.Body)
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("gzipped body: %v", err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

func TestGzipScrapes(t *testing.T) {
	g := newGzipScrapes(serveExposition)
	for _, tc := range []struct {
		method, accept string
		gzipped        bool
	}{
		{"GET", "gzip", true},
		{"GET", "", false},
		{"GET", "gzip;q=0", false},
		{"HEAD", "gzip", false},
	} {
		resp, body := scrape(t, g, tc.method, tc.accept)
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
			t.Errorf("%s with Accept-Encoding %q: gzipped %v, want %v", tc.method, tc.accept, got, tc.gzipped)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s with Accept-Encoding %q: Vary %q lacks Accept-Encoding", tc.method, tc.accept, resp.Header.Get("Vary"))
		}
		if resp.Header.Get("Content-Type") != "text/plain; version=0.0.4" {
			t.Errorf("%s with Accept-Encoding %q: Content-Type %q, the handler's lost", tc.method, tc.accept, resp.Header.Get("Content-Type"))
		}
		if tc.method == "GET" && body != exposition {
			t.Errorf("%s with Accept-Encoding %q: body of %d bytes, want the exposition's %d", tc.method, tc.accept, len(body), len(exposition))
		}
	}
}

// A scrape that fails goes out as the handler wrote it: a client reading
// the error must not need to decompress it, and nothing compressed follows.
func TestGzipScrapesLeaveErrorsPlain(t *testing.T) {
	g := newGzipScrapes(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "gathering failed", http.StatusInternalServerError)
	}))
	resp, body := scrape(t, g, "GET", "gzip")
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("status %d, Content-Encoding %q; want 500 uncompressed", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	if body != "gathering failed\n" {
		t.Errorf("body %q, want the handler's error", body)
	}
	if n := g.made.Load(); n != 0 {
		t.Errorf("%d compressors made for an error", n)
	}
}

// An informational answer before the scrape's own leaves it compressed
// (a real server: the recorder takes a 1xx for the answer).
func TestGzipScrapesAfterInformational(t *testing.T) {
	srv := httptest.NewServer(newGzipScrapes(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		serveExposition(w, r)
	})))
	defer srv.Close()
	if body := getGzipped(t, srv.URL); string(body) != exposition {
		t.Errorf("body of %d bytes, want the exposition's %d", len(body), len(exposition))
	}
}

// getGzipped GETs url asking for gzip, through a transport that leaves the
// body as sent; it fails the test unless the answer is a 200 gzipped, and
// returns the body gunzipped.
func getGzipped(t testing.TB, url string) []byte {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("GET %s: status %d, Content-Encoding %q; want 200 gzipped", url, resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("GET %s: gunzip: %v", url, err)
	}
	return body
}

// Scrapes one after another share one compressor; more at once than are
// kept make their own, and every body is whole.
func TestGzipScrapesKeepCompressors(t *testing.T) {
	g := newGzipScrapes(serveExposition)
	for range 5 {
		if _, body := scrape(t, g, "GET", "gzip"); body != exposition {
			t.Fatalf("body of %d bytes, want %d", len(body), len(exposition))
		}
	}
	if n := g.made.Load(); n != 1 {
		t.Errorf("5 scrapes in turn made %d compressors, want 1", n)
	}

	// Each scrape takes its compressor with its first write, then waits
	// for the others: all of them hold one at once, whatever the
	// scheduler does.
	const together = 8
	var holding sync.WaitGroup
	holding.Add(together)
	g.next = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, exposition[:1000])
		holding.Done()
		holding.Wait()
		_, _ = io.WriteString(w, exposition[1000:])
	})
	var wg sync.WaitGroup
	bodies := make([]string, together)
	for i := range together {
		wg.Go(func() { _, bodies[i] = scrape(t, g, "GET", "gzip") })
	}
	wg.Wait()
	for i, body := range bodies {
		if body != exposition {
			t.Errorf("scrape %d of %d at once: body of %d bytes, want %d", i, together, len(body), len(exposition))
		}
	}
	// One was kept from before; the other seven are new.
	if n := g.made.Load(); n != together {
		t.Errorf("%d scrapes at once made %d compressors in all, want %d", together, n, together)
	}
	if kept := len(g.free); kept != keptCompressors {
		t.Errorf("%d compressors kept after the scrapes, want %d", kept, keptCompressors)
	}
}
