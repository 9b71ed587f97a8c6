package ingest

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertbridge/alertbridge/incident"
)

// SourceAlertmanager is the Source of events decoded from Alertmanager webhooks.
const SourceAlertmanager = "alertmanager"

// alertmanagerVersion is the webhook payload version current Alertmanager
// releases send; another one would mean a shape we do not know.
const alertmanagerVersion = "4"

// amMessage is the body Alertmanager's webhook notifier POSTs. It mirrors
// webhook.Message of github.com/prometheus/alertmanager/notify/webhook field
// for field, tags and order included; TestAlertmanagerMessageRoundTrip
// re-encodes every captured v0.35.0 body byte for byte to prove it. That
// package is not imported because it drags Alertmanager's whole notification
// stack (cluster/memberlist, Kafka, gRPC, OpenTelemetry) into the binary for
// three fields; template.Data, which holds everything else, is light.
type amMessage struct {
	*template.Data

	// Version is the protocol version, "4".
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// maxEchoed bounds how much of a payload value an error message repeats.
const maxEchoed = 64

// DecodeAlertmanager decodes and validates an Alertmanager webhook payload
// (version 4) and returns one event per alert, in payload order. A payload
// problem is returned as an *InputError saying where it is; text that is not
// UTF-8, a time out of range, or a string or label set over the default
// Limits as a *LimitError. Unknown fields are ignored, because Alertmanager
// adds fields across versions.
func DecodeAlertmanager(body []byte) ([]incident.Event, error) {
	if err := checkUTF8(body); err != nil {
		return nil, err
	}
	events, _, err := decodeAlertmanager(body, Limits{}.withDefaults())
	return events, err
}

// decodeAlertmanager is DecodeAlertmanager for a body checkUTF8 passed,
// under the limits l, that also returns how many alerts the payload
// carried, for the metrics of a rejected payload (0 when the payload could
// not be read that far).
func decodeAlertmanager(body []byte, l Limits) ([]incident.Event, int, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, 0, inputErr("", "empty body")
	}
	var msg amMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, 0, locateDecodeError(body, err)
	}
	var data template.Data
	if msg.Data != nil { // a payload without any of Data's fields leaves it nil
		data = *msg.Data
	}
	n := len(data.Alerts)
	switch {
	case msg.Version == "":
		return nil, n, inputErr("version", "missing, want %q", alertmanagerVersion)
	case msg.Version != alertmanagerVersion:
		return nil, n, inputErr("version", "unsupported version %q, want %q", truncate(msg.Version, maxEchoed), alertmanagerVersion)
	case n == 0:
		return nil, n, inputErr("alerts", "no alerts")
	}

	// What makes the payload invalid (400) is reported before what puts
	// it over a limit (422), as for every decoder.
	for i, a := range data.Alerts {
		if err := validateAlert(a); err != nil {
			err.Where = alertPath(i) + err.Where
			return nil, n, err
		}
	}
	if err := l.checkData(&data, msg.GroupKey); err != nil {
		return nil, n, err
	}
	events := make([]incident.Event, 0, n)
	note := &incident.GroupNote{Status: incident.Status(data.Status), Truncated: int(min(msg.TruncatedAlerts, 1<<31-1))}
	for i, a := range data.Alerts {
		if err := l.checkAlert(a, i); err != nil {
			return nil, n, err
		}
		ev := alertEvent(a, &data)
		note.AsOf = later(note.AsOf, ev.StartsAt, ev.EndsAt)
		ev.Group = note
		events = append(events, ev)
	}
	return events, n, nil
}

func alertPath(i int) string {
	return alertAt(i).String()
}

// alertAt is the path of alerts[i].
func alertAt(i int) jsonPath {
	return jsonPath{{key: "alerts"}, {index: i, isIdx: true}}
}

