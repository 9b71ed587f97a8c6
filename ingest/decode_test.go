package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// testNow is the receive time the decoders that take one are given in tests.
var testNow = time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)

// payloadFixtures returns the payload files under testdata/<dir>, without
// their golden files.
func payloadFixtures(t testing.TB, dir string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
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
		t.Fatalf("no fixtures under testdata/%s", dir)
	}
	return files
}

// fixtureName is the subtest name of a payload file.
func fixtureName(file string) string {
	return strings.TrimSuffix(filepath.Base(file), ".json")
}

// checkGolden compares got with the golden file next to the payload file,
// rewriting it first with -update. The golden files show Go field names:
// incident has no json tags, so any new field shows up in them.
func checkGolden[T any](t *testing.T, payloadFile string, got T) {
	t.Helper()
	golden := strings.TrimSuffix(payloadFile, ".json") + ".golden.json"
	if *update {
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
	var want T
	if err := json.Unmarshal(mustRead(t, golden), &want); err != nil {
		t.Fatalf("%s: %v (run go test -update)", golden, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("differs from %s (-want +got):\n%s", golden, diff)
	}
}

// errorCase is one row of a table of decoder errors: the first problem, and
// for decoders that report several, all of them as "where: msg".
type errorCase struct {
	name  string
	body  string
	where string
	msg   string
}

// checkInputError asserts that err is, or joins first, the *InputError of tc.
func checkInputError(t *testing.T, err error, where, msg string) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v (%T), want *InputError", err, err)
	}
	want := &InputError{Where: where, Msg: msg}
	if diff := cmp.Diff(want, ie); diff != "" {
		t.Errorf("error (-want +got):\n%s\nwhole error: %v", diff, err)
	}
}

// isPayloadError reports whether err is what a decoder returns for a bad
// payload: *InputErrors, or a *LimitError.
func isPayloadError(err error) bool {
	var le *LimitError
	return len(InputErrors(err)) > 0 || errors.As(err, &le)
}

// storable reports whether t is unset or in the range the store can hold.
func storable(t time.Time) bool {
	return t.IsZero() || !t.Before(minTime) && t.Before(maxTime)
}

// eventProblem says what is wrong with an event a decoder returned without
// an error, or "" when nothing is.
func eventProblem(ev incident.Event) string {
	switch {
	case ev.Source == "":
		return "empty source"
	case ev.Fingerprint == "":
		return "empty fingerprint"
	case len(ev.Labels) == 0:
		return "no labels"
	case !ev.Status.Valid():
		return fmt.Sprintf("invalid status %q", ev.Status)
	case ev.StartsAt.IsZero():
		return "zero StartsAt"
	case ev.Status == incident.StatusResolved && ev.EndsAt.IsZero():
		return "resolved with zero EndsAt"
	case ev.Status == incident.StatusFiring && !ev.EndsAt.IsZero():
		return fmt.Sprintf("firing with EndsAt %v", ev.EndsAt)
	case ev.Annotations == nil:
		return "nil annotations"
	case !ev.EndsAt.IsZero() && ev.EndsAt.Before(ev.StartsAt):
		return fmt.Sprintf("EndsAt %v before StartsAt %v", ev.EndsAt, ev.StartsAt)
	case !storable(ev.StartsAt) || !storable(ev.EndsAt):
		return fmt.Sprintf("times %v, %v out of range", ev.StartsAt, ev.EndsAt)
	}
	return ""
}

func TestJSONPathAppendDoesNotAlias(t *testing.T) {
	base := make(jsonPath, 1, 8)
	base[0] = pathElem{key: "events"}
	a, b := base.idx(1), base.idx(2)
	if got := a.key("x").String() + " " + b.key("y").String(); got != "events[1].x events[2].y" {
		t.Errorf("paths = %q, want %q", got, "events[1].x events[2].y")
	}
}

