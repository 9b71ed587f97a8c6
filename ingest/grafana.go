package ingest

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertbridge/alertbridge/incident"
)

// SourceGrafana is the Source of events decoded from Grafana alerting
// webhooks.
const SourceGrafana = "grafana"

// grafanaVersion is the webhook payload version Grafana's unified alerting
// sends. Legacy (dashboard) alerting, removed in Grafana 11, sent no version
// and a different shape.
const grafanaVersion = "1"

// The annotations that carry the Grafana-only alert fields, so responders see
// them wherever annotations are shown.
const (
	annotationDashboardURL = "dashboard_url"
	annotationPanelURL     = "panel_url"
	annotationSilenceURL   = "silence_url"
	annotationValueString  = "value_string"
	annotationImageURL     = "image_url"
)

// grafanaMessage is the body of a Grafana contact point of type webhook: the
// Alertmanager template data Grafana extends (grafana/alerting,
// receivers/webhook), plus the legacy title and state. Its message is not
// read at all: it is Grafana's rendering of the whole group, which grows
// with the number of alerts, so any limit on it short of the body's would
// refuse exactly a storm, and alertbridge has no use for it.
type grafanaMessage struct {
	Receiver          string         `json:"receiver"`
	Status            string         `json:"status"`
	OrgID             int64          `json:"orgId"`
	Alerts            []grafanaAlert `json:"alerts"`
	GroupLabels       template.KV    `json:"groupLabels"`
	CommonLabels      template.KV    `json:"commonLabels"`
	CommonAnnotations template.KV    `json:"commonAnnotations"`
	ExternalURL       string         `json:"externalURL"`
	Version           string         `json:"version"`
	GroupKey          string         `json:"groupKey"`
	TruncatedAlerts   int64          `json:"truncatedAlerts"`
	Title             string         `json:"title"`
	State             string         `json:"state"`
}

// grafanaAlert is one alert of a grafanaMessage (Grafana's ExtendedAlert).
type grafanaAlert struct {
	Status       string      `json:"status"`
	Labels       template.KV `json:"labels"`
	Annotations  template.KV `json:"annotations"`
	StartsAt     time.Time   `json:"startsAt"`
	EndsAt       time.Time   `json:"endsAt"`
	GeneratorURL string      `json:"generatorURL"`
	Fingerprint  string      `json:"fingerprint"`
	SilenceURL   string      `json:"silenceURL"`
	DashboardURL string      `json:"dashboardURL"`
	PanelURL     string      `json:"panelURL"`
	// Values maps each query or expression ref ID to its last value. It is
	// not used (valueString says the same, for humans), and it is kept raw so
	// that a value Grafana could not render as a number never loses an alert.
	Values      json.RawMessage `json:"values"`
	ValueString string          `json:"valueString"`
	ImageURL    string          `json:"imageURL"`
}

// DecodeGrafana decodes and validates a Grafana unified alerting webhook
// payload (version 1) and returns one event per alert, in payload order. A
// payload problem is returned as an *InputError saying where it is, and
// what DecodeAlertmanager returns a *LimitError for is one here too; the
// first bad alert is reported. Unknown fields are ignored, because Grafana
// adds fields across versions.
func DecodeGrafana(body []byte) ([]incident.Event, error) {
	if err := checkUTF8(body); err != nil {
		return nil, err
	}
	events, _, err := decodeGrafana(body, Limits{}.withDefaults())
	return events, err
}

// decodeGrafana is DecodeGrafana for a body checkUTF8 passed, under the
// limits l, that also returns how many alerts the payload carried, for the
// metrics of a rejected payload.
func decodeGrafana(body []byte, l Limits) ([]incident.Event, int, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, 0, inputErr("", "empty body")
	}
	var msg grafanaMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, 0, locateDecodeError(body, err)
	}
	n := len(msg.Alerts)
	switch {
	case msg.Version == "":
		return nil, n, inputErr("version", "missing, want %q", grafanaVersion)
	case msg.Version != grafanaVersion:
		return nil, n, inputErr("version", "unsupported version %q, want %q", truncate(msg.Version, maxEchoed), grafanaVersion)
	case n == 0:
		return nil, n, inputErr("alerts", "no alerts")
	}

	// What makes the payload invalid (400) is reported before what puts
	// it over a limit (422), as for every decoder.
	for i, a := range msg.Alerts {
		if err := validateAlert(a.common()); err != nil {
			err.Where = alertPath(i) + err.Where
			return nil, n, err
		}
	}
	if err := l.checkGrafanaMessage(&msg); err != nil {
		return nil, n, err
	}
	events := make([]incident.Event, 0, n)
	for i, a := range msg.Alerts {
		if err := l.checkGrafanaAlert(a, i); err != nil {
			return nil, n, err
		}
		events = append(events, grafanaEvent(a, &msg))
	}
	return events, n, nil
}

// checkGrafanaMessage checks the members of m that describe the whole
// group against l.
func (l Limits) checkGrafanaMessage(m *grafanaMessage) error {
	return firstError(
		l.checkData(&template.Data{
			Receiver: m.Receiver, Status: m.Status, GroupLabels: m.GroupLabels, CommonLabels: m.CommonLabels,
			CommonAnnotations: m.CommonAnnotations, ExternalURL: m.ExternalURL,
		}, m.GroupKey),
		l.checkString(kindText, m.Title, nil, "title"),
		l.checkString(kindText, m.State, nil, "state"),
	)
}

// checkGrafanaAlert checks what checkAlert does of alerts[i], and Grafana's
// own links and value.
func (l Limits) checkGrafanaAlert(a grafanaAlert, i int) error {
	at := alertAt(i)
	return firstError(
		l.checkAlert(a.common(), i),
		l.checkString(kindURL, a.SilenceURL, at, "silenceURL"),
		l.checkString(kindURL, a.DashboardURL, at, "dashboardURL"),
		l.checkString(kindURL, a.PanelURL, at, "panelURL"),
		l.checkString(kindURL, a.ImageURL, at, "imageURL"),
		l.checkString(kindText, a.ValueString, at, "valueString"),
	)
}

// common returns the fields a Grafana alert shares with an Alertmanager one.
func (a grafanaAlert) common() template.Alert {
	return template.Alert{
		Status:       a.Status,
		Labels:       a.Labels,
		Annotations:  a.Annotations,
		StartsAt:     a.StartsAt,
		EndsAt:       a.EndsAt,
		GeneratorURL: a.GeneratorURL,
		Fingerprint:  a.Fingerprint,
	}
}

// grafanaEvent maps one validated alert to an event.
func grafanaEvent(a grafanaAlert, m *grafanaMessage) incident.Event {
	ev := alertEvent(a.common(), &template.Data{
		// Grafana builds its data with Alertmanager's template.Data, which
		// quotes the receiver name as for Alertmanager.
		Receiver:    m.Receiver,
		GroupLabels: m.GroupLabels,
	})
	ev.Source = SourceGrafana
	for _, extra := range []struct{ name, value string }{
		{annotationDashboardURL, a.DashboardURL},
		{annotationPanelURL, a.PanelURL},
		{annotationSilenceURL, a.SilenceURL},
		{annotationValueString, a.ValueString},
		{annotationImageURL, a.ImageURL},
	} {
		if _, taken := ev.Annotations[extra.name]; extra.value != "" && !taken {
			ev.Annotations[extra.name] = extra.value
		}
	}
	return ev
}
