package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func TestDecodeGrafanaFixtures(t *testing.T) {
	for _, file := range payloadFixtures(t, "grafana") {
		t.Run(fixtureName(file), func(t *testing.T) {
			got, err := DecodeGrafana(mustRead(t, file))
			if err != nil {
				t.Fatalf("DecodeGrafana: %v", err)
			}
			checkGolden(t, file, got)
		})
	}
}

// grafanaAlertJSON is a valid firing Grafana alert; grafanaPayload wraps
// alerts into a valid body.
const grafanaAlertJSON = `{"status":"firing","labels":{"alertname":"A","grafana_folder":"F"},"annotations":{},"startsAt":"2026-11-28T20:13:05Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://g/alerting/grafana/u/view","fingerprint":"0123456789abcdef","silenceURL":"","dashboardURL":"","panelURL":"","values":{"B":1.5},"valueString":"[ var='B' value=1.5 ]"}`

func grafanaPayload(alerts ...string) string {
	return `{"receiver":"r","status":"firing","orgId":1,"alerts":[` + strings.Join(alerts, ",") + `],"groupLabels":{"alertname":"A"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://g/","version":"1","groupKey":"{}:{}","truncatedAlerts":0,"title":"t","state":"alerting","message":"m"}`
}

func TestDecodeGrafanaMapping(t *testing.T) {
	starts := time.Date(2026, 11, 28, 20, 13, 5, 0, time.UTC)
	tests := []struct {
		name string
		body string
		want []incident.Event
	}{
		{
			name: "OKMinimal",
			body: `{"version":"1","alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-28T20:13:05Z","fingerprint":"f1"}]}`,
			want: []incident.Event{{
				Source: "grafana", Fingerprint: "f1", Status: incident.StatusFiring,
				Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{},
			}},
		},
		{
			name: "OKFingerprintFromLabels",
			body: `{"version":"1","alerts":[{"status":"firing","labels":{"alertname":"A","job":"j"},"startsAt":"2026-11-28T20:13:05Z"}]}`,
			want: []incident.Event{{
				Source: "grafana", Status: incident.StatusFiring,
				Fingerprint: incident.LabelFingerprint(map[string]string{"alertname": "A", "job": "j"}),
				Labels:      map[string]string{"alertname": "A", "job": "j"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{},
			}},
		},
		{
			// Grafana's own fields become annotations, unless the rule
			// already has an annotation of that name.
			name: "OKExtraFieldsAsAnnotations",
			body: grafanaPayload(strings.NewReplacer(
				`"annotations":{}`, `"annotations":{"panel_url":"mine"}`,
				`"silenceURL":""`, `"silenceURL":"http://g/s"`,
				`"dashboardURL":""`, `"dashboardURL":"http://g/d"`,
				`"panelURL":""`, `"panelURL":"http://g/p"`,
			).Replace(grafanaAlertJSON)),
			want: []incident.Event{{
				Source: "grafana", Fingerprint: "0123456789abcdef", Status: incident.StatusFiring,
				Labels: map[string]string{"alertname": "A", "grafana_folder": "F"},
				Annotations: map[string]string{
					"panel_url": "mine", "silence_url": "http://g/s", "dashboard_url": "http://g/d",
					"value_string": "[ var='B' value=1.5 ]",
				},
				StartsAt: starts, GeneratorURL: "http://g/alerting/grafana/u/view",
				GroupLabels: map[string]string{"alertname": "A"}, Receiver: "r",
			}},
		},
		{
			// values is not used, so its shape cannot lose an alert.
			name: "OKValuesAnyShape",
			body: `{"version":"1","alerts":[{"status":"firing","labels":{"a":"1"},"startsAt":"2026-11-28T20:13:05Z","fingerprint":"f","values":{"A":"NaN","B":null}}]}`,
			want: []incident.Event{{
				Source: "grafana", Fingerprint: "f", Status: incident.StatusFiring,
				Labels: map[string]string{"a": "1"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{},
			}},
		},
		{
			name: "OKFiringEndsAtDropped",
			body: `{"version":"1","alerts":[{"status":"firing","labels":{"a":"1"},"startsAt":"2026-11-28T20:13:05Z","endsAt":"2026-11-28T20:17:05Z","fingerprint":"f"}]}`,
			want: []incident.Event{{
				Source: "grafana", Fingerprint: "f", Status: incident.StatusFiring,
				Labels: map[string]string{"a": "1"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{},
			}},
		},
		{
			name: "OKUnknownFieldsIgnored",
			body: `{"version":"1","future":[1],"alerts":[{"status":"firing","labels":{"a":"1"},"startsAt":"2026-11-28T20:13:05Z","fingerprint":"f","orgId":1,"embeddedImage":"x"}]}`,
			want: []incident.Event{{
				Source: "grafana", Fingerprint: "f", Status: incident.StatusFiring,
				Labels: map[string]string{"a": "1"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeGrafana([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeGrafana: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeGrafanaErrors(t *testing.T) {
	with := func(old, new string) string { return strings.Replace(grafanaAlertJSON, old, new, 1) }
	valid := grafanaPayload(grafanaAlertJSON)
	tests := []errorCase{
		{"ErrEmptyBody", "", "", "empty body"},
		{"ErrSyntax", `{"version" "1"}`, "offset 12", "invalid character '\"' after object key"},
		{"ErrNotObject", `"x"`, "", "want object, got string"},
		{"ErrVersionNotString", `{"version":1}`, "version", "want string, got number"},
		{"ErrOrgIDNotNumber", `{"version":"1","orgId":"1"}`, "orgId", "want integer, got string"},
		{"ErrAlertsNotArray", `{"version":"1","alerts":{}}`, "alerts", "want array, got object"},
		{"ErrAlertNotObject", grafanaPayload(grafanaAlertJSON, `[]`), "alerts[1]", "want object, got array"},
		{"ErrPanelURLNotString", grafanaPayload(grafanaAlertJSON, with(`"panelURL":""`, `"panelURL":3`)), "alerts[1].panelURL", "want string, got number"},
		{"ErrLabelValueNotString", grafanaPayload(grafanaAlertJSON, with(`"F"`, `false`)), "alerts[1].labels.grafana_folder", "want string, got bool"},
		{"ErrStartsAtNotTime", grafanaPayload(with(`"2026-11-28T20:13:05Z"`, `"now"`)), "alerts[0].startsAt", "want an RFC 3339 time"},
		{"ErrVersionMissing", `{"alerts":[` + grafanaAlertJSON + `]}`, "version", `missing, want "1"`},
		{"ErrVersionAlertmanager", strings.Replace(valid, `"version":"1"`, `"version":"4"`, 1), "version", `unsupported version "4", want "1"`},
		{"ErrLegacyAlerting", `{"title":"[Alerting] CPU","ruleId":1,"ruleName":"CPU","state":"alerting","evalMatches":[]}`, "version", `missing, want "1"`},
		{"ErrAlertsEmpty", grafanaPayload(), "alerts", "no alerts"},
		{"ErrLabelsEmpty", grafanaPayload(grafanaAlertJSON, with(`{"alertname":"A","grafana_folder":"F"}`, `{}`)), "alerts[1].labels", "no labels"},
		{"ErrStatusMissing", grafanaPayload(with(`"status":"firing",`, ``)), "alerts[0].status", "missing, want firing or resolved"},
		{"ErrStatusPending", grafanaPayload(with(`"firing"`, `"pending"`)), "alerts[0].status", `unknown status "pending", want firing or resolved`},
		{"ErrStartsAtMissing", grafanaPayload(with(`"startsAt":"2026-11-28T20:13:05Z",`, ``)), "alerts[0].startsAt", "missing"},
		{"ErrResolvedEndsAtZero", grafanaPayload(with(`"firing"`, `"resolved"`)), "alerts[0].endsAt", "missing on a resolved alert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := DecodeGrafana([]byte(tt.body))
			if events != nil {
				t.Errorf("events = %v, want nil", events)
			}
			checkInputError(t, err, tt.where, tt.msg)
		})
	}
}

func FuzzDecodeGrafana(f *testing.F) {
	for _, file := range payloadFixtures(f, "grafana") {
		f.Add(mustRead(f, file))
	}
	for _, s := range []string{
		"", "null", "[]", `{"version":"1"}`, grafanaPayload(grafanaAlertJSON), grafanaPayload(grafanaAlertJSON, "null"),
		grafanaPayload(strings.Replace(grafanaAlertJSON, `"alertname"`, `"a\ud800"`, 1)),
		`{"version":"1","alerts":[{"startsAt":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := DecodeGrafana(body)
		if err != nil {
			if !isPayloadError(err) {
				t.Fatalf("err = %v (%T), want *InputError or *LimitError", err, err)
			}
			if events != nil {
				t.Fatalf("events = %v with err %v", events, err)
			}
			return
		}
		if len(events) == 0 {
			t.Fatal("no events and no error")
		}
		for i, ev := range events {
			if p := eventProblem(ev); p != "" {
				t.Errorf("events[%d]: %s", i, p)
			}
			if ev.Source != SourceGrafana {
				t.Errorf("events[%d]: source %q", i, ev.Source)
			}
		}
	})
}
