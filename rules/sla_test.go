package rules

import (
	"errors"
	"testing"
	"testing/fstest"
	"time"
	_ "time/tzdata" // zones in test rule files must not depend on the machine

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
	"github.com/alertbridge/alertbridge/sla"
)

// cmpLocation compares time zones by name: a *time.Location's cache makes
// two loads of one zone differ.
var cmpLocation = cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })

func TestParseSLA(t *testing.T) {
	s := mustParseFile(t, "testdata/sla.yml")
	at := func(line, col int) yamlfile.Pos { return yamlfile.Pos{File: "sla.yml", Line: line, Col: col} }
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	office := &sla.Calendar{
		Location: berlin,
		Days:     [7]bool{time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true, time.Friday: true},
		Start:    9 * time.Hour,
		End:      17 * time.Hour,
		Holidays: map[sla.Date]bool{{Year: 2026, Month: 12, Day: 25}: true, {Year: 2026, Month: 12, Day: 26}: true, {Year: 2027, Month: 1, Day: 1}: true},
	}
	weekend := &sla.Calendar{Location: time.UTC, Days: [7]bool{time.Saturday: true, time.Sunday: true}, End: 24 * time.Hour}
	want := []*SLAPolicy{
		{Priority: 1, Respond: 15 * time.Minute, Resolve: 4 * time.Hour, Pos: at(14, 7)},
		{Priority: 3, Service: "checkout", Respond: 4 * time.Hour, Resolve: 72 * time.Hour, Calendar: office, CalendarName: "office", Pos: at(17, 7)},
		{Priority: 3, Respond: 24 * time.Hour, Resolve: 7 * 24 * time.Hour, Calendar: office, CalendarName: "office", Pos: at(22, 7)},
		{Priority: 5, Respond: time.Hour, Resolve: time.Hour, Calendar: weekend, CalendarName: "weekend", Pos: at(26, 7)},
	}
	got := s.SLAPolicies()
	if diff := cmp.Diff(want, got, cmpLocation); diff != "" {
		t.Errorf("SLAPolicies() mismatch (-want +got):\n%s", diff)
	}
	if len(got) == 4 && got[1].Calendar != got[2].Calendar {
		t.Errorf("policies naming one calendar got two copies of it")
	}
}

// TestSLA checks that the first policy whose priority matches and whose
// service is empty or equal applies.
func TestSLA(t *testing.T) {
	s := mustParseFile(t, "testdata/sla.yml")
	tests := []struct {
		name     string
		priority incident.Priority
		service  string
		want     int // index into SLAPolicies(); -1 for none
	}{
		{name: "AnyService", priority: 1, service: "checkout", want: 0},
		{name: "NoService", priority: 1, service: "", want: 0},
		{name: "ServicePolicyFirst", priority: 3, service: "checkout", want: 1},
		{name: "OtherServiceFallsThrough", priority: 3, service: "payments", want: 2},
		{name: "NoServiceFallsThrough", priority: 3, service: "", want: 2},
		{name: "NoPolicyForPriority", priority: 2, service: "checkout", want: -1},
		{name: "NoPolicyForPriorityZero", priority: 0, service: "", want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want *SLAPolicy
			if tt.want >= 0 {
				want = s.SLAPolicies()[tt.want]
			}
			if got := s.SLA(tt.priority, tt.service); got != want {
				t.Errorf("SLA(%s, %q) = %+v, want %+v", tt.priority, tt.service, got, want)
			}
		})
	}
}

func TestSLANone(t *testing.T) {
	tests := []struct {
		name string
		set  *Set
	}{
		{name: "NilSet", set: nil},
		{name: "NoSection", set: mustParse(t, "none.yml", "correlations: [{name: a}]\n")},
		{name: "NullSection", set: mustParse(t, "null.yml", "sla:\n")},
		{name: "NoPolicies", set: mustParse(t, "empty.yml", "sla: {calendars: {c: {time_zone: UTC, days: [mon], hours: '09:00-17:00'}}}\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.SLA(1, ""); got != nil {
				t.Errorf("SLA(P1, \"\") = %+v, want nil", got)
			}
			if got := tt.set.SLAPolicies(); len(got) != 0 {
				t.Errorf("SLAPolicies() = %+v, want none", got)
			}
		})
	}
}

