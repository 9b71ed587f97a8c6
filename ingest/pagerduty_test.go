package ingest

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// fixedDedupKey makes generated dedup keys deterministic for one test.
func fixedDedupKey(t testing.TB, key string) {
	t.Helper()
	prev := newDedupKey
	newDedupKey = func() string { return key }
	t.Cleanup(func() { newDedupKey = prev })
}

const generatedKey = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

func TestDecodePagerDutyFixtures(t *testing.T) {
	fixedDedupKey(t, generatedKey)
	for _, file := range payloadFixtures(t, "pagerduty") {
		t.Run(fixtureName(file), func(t *testing.T) {
			got, err := DecodePagerDuty(mustRead(t, file), testNow)
			if err != nil {
				t.Fatalf("DecodePagerDuty: %v", err)
			}
			checkGolden(t, file, got)
		})
	}
}

func TestNewDedupKey(t *testing.T) {
	a, b := newDedupKey(), newDedupKey()
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a) || a == b {
		t.Errorf("newDedupKey() = %q, %q; want two different 32 hex digit keys", a, b)
	}
}

// pdTrigger is a valid trigger; pdWith edits it.
const pdTrigger = `{"routing_key":"R0ABCDEF0123456789ABCDEF01234567","event_action":"trigger","dedup_key":"k1","payload":{"summary":"disk full","source":"db-1","severity":"warning"}}`

func pdWith(pairs ...string) string { return strings.NewReplacer(pairs...).Replace(pdTrigger) }

