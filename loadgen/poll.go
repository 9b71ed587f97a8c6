package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// PollOptions configures Poll: what a dashboard does to the daemon while a
// scenario runs, so that the API's latency under ingest, and ingest's
// latency under API reads, are measured together.
type PollOptions struct {
	// Base is the daemon's URL (scheme and host); it must be a loopback
	// address. Paths are requested from it.
	Base string
	// Paths are requested in turn, each at Rate.
	Paths []string
	// Rate is the GETs per second of each path.
	Rate float64
	// BearerToken, if set, is sent as "Authorization: Bearer <token>".
	BearerToken string
}

// PollReport is one path's figures.
type PollReport struct {
	Path string
	// OK counts the 2xx answers; Errors the others and the requests that
	// got no answer.
	OK, Errors    int
	P50, P99, Max time.Duration
	// FirstError says why the first failed request failed.
	FirstError string
	lat        []time.Duration
}

// Poll requests each path at its rate until ctx ends, and returns each
// path's latencies (of the 2xx answers, the whole body read) and errors.
// A request still running when ctx ends is not counted.
func Poll(ctx context.Context, o PollOptions) ([]PollReport, error) {
	if _, err := parseLoopbackURL(o.Base); err != nil {
		return nil, err
	}
	if o.Rate <= 0 {
		return nil, fmt.Errorf("poll rate %v: must be positive", o.Rate)
	}
	base := strings.TrimRight(o.Base, "/")
	client := &http.Client{Timeout: 30 * time.Second}
	reps := make([]PollReport, len(o.Paths))
	var wg sync.WaitGroup
	for i, p := range o.Paths {
		reps[i].Path = p
		wg.Add(1)
		go func(r *PollReport) {
			defer wg.Done()
			tick := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				start := time.Now()
				err := get(ctx, client, base+r.Path, o.BearerToken)
				switch {
				case ctx.Err() != nil:
					return
				case err != nil:
					r.Errors++
					if r.FirstError == "" {
						r.FirstError = err.Error()
					}
				default:
					r.OK++
					r.lat = append(r.lat, time.Since(start))
				}
			}
		}(&reps[i])
	}
	wg.Wait()
	for i := range reps {
		r := &reps[i]
		slices.Sort(r.lat)
		r.P50, r.P99 = percentile(r.lat, 0.50), percentile(r.lat, 0.99)
		if len(r.lat) > 0 {
			r.Max = r.lat[len(r.lat)-1]
		}
	}
	return reps, nil
}

// get requests url and reads the whole answer; a non-2xx is an error.
func get(ctx context.Context, c *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// WritePolls prints one line per path.
func WritePolls(w io.Writer, reps []PollReport) {
	for _, r := range reps {
		fmt.Fprintf(w, "poll %-28s %6d ok, p50 %s, p99 %s, max %s, errors %d", r.Path, r.OK,
			r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond), r.Errors)
		if r.FirstError != "" {
			fmt.Fprintf(w, " (first: %s)", r.FirstError)
		}
		fmt.Fprintln(w)
	}
}