// TestSLADue checks the due times of a policy: business time on its
// calendar, wall-clock time without one.
func TestSLADue(t *testing.T) {
	s := mustParseFile(t, "testdata/sla.yml")
	tests := []struct {
		name                    string
		policy                  int
		opened                  string
		wantRespond, wantResolv string
	}{
		// Friday 16:30 in Berlin: 15m and 4h later, weekend or not.
		{name: "24x7", policy: 0, opened: "2026-06-05T16:30:00+02:00", wantRespond: "2026-06-05T16:45:00+02:00", wantResolv: "2026-06-05T20:30:00+02:00"},
		// 30m on Friday, the rest from Monday 09:00; 3d of business time
		// is nine 8-hour days.
		{name: "OfficeHours", policy: 1, opened: "2026-06-05T16:30:00+02:00", wantRespond: "2026-06-08T12:30:00+02:00", wantResolv: "2026-06-18T16:30:00+02:00"},
		// Opened on Christmas Eve after hours: the clock starts on Monday
		// 28 December, the 25th and 26th being holidays; nine business days
		// later, 1 January a holiday too, is Friday 8 January.
		{name: "OverChristmas", policy: 1, opened: "2026-12-24T18:00:00+01:00", wantRespond: "2026-12-28T13:00:00+01:00", wantResolv: "2027-01-08T17:00:00+01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.SLAPolicies()[tt.policy]
			opened := mustTime(t, tt.opened)
			if got, want := p.RespondBy(opened), mustTime(t, tt.wantRespond); !got.Equal(want) {
				t.Errorf("RespondBy(%s) = %s, want %s", tt.opened, got.Format(time.RFC3339), tt.wantRespond)
			}
			if got, want := p.ResolveBy(opened), mustTime(t, tt.wantResolv); !got.Equal(want) {
				t.Errorf("ResolveBy(%s) = %s, want %s", tt.opened, got.Format(time.RFC3339), tt.wantResolv)
			}
		})
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSLAAcrossFiles checks that the sla section of one file applies with
// the rules of all, and that a second section is an error, its own
// problems reported too.
func TestSLAAcrossFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yml": {Data: []byte("correlations: [{name: a}]\n")},
		"b.yml": {Data: []byte("sla:\n  policies: [{priority: P1, respond: 5m, resolve: 1h}]\n")},
		"c.yml": {Data: []byte("sla:\n  policies: [{priority: P9, respond: 5m, resolve: 1h}]\n")},
	}
	t.Run("OK", func(t *testing.T) {
		s, err := Load(fsys, []string{"a.yml", "b.yml"})
		if err != nil {
			t.Fatal(err)
		}
		if p := s.SLA(1, "x"); p == nil || p.Resolve != time.Hour {
			t.Errorf("SLA(P1, x) = %+v, want the policy of b.yml", p)
		}
	})
	t.Run("ErrDuplicateSection", func(t *testing.T) {
		_, err := Load(fsys, []string{"*.yml"})
		var list yamlfile.Errors
		if !errors.As(err, &list) {
			t.Fatalf("Load: error %v is not a yamlfile.Errors", err)
		}
		want := "c.yml:2:3: sla: duplicate section, first defined at b.yml:2:3\n" +
			`c.yml:2:25: sla: policy #1: priority "P9": want P1..P5`
		if diff := cmp.Diff(want, err.Error()); diff != "" {
			t.Errorf("Load error mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestParseHours(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		start, end time.Duration
		wantErr    string
	}{
		{name: "OK", in: "09:00-17:00", start: 9 * time.Hour, end: 17 * time.Hour},
		{name: "OKMinutes", in: "08:30-16:45", start: 8*time.Hour + 30*time.Minute, end: 16*time.Hour + 45*time.Minute},
		{name: "OKAllDay", in: "00:00-24:00", start: 0, end: 24 * time.Hour},
		{name: "ErrFormat", in: "9:00-17:00", wantErr: `"9:00-17:00": want HH:MM-HH:MM, e.g. "09:00-17:00"`},
		{name: "ErrSpaces", in: "09:00 - 17:00", wantErr: `"09:00 - 17:00": want HH:MM-HH:MM, e.g. "09:00-17:00"`},
		{name: "ErrMinutes", in: "09:60-17:00", wantErr: `"09:60-17:00": 09:60 is not a time of day`},
		{name: "ErrHour", in: "09:00-25:00", wantErr: `"09:00-25:00": 25:00 is not a time of day`},
		{name: "ErrStartAtMidnightEnd", in: "24:00-24:00", wantErr: `"24:00-24:00": 24:00 is not a time of day`},
		{name: "ErrOvernight", in: "22:00-06:00", wantErr: `"22:00-06:00": the end must be after the start (hours over midnight are not supported)`},
		{name: "ErrEmptyWindow", in: "09:00-09:00", wantErr: `"09:00-09:00": the end must be after the start (hours over midnight are not supported)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, err := parseHours(tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Fatalf("parseHours(%q) error = %q, want %q", tt.in, gotErr, tt.wantErr)
			}
			if err == nil && (start != tt.start || end != tt.end) {
				t.Errorf("parseHours(%q) = %v, %v; want %v, %v", tt.in, start, end, tt.start, tt.end)
			}
		})
	}
}

// TestSLADocsExample checks the due times that docs/rules.md gives for its
// sla example, which rules test cannot express yet.
func TestSLADocsExample(t *testing.T) {
	s, err := LoadFiles([]string{"../docs/examples/11-sla.rules.yml"})
	if err != nil {
		t.Fatal(err)
	}
	opened := mustTime(t, "2026-06-05T16:30:00+02:00") // a Friday
	tests := []struct {
		name                     string
		priority                 incident.Priority
		service                  string
		wantRespond, wantResolve string
	}{
		{name: "CheckoutP3", priority: 3, service: "checkout", wantRespond: "2026-06-08T09:30:00+02:00", wantResolve: "2026-06-10T16:30:00+02:00"},
		{name: "OtherP3", priority: 3, service: "search", wantRespond: "2026-06-08T12:30:00+02:00", wantResolve: "2026-06-18T16:30:00+02:00"},
		{name: "P1", priority: 1, service: "checkout", wantRespond: "2026-06-05T16:45:00+02:00", wantResolve: "2026-06-05T20:30:00+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.SLA(tt.priority, tt.service)
			if p == nil {
				t.Fatalf("SLA(%s, %q) = nil", tt.priority, tt.service)
			}
			if got := p.RespondBy(opened).Format(time.RFC3339); got != tt.wantRespond {
				t.Errorf("RespondBy = %s, want %s", got, tt.wantRespond)
			}
			if got := p.ResolveBy(opened).Format(time.RFC3339); got != tt.wantResolve {
				t.Errorf("ResolveBy = %s, want %s", got, tt.wantResolve)
			}
		})
	}
}
