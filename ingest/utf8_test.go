package ingest

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestCheckUTF8(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		where string // "" for no error
		msg   string
	}{
		{name: "OKASCII", body: payload(alert)},
		{name: "OKMultiByte", body: `{"a":"é€🔥","ü":"x"}`},
		{name: "OKSurrogatePair", body: `{"a":"\ud83d\udd25","\uD83D\uDD25":"x"}`},
		{name: "OKReplacementCharacter", body: "{\"a\":\"\\ufffd\uFFFD\"}"},
		{name: "OKEscapedBackslashThenU", body: `{"a":"\\ud800","b":"\\\\udc00"}`},
		{name: "OKMalformedEscapeLeftToTheDecoder", body: `{"a":"\u12"}`},
		{name: "OKEscapedMultiByte", body: `{"a":"\é"}`},
		{name: "OKLongASCIIWords", body: `{"` + strings.Repeat("abcdefgh", 40) + `":"` + strings.Repeat("12345678", 40) + `"}`},
		{name: "ErrByteInValue", body: "{\"labels\":{\"a\":\"v\xff\"}}",
			where: "labels.a", msg: "not valid UTF-8: byte 0xff at offset 17"},
		{name: "ErrByteInName", body: "{\"labels\":{\"alert\xffname\":\"v\"}}",
			where: `labels["alert` + "\uFFFD" + `name"]`, msg: "not valid UTF-8: byte 0xff at offset 17"},
		{name: "ErrEncodedSurrogate", body: "{\"a\":[\"x\",\"\xed\xa0\x80\"]}",
			where: "a[1]", msg: "not valid UTF-8: byte 0xed at offset 11"},
		{name: "ErrOverlong", body: "{\"a\":\"\xc0\xaf\"}",
			where: "a", msg: "not valid UTF-8: byte 0xc0 at offset 6"},
		{name: "ErrTruncatedRune", body: "{\"a\":\"\xe2\x82\"}",
			where: "a", msg: "not valid UTF-8: byte 0xe2 at offset 6"},
		{name: "ErrLoneHigh", body: `{"alerts":[{"annotations":{"s":"x\ud800y"}}]}`,
			where: "alerts[0].annotations.s", msg: `not valid UTF-8: \ud800 at offset 33 is an unpaired UTF-16 surrogate`},
		{name: "ErrLoneLow", body: `{"groupKey":"\uDC00"}`,
			where: "groupKey", msg: `not valid UTF-8: \uDC00 at offset 13 is an unpaired UTF-16 surrogate`},
		{name: "ErrHighThenBMP", body: `{"a":"\ud83d\u0041"}`,
			where: "a", msg: `not valid UTF-8: \ud83d at offset 6 is an unpaired UTF-16 surrogate`},
		{name: "ErrHighThenHigh", body: `{"a":"\ud83d\ud83d"}`,
			where: "a", msg: `not valid UTF-8: \ud83d at offset 6 is an unpaired UTF-16 surrogate`},
		{name: "ErrHighAtEnd", body: `{"a":"\ud83d"}`,
			where: "a", msg: `not valid UTF-8: \ud83d at offset 6 is an unpaired UTF-16 surrogate`},
		{name: "ErrHighThenEscapedBackslash", body: `{"a":"\ud83d\\udd25"}`,
			where: "a", msg: `not valid UTF-8: \ud83d at offset 6 is an unpaired UTF-16 surrogate`},
		{name: "ErrSecondString", body: "{\"a\":\"ok\",\"b\":\"\xff\"}",
			where: "b", msg: "not valid UTF-8: byte 0xff at offset 15"},
		// Outside any string, or past a syntax error, the walk cannot name
		// a string: the offset says where.
		{name: "ErrOutsideStrings", body: "{\"a\":1}\xff",
			where: "offset 7", msg: "not valid UTF-8: byte 0xff at offset 7"},
		{name: "ErrAfterSyntaxError", body: "{\"a\" 1, \"b\":\"\xff\"}",
			where: "offset 13", msg: "not valid UTF-8: byte 0xff at offset 13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkUTF8([]byte(tt.body))
			if tt.where == "" {
				if err != nil {
					t.Fatalf("checkUTF8: %v", err)
				}
				return
			}
			want := &LimitError{Limit: reasonInvalidUTF8, Where: tt.where, Msg: tt.msg}
			var got *LimitError
			if !errors.As(err, &got) {
				t.Fatalf("checkUTF8: %v (%T), want %v", err, err, want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckUTF8AllocatesNothing: every request pays for the check, so on
// valid text it must cost one pass and no garbage.
func TestCheckUTF8AllocatesNothing(t *testing.T) {
	bodies := [][]byte{amBody(t), grafanaBody(t), []byte(`{"a":"é\ud83d\udd25\\ud800\u0026"}`)}
	for _, body := range bodies {
		if n := testing.AllocsPerRun(100, func() {
			if err := checkUTF8(body); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("checkUTF8 allocates %v times per call on a valid body", n)
		}
	}
}

// TestUTF8Endpoints: every endpoint refuses text encoding/json would change,
// with 422 naming the string, and submits nothing. Before the check, two
// alerts whose label values differed only in such bytes got one
// fingerprint.
func TestUTF8Endpoints(t *testing.T) {
	tests := []struct {
		name, path, body, where string
	}{
		{"ErrAlertmanagerLabelValue", "/ingest/alertmanager", payload(strings.Replace(alert, `"A"`, "\"A\xff\"", 1)), "alerts[0].labels.alertname"},
		{"ErrAlertmanagerAnnotation", "/ingest/alertmanager", payload(alert, strings.Replace(alert, `"annotations":{}`, `"annotations":{"s":"\ud800"}`, 1)), "alerts[1].annotations.s"},
		{"ErrAlertmanagerReceiver", "/ingest/alertmanager", strings.Replace(payload(alert), `"receiver":"r"`, `"receiver":"r\udfff"`, 1), "receiver"},
		{"ErrGrafanaLabelName", "/ingest/grafana", grafanaPayload(strings.Replace(grafanaAlertJSON, `"alertname"`, "\"a\xfe\"", 1)), `alerts[0].labels["a` + "\uFFFD" + `"]`},
		{"ErrPagerDutySummary", "/v2/enqueue", pdWith(`"disk full"`, "\"disk \xc3\""), "payload.summary"},
		{"ErrPagerDutyDedupKey", "/v2/enqueue", pdWith(`"k1"`, `"k\ud800"`), "dedup_key"},
		{"ErrEventsFingerprint", "/ingest/events", `{"events":[` + eventJSON + `,` + eventWith(`"status"`, `"fingerprint":"f\udc00","status"`) + `]}`, "events[1].fingerprint"},
		{"ErrChangesService", "/ingest/changes", changeWith(`"api"`, "\"api\x80\""), "service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEdge(t, nil, Limits{})
			rec := e.post(tt.path, []byte(tt.body))
			if rec.Code != 422 {
				t.Fatalf("code = %d (%s), want 422", rec.Code, rec.Body)
			}
			var got errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Where != tt.where || !strings.HasPrefix(got.Error, "not valid UTF-8") {
				t.Errorf("body = %+v, want where %q", got, tt.where)
			}
			if e.sink.called != 0 || e.rejected(typeOf(tt.path), reasonInvalidUTF8) != 1 {
				t.Errorf("sink called %d, invalid_utf8 %v; want 0, 1", e.sink.called, e.rejected(typeOf(tt.path), reasonInvalidUTF8))
			}
		})
	}
}

// typeOf is the source type of an endpoint path.
func typeOf(path string) string {
	if path == "/v2/enqueue" {
		return SourcePagerDuty
	}
	return strings.TrimPrefix(path, "/ingest/")
}

func BenchmarkCheckUTF8(b *testing.B) {
	var alerts []string
	for range 1000 {
		alerts = append(alerts, alert)
	}
	body := []byte(payload(alerts...))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := checkUTF8(body); err != nil {
			b.Fatal(err)
		}
	}
}

// escapeRE matches one escape: a backslash and the character after it, or
// a \u escape with its four hex digits. Matched left to right without
// overlap, it takes every backslash the way a JSON scanner does.
var escapeRE = regexp.MustCompile(`(?s)\\(?:u([0-9A-Fa-f]{4})|.)`)

// utf8Reference is invalidUTF8At's rule written another way, for the fuzz
// target: valid UTF-8 (utf8.Valid), and every \u escape of a UTF-16
// surrogate directly followed by its other half (unicode/utf16).
func utf8Reference(body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	ms := escapeRE.FindAllSubmatchIndex(body, -1)
	for i := 0; i < len(ms); i++ {
		m := ms[i]
		if m[2] < 0 {
			continue
		}
		r, _ := strconv.ParseUint(string(body[m[2]:m[3]]), 16, 32)
		if !utf16.IsSurrogate(rune(r)) {
			continue
		}
		if i+1 == len(ms) || ms[i+1][0] != m[1] || ms[i+1][2] < 0 {
			return false
		}
		lo, _ := strconv.ParseUint(string(body[ms[i+1][2]:ms[i+1][3]]), 16, 32)
		if utf16.DecodeRune(rune(r), rune(lo)) == unicode.ReplacementChar {
			return false
		}
		i++
	}
	return true
}

// FuzzCheckUTF8 checks the one-pass checker against utf8Reference on any
// input, and that on valid JSON a problem is always located in a string.
func FuzzCheckUTF8(f *testing.F) {
	f.Add(amBody(f))
	for _, s := range []string{
		"", `"\ud83d\udd25"`, `"\ud800"`, `"\udc00\ud800"`, `"\\ud800"`, `"\\\ud800"`, "\"a\xff\"", `\`, `\u`, `"\ud83d\u"`,
		"{\"a\xc3\":1}", `"\é"`, `"\ud83d\uDE00\uDE00"`, "12345678\\uD800\\uDC00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		at := invalidUTF8At(body)
		if want := utf8Reference(body); (at < 0) != want {
			t.Fatalf("invalidUTF8At = %d, reference says valid %v", at, want)
		}
		err := checkUTF8(body)
		if (err != nil) != (at >= 0) {
			t.Fatalf("checkUTF8 = %v, invalidUTF8At = %d", err, at)
		}
		var le *LimitError
		if err != nil && (!errors.As(err, &le) || le.Limit != reasonInvalidUTF8) {
			t.Fatalf("checkUTF8 = %v (%T)", err, err)
		}
		// json.Decoder, which the walk uses, stops at 10000 levels.
		if err != nil && json.Valid(body) && depthExceededAt(body, 1000) < 0 && strings.HasPrefix(le.Where, "offset ") {
			t.Fatalf("valid JSON, but the problem is not located in a string: %v", err)
		}
	})
}
