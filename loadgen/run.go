package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"
)

// userAgent names the sender; the payloads are Alertmanager v0.35.0's.
const userAgent = "alertbridge-bench (Alertmanager/0.35.0 webhook)"

// drainTimeout is how long requests in flight when Duration ends get to be
// acknowledged. Cancelling them instead would make the server log
// uncommitted requests and would drop the slowest acks from the report.
const drainTimeout = 5 * time.Second

// Run warms up the server, unless o.NoWarmup, then sends notifications from
// o.Concurrency workers until o.Requests have been sent, o.Duration has
// passed since Run began, or ctx is done, and reports what it measured.
// Requests in flight when o.Duration ends get drainTimeout more to be
// acknowledged, and count as transport errors if they are not.
//
// Non-2xx answers and transport errors are counted in the Report, not
// returned. Run returns an error for invalid options, when the server cannot
// be reached during warm-up, when the warm-up does not finish within
// o.Duration, and when ctx is done; in the last case the Report holds what was
// measured until then.
func Run(ctx context.Context, o Options) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, fmt.Errorf("invalid options: %w", err)
	}
	o = o.withDefaults()

	client := o.Client
	if client == nil {
		tr := newLoopbackTransport(o.Concurrency * o.Senders)
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
	} else {
		c := *client
		client = &c
	}
	// A redirect could lead off this machine, and Alertmanager's receivers are
	// not expected to redirect anyway: a 3xx counts as an error.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	// stopCtx ends the sending of new notifications; reqCtx, a little later,
	// those in flight.
	stopCtx, cancelStop := context.WithTimeout(ctx, o.Duration)
	defer cancelStop()
	reqCtx, cancelReq := context.WithTimeout(ctx, o.Duration+drainTimeout)
	defer cancelReq()

	s := &sender{client: client, url: o.URL, token: o.BearerToken, format: o.Format}
	workers := make([]*worker, o.Concurrency)
	for i := range workers {
		tr := newTraffic(o.Seed, i, o.Concurrency, o.Groups, o.AlertsPerGroup, o.Mix, time.Now)
		tr.run = o.RunID
		workers[i] = &worker{
			sender:  s,
			traffic: tr,
			quota:   quota(o.Requests, o.Concurrency, i),
			senders: o.Senders,
			status:  map[int]int{},
		}
		if o.Rate > 0 {
			workers[i].interval = time.Duration(float64(o.Concurrency) / o.Rate * float64(time.Second))
		}
	}

	if !o.NoWarmup {
		if err := warmup(stopCtx, workers); err != nil {
			if ctx.Err() != nil {
				return Report{}, fmt.Errorf("warm up: %w", ctx.Err())
			}
			return Report{}, fmt.Errorf("warm up: %w", err)
		}
	}

	// The server's WAL pages, read around the timed run (alertbridge on
	// SQLite; nothing for another server).
	var pages0 int64
	var pagesKnown bool
	if before, err := readMetrics(ctx, client, o.metricsURL()); err == nil {
		pages0, pagesKnown = walPages(before)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.run(ctx, stopCtx, reqCtx) })
	}
	wg.Wait()
	rep := merge(workers, time.Since(start))
	for _, w := range workers {
		if w.err != nil {
			return rep, w.err
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("run interrupted: %w", err)
	}

	// The RSS and the pages are nice-to-haves, from one read of /metrics: a
	// server without the process collector, or with /metrics elsewhere,
	// still gets its report.
	after, err := readMetrics(ctx, client, o.metricsURL())
	if err != nil {
		return rep, nil
	}
	if rss, err := parseRSS(bytes.NewReader(after)); err == nil {
		rep.RSSBytes = rss
	}
	if pages1, ok := walPages(after); ok && pagesKnown && pages1 >= pages0 {
		rep.WALPages, rep.WALPagesKnown = pages1-pages0, true
	}
	return rep, nil
}

// quota returns how many of requests worker w of n sends; -1 means no limit.
func quota(requests, n, w int) int {
	if requests == 0 {
		return -1
	}
	q := requests / n
	if w < requests%n {
		q++
	}
	return q
}

// warmup sends every group's first notification, the workers in parallel.
// It stops at the first transport error: a server that cannot be reached now
// would only make the timed run a count of connection errors.
func warmup(ctx context.Context, workers []*worker) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			for _, m := range w.traffic.warmup() {
				body, err := w.sender.encode(m)
				if err != nil {
					cancel(err)
					return
				}
				if _, err := w.sender.send(ctx, body); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("duration elapsed before every group was sent: %w", err)
		}
		return err
	}
	return nil
}

// worker sends one traffic stream, one notification at a time, and records
// what it measured.
type worker struct {
	sender  *sender
	traffic *traffic
	quota   int
	// senders post each notification concurrently (HA peers).
	senders int
	// interval, when positive, is the time between the starts of two
	// notifications (Options.Rate).
	interval time.Duration

	requests, alerts int
	acked, ackedAl   int
	shed             int
	status           map[int]int
	latencies        []time.Duration
	err              error
}

