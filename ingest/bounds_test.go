package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/alertmanager/template"
)

func TestCheckTime(t *testing.T) {
	for _, tt := range []struct {
		name string
		t    time.Time
		ok   bool
	}{
		{"OKZero", time.Time{}, true},
		{"OKZeroInAnotherZone", time.Time{}.In(time.FixedZone("x", 3600)), true},
		{"OKEpoch", time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"OKLastNanosecond", time.Date(2199, 12, 31, 23, 59, 59, 999999999, time.UTC), true},
		{"OKNow", edgeNow, true},
		{"ErrBeforeEpoch", time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), false},
		{"ErrEpochInAZoneEast", time.Date(1970, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)), false},
		{"Err2200", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"Err1600", time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"Err9999", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{"ErrYearZero", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkTime(tt.t, jsonPath{{key: "a"}}, "t")
			if (err == nil) != tt.ok {
				t.Errorf("checkTime(%v) = %v", tt.t, err)
			}
		})
	}
}

// TestTimesOutOfRange: a time the store cannot hold as Unix nanoseconds
// (it would wrap to another) gets 422 invalid_time on every endpoint, for
// every time member, naming it.
func TestTimesOutOfRange(t *testing.T) {
	resolvedAM := strings.Replace(alert, `"firing"`, `"resolved"`, 1)
	resolvedGF := strings.Replace(grafanaAlertJSON, `"firing"`, `"resolved"`, 1)
	type tc struct{ name, path, body, where string }
	var tests []tc
	for _, ts := range []string{"9999-12-31T23:59:59Z", "1600-01-01T00:00:00Z"} {
		year := ts[:4]
		tests = append(tests,
			tc{"ErrAlertmanagerStartsAt" + year, "/ingest/alertmanager",
				payload(alert, alert, strings.Replace(alert, "2026-11-28T20:13:05Z", ts, 1)), "alerts[2].startsAt"},
			tc{"ErrAlertmanagerEndsAt" + year, "/ingest/alertmanager",
				payload(strings.Replace(resolvedAM, "0001-01-01T00:00:00Z", ts, 1)), "alerts[0].endsAt"},
			// A firing alert's endsAt is dropped, but a sender that writes
			// one out of range is refused all the same: every time is.
			tc{"ErrAlertmanagerFiringEndsAt" + year, "/ingest/alertmanager",
				payload(strings.Replace(alert, "0001-01-01T00:00:00Z", ts, 1)), "alerts[0].endsAt"},
			tc{"ErrGrafanaStartsAt" + year, "/ingest/grafana",
				grafanaPayload(grafanaAlertJSON, strings.Replace(grafanaAlertJSON, "2026-11-28T20:13:05Z", ts, 1)), "alerts[1].startsAt"},
			tc{"ErrGrafanaEndsAt" + year, "/ingest/grafana",
				grafanaPayload(strings.Replace(resolvedGF, "0001-01-01T00:00:00Z", ts, 1)), "alerts[0].endsAt"},
			tc{"ErrPagerDutyTimestamp" + year, "/v2/enqueue",
				pdWith(`"severity":"warning"`, `"severity":"warning","timestamp":"`+ts+`"`), "payload.timestamp"},
			tc{"ErrEventsStartsAt" + year, "/ingest/events",
				`{"events":[` + eventJSON + `,` + eventWith("2026-11-28T20:00:00Z", ts) + `]}`, "events[1].starts_at"},
			tc{"ErrEventsEndsAt" + year, "/ingest/events",
				eventWith(`"firing"`, `"resolved"`, `"status"`, `"ends_at":"`+ts+`","status"`), "ends_at"},
			tc{"ErrChangesStartedAt" + year, "/ingest/changes", changeWith("2026-11-28T20:00:00Z", ts), "started_at"},
			tc{"ErrChangesFinishedAt" + year, "/ingest/changes",
				`{"changes":[` + changeWith(`"started_at"`, `"finished_at":"`+ts+`","started_at"`) + `]}`, "changes[0].finished_at"},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(t, nil, Limits{})
			rec := e.post(tt.path, []byte(tt.body))
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("code = %d (%s), want 422", rec.Code, rec.Body)
			}
			var got errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Where != tt.where || !strings.Contains(got.Error, "out of range, want one from 1970-01-01T00:00:00Z to before 2200-01-01T00:00:00Z") {
				t.Errorf("body = %+v, want where %q", got, tt.where)
			}
			if e.sink.called != 0 || e.rejected(typeOf(tt.path), reasonInvalidTime) != 1 {
				t.Errorf("sink called %d, invalid_time %v; want 0, 1", e.sink.called, e.rejected(typeOf(tt.path), reasonInvalidTime))
			}
		})
	}
}