func TestDecodePagerDutyMapping(t *testing.T) {
	fixedDedupKey(t, generatedKey)
	ts := time.Date(2026, 11, 28, 20, 1, 17, 315e6, time.UTC)
	base := func(status incident.Status) incident.Event {
		return incident.Event{
			Source: "pagerduty", Fingerprint: "k1", Status: status,
			Labels:      map[string]string{"alertname": "pagerduty", "dedup_key": "k1", "source": "db-1", "severity": "warning"},
			Annotations: map[string]string{"summary": "disk full"},
			StartsAt:    testNow,
		}
	}
	tests := []struct {
		name string
		body string
		want PDEvent
	}{
		{
			name: "OKTrigger",
			body: pdTrigger,
			want: PDEvent{RoutingKey: "R0ABCDEF0123456789ABCDEF01234567", Action: PDTrigger, DedupKey: "k1", Event: base(incident.StatusFiring)},
		},
		{
			name: "OKTriggerGeneratesDedupKey",
			body: pdWith(`"dedup_key":"k1",`, ``),
			want: PDEvent{RoutingKey: "R0ABCDEF0123456789ABCDEF01234567", Action: PDTrigger, DedupKey: generatedKey, Event: func() incident.Event {
				ev := base(incident.StatusFiring)
				ev.Fingerprint, ev.Labels["dedup_key"] = generatedKey, generatedKey
				return ev
			}()},
		},
		{
			name: "OKEmptyDedupKeyGenerated",
			body: pdWith(`"dedup_key":"k1"`, `"dedup_key":""`),
			want: PDEvent{RoutingKey: "R0ABCDEF0123456789ABCDEF01234567", Action: PDTrigger, DedupKey: generatedKey, Event: func() incident.Event {
				ev := base(incident.StatusFiring)
				ev.Fingerprint, ev.Labels["dedup_key"] = generatedKey, generatedKey
				return ev
			}()},
		},
		{
			name: "OKTimestampRFC3339",
			body: pdWith(`"severity":"warning"`, `"severity":"warning","timestamp":"2026-11-28T21:01:17.315+01:00"`),
			want: PDEvent{RoutingKey: "R0ABCDEF0123456789ABCDEF01234567", Action: PDTrigger, DedupKey: "k1", Event: func() incident.Event {
				ev := base(incident.StatusFiring)
				ev.StartsAt = ts
				return ev
			}()},
		},
		{
			name: "OKTimestampNoColonOffset",
			body: pdWith(`"severity":"warning"`, `"severity":"warning","timestamp":"2026-11-28T20:01:17.315+0000"`),
			want: PDEvent{RoutingKey: "R0ABCDEF0123456789ABCDEF01234567", Action: PDTrigger, DedupKey: "k1", Event: func() incident.Event {
				ev := base(incident.StatusFiring)
				ev.StartsAt = ts
				return ev
			}()},
		},
		{
			// A fast sender clock must not make its later resolve look older.
			name: "OKTimestampInFutureIsNow",
			body: pdWith(`"severity":"warning"`, `"severity":"warning","timestamp":"2026-11-28T22:00:00Z"`),
			want: PDEvent{RoutingKey: "R0ABCDEF0123456789ABCDEF01234567", Action: PDTrigger, DedupKey: "k1", Event: base(incident.StatusFiring)},
		},
		{
			name: "OKAllPayloadFields",
			body: pdWith(`"severity":"warning"}`, `"severity":"warning","component":"postgres","group":"prod-db","class":"disk","custom_details":{"free":"1%","inodes":[1,2]}},"client":"Zabbix","client_url":"https://z/1","links":[{"href":"https://l","text":"L"}],"images":[{"src":"https://i.png"}],"unknown":1`),
			want: PDEvent{RoutingKey: "R0ABCDEF0123456789ABCDEF01234567", Action: PDTrigger, DedupKey: "k1", Event: incident.Event{
				Source: "pagerduty", Fingerprint: "k1", Status: incident.StatusFiring,
				Labels: map[string]string{
					"alertname": "disk", "dedup_key": "k1", "source": "db-1", "severity": "warning",
					"component": "postgres", "group": "prod-db", "class": "disk",
				},
				Annotations: map[string]string{
					"summary": "disk full", "custom_details": `{"free":"1%","inodes":[1,2]}`, "client": "Zabbix",
					"links": `[{"href":"https://l","text":"L"}]`, "images": `[{"src":"https://i.png"}]`,
				},
				StartsAt: testNow, GeneratorURL: "https://z/1",
			}},
		},
		{
			name: "OKCustomDetailsString",
			body: pdWith(`"severity":"warning"`, `"severity":"warning","custom_details":"exit 2"`),
			want: PDEvent{RoutingKey: "R0ABCDEF0123456789ABCDEF01234567", Action: PDTrigger, DedupKey: "k1", Event: func() incident.Event {
				ev := base(incident.StatusFiring)
				ev.Annotations["custom_details"] = "exit 2"
				return ev
			}()},
		},
		{
			name: "OKAcknowledgeWithoutPayload",
			body: `{"routing_key":"r","event_action":"acknowledge","dedup_key":"k1"}`,
			want: PDEvent{RoutingKey: "r", Action: PDAcknowledge, DedupKey: "k1", Event: incident.Event{
				Source: "pagerduty", Fingerprint: "k1", Status: incident.StatusFiring, Acknowledge: true,
				Labels:      map[string]string{"alertname": "pagerduty", "dedup_key": "k1"},
				Annotations: map[string]string{}, StartsAt: testNow,
			}},
		},
		{
			name: "OKResolveWithoutPayload",
			body: `{"routing_key":"r","event_action":"resolve","dedup_key":"k1"}`,
			want: PDEvent{RoutingKey: "r", Action: PDResolve, DedupKey: "k1", Event: incident.Event{
				Source: "pagerduty", Fingerprint: "k1", Status: incident.StatusResolved,
				Labels:      map[string]string{"alertname": "pagerduty", "dedup_key": "k1"},
				Annotations: map[string]string{}, StartsAt: testNow, EndsAt: testNow,
			}},
		},
		{
			// PagerDuty ignores the payload of a resolve: a bad one must not
			// lose it. What is usable is kept.
			name: "OKResolveBadPayloadIgnored",
			body: `{"routing_key":"r","event_action":"resolve","dedup_key":"k1","payload":{"summary":7,"source":"db-1","severity":"fatal","timestamp":"x"},"links":{}}`,
			want: PDEvent{RoutingKey: "r", Action: PDResolve, DedupKey: "k1", Event: incident.Event{
				Source: "pagerduty", Fingerprint: "k1", Status: incident.StatusResolved,
				Labels:      map[string]string{"alertname": "pagerduty", "dedup_key": "k1", "source": "db-1"},
				Annotations: map[string]string{}, StartsAt: testNow, EndsAt: testNow,
			}},
		},
		{
			name: "OKResolvePayloadNotObjectIgnored",
			body: `{"routing_key":"r","event_action":"resolve","dedup_key":"k1","payload":"gone"}`,
			want: PDEvent{RoutingKey: "r", Action: PDResolve, DedupKey: "k1", Event: incident.Event{
				Source: "pagerduty", Fingerprint: "k1", Status: incident.StatusResolved,
				Labels:      map[string]string{"alertname": "pagerduty", "dedup_key": "k1"},
				Annotations: map[string]string{}, StartsAt: testNow, EndsAt: testNow,
			}},
		},
		{
			name: "OKSummaryAtLimit",
			body: pdWith(`"disk full"`, `"`+strings.Repeat("é", 1024)+`"`),
			want: PDEvent{RoutingKey: "R0ABCDEF0123456789ABCDEF01234567", Action: PDTrigger, DedupKey: "k1", Event: func() incident.Event {
				ev := base(incident.StatusFiring)
				ev.Annotations["summary"] = strings.Repeat("é", 1024)
				return ev
			}()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePagerDuty([]byte(tt.body), testNow)
			if err != nil {
				t.Fatalf("DecodePagerDuty: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodePagerDutyErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // every problem, as "where: msg"
	}{
		{"ErrEmptyBody", "", []string{"empty body"}},
		{"ErrSyntax", `{"routing_key":}`, []string{"offset 16: invalid character '}' looking for beginning of value"}},
		{"ErrNotObject", `[` + pdTrigger + `]`, []string{"want object, got array"}},
		{"ErrEverythingMissing", `{}`, []string{
			"routing_key: missing or blank",
			"event_action: missing, want trigger, acknowledge or resolve",
		}},
		{"ErrRoutingKeyBlank", pdWith(`"R0ABCDEF0123456789ABCDEF01234567"`, `"  "`), []string{"routing_key: missing or blank"}},
		{"ErrRoutingKeyNotString", pdWith(`"R0ABCDEF0123456789ABCDEF01234567"`, `42`), []string{"routing_key: want string, got number"}},
		{"ErrEventActionUnknown", pdWith(`"trigger"`, `"Trigger"`), []string{`event_action: unknown event_action "Trigger", want trigger, acknowledge or resolve`}},
		{"ErrEventActionNotString", pdWith(`"trigger"`, `null`), []string{"event_action: missing, want trigger, acknowledge or resolve"}},
		{"ErrDedupKeyTooLong", pdWith(`"k1"`, `"`+strings.Repeat("k", 256)+`"`), []string{"dedup_key: 256 characters, at most 255 allowed"}},
		{"ErrDedupKeyNotString", pdWith(`"k1"`, `1`), []string{"dedup_key: want string, got number"}},
		{"ErrResolveWithoutDedupKey", `{"routing_key":"r","event_action":"resolve"}`, []string{"dedup_key: missing, required to resolve"}},
		{"ErrAcknowledgeWithoutDedupKey", `{"routing_key":"r","event_action":"acknowledge","dedup_key":""}`, []string{"dedup_key: missing, required to acknowledge"}},
		{"ErrTriggerWithoutPayload", `{"routing_key":"r","event_action":"trigger"}`, []string{"payload: missing, required to trigger"}},
		{"ErrPayloadNotObject", `{"routing_key":"r","event_action":"trigger","payload":[]}`, []string{"payload: want object, got array"}},
		{"ErrPayloadEmpty", `{"routing_key":"r","event_action":"trigger","payload":{}}`, []string{
			"payload.summary: missing, required to trigger",
			"payload.source: missing, required to trigger",
			"payload.severity: missing, required to trigger",
		}},
		{"ErrSummaryBlank", pdWith(`"disk full"`, `" "`), []string{"payload.summary: missing, required to trigger"}},
		{"ErrSummaryTooLong", pdWith(`"disk full"`, `"`+strings.Repeat("é", 1025)+`"`), []string{"payload.summary: 1025 characters, at most 1024 allowed"}},
		{"ErrSummaryNotString", pdWith(`"disk full"`, `{"a":1}`), []string{"payload.summary: want string, got object"}},
		{"ErrSeverityUnknown", pdWith(`"warning"`, `"high"`), []string{`payload.severity: unknown severity "high", want critical, error, warning or info`}},
		{"ErrSeverityWrongCase", pdWith(`"warning"`, `"Warning"`), []string{`payload.severity: unknown severity "Warning", want critical, error, warning or info`}},
		{"ErrTimestampInvalid", pdWith(`"severity":"warning"`, `"severity":"warning","timestamp":"yesterday"`), []string{`payload.timestamp: want an ISO 8601 time such as 2015-07-17T08:42:58.315+0000, got "yesterday"`}},
		{"ErrTimestampNotString", pdWith(`"severity":"warning"`, `"severity":"warning","timestamp":1764360000`), []string{"payload.timestamp: want an ISO 8601 time"}},
		{"ErrComponentNotString", pdWith(`"severity":"warning"`, `"severity":"warning","component":["a"]`), []string{"payload.component: want string, got array"}},
		{"ErrLinksNotArray", pdWith(`"event_action"`, `"links":{"href":"x"},"event_action"`), []string{"links: want array, got object"}},
		{"ErrImageNotObject", pdWith(`"event_action"`, `"images":["https://i.png"],"event_action"`), []string{"images[0]: want object, got string"}},
		{"ErrClientURLNotString", pdWith(`"event_action"`, `"client_url":true,"event_action"`), []string{"client_url: want string, got bool"}},
		{"ErrManyAtOnce", `{"routing_key":"","event_action":"trigger","dedup_key":"` + strings.Repeat("x", 300) + `","payload":{"summary":"s","severity":"sev1"},"links":5}`, []string{
			"routing_key: missing or blank",
			"dedup_key: 300 characters, at most 255 allowed",
			"payload.source: missing, required to trigger",
			`payload.severity: unknown severity "sev1", want critical, error, warning or info`,
			"links: want array, got number",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodePagerDuty([]byte(tt.body), testNow)
			if diff := cmp.Diff(PDEvent{RoutingKey: ev.RoutingKey}, ev); diff != "" {
				t.Errorf("event with an error (-want +got):\n%s", diff)
			}
			if ies := InputErrors(err); len(ies) == 0 {
				t.Fatalf("err = %v (%T), want *InputErrors", err, err)
			}
			if diff := cmp.Diff(tt.want, PDErrorMessages(err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// An invalid event still says which source it was for.
func TestDecodePagerDutyErrorKeepsRoutingKey(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"OKRoutingKey", `{"routing_key":"rk","event_action":"trigger"}`, "rk"},
		{"OKBlankRoutingKey", `{"routing_key":" ","event_action":"resolve","dedup_key":"k"}`, " "},
		{"OKNoRoutingKey", `{"event_action":"trigger"}`, ""},
		{"OKRoutingKeyNotString", `{"routing_key":1,"event_action":"trigger"}`, ""},
		{"OKNotAnObject", `[]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodePagerDuty([]byte(tt.body), testNow)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(PDEvent{RoutingKey: tt.want}, ev); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPDResponses(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"Success", PDSuccess("srv01/mysql"), `{"status":"success","message":"Event processed","dedup_key":"srv01/mysql"}`},
		{"SuccessEscaped", PDSuccess(`a"<b>`), `{"status":"success","message":"Event processed","dedup_key":"a\"<b>"}`},
		{"Error", PDError([]string{"routing_key: missing or blank", "payload: missing, required to trigger"}),
			`{"status":"invalid event","message":"Event object is invalid","errors":["routing_key: missing or blank","payload: missing, required to trigger"]}`},
		{"ErrorNone", PDError(nil), `{"status":"invalid event","message":"Event object is invalid","errors":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("body = %s, want %s", tt.got, tt.want)
			}
			if !json.Valid(tt.got) {
				t.Error("body is not valid JSON")
			}
		})
	}
}

func TestPDErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"Nil", nil, []string{}},
		{"NotInputError", errors.New("boom"), []string{"boom"}},
		{"Joined", errors.Join(inputErr("a", "x"), inputErr("", "y")), []string{"a: x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, PDErrorMessages(tt.err)); diff != "" {
				t.Errorf("PDErrorMessages (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzDecodePagerDuty(f *testing.F) {
	for _, file := range payloadFixtures(f, "pagerduty") {
		f.Add(mustRead(f, file))
	}
	for _, s := range []string{
		"", "null", "{}", pdTrigger, pdWith(`"dedup_key":"k1",`, ``),
		`{"routing_key":"r","event_action":"resolve","dedup_key":"k"}`,
		`{"routing_key":"r","event_action":"acknowledge","dedup_key":"k","payload":7}`,
		pdWith(`"severity":"warning"`, `"severity":"warning","timestamp":"2015-07-17T08:42:58.315+0000","custom_details":[1,{"a":null}]`),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pe, err := DecodePagerDuty(body, testNow)
		if err != nil {
			if !isPayloadError(err) {
				t.Fatalf("err = %v (%T), want *InputErrors or a *LimitError", err, err)
			}
			if diff := cmp.Diff(PDEvent{RoutingKey: pe.RoutingKey}, pe); diff != "" {
				t.Fatalf("event with err %v:\n%s", err, diff)
			}
			return
		}
		ev := pe.Event
		if p := eventProblem(ev); p != "" {
			t.Fatal(p)
		}
		switch {
		case strings.TrimSpace(pe.RoutingKey) == "":
			t.Error("empty routing key")
		case pe.DedupKey == "" || ev.Fingerprint != pe.DedupKey || ev.Labels["dedup_key"] != pe.DedupKey:
			t.Errorf("dedup key %q, fingerprint %q, label %q", pe.DedupKey, ev.Fingerprint, ev.Labels["dedup_key"])
		case len([]rune(pe.DedupKey)) > pdMaxDedupKey:
			t.Errorf("dedup key of %d characters", len([]rune(pe.DedupKey)))
		case !ev.EndsAt.IsZero() && ev.EndsAt.Before(ev.StartsAt):
			t.Errorf("EndsAt %v before StartsAt %v", ev.EndsAt, ev.StartsAt)
		case ev.StartsAt.After(testNow):
			t.Errorf("StartsAt %v after now", ev.StartsAt)
		case ev.Acknowledge != (pe.Action == PDAcknowledge):
			t.Errorf("Acknowledge %v for %s", ev.Acknowledge, pe.Action)
		case (ev.Status == incident.StatusResolved) != (pe.Action == PDResolve):
			t.Errorf("status %s for %s", ev.Status, pe.Action)
		case pe.Action == PDTrigger && !isPDSeverity(ev.Labels["severity"]):
			t.Errorf("trigger with severity %q", ev.Labels["severity"])
		case pe.Action == PDTrigger && (ev.Labels["source"] == "" || ev.Annotations["summary"] == ""):
			t.Errorf("trigger without source or summary: %v %v", ev.Labels, ev.Annotations)
		}
	})
}
