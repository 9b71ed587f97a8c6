package antientropy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// alertsPath is Alertmanager's API v2 alert listing, relative to its base URL.
const alertsPath = "api/v2/alerts"

// The values of status.state in Alertmanager's API v2.
const (
	stateActive      = "active"
	stateSuppressed  = "suppressed"  // silenced or inhibited
	stateUnprocessed = "unprocessed" // received, not yet through silences and inhibitions
)

// amAlert is one alert as Alertmanager's API v2 lists it (gettableAlert in
// its OpenAPI spec). It is declared here rather than imported from
// Alertmanager's api/v2/models, which would pull in go-openapi for a handful
// of fields. Unknown fields are ignored: Alertmanager adds fields across
// versions.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	Receivers    []amReceiver      `json:"receivers"`
	Status       amStatus          `json:"status"`
}

type amReceiver struct {
	Name string `json:"name"`
}

type amStatus struct {
	State       string   `json:"state"`
	SilencedBy  []string `json:"silencedBy"`
	InhibitedBy []string `json:"inhibitedBy"`
}

// decodeAlerts decodes the body of GET /api/v2/alerts. Absence from the
// result makes the poller resolve alerts, so anything that does not prove
// which alerts Alertmanager holds is an error: a body that is not exactly one
// JSON array (null included), or an alert that can be identified by neither
// a fingerprint nor labels. An alert without a fingerprint gets the one
// Alertmanager computes from its labels, as ingest does.
func decodeAlerts(body []byte) ([]amAlert, error) {
	var alerts []amAlert
	if err := json.Unmarshal(body, &alerts); err != nil {
		return nil, fmt.Errorf("decode alerts: %w", err)
	}
	if alerts == nil {
		return nil, errors.New("decode alerts: null, want an array")
	}
	for i := range alerts {
		a := &alerts[i]
		if a.Fingerprint == "" {
			if len(a.Labels) == 0 {
				return nil, fmt.Errorf("decode alerts: [%d]: neither fingerprint nor labels", i)
			}
			a.Fingerprint = incident.LabelFingerprint(a.Labels)
		}
	}
	return alerts, nil
}

// invalid says why a listed alert cannot be submitted as a firing event, or
// returns "" when it can. Such an alert still counts as present.
func (a *amAlert) invalid() string {
	switch {
	case len(a.Labels) == 0:
		return "no labels"
	case a.StartsAt.IsZero():
		return "no startsAt"
	}
	if _, ok := a.Labels[""]; ok {
		return "empty label name"
	}
	return ""
}

// routedTo reports the first of the alert's receivers in want, or the first
// of its receivers when want is empty. ok is false when the alert is routed
// to none of want.
func (a *amAlert) routedTo(want map[string]bool) (name string, ok bool) {
	if len(want) == 0 {
		if len(a.Receivers) > 0 {
			return a.Receivers[0].Name, true
		}
		return "", true
	}
	for _, r := range a.Receivers {
		if want[r.Name] {
			return r.Name, true
		}
	}
	return "", false
}

// endpoint is one Alertmanager's alert listing.
type endpoint struct {
	url     string // the full listing URL, query included
	display string // the base URL as configured, for logs and errors
}

// parseEndpoint validates a configured Alertmanager URL: http or https, with
// a host, without credentials (they go in BearerToken or BasicUser, which are
// never logged), query or fragment. The URL is Alertmanager's base URL
// (its --web.external-url path included when it has one); a URL already
// ending in /api/v2/alerts is accepted as is. Errors never repeat the URL,
// which may hold a secret.
func parseEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return endpoint{}, err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return endpoint{}, fmt.Errorf("scheme %q, want http or https", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return endpoint{}, errors.New("no host")
	case u.User != nil:
		return endpoint{}, errors.New("credentials in the url: use the bearer token or basic auth options")
	case u.RawQuery != "" || u.ForceQuery:
		return endpoint{}, errors.New("a query: give the base url of alertmanager")
	case u.Fragment != "":
		return endpoint{}, errors.New("a fragment: give the base url of alertmanager")
	}
	display := u.String()
	if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/"+alertsPath) {
		u = u.JoinPath(alertsPath)
	}
	// Every alert Alertmanager holds, suppressed and unprocessed included:
	// an alert missing from this listing is one Alertmanager no longer has.
	// These are the defaults; they are spelled out so a change of defaults
	// in a later Alertmanager cannot narrow the listing.
	u.RawQuery = "active=true&silenced=true&inhibited=true&unprocessed=true"
	return endpoint{url: u.String(), display: display}, nil
}

// fetch lists the alerts of one Alertmanager.
func (p *Poller) fetch(ctx context.Context, ep endpoint) ([]amAlert, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.url, nil)
	if err != nil {
		return nil, fmt.Errorf("list alerts of %s: %w", ep.display, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "alertbridge-antientropy")
	switch {
	case p.o.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+p.o.BearerToken)
	case p.o.BasicUser != "":
		req.SetBasicAuth(p.o.BasicUser, p.o.BasicPassword)
	}
	resp, err := p.o.Client.Do(req)
	if err != nil {
		// The *url.Error names the listing URL, which holds no secret.
		return nil, fmt.Errorf("list alerts of %s: %w", ep.display, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The body is not read into the error: it is the sender's to log.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("list alerts of %s: unexpected status %s", ep.display, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.o.MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("list alerts of %s: read body: %w", ep.display, err)
	}
	if int64(len(body)) > p.o.MaxResponseBytes {
		return nil, fmt.Errorf("list alerts of %s: response larger than %d bytes", ep.display, p.o.MaxResponseBytes)
	}
	alerts, err := decodeAlerts(body)
	if err != nil {
		return nil, fmt.Errorf("list alerts of %s: %w", ep.display, err)
	}
	return alerts, nil
}