// checkData checks the members of Alertmanager's (and Grafana's) template
// data that describe the whole group, and the groupKey, against l.
func (l Limits) checkData(d *template.Data, groupKey string) error {
	return firstError(
		l.checkString(kindText, d.Receiver, nil, "receiver"),
		l.checkString(kindText, d.Status, nil, "status"),
		l.checkString(kindText, d.NotificationReason, nil, "notification_reason"),
		l.checkLabelSet(d.GroupLabels, jsonPath{{key: "groupLabels"}}),
		l.checkLabelSet(d.CommonLabels, jsonPath{{key: "commonLabels"}}),
		l.checkAnnotationSet(d.CommonAnnotations, jsonPath{{key: "commonAnnotations"}}),
		l.checkLabelSet(d.RouteLabels, jsonPath{{key: "routeLabels"}}),
		l.checkString(kindURL, d.ExternalURL, nil, "externalURL"),
		l.checkString(kindText, groupKey, nil, "groupKey"),
	)
}

// checkAlert checks the members of alerts[i] that checkEvents does not see
// as sent: the fingerprint, the generatorURL and the times.
func (l Limits) checkAlert(a template.Alert, i int) error {
	at := alertAt(i)
	return firstError(
		checkTime(a.StartsAt, at, "startsAt"),
		checkTime(a.EndsAt, at, "endsAt"),
		l.checkString(kindFingerprint, a.Fingerprint, at, "fingerprint"),
		l.checkString(kindURL, a.GeneratorURL, at, "generatorURL"),
	)
}

// validateAlert checks one alert; Where in the error is relative to the alert.
func validateAlert(a template.Alert) *InputError {
	if len(a.Labels) == 0 {
		return inputErr(".labels", "no labels")
	}
	if _, ok := a.Labels[""]; ok {
		return inputErr(".labels", "empty label name")
	}
	switch st := incident.Status(a.Status); {
	case st == "":
		return inputErr(".status", "missing, want %s or %s", incident.StatusFiring, incident.StatusResolved)
	case !st.Valid():
		return inputErr(".status", "unknown status %q, want %s or %s", truncate(a.Status, maxEchoed), incident.StatusFiring, incident.StatusResolved)
	}
	if a.StartsAt.IsZero() {
		return inputErr(".startsAt", "missing")
	}
	if incident.Status(a.Status) == incident.StatusResolved && a.EndsAt.IsZero() {
		return inputErr(".endsAt", "missing on a resolved alert")
	}
	return nil
}

// alertEvent maps one validated alert to an event. The alert's label and
// annotation maps are its own, decoded for it alone, and become the event's
// without a copy (a tenth of the decoding's CPU); the group's labels are
// copied, so that no two events share a map. None is nil. A resolve that
// ends before it starts ends when it starts (endNotBefore).
func alertEvent(a template.Alert, d *template.Data) incident.Event {
	labels := ownKV(a.Labels)
	fp := a.Fingerprint
	if fp == "" {
		fp = incident.LabelFingerprint(labels)
	}
	ev := incident.Event{
		Source:       SourceAlertmanager,
		Fingerprint:  fp,
		Status:       incident.Status(a.Status),
		Labels:       labels,
		Annotations:  ownKV(a.Annotations),
		StartsAt:     a.StartsAt,
		EndsAt:       endNotBefore(a.EndsAt, a.StartsAt),
		GeneratorURL: a.GeneratorURL,
		GroupLabels:  copyKV(d.GroupLabels),
		Receiver:     unquoteMeta(d.Receiver),
	}
	if ev.Status == incident.StatusFiring {
		// incident.Event promises a zero EndsAt while firing. Alertmanager
		// already sends 0001-01-01T00:00:00Z for every firing alert, even one
		// posted with a future endsAt; other senders of this format may not.
		ev.EndsAt = time.Time{}
	}
	return ev
}

// ownKV returns kv, decoded for one alert alone, as the event's map.
func ownKV(kv template.KV) map[string]string {
	if kv == nil {
		return map[string]string{}
	}
	return kv
}

func copyKV(kv template.KV) map[string]string {
	m := make(map[string]string, len(kv))
	for k, v := range kv {
		m[k] = v
	}
	return m
}

// unquoteMeta undoes regexp.QuoteMeta, which Alertmanager applies to the
// receiver name in every payload (template.Data): "ops\\.team\\+a" becomes
// the configured name "ops.team+a" again.
func unquoteMeta(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// later returns the latest of the times.
func later(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}
