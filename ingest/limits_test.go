package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestContentType(t *testing.T) {
	body := []byte(payload(alert))
	for _, tt := range []struct {
		name, contentType string
		code              int
	}{
		{"OK", "application/json", 200},
		{"OKCharsetUTF8", "application/json; charset=utf-8", 200},
		{"OKCaseInsensitive", "Application/JSON; Charset=UTF-8", 200},
		{"ErrMissing", "", 415},
		{"ErrForm", "application/x-www-form-urlencoded", 415}, // curl -d without -H
		{"ErrTextPlain", "text/plain", 415},
		{"ErrOtherCharset", "application/json; charset=iso-8859-1", 415},
		{"ErrJSONSuffix", "application/vnd.api+json", 415},
		{"ErrMalformed", "application/json; charset", 415},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(t, nil, Limits{})
			req := httptest.NewRequest(http.MethodPost, "/ingest/alertmanager", bytes.NewReader(body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			e.mux.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("code = %d (%s), want %d", rec.Code, rec.Body, tt.code)
			}
			if tt.code == 415 {
				var eb errorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || !strings.Contains(eb.Error, "want application/json") {
					t.Errorf("body %s", rec.Body)
				}
				if e.sink.called != 0 || e.rejected("alertmanager", reasonUnsupportedMediaType) != 1 {
					t.Errorf("sink called %d, unsupported_media_type %v", e.sink.called, e.rejected("alertmanager", reasonUnsupportedMediaType))
				}
			}
		})
	}
}

// unreadable fails the test if the handler reads the body.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("the body was read")
	return 0, io.EOF
}

func TestBodyTooLargeBeforeReading(t *testing.T) {
	e := newEdge(t, nil, Limits{MaxBodyBytes: 2048})
	req := httptest.NewRequest(http.MethodPost, "/ingest/alertmanager", unreadable{t})
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = 2049
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	if rec.Code != 413 || rec.Body.String() != `{"error":"request body exceeds 2048 bytes","where":""}`+"\n" {
		t.Errorf("%d %s, want 413", rec.Code, rec.Body)
	}
	if e.rejected("alertmanager", reasonTooLarge) != 1 {
		t.Error("too_large not counted")
	}
}

// deep returns {"version":"4","extra":[[[...]]]} with n nested arrays.
func deep(n int) []byte {
	return []byte(`{"version":"4","extra":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`)
}

