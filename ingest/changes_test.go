package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func TestDecodeChangesFixtures(t *testing.T) {
	for _, file := range payloadFixtures(t, "changes") {
		t.Run(fixtureName(file), func(t *testing.T) {
			got, err := DecodeChanges(mustRead(t, file), testNow)
			if err != nil {
				t.Fatalf("DecodeChanges: %v", err)
			}
			checkGolden(t, file, got)
		})
	}
}

func TestDecodeChangesMapping(t *testing.T) {
	started := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		body string
		want []incident.Change
	}{
		{
			name: "OKMinimalDefaults",
			body: `{"service":"api","id":"42","summary":"deploy"}`,
			want: []incident.Change{{
				Source: "changes", ExternalID: "42", Service: "api", Summary: "deploy",
				StartedAt: testNow, Labels: map[string]string{}, ReceivedAt: testNow,
				Omitted: incident.ChangeFields{URL: true, StartedAt: true, FinishedAt: true, Labels: true, Maintenance: true},
			}},
		},
		{
			name: "OKEveryField",
			body: `{"service":"api","id":"42","summary":"deploy","url":"http://ci/42","started_at":"2026-11-28T20:00:00Z",` +
				`"finished_at":"2026-11-28T20:05:00Z","labels":{"env":"prod"},"maintenance":true}`,
			want: []incident.Change{{
				Source: "changes", ExternalID: "42", Service: "api", Summary: "deploy", URL: "http://ci/42",
				StartedAt: started, FinishedAt: started.Add(5 * time.Minute), Labels: map[string]string{"env": "prod"},
				Maintenance: true, ReceivedAt: testNow,
			}},
		},
		{
			// Announced maintenance starts in the future; it is kept as is.
			name: "OKFutureMaintenance",
			body: `{"service":"db","id":"CHG1","summary":"upgrade","started_at":"2026-11-29T02:00:00Z","finished_at":"2026-11-29T03:00:00Z","maintenance":true}`,
			want: []incident.Change{{
				Source: "changes", ExternalID: "CHG1", Service: "db", Summary: "upgrade",
				StartedAt: testNow.Add(5 * time.Hour), FinishedAt: testNow.Add(6 * time.Hour),
				Labels: map[string]string{}, Maintenance: true, ReceivedAt: testNow,
				Omitted: incident.ChangeFields{URL: true, Labels: true},
			}},
		},
		{
			name: "OKStartDefaultsToFinish",
			body: `{"service":"api","id":"42","summary":"deploy","finished_at":"2026-11-28T20:00:00Z"}`,
			want: []incident.Change{{
				Source: "changes", ExternalID: "42", Service: "api", Summary: "deploy",
				StartedAt: started, FinishedAt: started, Labels: map[string]string{}, ReceivedAt: testNow,
				Omitted: incident.ChangeFields{URL: true, StartedAt: true, Labels: true, Maintenance: true},
			}},
		},
		{
			name: "OKNullsAreAbsent",
			body: `{"service":"api","id":"42","summary":"deploy","url":null,"started_at":null,"finished_at":null,"labels":null,"maintenance":null}`,
			want: []incident.Change{{
				Source: "changes", ExternalID: "42", Service: "api", Summary: "deploy",
				StartedAt: testNow, Labels: map[string]string{}, ReceivedAt: testNow,
				Omitted: incident.ChangeFields{URL: true, StartedAt: true, FinishedAt: true, Labels: true, Maintenance: true},
			}},
		},
		{
			name: "OKSameIDOtherService",
			body: `{"changes":[{"service":"a","id":"1","summary":"s"},{"service":"b","id":"1","summary":"s"}]}`,
			want: []incident.Change{
				{Source: "changes", ExternalID: "1", Service: "a", Summary: "s", StartedAt: testNow, Labels: map[string]string{}, ReceivedAt: testNow,
					Omitted: incident.ChangeFields{URL: true, StartedAt: true, FinishedAt: true, Labels: true, Maintenance: true}},
				{Source: "changes", ExternalID: "1", Service: "b", Summary: "s", StartedAt: testNow, Labels: map[string]string{}, ReceivedAt: testNow,
					Omitted: incident.ChangeFields{URL: true, StartedAt: true, FinishedAt: true, Labels: true, Maintenance: true}},
			},
		},
		{
			// Only what identifies it and what changed: the rest is kept
			// from the recorded change (incident.Change.Merge).
			name: "OKRedeliveryWithOnlyTheFinish",
			body: `{"service":"api","id":"42","finished_at":"2026-11-28T20:05:00Z"}`,
			want: []incident.Change{{
				Source: "changes", ExternalID: "42", Service: "api", Summary: "42",
				StartedAt: started.Add(5 * time.Minute), FinishedAt: started.Add(5 * time.Minute), Labels: map[string]string{},
				ReceivedAt: testNow, Omitted: incident.ChangeFields{Summary: true, URL: true, StartedAt: true, Labels: true, Maintenance: true},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeChanges([]byte(tt.body), testNow)
			if err != nil {
				t.Fatalf("DecodeChanges: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

// changeJSON is a valid change; changeWith edits it.
const changeJSON = `{"service":"api","id":"42","summary":"deploy","started_at":"2026-11-28T20:00:00Z"}`

func changeWith(pairs ...string) string { return strings.NewReplacer(pairs...).Replace(changeJSON) }

func TestDecodeChangesErrors(t *testing.T) {
	batch := func(changes ...string) string { return `{"changes":[` + strings.Join(changes, ",") + `]}` }
	tests := []errorCase{
		{"ErrEmptyBody", " ", "", "empty body"},
		{"ErrSyntax", `{"service":"api",}`, "offset 18", "invalid character '}' looking for beginning of object key string"},
		{"ErrNotObject", `42`, "", "want object, got number"},
		{"ErrUnknownField", changeWith(`"summary"`, `"title"`), "title", "unknown field"},
		{"ErrDesignName", changeWith(`"started_at"`, `"startedAt"`), "startedAt", "unknown field"},
		{"ErrChangesWithOtherFields", `{"changes":[` + changeJSON + `],"service":"x"}`, "service", "unknown field"},
		{"ErrChangesNotArray", `{"changes":"x"}`, "changes", "want array, got string"},
		{"ErrChangesEmpty", `{"changes":[]}`, "changes", "no changes"},
		{"ErrChangeNotObject", batch(changeJSON, `[]`), "changes[1]", "want object, got array"},
		{"ErrServiceMissing", changeWith(`"service":"api",`, ``), "service", "missing"},
		{"ErrServiceBlank", batch(changeWith(`"api"`, `"  "`)), "changes[0].service", "missing"},
		{"ErrServiceNotString", changeWith(`"api"`, `["api"]`), "service", "want string, got array"},
		{"ErrIDMissing", changeWith(`"id":"42",`, ``), "id", "missing"},
		{"ErrIDNumber", changeWith(`"42"`, `42`), "id", "want string, got number"},
		{"ErrURLNotString", changeWith(`"started_at"`, `"url":1,"started_at"`), "url", "want string, got number"},
		{"ErrStartedAtNotTime", changeWith(`"2026-11-28T20:00:00Z"`, `"2026-11-28"`), "started_at", "want an RFC 3339 time"},
		{"ErrFinishedAtNotTime", changeWith(`"started_at"`, `"finished_at":false,"started_at"`), "finished_at", "want an RFC 3339 time"},
		{"ErrLabelsNotObject", changeWith(`"started_at"`, `"labels":"env=prod","started_at"`), "labels", "want object, got string"},
		{"ErrLabelValueNotString", changeWith(`"started_at"`, `"labels":{"replicas":3},"started_at"`), "labels.replicas", "want string, got number"},
		{"ErrLabelNameEmpty", changeWith(`"started_at"`, `"labels":{"":"x"},"started_at"`), "labels", "empty name"},
		{"ErrMaintenanceNotBool", changeWith(`"started_at"`, `"maintenance":"yes","started_at"`), "maintenance", "want bool, got string"},
		{"ErrDuplicateInBatch", batch(changeJSON, changeWith(`"deploy"`, `"again"`)), "changes[1].id", "duplicate of changes[0]"},
		{"ErrFirstProblemOfChange", changeWith(`"service":"api"`, `"service":""`, `"id":"42"`, `"id":""`), "service", "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, err := DecodeChanges([]byte(tt.body), testNow)
			if changes != nil {
				t.Errorf("changes = %v, want nil", changes)
			}
			checkInputError(t, err, tt.where, tt.msg)
		})
	}
}

func TestDecodeChangesReportsEveryBadChange(t *testing.T) {
	body := `{"changes":[{"service":"a"},` + changeJSON + `,` + changeJSON + `]}`
	_, err := DecodeChanges([]byte(body), testNow)
	want := []*InputError{
		{Where: "changes[0].id", Msg: "missing"},
		{Where: "changes[2].id", Msg: "duplicate of changes[1]"},
	}
	if diff := cmp.Diff(want, InputErrors(err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func FuzzDecodeChanges(f *testing.F) {
	for _, file := range payloadFixtures(f, "changes") {
		f.Add(mustRead(f, file))
	}
	for _, s := range []string{
		"", "null", "{}", `{"changes":[]}`, changeJSON, `{"changes":[` + changeJSON + `,` + changeJSON + `]}`,
		changeWith(`"started_at"`, `"labels":{"a\ud800":"x"},"maintenance":true,"started_at"`),
		changeWith(`"started_at"`, `"finished_at":"2026-11-28T19:00:00Z","started_at"`),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		changes, err := DecodeChanges(body, testNow)
		if err != nil {
			if !isPayloadError(err) {
				t.Fatalf("err = %v (%T), want *InputErrors or a *LimitError", err, err)
			}
			if changes != nil {
				t.Fatalf("changes = %v with err %v", changes, err)
			}
			return
		}
		if len(changes) == 0 {
			t.Fatal("no changes and no error")
		}
		seen := map[[2]string]bool{}
		for i, c := range changes {
			k := [2]string{c.Service, c.ExternalID}
			switch {
			case c.Source != SourceChanges:
				t.Errorf("changes[%d]: source %q", i, c.Source)
			case strings.TrimSpace(c.Service) == "" || strings.TrimSpace(c.ExternalID) == "" || strings.TrimSpace(c.Summary) == "":
				t.Errorf("changes[%d]: service %q, id %q, summary %q", i, c.Service, c.ExternalID, c.Summary)
			case c.StartedAt.IsZero() || !c.ReceivedAt.Equal(testNow):
				t.Errorf("changes[%d]: started %v, received %v", i, c.StartedAt, c.ReceivedAt)
			case !storable(c.StartedAt) || !storable(c.FinishedAt):
				t.Errorf("changes[%d]: times %v, %v out of range", i, c.StartedAt, c.FinishedAt)
			case !c.FinishedAt.IsZero() && c.FinishedAt.Before(c.StartedAt):
				t.Errorf("changes[%d]: finished %v before started %v", i, c.FinishedAt, c.StartedAt)
			case c.Labels == nil:
				t.Errorf("changes[%d]: nil labels", i)
			case seen[k]:
				t.Errorf("changes[%d]: duplicate %v", i, k)
			}
			seen[k] = true
		}
	})
}
