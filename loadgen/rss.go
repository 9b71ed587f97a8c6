package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// rssMetric is the client_golang process collector's resident memory gauge.
const rssMetric = "process_resident_memory_bytes"

// maxMetricsBody bounds how much of a /metrics response is read.
const maxMetricsBody = 16 << 20

// rssTimeout bounds each /metrics read around the run.
const rssTimeout = 5 * time.Second

// walPagesMetric is alertbridge's count of the pages its writer appended
// to SQLite's write-ahead log (SQLite stores only).
const walPagesMetric = "alertbridge_store_wal_pages_written_total"

// walPages reads alertbridge_store_wal_pages_written_total from a
// Prometheus text exposition; found is false when the server has none (not
// alertbridge, or not on SQLite).
func walPages(exposition []byte) (pages int64, found bool) {
	v, err := parseSample(bytes.NewReader(exposition), walPagesMetric)
	if err != nil || !(v >= 0 && v <= 1<<62) {
		return 0, false
	}
	return int64(v), true
}

// readMetrics reads the Prometheus text exposition at metricsURL.
func readMetrics(ctx context.Context, c *http.Client, metricsURL string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, rssTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return nil, fmt.Errorf("new metrics request: %w", err)
	}
	// Ask for the text format: without it a server may pick OpenMetrics or
	// protobuf, and only the text format is parsed here.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", metricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: status %d", metricsURL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetricsBody))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", metricsURL, err)
	}
	return body, nil
}

// parseRSS finds the first process_resident_memory_bytes sample in a
// Prometheus text exposition, which must be above 0.
func parseRSS(r io.Reader) (int64, error) {
	v, err := parseSample(r, rssMetric)
	if err != nil {
		return 0, err
	}
	if !(v > 0 && v <= 1<<62) { // NaN fails both
		return 0, fmt.Errorf("%s: value %g out of range", rssMetric, v)
	}
	return int64(v), nil
}

// parseSample finds the first sample of the metric name in a Prometheus
// text exposition. Only a gauge or two are needed, so this reads lines
// rather than parsing the whole format.
func parseSample(r io.Reader, name string) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t' && rest[0] != '{') {
			// A comment, another metric, or a longer name sharing the prefix.
			continue
		}
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return 0, fmt.Errorf("%s: unterminated labels", name)
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, fmt.Errorf("%s: missing value", name)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: parse value: %w", name, err)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	return 0, errors.New(name + ": not found")
}