func TestLimits(t *testing.T) {
	long := strings.Repeat("n", 300)
	withLabels := func(labels string) string {
		return payload(alert, strings.Replace(alert, `{"alertname":"A"}`, labels, 1))
	}
	tests := []struct {
		name   string
		path   string
		limits Limits
		body   string
		where  string
		msg    string
		reason string
	}{
		{"ErrAlerts", "/ingest/alertmanager", Limits{MaxAlertsPerRequest: 2}, payload(alert, alert, alert),
			"alerts", "3 alerts, at most 2 allowed", reasonLimitAlerts},
		{"ErrLabels", "/ingest/alertmanager", Limits{MaxLabelsPerAlert: 2}, withLabels(`{"a":"1","b":"2","c":"3"}`),
			"alerts[1].labels", "3 labels, at most 2 allowed", reasonLimitLabels},
		{"ErrLabelNameLength", "/ingest/alertmanager", Limits{}, withLabels(`{"a":"1","` + long + `":"2"}`),
			`alerts[1].labels["` + strings.Repeat("n", 64) + `…"]`, "label name of 300 bytes, at most 256 allowed", reasonLimitLabelLength},
		{"ErrLabelValueLength", "/ingest/alertmanager", Limits{MaxLabelValueLength: 10}, withLabels(`{"b":"12345678901","a":"123456789012"}`),
			"alerts[1].labels.a", "label value of 12 bytes, at most 10 allowed", reasonLimitLabelLength},
		{"ErrAnnotations", "/ingest/alertmanager", Limits{MaxAnnotationBytes: 10},
			payload(strings.Replace(alert, `"annotations":{}`, `"annotations":{"summary":"abc","runbook":"x"}`, 1)),
			"alerts[0].annotations", "annotations of 18 bytes, at most 10 allowed", reasonLimitAnnotations},
		{"ErrAnnotationsOne", "/ingest/alertmanager", Limits{MaxAnnotationBytes: 10},
			payload(strings.Replace(alert, `"annotations":{}`, `"annotations":{"summary":"abcd"}`, 1)),
			"alerts[0].annotations.summary", "annotations of 11 bytes, at most 10 allowed", reasonLimitAnnotations},
		{"ErrDepth", "/ingest/alertmanager", Limits{}, string(deep(40)),
			"extra" + strings.Repeat("[0]", 31), "nested more than 32 levels deep", reasonLimitDepth},
		{"ErrDepthConfigured", "/ingest/alertmanager", Limits{MaxJSONDepth: 4}, `{"version":"4","alerts":[{"labels":{"a":{"b":1}}}]}`,
			"alerts[0].labels.a", "nested more than 4 levels deep", reasonLimitDepth},
		{"ErrGrafanaAlerts", "/ingest/grafana", Limits{MaxAlertsPerRequest: 1}, string(grafanaBody(t)),
			"alerts", "2 alerts, at most 1 allowed", reasonLimitAlerts},
		{"ErrEventsBatch", "/ingest/events", Limits{MaxLabelsPerAlert: 3}, `{"events":[{"labels":{"a":"1"}},{"labels":{"a":"1","b":"2","c":"3","d":"4"}}]}`,
			"events[1].labels", "4 labels, at most 3 allowed", reasonLimitLabels},
		{"ErrEventsSingle", "/ingest/events", Limits{MaxLabelValueLength: 3}, `{"labels":{"alertname":"four"}}`,
			"labels.alertname", "label value of 4 bytes, at most 3 allowed", reasonLimitLabelLength},
		{"ErrEventsCount", "/ingest/events", Limits{MaxAlertsPerRequest: 1}, `{"events":[{"labels":{"a":"1"}},{"labels":{"a":"2"}}]}`,
			"events", "2 events, at most 1 allowed", reasonLimitAlerts},
		{"ErrChanges", "/ingest/changes", Limits{MaxLabelsPerAlert: 1}, `{"changes":[{"service":"s","id":"1","summary":"x","labels":{"a":"1","b":"2"}}]}`,
			"changes[0].labels", "2 labels, at most 1 allowed", reasonLimitLabels},
		{"ErrPagerDutyCustomDetails", "/v2/enqueue", Limits{MaxAnnotationBytes: 100},
			`{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":{"x":"` + strings.Repeat("y", 200) + `"}}}`,
			"payload.custom_details", "annotations of 230 bytes, at most 100 allowed", reasonLimitAnnotations},
		{"ErrPagerDutyComponent", "/v2/enqueue", Limits{MaxLabelValueLength: 10},
			`{"routing_key":"k","event_action":"trigger","dedup_key":"d","payload":{"summary":"s","source":"h","severity":"info","component":"much-too-long"}}`,
			"payload.component", "label value of 13 bytes, at most 10 allowed", reasonLimitLabelLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(t, nil, tt.limits)
			rec := e.post(tt.path, []byte(tt.body))
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("code = %d (%s), want 422", rec.Code, rec.Body)
			}
			var got errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Error != tt.msg || got.Where != tt.where || got.Errors != nil {
				t.Errorf("body = %+v, want {%q %q}", got, tt.msg, tt.where)
			}
			typ := strings.TrimPrefix(tt.path, "/ingest/")
			if tt.path == "/v2/enqueue" {
				typ = SourcePagerDuty
			}
			if e.sink.called != 0 || e.rejected(typ, tt.reason) != 1 {
				t.Errorf("sink called %d, rejected{%s} %v; want 0, 1", e.sink.called, tt.reason, e.rejected(typ, tt.reason))
			}
		})
	}
}

