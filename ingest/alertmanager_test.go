package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/alertbridge/alertbridge/incident"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// alertmanagerFixtures returns the payload files under testdata/alertmanager:
// raw bodies captured from Alertmanager v0.35.0 (shared/fixtures/alertmanager/raw).
func alertmanagerFixtures(t testing.TB) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", "alertmanager", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".golden.json") {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		t.Fatal("no fixtures under testdata/alertmanager")
	}
	return files
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeAlertmanagerFixtures(t *testing.T) {
	for _, file := range alertmanagerFixtures(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			got, err := DecodeAlertmanager(mustRead(t, file))
			if err != nil {
				t.Fatalf("DecodeAlertmanager: %v", err)
			}
			golden := strings.TrimSuffix(file, ".json") + ".golden.json"
			if *update {
				// incident has no json tags: the golden file shows the Go
				// field names, so any new Event field shows up here too.
				var buf bytes.Buffer
				enc := json.NewEncoder(&buf)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				if err := enc.Encode(got); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var want []incident.Event
			if err := json.Unmarshal(mustRead(t, golden), &want); err != nil {
				t.Fatalf("%s: %v (run go test -update)", golden, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("events differ from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestAlertmanagerMessageRoundTrip proves amMessage has exactly the fields,
// tags and field order of Alertmanager's webhook.Message: Alertmanager encodes
// with encoding/json, so re-encoding what we decoded must give its bytes back.
func TestAlertmanagerMessageRoundTrip(t *testing.T) {
	for _, file := range alertmanagerFixtures(t) {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			raw := mustRead(t, file)
			var msg amMessage
			if err := json.Unmarshal(raw, &msg); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := json.NewEncoder(&buf).Encode(msg); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(raw), buf.String()); diff != "" {
				t.Errorf("re-encoded body differs (-captured +re-encoded):\n%s", diff)
			}
		})
	}
}

// alert is a valid firing alert; payload wraps alerts into a valid body.
const alert = `{"status":"firing","labels":{"alertname":"A"},"annotations":{},"startsAt":"2026-11-28T20:13:05Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"0123456789abcdef"}`

func payload(alerts ...string) string {
	return `{"receiver":"r","status":"firing","alerts":[` + strings.Join(alerts, ",") + `],"groupLabels":{"alertname":"A"},"version":"4","groupKey":"{}:{}"}`
}

func TestDecodeAlertmanagerMapping(t *testing.T) {
	starts := time.Date(2026, 11, 28, 20, 13, 5, 0, time.UTC)
	ends := starts.Add(time.Minute)
	tests := []struct {
		name string
		body string
		want []incident.Event
	}{
		{
			name: "OKMinimal",
			body: `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-28T20:13:05Z","fingerprint":"f1"}]}`,
			want: []incident.Event{{
				Source: "alertmanager", Fingerprint: "f1", Status: incident.StatusFiring,
				Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{},
			}},
		},
		{
			name: "OKFingerprintFromLabels",
			body: `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A","job":"j"},"startsAt":"2026-11-28T20:13:05Z"}]}`,
			want: []incident.Event{{
				Source: "alertmanager", Status: incident.StatusFiring,
				Fingerprint: incident.LabelFingerprint(map[string]string{"alertname": "A", "job": "j"}),
				Labels:      map[string]string{"alertname": "A", "job": "j"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{},
			}},
		},
		{
			name: "OKFiringEndsAtDropped",
			body: `{"version":"4","receiver":"r","groupLabels":{"g":"1"},"alerts":[{"status":"firing","labels":{"a":"1"},"annotations":{"s":"x"},"startsAt":"2026-11-28T20:13:05Z","endsAt":"2026-11-28T20:14:05Z","generatorURL":"http://p/g","fingerprint":"f"}]}`,
			want: []incident.Event{{
				Source: "alertmanager", Fingerprint: "f", Status: incident.StatusFiring,
				Labels: map[string]string{"a": "1"}, Annotations: map[string]string{"s": "x"},
				StartsAt: starts, GeneratorURL: "http://p/g", GroupLabels: map[string]string{"g": "1"}, Receiver: "r",
			}},
		},
		{
			name: "OKResolvedKeepsEndsAt",
			body: `{"version":"4","alerts":[{"status":"resolved","labels":{"a":"1"},"startsAt":"2026-11-28T20:13:05Z","endsAt":"2026-11-28T20:14:05Z","fingerprint":"f"}]}`,
			want: []incident.Event{{
				Source: "alertmanager", Fingerprint: "f", Status: incident.StatusResolved,
				Labels: map[string]string{"a": "1"}, Annotations: map[string]string{},
				StartsAt: starts, EndsAt: ends, GroupLabels: map[string]string{},
			}},
		},
		{
			// Alertmanager sends regexp.QuoteMeta(receiver).
			name: "OKReceiverUnquoted",
			body: `{"version":"4","receiver":"ops\\.team\\+a \\\\ x","alerts":[{"status":"firing","labels":{"a":"1"},"startsAt":"2026-11-28T20:13:05Z","fingerprint":"f"}]}`,
			want: []incident.Event{{
				Source: "alertmanager", Fingerprint: "f", Status: incident.StatusFiring,
				Labels: map[string]string{"a": "1"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{}, Receiver: `ops.team+a \ x`,
			}},
		},
		{
			name: "OKUnknownFieldsIgnored",
			body: `{"version":"4","future":{"x":[1,2]},"notification_reason":"new","routeLabels":{"t":"q"},"alerts":[{"status":"firing","labels":{"a":"1"},"startsAt":"2026-11-28T20:13:05Z","fingerprint":"f","extra":true}]}`,
			want: []incident.Event{{
				Source: "alertmanager", Fingerprint: "f", Status: incident.StatusFiring,
				Labels: map[string]string{"a": "1"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{},
			}},
		},
		{
			// A resolve that ends before it starts ends when it starts:
			// refusing it would lose the resolve.
			name: "OKResolvedEndsAtBeforeStartsAtClamped",
			body: `{"version":"4","alerts":[{"status":"resolved","labels":{"a":"1"},"startsAt":"2026-11-28T20:13:05Z","endsAt":"2026-11-28T20:12:05Z","fingerprint":"f"}]}`,
			want: []incident.Event{{
				Source: "alertmanager", Fingerprint: "f", Status: incident.StatusResolved,
				Labels: map[string]string{"a": "1"}, Annotations: map[string]string{},
				StartsAt: starts, EndsAt: starts, GroupLabels: map[string]string{},
			}},
		},
		{
			// The escape of a literal U+FFFD is valid text, unlike the
			// bytes encoding/json would turn into one.
			name: "OKReplacementCharacter",
			body: `{"version":"4","alerts":[{"status":"firing","labels":{"a":"\ufffd","b":"` + "\uFFFD" + `"},"startsAt":"2026-11-28T20:13:05Z","fingerprint":"f"}]}`,
			want: []incident.Event{{
				Source: "alertmanager", Fingerprint: "f", Status: incident.StatusFiring,
				Labels: map[string]string{"a": "\uFFFD", "b": "\uFFFD"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{},
			}},
		},
		{
			name: "OKSurrogatePairLabelName",
			body: `{"version":"4","alerts":[{"status":"firing","labels":{"\ud83d\udd25":"1","a\\ud800":"2"},"startsAt":"2026-11-28T20:13:05Z","fingerprint":"f"}]}`,
			want: []incident.Event{{
				Source: "alertmanager", Fingerprint: "f", Status: incident.StatusFiring,
				Labels: map[string]string{"🔥": "1", `a\ud800`: "2"}, Annotations: map[string]string{},
				StartsAt: starts, GroupLabels: map[string]string{},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeAlertmanager([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeAlertmanager: %v", err)
			}
			// The group note is checked on the captured payloads (golden files).
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(incident.Event{}, "Group")); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeAlertmanagerErrors(t *testing.T) {
	// with replaces the first occurrence of old in the valid alert.
	with := func(old, new string) string { return strings.Replace(alert, old, new, 1) }
	tests := []struct {
		name  string
		body  string
		where string
		msg   string
	}{
		{"ErrEmptyBody", "", "", "empty body"},
		{"ErrBlankBody", " \r\n\t", "", "empty body"},
		{"ErrSyntax", `{"version" "4"}`, "offset 12", "invalid character '\"' after object key"},
		{"ErrTruncatedBody", payload(alert)[:40], "offset 40", "unexpected end of JSON input"},
		{"ErrTrailingData", payload(alert) + " x", "offset 293", "invalid character 'x' after top-level value"},
		{"ErrNotObject", `[]`, "", "want object, got array"},
		{"ErrVersionNotString", `{"version":4}`, "version", "want string, got number"},
		{"ErrTruncatedAlertsNegative", `{"version":"4","truncatedAlerts":-1}`, "truncatedAlerts", "want unsigned integer, got number -1"},
		{"ErrAlertsNotArray", `{"version":"4","alerts":{}}`, "alerts", "want array, got object"},
		{"ErrAlertNotObject", payload(alert, `5`), "alerts[1]", "want object, got number"},
		{"ErrLabelsNotObject", payload(alert, with(`{"alertname":"A"}`, `["A"]`)), "alerts[1].labels", "want object, got array"},
		{"ErrLabelValueNotString", payload(alert, with(`"A"}`, `1}`)), "alerts[1].labels.alertname", "want string, got number"},
		{"ErrLabelValueNotStringOddName", payload(alert, with(`{"alertname":"A"}`, `{"a.b":true}`)), `alerts[1].labels["a.b"]`, "want string, got bool"},
		{"ErrGroupLabelValueNotString", `{"version":"4","groupLabels":{"x":null,"y":{}}}`, "groupLabels.y", "want string, got object"},
		{"ErrStartsAtNotTime", payload(alert, with(`"2026-11-28T20:13:05Z"`, `"yesterday"`)), "alerts[1].startsAt", "want an RFC 3339 time"},
		{"ErrStartsAtNotString", payload(alert, with(`"2026-11-28T20:13:05Z"`, `1764360785`)), "alerts[1].startsAt", "want an RFC 3339 time"},
		{"ErrEndsAtNotTime", payload(alert, with(`"0001-01-01T00:00:00Z"`, `"0"`)), "alerts[1].endsAt", "want an RFC 3339 time"},
		{"ErrNull", `null`, "version", `missing, want "4"`},
		{"ErrVersionMissing", `{"alerts":[` + alert + `]}`, "version", `missing, want "4"`},
		{"ErrVersionUnsupported", strings.Replace(payload(alert), `"version":"4"`, `"version":"5"`, 1), "version", `unsupported version "5", want "4"`},
		{"ErrAlertsMissing", `{"version":"4"}`, "alerts", "no alerts"},
		{"ErrAlertsNull", `{"version":"4","alerts":null}`, "alerts", "no alerts"},
		{"ErrAlertsEmpty", payload(), "alerts", "no alerts"},
		{"ErrAlertNull", payload(alert, `null`), "alerts[1].labels", "no labels"},
		{"ErrLabelsMissing", payload(alert, with(`"labels":{"alertname":"A"},`, ``)), "alerts[1].labels", "no labels"},
		{"ErrLabelsEmpty", payload(alert, with(`{"alertname":"A"}`, `{}`)), "alerts[1].labels", "no labels"},
		{"ErrLabelNameEmpty", payload(alert, with(`{"alertname":"A"}`, `{"alertname":"A","":"x"}`)), "alerts[1].labels", "empty label name"},
		{"ErrStatusMissing", payload(alert, with(`"status":"firing",`, ``)), "alerts[1].status", "missing, want firing or resolved"},
		{"ErrStatusUnknown", payload(alert, with(`"firing"`, `"pending"`)), "alerts[1].status", `unknown status "pending", want firing or resolved`},
		{"ErrStatusWrongCase", payload(alert, with(`"firing"`, `"Firing"`)), "alerts[1].status", `unknown status "Firing", want firing or resolved`},
		{"ErrStartsAtMissing", payload(alert, with(`"startsAt":"2026-11-28T20:13:05Z",`, ``)), "alerts[1].startsAt", "missing"},
		{"ErrStartsAtZero", payload(alert, with(`"2026-11-28T20:13:05Z"`, `"0001-01-01T00:00:00Z"`)), "alerts[1].startsAt", "missing"},
		{"ErrResolvedEndsAtZero", payload(alert, with(`"firing"`, `"resolved"`)), "alerts[1].endsAt", "missing on a resolved alert"},
		{"ErrResolvedEndsAtMissing", payload(alert, strings.Replace(with(`"firing"`, `"resolved"`), `"endsAt":"0001-01-01T00:00:00Z",`, ``, 1)), "alerts[1].endsAt", "missing on a resolved alert"},
		{"ErrFirstBadAlertWins", payload(alert, with(`"firing"`, `"x"`), with(`{"alertname":"A"}`, `{}`)), "alerts[1].status", `unknown status "x", want firing or resolved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := DecodeAlertmanager([]byte(tt.body))
			if events != nil {
				t.Errorf("events = %v, want nil", events)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v (%T), want *InputError", err, err)
			}
			want := &InputError{Where: tt.where, Msg: tt.msg}
			if diff := cmp.Diff(want, ie); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInputErrorError(t *testing.T) {
	tests := []struct {
		name string
		err  *InputError
		want string
	}{
		{"WhereAndMsg", &InputError{Where: "alerts[3].labels", Msg: "no labels"}, "alerts[3].labels: no labels"},
		{"MsgOnly", &InputError{Msg: "empty body"}, "empty body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzDecodeAlertmanager(f *testing.F) {
	for _, file := range alertmanagerFixtures(f) {
		f.Add(mustRead(f, file))
	}
	for _, s := range []string{
		"", "null", "[]", `{"version":"4"}`, payload(alert), payload(alert, "null"),
		payload(strings.Replace(alert, `"alertname"`, `"a\ud800"`, 1)),
		payload(strings.Replace(alert, `"alertname"`, "\"a\xff\"", 1)),
		`{"version":"4","alerts":[{"startsAt":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := DecodeAlertmanager(body)
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
			switch {
			case ev.Fingerprint == "":
				t.Errorf("events[%d]: empty fingerprint", i)
			case len(ev.Labels) == 0:
				t.Errorf("events[%d]: no labels", i)
			case !ev.Status.Valid():
				t.Errorf("events[%d]: invalid status %q", i, ev.Status)
			case ev.StartsAt.IsZero():
				t.Errorf("events[%d]: zero startsAt", i)
			case ev.Status == incident.StatusResolved && ev.EndsAt.IsZero():
				t.Errorf("events[%d]: resolved with zero endsAt", i)
			case ev.Status == incident.StatusFiring && !ev.EndsAt.IsZero():
				t.Errorf("events[%d]: firing with endsAt %v", i, ev.EndsAt)
			case !ev.EndsAt.IsZero() && ev.EndsAt.Before(ev.StartsAt):
				t.Errorf("events[%d]: endsAt %v before startsAt %v", i, ev.EndsAt, ev.StartsAt)
			case !storable(ev.StartsAt) || !storable(ev.EndsAt):
				t.Errorf("events[%d]: times %v, %v out of range", i, ev.StartsAt, ev.EndsAt)
			}
		}
	})
}
