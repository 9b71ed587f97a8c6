package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func TestDecodeEventsFixtures(t *testing.T) {
	for _, file := range payloadFixtures(t, "events") {
		t.Run(fixtureName(file), func(t *testing.T) {
			got, err := DecodeEvents(mustRead(t, file), testNow)
			if err != nil {
				t.Fatalf("DecodeEvents: %v", err)
			}
			checkGolden(t, file, got)
		})
	}
}

// A resolve that does not repeat the severity still matches its firing.
func TestDecodeEventsSeverityNotInFingerprint(t *testing.T) {
	firing, err := DecodeEvents([]byte(`{"labels":{"alertname":"A"},"severity":"critical"}`), testNow)
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := DecodeEvents([]byte(`{"labels":{"alertname":"A"},"status":"resolved"}`), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if firing[0].Fingerprint != resolved[0].Fingerprint {
		t.Errorf("fingerprints %q and %q differ", firing[0].Fingerprint, resolved[0].Fingerprint)
	}
}

func TestDecodeEventsMapping(t *testing.T) {
	earlier := testNow.Add(-time.Hour)
	labelsA := map[string]string{"alertname": "A"}
	tests := []struct {
		name string
		body string
		want []incident.Event
	}{
		{
			name: "OKMinimalDefaults",
			body: `{"labels":{"alertname":"A"}}`,
			want: []incident.Event{{
				Source: "events", Fingerprint: incident.LabelFingerprint(labelsA), Status: incident.StatusFiring,
				Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{}, StartsAt: testNow,
			}},
		},
		{
			name: "OKEveryField",
			body: `{"fingerprint":"fp","labels":{"alertname":"A"},"annotations":{"runbook_url":"r"},"status":"firing","severity":"info",` +
				`"summary":"s","description":"d","starts_at":"2026-11-28T20:00:00Z","group":"g","url":"http://u"}`,
			want: []incident.Event{{
				Source: "events", Fingerprint: "fp", Status: incident.StatusFiring,
				Labels:      map[string]string{"alertname": "A", "severity": "info"},
				Annotations: map[string]string{"runbook_url": "r", "summary": "s", "description": "d"},
				StartsAt:    earlier, GeneratorURL: "http://u", GroupLabels: map[string]string{"group": "g"},
			}},
		},
		{
			name: "OKNullsAreAbsent",
			body: `{"fingerprint":null,"labels":{"alertname":"A"},"annotations":null,"status":null,"severity":null,"starts_at":null,"ends_at":null,"group":null,"url":null}`,
			want: []incident.Event{{
				Source: "events", Fingerprint: incident.LabelFingerprint(labelsA), Status: incident.StatusFiring,
				Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{}, StartsAt: testNow,
			}},
		},
		{
			name: "OKSameValueTwiceIsNoConflict",
			body: `{"labels":{"alertname":"A","severity":"info"},"severity":"info","annotations":{"summary":"s"},"summary":"s"}`,
			want: []incident.Event{{
				Source: "events", Fingerprint: incident.LabelFingerprint(map[string]string{"alertname": "A", "severity": "info"}),
				Status: incident.StatusFiring, Labels: map[string]string{"alertname": "A", "severity": "info"},
				Annotations: map[string]string{"summary": "s"}, StartsAt: testNow,
			}},
		},
		{
			name: "OKResolvedEndsNow",
			body: `{"labels":{"alertname":"A"},"status":"resolved","starts_at":"2026-11-28T20:00:00Z"}`,
			want: []incident.Event{{
				Source: "events", Fingerprint: incident.LabelFingerprint(labelsA), Status: incident.StatusResolved,
				Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{}, StartsAt: earlier, EndsAt: testNow,
			}},
		},
		{
			// As in Alertmanager's API, a start defaults to the end.
			name: "OKResolvedStartDefaultsToEnd",
			body: `{"labels":{"alertname":"A"},"status":"resolved","ends_at":"2026-11-28T20:00:00Z"}`,
			want: []incident.Event{{
				Source: "events", Fingerprint: incident.LabelFingerprint(labelsA), Status: incident.StatusResolved,
				Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{}, StartsAt: earlier, EndsAt: earlier,
			}},
		},
		{
			name: "OKFutureTimesAreNow",
			body: `{"labels":{"alertname":"A"},"status":"resolved","starts_at":"2026-11-28T21:30:00Z","ends_at":"2026-11-28T22:00:00Z"}`,
			want: []incident.Event{{
				Source: "events", Fingerprint: incident.LabelFingerprint(labelsA), Status: incident.StatusResolved,
				Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{}, StartsAt: testNow, EndsAt: testNow,
			}},
		},
		{
			name: "OKBlankFingerprintFromLabels",
			body: `{"fingerprint":" ","labels":{"alertname":"A"}}`,
			want: []incident.Event{{
				Source: "events", Fingerprint: incident.LabelFingerprint(labelsA), Status: incident.StatusFiring,
				Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{}, StartsAt: testNow,
			}},
		},
		{
			name: "OKBatchInOrder",
			body: `{"events":[{"labels":{"alertname":"B"}},{"labels":{"alertname":"A"},"group":"g"}]}`,
			want: []incident.Event{
				{
					Source: "events", Fingerprint: incident.LabelFingerprint(map[string]string{"alertname": "B"}), Status: incident.StatusFiring,
					Labels: map[string]string{"alertname": "B"}, Annotations: map[string]string{}, StartsAt: testNow,
				},
				{
					Source: "events", Fingerprint: incident.LabelFingerprint(labelsA), Status: incident.StatusFiring,
					Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{}, StartsAt: testNow,
					GroupLabels: map[string]string{"group": "g"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEvents([]byte(tt.body), testNow)
			if err != nil {
				t.Fatalf("DecodeEvents: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// eventJSON is a valid event; eventWith edits it.
const eventJSON = `{"labels":{"alertname":"A"},"status":"firing","summary":"s","starts_at":"2026-11-28T20:00:00Z"}`

func eventWith(pairs ...string) string { return strings.NewReplacer(pairs...).Replace(eventJSON) }

func TestDecodeEventsErrors(t *testing.T) {
	batch := func(events ...string) string { return `{"events":[` + strings.Join(events, ",") + `]}` }
	tests := []errorCase{
		{"ErrEmptyBody", "", "", "empty body"},
		{"ErrSyntax", `{"labels":{"a":"1"}`, "offset 19", "unexpected end of JSON input"},
		{"ErrTrailingData", eventJSON + `{}`, "offset 96", "invalid character '{' after top-level value"},
		{"ErrNotObject", `[` + eventJSON + `]`, "", "want object, got array"},
		{"ErrNull", `null`, "", "want object, got null"},
		{"ErrUnknownField", eventWith(`"summary"`, `"message"`), "message", "unknown field"},
		{"ErrFieldCaseMatters", eventWith(`"summary"`, `"Summary"`), "Summary", "unknown field"},
		{"ErrEventsWithOtherFields", `{"events":[` + eventJSON + `],"labels":{"a":"b"}}`, "labels", "unknown field"},
		{"ErrEventsNotArray", `{"events":{}}`, "events", "want array, got object"},
		{"ErrEventsEmpty", `{"events":[]}`, "events", "no events"},
		{"ErrEventsNull", `{"events":null}`, "events", "no events"},
		{"ErrEventNotObject", batch(eventJSON, `"x"`), "events[1]", "want object, got string"},
		{"ErrLabelsMissing", eventWith(`"labels":{"alertname":"A"},`, ``), "labels", "no labels"},
		{"ErrLabelsEmpty", batch(eventJSON, eventWith(`{"alertname":"A"}`, `{}`)), "events[1].labels", "no labels"},
		{"ErrLabelsNotObject", eventWith(`{"alertname":"A"}`, `["A"]`), "labels", "want object, got array"},
		{"ErrLabelValueNotString", eventWith(`"A"}`, `1}`), "labels.alertname", "want string, got number"},
		{"ErrLabelValueNotStringOddName", eventWith(`{"alertname":"A"}`, `{"a.b":true}`), `labels["a.b"]`, "want string, got bool"},
		{"ErrLabelNameEmpty", eventWith(`{"alertname":"A"}`, `{"alertname":"A","":"x"}`), "labels", "empty name"},
		{"ErrAnnotationValueNotString", eventWith(`"status"`, `"annotations":{"x":{}},"status"`), "annotations.x", "want string, got object"},
		{"ErrFingerprintNotString", eventWith(`"status"`, `"fingerprint":12,"status"`), "fingerprint", "want string, got number"},
		{"ErrStatusUnknown", eventWith(`"firing"`, `"ok"`), "status", `unknown status "ok", want firing or resolved`},
		{"ErrStatusNotString", eventWith(`"firing"`, `true`), "status", "want string, got bool"},
		{"ErrSeverityConflict", eventWith(`{"alertname":"A"}`, `{"alertname":"A","severity":"info"}`, `"status"`, `"severity":"critical","status"`), "severity", `"critical" conflicts with labels.severity "info"`},
		{"ErrSummaryConflict", eventWith(`"status"`, `"annotations":{"summary":"other"},"status"`), "summary", "conflicts with annotations.summary"},
		{"ErrDescriptionConflict", eventWith(`"status"`, `"annotations":{"description":"a"},"description":"b","status"`), "description", "conflicts with annotations.description"},
		{"ErrStartsAtNotTime", eventWith(`"2026-11-28T20:00:00Z"`, `"2026-11-28 20:00:00"`), "starts_at", "want an RFC 3339 time"},
		{"ErrStartsAtNumber", eventWith(`"2026-11-28T20:00:00Z"`, `1764360000`), "starts_at", "want an RFC 3339 time"},
		{"ErrEndsAtOnFiring", eventWith(`"status"`, `"ends_at":"2026-11-28T20:30:00Z","status"`), "ends_at", "set on a firing event; send status resolved to end it"},
		{"ErrGroupNotString", eventWith(`"status"`, `"group":["g"],"status"`), "group", "want string, got array"},
		{"ErrURLNotString", eventWith(`"status"`, `"url":{},"status"`), "url", "want string, got object"},
		// In a batch the first problem of the first bad event comes first.
		{"ErrFirstBadEventFirst", batch(eventJSON, eventWith(`"firing"`, `"x"`), eventWith(`"labels"`, `"labelz"`)), "events[1].status", `unknown status "x", want firing or resolved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := DecodeEvents([]byte(tt.body), testNow)
			if events != nil {
				t.Errorf("events = %v, want nil", events)
			}
			checkInputError(t, err, tt.where, tt.msg)
		})
	}
}

func TestDecodeEventsReportsEveryBadEvent(t *testing.T) {
	body := `{"events":[` + eventJSON + `,{"labels":{}},` + eventJSON + `,{"labels":{"a":"1"},"status":"x"}]}`
	_, err := DecodeEvents([]byte(body), testNow)
	want := []*InputError{
		{Where: "events[1].labels", Msg: "no labels"},
		{Where: "events[3].status", Msg: `unknown status "x", want firing or resolved`},
	}
	if diff := cmp.Diff(want, InputErrors(err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func FuzzDecodeEvents(f *testing.F) {
	for _, file := range payloadFixtures(f, "events") {
		f.Add(mustRead(f, file))
	}
	for _, s := range []string{
		"", "null", "{}", `{"events":[]}`, eventJSON, `{"events":[` + eventJSON + `,null]}`,
		eventWith(`"firing"`, `"resolved"`, `"status"`, `"ends_at":"2026-11-28T19:00:00Z","status"`),
		eventWith(`"alertname"`, `"a\ud800"`),
		`{"labels":{"a":"1"},"severity":"x","group":"g","starts_at":"2099-01-01T00:00:00Z"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := DecodeEvents(body, testNow)
		if err != nil {
			if !isPayloadError(err) {
				t.Fatalf("err = %v (%T), want *InputErrors or a *LimitError", err, err)
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
			if !ev.EndsAt.IsZero() && ev.EndsAt.Before(ev.StartsAt) {
				t.Errorf("events[%d]: EndsAt %v before StartsAt %v", i, ev.EndsAt, ev.StartsAt)
			}
			if ev.StartsAt.After(testNow) || ev.EndsAt.After(testNow) {
				t.Errorf("events[%d]: times after now: %v %v", i, ev.StartsAt, ev.EndsAt)
			}
			if _, ok := ev.Labels[""]; ok {
				t.Errorf("events[%d]: empty label name", i)
			}
			if ev.GroupLabels != nil && ev.GroupLabels["group"] == "" {
				t.Errorf("events[%d]: group labels %v", i, ev.GroupLabels)
			}
		}
	})
}