// run sends notifications until the quota is used up or stop is done. Each
// request runs under req. A request that fails because parent is done is not
// counted: the run was interrupted, the server did not fail it.
func (w *worker) run(parent, stop, req context.Context) {
	next := time.Now()
	for ; w.quota != 0 && stop.Err() == nil; w.quota-- {
		if w.interval > 0 {
			// An open loop: a worker that fell behind sends at once, but
			// never more than one notification at a time, as Alertmanager.
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-stop.Done():
					return
				}
			}
			next = next.Add(w.interval)
		}
		m := w.traffic.next()
		body, err := w.sender.encode(m)
		if err != nil {
			w.err = err
			return
		}
		results := make([]result, w.senders)
		if w.senders == 1 {
			results[0], err = w.sender.send(req, body)
			results[0].err = err
		} else {
			var wg sync.WaitGroup
			for i := range results {
				wg.Go(func() {
					r, err := w.sender.send(req, body)
					r.err = err
					results[i] = r
				})
			}
			wg.Wait()
		}
		if parent.Err() != nil {
			return
		}
		for _, r := range results {
			w.record(r, len(m.Alerts))
		}
	}
}

// record counts one answered (or failed) request of n alerts.
func (w *worker) record(r result, n int) {
	w.requests++
	w.alerts += n
	switch {
	case r.err != nil:
		w.status[StatusTransportError]++
	case isSuccess(r.code):
		w.status[r.code]++
		w.acked++
		w.ackedAl += n
		w.latencies = append(w.latencies, r.latency)
	default:
		w.status[r.code]++
		if r.code == http.StatusServiceUnavailable && r.retryAfter {
			w.shed++
		}
	}
}

// merge adds up the workers' measurements.
func merge(workers []*worker, elapsed time.Duration) Report {
	rep := Report{StatusCounts: map[int]int{}, Elapsed: elapsed}
	var lat []time.Duration
	for _, w := range workers {
		rep.Requests += w.requests
		rep.Alerts += w.alerts
		rep.Acked += w.acked
		rep.AckedAlerts += w.ackedAl
		rep.Shed += w.shed
		for code, n := range w.status {
			rep.StatusCounts[code] += n
			if !isSuccess(code) {
				rep.Errors += n
			}
		}
		lat = append(lat, w.latencies...)
	}
	slices.Sort(lat)
	rep.P50 = percentile(lat, 0.50)
	rep.P90 = percentile(lat, 0.90)
	rep.P99 = percentile(lat, 0.99)
	if len(lat) > 0 {
		rep.Max = lat[len(lat)-1]
	}
	return rep
}

// encode renders m as o.Format says.
func (s *sender) encode(m *message) ([]byte, error) {
	if s.format == FormatAPI {
		return encodeAPI(m)
	}
	return encode(m)
}

// encode renders m exactly as Alertmanager's webhook notifier does: Go's JSON
// encoder with HTML escaping and a trailing newline.
func encode(m *message) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(m); err != nil {
		return nil, fmt.Errorf("encode notification %s: %w", m.GroupKey, err)
	}
	return buf.Bytes(), nil
}

// postableAlert is one alert as Alertmanager's POST /api/v2/alerts takes it
// (models.PostableAlert): a firing alert has no endsAt, so that Alertmanager
// gives it its resolve_timeout, as it does for Prometheus's alerts.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// encodeAPI renders the alerts of m as the body of Alertmanager's POST
// /api/v2/alerts, which is how Prometheus sends them.
func encodeAPI(m *message) ([]byte, error) {
	out := make([]postableAlert, len(m.Alerts))
	for i, a := range m.Alerts {
		out[i] = postableAlert{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, GeneratorURL: a.GeneratorURL}
		if a.Status == "resolved" {
			end := a.EndsAt
			out[i].EndsAt = &end
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode alerts of %s: %w", m.GroupKey, err)
	}
	return b, nil
}

// sender POSTs notification bodies.
type sender struct {
	client *http.Client
	url    string
	token  string
	format string
}

// result is what one request got.
type result struct {
	code       int
	latency    time.Duration
	retryAfter bool // a Retry-After header came with the answer
	err        error
}

// send POSTs body and returns the response status and the time from sending
// the request to having read the whole response.
func (s *sender) send(ctx context.Context, body []byte) (result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return result{}, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return result{}, fmt.Errorf("post notification: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	latency := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("read response: %w", err)
	}
	return result{code: resp.StatusCode, latency: latency, retryAfter: resp.Header.Get("Retry-After") != ""}, nil
}

// newLoopbackTransport returns a transport for conns concurrent connections
// that ignores proxy settings and refuses to dial anything but a loopback
// address, so that not even a name resolving elsewhere leaves this machine.
func newLoopbackTransport(conns int) *http.Transport {
	d := &net.Dialer{
		Timeout:   5 * time.Second,
		KeepAlive: 30 * time.Second,
		Control:   dialLoopbackOnly,
	}
	return &http.Transport{
		DialContext: d.DialContext,
		// One idle connection per worker, plus one for /metrics: the default
		// of two per host would make most requests open a new connection.
		MaxIdleConns:          conns + 1,
		MaxIdleConnsPerHost:   conns + 1,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
}

func dialLoopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("dial %s: %w", address, ErrNotLoopback)
	}
	return nil
}
