package app

import (
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// Scrapes compressed with compressors kept across scrapes. promhttp gzips
// a scrape with a compressor from a sync.Pool, which the garbage collector
// empties: under ingest it collects many times a second, so nearly every
// scrape made a new compressor (830 KB, zeroed) and compressed at the
// default level. On the 40 KB exposition of a fresh daemon that was 0.52
// ms of the scrape's CPU, against 0.1 ms at BestSpeed with a kept
// compressor, for a body 13% larger (7.0 KB against 6.2 KB).
// gzipScrapes keeps keptCompressors whatever the garbage collector does; a scrape
// beyond them makes its own.

// keptCompressors is how many compressors gzipScrapes keeps: a scraper,
// or two of a Prometheus HA pair, at once.
const keptCompressors = 2

// gzipScrapes serves next, a scrape handler that does not compress itself,
// gzipped to the clients that accept gzip.
type gzipScrapes struct {
	next http.Handler
	free chan *gzip.Writer
	// made counts the compressors made, for tests.
	made atomic.Int64
}

func newGzipScrapes(next http.Handler) *gzipScrapes {
	return &gzipScrapes{next: next, free: make(chan *gzip.Writer, keptCompressors)}
}

func (g *gzipScrapes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept-Encoding")
	// A HEAD's body is not sent: nothing to compress.
	if r.Method == http.MethodHead || !acceptsGzip(r.Header.Values("Accept-Encoding")) {
		g.next.ServeHTTP(w, r)
		return
	}
	zr := &gzipResponse{ResponseWriter: w, scrapes: g}
	defer zr.close()
	g.next.ServeHTTP(zr, r)
}

// compressor returns a kept compressor, or a new one, writing to w.
func (g *gzipScrapes) compressor(w io.Writer) *gzip.Writer {
	select {
	case zw := <-g.free:
		zw.Reset(w)
		return zw
	default:
	}
	g.made.Add(1)
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level: no error
	return zw
}

// keep keeps zw for the next scrape, if there is room.
func (g *gzipScrapes) keep(zw *gzip.Writer) {
	zw.Reset(io.Discard) // drop the response it wrote to
	select {
	case g.free <- zw:
	default:
	}
}

// gzipResponse compresses a 200's body; any other answer (an error of the
// scrape) goes out as the handler wrote it.
type gzipResponse struct {
	http.ResponseWriter
	scrapes *gzipScrapes
	// zw is the body's compressor, from the first write of a 200 on.
	zw      *gzip.Writer
	decided bool
}

func (r *gzipResponse) WriteHeader(code int) {
	// An informational answer (1xx) comes before the one that decides.
	if !r.decided && code >= http.StatusOK {
		r.decided = true
		if code == http.StatusOK {
			h := r.Header()
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
			r.zw = r.scrapes.compressor(r.ResponseWriter)
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *gzipResponse) Write(p []byte) (int, error) {
	if !r.decided {
		r.WriteHeader(http.StatusOK)
	}
	if r.zw == nil {
		return r.ResponseWriter.Write(p)
	}
	return r.zw.Write(p)
}

// close ends the compressed body and keeps its compressor. An error here
// is the client's going away: the handler has returned, and nothing is
// left to tell.
func (r *gzipResponse) close() {
	if r.zw == nil {
		return
	}
	_ = r.zw.Close()
	r.scrapes.keep(r.zw)
	r.zw = nil
}

// acceptsGzip reports whether the values of Accept-Encoding admit gzip:
// gzip (or x-gzip) listed with a weight above 0, or, when it is not
// listed, * so listed (RFC 9110, section 12.5.3). A weight that does not
// parse admits nothing.
func acceptsGzip(values []string) bool {
	gzipQ, anyQ := -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			q := weight(params)
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				gzipQ = max(gzipQ, q)
			case "*":
				anyQ = max(anyQ, q)
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}

// weight is the q of a coding's parameters: 1 without one, 0 when it does
// not parse or lies outside [0, 1].
func weight(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}