// TestPagerDutyResolveIgnoresPayloadTimestamp: PagerDuty ignores the payload
// of a resolve, and so does alertbridge, its timestamp included: a stale
// payload never loses a resolve.
func TestPagerDutyResolveIgnoresPayloadTimestamp(t *testing.T) {
	body := `{"routing_key":"r","event_action":"resolve","dedup_key":"k1","payload":{"summary":"s","source":"db-1","severity":"info","timestamp":"9999-01-01T00:00:00Z"}}`
	pe, err := DecodePagerDuty([]byte(body), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !pe.Event.StartsAt.Equal(testNow) || !pe.Event.EndsAt.Equal(testNow) {
		t.Errorf("times %v, %v; want both %v", pe.Event.StartsAt, pe.Event.EndsAt, testNow)
	}
}

// TestEndBeforeStartClamped: every decoder takes an end before the start as
// the start. Refusing it (any 4xx) would lose the resolve for good and leave
// the incident open; passing it on would give the store an alert that ended
// before it began.
func TestEndBeforeStartClamped(t *testing.T) {
	start := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	am := `{"version":"4","alerts":[{"status":"resolved","labels":{"a":"1"},"startsAt":"2026-11-28T20:00:00Z","endsAt":"2026-11-28T19:00:00Z","fingerprint":"f"}]}`
	gf := strings.Replace(am, `"version":"4"`, `"version":"1"`, 1)
	ev := `{"labels":{"a":"1"},"status":"resolved","starts_at":"2026-11-28T20:00:00Z","ends_at":"2026-11-28T19:00:00Z"}`
	ch := `{"service":"api","id":"1","summary":"s","started_at":"2026-11-28T20:00:00Z","finished_at":"2026-11-28T19:00:00Z"}`
	decoders := []struct {
		name   string
		decode func() (starts, ends time.Time, err error)
	}{
		{"Alertmanager", func() (time.Time, time.Time, error) {
			evs, err := DecodeAlertmanager([]byte(am))
			if err != nil {
				return time.Time{}, time.Time{}, err
			}
			return evs[0].StartsAt, evs[0].EndsAt, nil
		}},
		{"Grafana", func() (time.Time, time.Time, error) {
			evs, err := DecodeGrafana([]byte(gf))
			if err != nil {
				return time.Time{}, time.Time{}, err
			}
			return evs[0].StartsAt, evs[0].EndsAt, nil
		}},
		{"Events", func() (time.Time, time.Time, error) {
			evs, err := DecodeEvents([]byte(ev), testNow)
			if err != nil {
				return time.Time{}, time.Time{}, err
			}
			return evs[0].StartsAt, evs[0].EndsAt, nil
		}},
		{"Changes", func() (time.Time, time.Time, error) {
			cs, err := DecodeChanges([]byte(ch), testNow)
			if err != nil {
				return time.Time{}, time.Time{}, err
			}
			return cs[0].StartedAt, cs[0].FinishedAt, nil
		}},
	}
	for _, d := range decoders {
		t.Run("OK"+d.name, func(t *testing.T) {
			starts, ends, err := d.decode()
			if err != nil {
				t.Fatal(err)
			}
			if !starts.Equal(start) || !ends.Equal(start) {
				t.Errorf("start %v, end %v; want both %v", starts, ends, start)
			}
		})
	}
}

// TestStringLimits: every string a payload carries, and every label set and
// annotation set besides an alert's own, is bounded, with a 422 naming it.
func TestStringLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	url := "http://u/" + long(20)
	// The annotations Grafana's value_string joins (15 bytes) fit.
	lim := Limits{MaxFingerprintLength: 16, MaxURLLength: 16, MaxStringLength: 12, MaxLabelsPerAlert: 3, MaxLabelValueLength: 12, MaxAnnotationBytes: 16}
	amWith := func(old, new string) string { return strings.Replace(payload(alert, alert), old, new, 1) }
	amAlert := func(old, new string) string { return payload(alert, strings.Replace(alert, old, new, 1)) }
	gfAlertJSON := strings.NewReplacer(`"[ var='B' value=1.5 ]"`, `"1.5"`, `"http://g/alerting/grafana/u/view"`, `"http://g/view"`).Replace(grafanaAlertJSON)
	gfWith := func(old, new string) string { return strings.Replace(grafanaPayload(gfAlertJSON), old, new, 1) }
	gfAlert := func(old, new string) string { return grafanaPayload(strings.Replace(gfAlertJSON, old, new, 1)) }
	pd := `{"routing_key":"rk","event_action":"trigger","dedup_key":"k1","payload":{"summary":"s","source":"h","severity":"info"},"client":"c","client_url":"http://c","links":[{"href":"http://l","text":"t"}],"images":[{"src":"http://i","href":"http://h","alt":"a"}]}`
	pdWith := func(old, new string) string { return strings.Replace(pd, old, new, 1) }
	tests := []struct {
		name, path, body, where, msg, reason string
	}{
		{"ErrAlertmanagerReceiver", "/ingest/alertmanager", amWith(`"receiver":"r"`, `"receiver":"`+long(13)+`"`),
			"receiver", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrAlertmanagerStatus", "/ingest/alertmanager", amWith(`"status":"firing","alerts"`, `"status":"`+long(13)+`","alerts"`),
			"status", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrAlertmanagerNotificationReason", "/ingest/alertmanager", amWith(`"version"`, `"notification_reason":"`+long(13)+`","version"`),
			"notification_reason", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrAlertmanagerGroupKey", "/ingest/alertmanager", amWith(`"groupKey":"{}:{}"`, `"groupKey":"`+long(13)+`"`),
			"groupKey", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrAlertmanagerExternalURL", "/ingest/alertmanager", amWith(`"version"`, `"externalURL":"`+url+`","version"`),
			"externalURL", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrAlertmanagerGroupLabelValue", "/ingest/alertmanager", amWith(`"groupLabels":{"alertname":"A"}`, `"groupLabels":{"alertname":"`+long(13)+`"}`),
			"groupLabels.alertname", "label value of 13 bytes, at most 12 allowed", reasonLimitLabelLength},
		{"ErrAlertmanagerCommonLabels", "/ingest/alertmanager", amWith(`"version"`, `"commonLabels":{"a":"1","b":"2","c":"3","d":"4"},"version"`),
			"commonLabels", "4 labels, at most 3 allowed", reasonLimitLabels},
		{"ErrAlertmanagerCommonAnnotations", "/ingest/alertmanager", amWith(`"version"`, `"commonAnnotations":{"summary":"`+long(10)+`"},"version"`),
			"commonAnnotations.summary", "annotations of 17 bytes, at most 16 allowed", reasonLimitAnnotations},
		{"ErrAlertmanagerRouteLabels", "/ingest/alertmanager", amWith(`"version"`, `"routeLabels":{"team":"`+long(13)+`"},"version"`),
			"routeLabels.team", "label value of 13 bytes, at most 12 allowed", reasonLimitLabelLength},
		{"ErrAlertmanagerFingerprint", "/ingest/alertmanager", amAlert(`"0123456789abcdef"`, `"0123456789abcdef0"`),
			"alerts[1].fingerprint", "fingerprint of 17 bytes, at most 16 allowed", reasonLimitFingerprint},
		{"ErrAlertmanagerGeneratorURL", "/ingest/alertmanager", amAlert(`"generatorURL":""`, `"generatorURL":"`+url+`"`),
			"alerts[1].generatorURL", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrGrafanaTitle", "/ingest/grafana", gfWith(`"title":"t"`, `"title":"`+long(13)+`"`),
			"title", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrGrafanaState", "/ingest/grafana", gfWith(`"state":"alerting"`, `"state":"`+long(13)+`"`),
			"state", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrGrafanaExternalURL", "/ingest/grafana", gfWith(`"externalURL":"http://g/"`, `"externalURL":"`+url+`"`),
			"externalURL", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrGrafanaCommonAnnotations", "/ingest/grafana", gfWith(`"commonAnnotations":{}`, `"commonAnnotations":{"a":"`+long(16)+`"}`),
			"commonAnnotations.a", "annotations of 17 bytes, at most 16 allowed", reasonLimitAnnotations},
		{"ErrGrafanaSilenceURL", "/ingest/grafana", gfAlert(`"silenceURL":""`, `"silenceURL":"`+url+`"`),
			"alerts[0].silenceURL", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrGrafanaDashboardURL", "/ingest/grafana", gfAlert(`"dashboardURL":""`, `"dashboardURL":"`+url+`"`),
			"alerts[0].dashboardURL", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrGrafanaPanelURL", "/ingest/grafana", gfAlert(`"panelURL":""`, `"panelURL":"`+url+`"`),
			"alerts[0].panelURL", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrGrafanaImageURL", "/ingest/grafana", gfAlert(`"valueString"`, `"imageURL":"`+url+`","valueString"`),
			"alerts[0].imageURL", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrGrafanaValueString", "/ingest/grafana", gfAlert(`"1.5"`, `"`+long(13)+`"`),
			"alerts[0].valueString", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrGrafanaFingerprint", "/ingest/grafana", gfAlert(`"0123456789abcdef"`, `"0123456789abcdef0"`),
			"alerts[0].fingerprint", "fingerprint of 17 bytes, at most 16 allowed", reasonLimitFingerprint},
		{"ErrPagerDutyRoutingKey", "/v2/enqueue", pdWith(`"rk"`, `"`+long(13)+`"`),
			"routing_key", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrPagerDutyDedupKey", "/v2/enqueue", pdWith(`"k1"`, `"`+long(17)+`"`),
			"dedup_key", "fingerprint of 17 bytes, at most 16 allowed", reasonLimitFingerprint},
		{"ErrPagerDutySource", "/v2/enqueue", pdWith(`"h"`, `"`+long(13)+`"`),
			"payload.source", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrPagerDutyClient", "/v2/enqueue", pdWith(`"client":"c"`, `"client":"`+long(13)+`"`),
			"client", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrPagerDutyClientURL", "/v2/enqueue", pdWith(`"http://c"`, `"`+url+`"`),
			"client_url", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrPagerDutyLinkHref", "/v2/enqueue", pdWith(`"http://l"`, `"`+url+`"`),
			"links[0].href", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrPagerDutyLinkText", "/v2/enqueue", pdWith(`"text":"t"`, `"text":"`+long(13)+`"`),
			"links[0].text", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrPagerDutyImageSrc", "/v2/enqueue", pdWith(`"http://i"`, `"`+url+`"`),
			"images[0].src", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrPagerDutyImageHref", "/v2/enqueue", pdWith(`"http://h"`, `"`+url+`"`),
			"images[0].href", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrPagerDutyImageAlt", "/v2/enqueue", pdWith(`"alt":"a"`, `"alt":"`+long(13)+`"`),
			"images[0].alt", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrEventsFingerprint", "/ingest/events", `{"labels":{"a":"1"},"fingerprint":"` + long(17) + `"}`,
			"fingerprint", "fingerprint of 17 bytes, at most 16 allowed", reasonLimitFingerprint},
		{"ErrEventsSeverity", "/ingest/events", `{"events":[{"labels":{"a":"1"},"severity":"` + long(13) + `"}]}`,
			"events[0].severity", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrEventsSummary", "/ingest/events", `{"labels":{"a":"1"},"summary":"` + long(13) + `"}`,
			"summary", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrEventsDescription", "/ingest/events", `{"labels":{"a":"1"},"description":"` + long(13) + `"}`,
			"description", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrEventsGroup", "/ingest/events", `{"labels":{"a":"1"},"group":"` + long(13) + `"}`,
			"group", "label value of 13 bytes, at most 12 allowed", reasonLimitLabelLength},
		{"ErrEventsURL", "/ingest/events", `{"labels":{"a":"1"},"url":"` + url + `"}`,
			"url", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
		{"ErrChangesService", "/ingest/changes", `{"service":"` + long(13) + `","id":"1","summary":"s"}`,
			"service", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrChangesID", "/ingest/changes", `{"changes":[{"service":"s","id":"1","summary":"s"},{"service":"s","id":"` + long(13) + `","summary":"s"}]}`,
			"changes[1].id", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrChangesSummary", "/ingest/changes", `{"service":"s","id":"1","summary":"` + long(13) + `"}`,
			"summary", "string of 13 bytes, at most 12 allowed", reasonLimitString},
		{"ErrChangesURL", "/ingest/changes", `{"service":"s","id":"1","summary":"s","url":"` + url + `"}`,
			"url", "URL of 29 bytes, at most 16 allowed", reasonLimitURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(t, nil, lim)
			rec := e.post(tt.path, []byte(tt.body))
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("code = %d (%s), want 422", rec.Code, rec.Body)
			}
			var got errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(errorBody{Error: tt.msg, Where: tt.where}, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if e.sink.called != 0 || e.rejected(typeOf(tt.path), tt.reason) != 1 {
				t.Errorf("sink called %d, rejected{%s} %v; want 0, 1", e.sink.called, tt.reason, e.rejected(typeOf(tt.path), tt.reason))
			}
		})
	}
}