// TestLimitsAtTheLimitPass sets every limit to exactly what a captured
// Alertmanager payload needs.
func TestLimitsAtTheLimitPass(t *testing.T) {
	body := amBody(t)
	events, err := DecodeAlertmanager(body)
	if err != nil {
		t.Fatal(err)
	}
	var l Limits
	for _, ev := range events {
		l.MaxLabelsPerAlert = max(l.MaxLabelsPerAlert, len(ev.Labels))
		ann := 0
		for k, v := range ev.Labels {
			l.MaxLabelNameLength = max(l.MaxLabelNameLength, len(k))
			l.MaxLabelValueLength = max(l.MaxLabelValueLength, len(v))
		}
		for k, v := range ev.Annotations {
			ann += len(k) + len(v)
		}
		l.MaxAnnotationBytes = max(l.MaxAnnotationBytes, ann)
	}
	l.MaxAlertsPerRequest, l.MaxJSONDepth, l.MaxBodyBytes = len(events), 4, int64(len(body))
	e := newEdge(t, nil, l)
	if rec := e.post("/ingest/alertmanager", body); rec.Code != 200 {
		t.Errorf("at the limits: %d %s", rec.Code, rec.Body)
	}
}

// TestDepthHostile sends a body that would take a recursive decoder down:
// it is refused by the token walk, without decoding.
func TestDepthHostile(t *testing.T) {
	e := newEdge(t, nil, Limits{})
	rec := e.post("/ingest/alertmanager", []byte(strings.Repeat("[", 5<<20)))
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), `"where":"[0][0]`) {
		t.Errorf("%d %.200s", rec.Code, rec.Body)
	}
}

func TestCheckDepth(t *testing.T) {
	for _, tt := range []struct {
		name  string
		body  string
		max   int
		where string // "" for no error
	}{
		{"OKScalar", `1`, 1, ""},
		{"OKFlat", `{"a":1,"b":[1,2]}`, 2, ""},
		{"OKEmptyContainersAtLimit", `{"a":{},"b":[[]]}`, 3, ""},
		// Where is the value that is one level too deep.
		{"ErrObject", `{"a":{"b":{"c":1}}}`, 2, "a.b"},
		{"ErrArrayIndex", `[1,[2],[3,[4]]]`, 2, "[2][1]"},
		{"ErrAfterClosed", `{"a":{"x":1},"b":{"c":{}}}`, 2, "b.c"},
		{"ErrEmptyKey", `{"":[[]]}`, 2, `[""][0]`},
		{"OKBracketsInStrings", `{"a":"[[[{{{\"[[[","b":["]]]"]}`, 2, ""},
		{"OKMalformedLeftToTheDecoder", `{"a":[[`, 4, ""},
		{"ErrMalformedPastTheLimit", `{"a":[[}]]`, 2, "a[0]"},
		{"ErrMalformedBeforeTheLimit", `{"a" 1, "b":[[[]]]}`, 2, "offset 13"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkDepth([]byte(tt.body), tt.max)
			var le *LimitError
			switch {
			case tt.where == "" && err != nil:
				t.Errorf("checkDepth: %v", err)
			case tt.where != "" && (!errors.As(err, &le) || le.Where != tt.where || le.Limit != reasonLimitDepth):
				t.Errorf("checkDepth: %v, want where %q", err, tt.where)
			}
		})
	}
}

func BenchmarkCheckDepth(b *testing.B) {
	// A large Alertmanager group: 1000 alerts.
	var alerts []string
	for range 1000 {
		alerts = append(alerts, alert)
	}
	body := []byte(payload(alerts...))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := checkDepth(body, DefaultMaxJSONDepth); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeAlertmanager1000(b *testing.B) {
	var alerts []string
	for range 1000 {
		alerts = append(alerts, alert)
	}
	body := []byte(payload(alerts...))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeAlertmanager(body); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzCheckDepth checks that the byte scan and the token walk agree on
// whether a valid JSON body is too deep, and that neither panics on any
// input.
func FuzzCheckDepth(f *testing.F) {
	f.Add([]byte(payload(alert)), 4)
	f.Add([]byte(`{"a":"[[\"[","b":[[{}]]}`), 2)
	f.Add(deep(40), 32)
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		if max < 1 || max > 64 {
			return
		}
		at := depthExceededAt(body, max)
		_, walked := depthWhere(body, max)
		if json.Valid(body) && (at >= 0) != walked {
			t.Fatalf("max %d: scan says exceeded at %d, token walk says %v", max, at, walked)
		}
		err := checkDepth(body, max)
		if (err != nil) != (at >= 0) {
			t.Fatalf("checkDepth %v, scan %d", err, at)
		}
	})
}