func TestRawKind(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`{}`, "object"}, {` []`, "array"}, {`"s"`, "string"}, {`true`, "bool"},
		{`false`, "bool"}, {`null`, "null"}, {`-1.5e3`, "number"}, {``, "nothing"},
	}
	for _, tt := range tests {
		if got := rawKind(json.RawMessage(tt.raw)); got != tt.want {
			t.Errorf("rawKind(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestInputErrors(t *testing.T) {
	a, b, c := inputErr("a", "x"), inputErr("b", "y"), inputErr("c", "z")
	tests := []struct {
		name string
		err  error
		want []*InputError
	}{
		{"Nil", nil, nil},
		{"One", a, []*InputError{a}},
		{"Wrapped", fmt.Errorf("decode: %w", a), []*InputError{a}},
		{"Joined", errors.Join(a, b), []*InputError{a, b}},
		{"NestedJoin", errors.Join(a, fmt.Errorf("x: %w", errors.Join(b, c))), []*InputError{a, b, c}},
		{"Other", errors.New("boom"), nil},
		{"JoinedWithOther", errors.Join(errors.New("boom"), b), []*InputError{b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, InputErrors(tt.err)); diff != "" {
				t.Errorf("InputErrors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJoinErrorsCaps(t *testing.T) {
	var errs []*InputError
	for i := range maxReportedErrors + 5 {
		errs = append(errs, inputErr(fmt.Sprintf("events[%d]", i), "no labels"))
	}
	got := InputErrors(joinErrors(errs))
	if len(got) != maxReportedErrors || got[0] != errs[0] {
		t.Errorf("joinErrors kept %d errors starting %v, want the first %d", len(got), got[0], maxReportedErrors)
	}
	if joinErrors(nil) != nil {
		t.Error("joinErrors(nil) != nil")
	}
}

// TestDocsSourcesExamples keeps docs/sources.md honest: every curl example's
// body, and every JSON example of a batch, must decode without error.
func TestDocsSourcesExamples(t *testing.T) {
	doc := string(mustRead(t, filepath.Join("..", "docs", "sources.md")))
	decoders := map[string]func([]byte) error{
		"/ingest/events": func(b []byte) error {
			_, err := DecodeEvents(b, testNow)
			return err
		},
		"/ingest/changes": func(b []byte) error {
			_, err := DecodeChanges(b, testNow)
			return err
		},
		"/v2/enqueue": func(b []byte) error {
			_, err := DecodePagerDuty(b, testNow)
			return err
		},
	}
	decoders["/ingest/heartbeats/"] = func(b []byte) error {
		_, err := decodeHeartbeat("nightly-backup", b, testNow)
		return err
	}
	curl := regexp.MustCompile(`(?s)curl -sS http://alertbridge\.example:9097(/[a-z0-9/-]+).*?(?:--data-binary @- <<'EOF'\n(.*?)\nEOF|-d '([^']*)')`)
	found := map[string]int{}
	for _, m := range curl.FindAllStringSubmatch(doc, -1) {
		if strings.HasPrefix(m[1], "/ingest/heartbeats/") {
			m[1] = "/ingest/heartbeats/"
		}
		decode, ok := decoders[m[1]]
		if !ok {
			t.Errorf("curl example for unknown endpoint %s", m[1])
			continue
		}
		found[m[1]]++
		if err := decode([]byte(m[2] + m[3])); err != nil {
			t.Errorf("docs/sources.md example for %s:\n%s%s\n%v", m[1], m[2], m[3], err)
		}
	}
	for path := range decoders {
		if found[path] == 0 {
			t.Errorf("no curl example for %s", path)
		}
	}
	batch := regexp.MustCompile("(?s)```json\n(\\{\"events\".*?)```")
	blocks := batch.FindAllStringSubmatch(doc, -1)
	if len(blocks) == 0 {
		t.Error("no JSON example of an events batch")
	}
	for _, b := range blocks {
		if events, err := DecodeEvents([]byte(b[1]), testNow); err != nil || len(events) < 2 {
			t.Errorf("docs/sources.md batch example:\n%s\n%d events, %v", b[1], len(events), err)
		}
	}
}