// TestStringLimitsInvalidFirst: what makes a payload invalid (400) is
// reported before what puts it over a limit (422), in a batch too.
func TestStringLimitsInvalidFirst(t *testing.T) {
	e := newEdge(t, nil, Limits{MaxStringLength: 4})
	body := `{"events":[{"labels":{"a":"1"},"summary":"too long"},{"labels":{}}]}`
	rec := e.post("/ingest/events", []byte(body))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"where":"events[1].labels"`) {
		t.Errorf("%d %s, want 400 at events[1].labels", rec.Code, rec.Body)
	}
}

// TestPagerDutyResolveOverLimitKept: the payload of an acknowledge or
// resolve is not validated, and a member of it over a limit is left out
// rather than losing the resolve.
func TestPagerDutyResolveOverLimitKept(t *testing.T) {
	e := newEdge(t, nil, Limits{MaxStringLength: 12})
	body := `{"routing_key":"rk","event_action":"resolve","dedup_key":"k1","payload":{"summary":"s","source":"` + strings.Repeat("x", 13) + `","severity":"info"}}`
	rec := e.post("/v2/enqueue", []byte(body))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("%d %s, want 202", rec.Code, rec.Body)
	}
	if got := e.sink.events[0].Labels; got["source"] != "" || got["severity"] != "info" {
		t.Errorf("labels %v, want the source left out and the severity kept", got)
	}
}

// TestStringLimitsAtTheLimitPass sets the string limits to exactly what
// every captured Alertmanager payload needs.
func TestStringLimitsAtTheLimitPass(t *testing.T) {
	var l Limits
	files := alertmanagerFixtures(t)
	for _, f := range files {
		var msg amMessage
		if err := json.Unmarshal(mustRead(t, f), &msg); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{msg.Receiver, msg.Status, msg.NotificationReason, msg.GroupKey} {
			l.MaxStringLength = max(l.MaxStringLength, len(s))
		}
		l.MaxURLLength = max(l.MaxURLLength, len(msg.ExternalURL))
		for _, a := range msg.Alerts {
			l.MaxFingerprintLength = max(l.MaxFingerprintLength, len(a.Fingerprint))
			l.MaxURLLength = max(l.MaxURLLength, len(a.GeneratorURL))
		}
	}
	e := newEdge(t, nil, l)
	for _, f := range files {
		if rec := e.post("/ingest/alertmanager", mustRead(t, f)); rec.Code != http.StatusOK {
			t.Errorf("%s at the limits %+v: %d %s", filepath.Base(f), l, rec.Code, rec.Body)
		}
	}
	l.MaxStringLength--
	e = newEdge(t, nil, l)
	failed := 0
	for _, f := range files {
		if rec := e.post("/ingest/alertmanager", mustRead(t, f)); rec.Code == http.StatusUnprocessableEntity {
			failed++
		}
	}
	if failed == 0 {
		t.Error("one byte under the limits, every payload still passes: the limits do not bite")
	}
}

// TestMinAlertBytes measures the smallest alert Alertmanager's webhook can
// encode: it writes every member of template.Alert (none is omitempty), and
// the least each can be is an empty string, an empty object and the zero
// time. If Alertmanager ever dropped a member, or MinAlertBytes were raised
// past this, the default of max_alerts_per_request could refuse a real
// notification, and this test fails.
func TestMinAlertBytes(t *testing.T) {
	smallest := []any{
		template.Alert{Labels: template.KV{}, Annotations: template.KV{}},
		template.Alert{},
		// Grafana's alerts have Alertmanager's members and more.
		grafanaAlert{Labels: template.KV{}, Annotations: template.KV{}},
	}
	for _, a := range smallest {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d bytes: %s", len(b), b)
		if len(b) < MinAlertBytes {
			t.Errorf("an alert of %d bytes is smaller than MinAlertBytes %d: %s", len(b), MinAlertBytes, b)
		}
	}
	b, err := json.Marshal(smallest[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != MinAlertBytes {
		t.Logf("MinAlertBytes %d is below the smallest alert, %d bytes: still safe, no longer tight", MinAlertBytes, len(b))
	}
}

func TestMaxAlertsPerRequestDefault(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   Limits
		want int
	}{
		{"OKDerivedFromDefaultBody", Limits{}, DefaultMaxBodyBytes / MinAlertBytes},
		{"OKDerivedFromBody", Limits{MaxBodyBytes: 1 << 20}, (1 << 20) / MinAlertBytes},
		{"OKExplicitWins", Limits{MaxAlertsPerRequest: 5}, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.withDefaults().MaxAlertsPerRequest; got != tt.want {
				t.Errorf("MaxAlertsPerRequest = %d, want %d", got, tt.want)
			}
		})
	}
}

// stormBody is a notification of n alerts shaped like the captured
// firing-group.json: its first alert, each copy with its own instance and
// fingerprint.
func stormBody(t testing.TB, n int) []byte {
	t.Helper()
	var msg struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	raw := amBody(t)
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Fatal(err)
	}
	first := string(msg.Alerts[0])
	alerts := make([]string, n)
	for i := range alerts {
		alerts[i] = strings.NewReplacer(`web-1:8080`, fmt.Sprintf("web-%d:8080", i), `e4210d8b9b3c7cf4`, fmt.Sprintf("%016x", i)).Replace(first)
	}
	start := strings.Index(string(raw), `"alerts":[`) + len(`"alerts":[`)
	end := strings.Index(string(raw), `],"notification_reason"`)
	return []byte(string(raw[:start]) + strings.Join(alerts, ",") + string(raw[end:]))
}

// TestStormAccepted: with the default limits, a group of 3,000 real-shaped
// alerts (1.6 MiB) is taken in. With the old default of 1,000 it got a 422
// on every retry, so no incident ever opened in exactly the storm that
// matters.
func TestStormAccepted(t *testing.T) {
	body := stormBody(t, 3000)
	e := newEdge(t, nil, Limits{})
	rec := e.post("/ingest/alertmanager", body)
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %.300s, want 200", rec.Code, rec.Body)
	}
	if len(e.sink.events) != 3000 {
		t.Errorf("%d events submitted, want 3000", len(e.sink.events))
	}
	fps := map[string]bool{}
	for _, ev := range e.sink.events {
		fps[ev.Fingerprint] = true
	}
	if len(fps) != 3000 {
		t.Errorf("%d distinct fingerprints, want 3000", len(fps))
	}
	t.Logf("3000 alerts in %d bytes", len(body))
}

// TestTypicalAlertSize keeps the worked example of docs/config.md honest: it
// measures the alerts of the captured notifications, as Alertmanager
// encoded them, and how many fit in the default body limit.
func TestTypicalAlertSize(t *testing.T) {
	total, n := 0, 0
	for _, f := range alertmanagerFixtures(t) {
		var msg struct {
			Alerts []json.RawMessage `json:"alerts"`
		}
		if err := json.Unmarshal(mustRead(t, f), &msg); err != nil {
			t.Fatal(err)
		}
		for _, a := range msg.Alerts {
			total += len(a) + 1 // and the comma between two
			n++
		}
	}
	typical := total / n
	fit := DefaultMaxBodyBytes / typical
	t.Logf("%d captured alerts, %d bytes each on average: %d fit in %d bytes; the default max_alerts_per_request is %d",
		n, typical, fit, DefaultMaxBodyBytes, DefaultMaxBodyBytes/MinAlertBytes)
	if fit < 18000 || fit > 22000 {
		t.Errorf("%d typical alerts fit in the default body limit; docs/config.md says about 20,000", fit)
	}
}
