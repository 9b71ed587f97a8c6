package sla

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/google/go-cmp/cmp"
)

func mustLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at parses an RFC 3339 instant. Expectations are written with explicit
// offsets, worked out by hand, so that they do not come from the same time
// zone arithmetic as the code under test.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func weekdays() [7]bool {
	return [7]bool{time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true, time.Friday: true}
}

func allDays() [7]bool { return [7]bool{true, true, true, true, true, true, true} }

// office is the calendar of docs/rules.md: Berlin, Monday to Friday, 09:00
// to 17:00, with Christmas and New Year's Day as holidays.
func office(t testing.TB) *Calendar {
	return &Calendar{
		Location: mustLocation(t, "Europe/Berlin"),
		Days:     weekdays(),
		Start:    9 * time.Hour,
		End:      17 * time.Hour,
		Holidays: map[Date]bool{{2026, 12, 25}: true, {2026, 12, 26}: true, {2027, 1, 1}: true},
	}
}

// In 2026 Berlin moves from CET (+01:00) to CEST (+02:00) on Sunday 29
// March at 02:00, and back on Sunday 25 October at 03:00.
func TestAddBusiness(t *testing.T) {
	berlin := mustLocation(t, "Europe/Berlin")
	allDay := &Calendar{Location: berlin, Days: allDays(), Start: 0, End: Day}
	night := &Calendar{Location: berlin, Days: allDays(), Start: time.Hour, End: 4 * time.Hour}
	tests := []struct {
		name  string
		cal   *Calendar
		start string
		d     time.Duration
		want  string
	}{
		{name: "WithinADay", cal: office(t), start: "2026-06-01T10:00:00+02:00", d: 2 * time.Hour, want: "2026-06-01T12:00:00+02:00"},
		{name: "EndsAtTheEndOfTheWindow", cal: office(t), start: "2026-06-01T09:00:00+02:00", d: 8 * time.Hour, want: "2026-06-01T17:00:00+02:00"},
		{name: "OverNight", cal: office(t), start: "2026-06-01T16:00:00+02:00", d: 2 * time.Hour, want: "2026-06-02T10:00:00+02:00"},
		{name: "OverTheWeekend", cal: office(t), start: "2026-06-05T16:00:00+02:00", d: 2 * time.Hour, want: "2026-06-08T10:00:00+02:00"},
		{name: "StartInTheMiddleOfTheNight", cal: office(t), start: "2026-06-02T03:00:00+02:00", d: 15 * time.Minute, want: "2026-06-02T09:15:00+02:00"},
		{name: "StartAfterHours", cal: office(t), start: "2026-06-02T18:30:00+02:00", d: time.Hour, want: "2026-06-03T10:00:00+02:00"},
		{name: "StartOnTheWeekend", cal: office(t), start: "2026-06-06T12:00:00+02:00", d: 4 * time.Hour, want: "2026-06-08T13:00:00+02:00"},
		{name: "StartOnAHoliday", cal: office(t), start: "2026-12-25T10:00:00+01:00", d: time.Hour, want: "2026-12-28T10:00:00+01:00"},
		// Thursday 31 December, then the New Year holiday and a weekend.
		{name: "OverAHoliday", cal: office(t), start: "2026-12-31T16:00:00+01:00", d: 2 * time.Hour, want: "2027-01-04T10:00:00+01:00"},
		// 4h on Monday, 32h Tuesday to Friday, 32h Monday to Thursday, 4h
		// on Friday: nine business days for 3d of business time.
		{name: "SeveralDays", cal: office(t), start: "2026-06-01T13:00:00+02:00", d: 72 * time.Hour, want: "2026-06-12T13:00:00+02:00"},
		// Christmas week: 23, 24, 28, 29, 30, 31 December are business days.
		{name: "SeveralDaysOverHolidays", cal: office(t), start: "2026-12-23T09:00:00+01:00", d: 48 * time.Hour, want: "2026-12-31T17:00:00+01:00"},
		{name: "OverTheSpringChange", cal: office(t), start: "2026-03-27T16:00:00+01:00", d: 2 * time.Hour, want: "2026-03-30T10:00:00+02:00"},
		{name: "OverTheAutumnChange", cal: office(t), start: "2026-10-23T16:00:00+02:00", d: 2 * time.Hour, want: "2026-10-26T10:00:00+01:00"},
		// 29 March has 23 hours, 25 October 25: business time is time
		// that really passes.
		{name: "ShortDay", cal: allDay, start: "2026-03-29T00:00:00+01:00", d: 23 * time.Hour, want: "2026-03-30T00:00:00+02:00"},
		{name: "LongDay", cal: allDay, start: "2026-10-25T00:00:00+02:00", d: 24 * time.Hour, want: "2026-10-25T23:00:00+01:00"},
		// 01:00 to 04:00 on 29 March is 2h: 00:00Z to 02:00Z.
		{name: "WindowOverTheGap", cal: night, start: "2026-03-29T00:30:00+01:00", d: 2*time.Hour + 30*time.Minute, want: "2026-03-30T01:30:00+02:00"},
		{name: "ZeroOutsideHours", cal: office(t), start: "2026-06-06T12:00:00+02:00", d: 0, want: "2026-06-06T12:00:00+02:00"},
		{name: "Negative", cal: office(t), start: "2026-06-06T12:00:00+02:00", d: -time.Hour, want: "2026-06-06T12:00:00+02:00"},
		{name: "Nil24x7", cal: nil, start: "2026-06-06T12:00:00+02:00", d: 50 * time.Hour, want: "2026-06-08T14:00:00+02:00"},
		{name: "InvalidIs24x7", cal: &Calendar{Start: 9 * time.Hour, End: 17 * time.Hour}, start: "2026-06-06T12:00:00+02:00", d: time.Hour, want: "2026-06-06T13:00:00+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := at(t, tt.start)
			got := tt.cal.AddBusiness(start, tt.d)
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("AddBusiness(%s, %v) = %s, want %s", tt.start, tt.d, got.Format(time.RFC3339), tt.want)
			}
			if got.Location() != start.Location() {
				t.Errorf("AddBusiness(%s, %v) is in %v, want t's location %v", tt.start, tt.d, got.Location(), start.Location())
			}
		})
	}
}

func TestBusinessBetween(t *testing.T) {
	berlin := mustLocation(t, "Europe/Berlin")
	allDay := &Calendar{Location: berlin, Days: allDays(), Start: 0, End: Day}
	tests := []struct {
		name string
		cal  *Calendar
		a, b string
		want time.Duration
	}{
		{name: "WithinADay", cal: office(t), a: "2026-06-01T10:00:00+02:00", b: "2026-06-01T12:00:00+02:00", want: 2 * time.Hour},
		{name: "OverTheWeekend", cal: office(t), a: "2026-06-05T16:00:00+02:00", b: "2026-06-08T10:00:00+02:00", want: 2 * time.Hour},
		{name: "MidnightToMidnight", cal: office(t), a: "2026-06-01T00:00:00+02:00", b: "2026-06-06T00:00:00+02:00", want: 40 * time.Hour},
		{name: "NoBusinessTime", cal: office(t), a: "2026-06-06T08:00:00+02:00", b: "2026-06-07T20:00:00+02:00", want: 0},
		// 23, 24, 28, 29, 30 and 31 December: 25 December and 1 January
		// are holidays, 26 December a holiday on a Saturday.
		{name: "OverHolidays", cal: office(t), a: "2026-12-23T00:00:00+01:00", b: "2027-01-04T00:00:00+01:00", want: 48 * time.Hour},
		{name: "OverTheSpringChange", cal: office(t), a: "2026-03-27T16:00:00+01:00", b: "2026-03-30T10:00:00+02:00", want: 2 * time.Hour},
		{name: "ShortDay", cal: allDay, a: "2026-03-28T12:00:00+01:00", b: "2026-03-30T12:00:00+02:00", want: 47 * time.Hour},
		{name: "LongDay", cal: allDay, a: "2026-10-24T12:00:00+02:00", b: "2026-10-26T12:00:00+01:00", want: 49 * time.Hour},
		{name: "Reversed", cal: office(t), a: "2026-06-01T12:00:00+02:00", b: "2026-06-01T10:00:00+02:00", want: 0},
		{name: "Nil24x7", cal: nil, a: "2026-06-05T16:00:00+02:00", b: "2026-06-08T10:00:00+02:00", want: 66 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cal.BusinessBetween(at(t, tt.a), at(t, tt.b)); got != tt.want {
				t.Errorf("BusinessBetween(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// TestAddBusinessRoundTrip checks, on random instants and durations, that
// BusinessBetween measures what AddBusiness added, and so that
// AddBusiness(t, BusinessBetween(t, AddBusiness(t, d))) == AddBusiness(t, d).
func TestAddBusinessRoundTrip(t *testing.T) {
	berlin := mustLocation(t, "Europe/Berlin")
	calendars := map[string]*Calendar{
		"Office":  office(t),
		"AllDay":  {Location: berlin, Days: allDays(), Start: 0, End: Day},
		"Night":   {Location: berlin, Days: allDays(), Start: time.Hour, End: 4 * time.Hour},
		"Weekend": {Location: mustLocation(t, "America/New_York"), Days: [7]bool{time.Saturday: true, time.Sunday: true}, Start: 8*time.Hour + 30*time.Minute, End: 20 * time.Hour},
		// On 29 March, 02:30 is 03:30 CEST, after the window's end.
		"InsideOut": {Location: berlin, Days: allDays(), Start: 2*time.Hour + 30*time.Minute, End: 3 * time.Hour},
		"Nil":       nil,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	from := at(t, "2026-01-01T00:00:00Z")
	for name, cal := range calendars {
		t.Run(name, func(t *testing.T) {
			for range 2000 {
				start := from.Add(time.Duration(rng.Int64N(int64(2 * 365 * Day))))
				d := time.Duration(rng.Int64N(int64(20 * Day)))
				if rng.IntN(4) == 0 {
					d = d.Truncate(time.Hour) // land on window ends too
				}
				u := cal.AddBusiness(start, d)
				if u.Before(start) {
					t.Fatalf("AddBusiness(%s, %v) = %s, before the start", start, d, u)
				}
				if got := cal.BusinessBetween(start, u); got != d {
					t.Fatalf("BusinessBetween(%s, AddBusiness(%[1]s, %v) = %s) = %v, want %[2]v", start, d, u, got)
				}
				if again := cal.AddBusiness(start, cal.BusinessBetween(start, u)); !again.Equal(u) {
					t.Fatalf("AddBusiness(%s, BusinessBetween(..)) = %s, want %s", start, again, u)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cal     Calendar
		wantErr string
	}{
		{name: "OK", cal: Calendar{Days: weekdays(), Start: 9 * time.Hour, End: 17 * time.Hour}},
		{name: "OKAllDay", cal: Calendar{Days: allDays(), End: Day}},
		{name: "ErrNoDays", cal: Calendar{Start: 9 * time.Hour, End: 17 * time.Hour}, wantErr: "no business days"},
		{name: "ErrOvernight", cal: Calendar{Days: weekdays(), Start: 22 * time.Hour, End: 6 * time.Hour}, wantErr: "end 6h0m0s is not after start 22h0m0s (overnight windows are not supported)"},
		{name: "ErrEmptyWindow", cal: Calendar{Days: weekdays(), Start: 9 * time.Hour, End: 9 * time.Hour}, wantErr: "end 9h0m0s is not after start 9h0m0s (overnight windows are not supported)"},
		{name: "ErrNegativeStart", cal: Calendar{Days: weekdays(), Start: -time.Hour, End: 9 * time.Hour}, wantErr: "start -1h0m0s: want a time of day from 0 to 24h"},
		{name: "ErrEndAfterMidnight", cal: Calendar{Days: weekdays(), Start: 9 * time.Hour, End: 25 * time.Hour}, wantErr: "end 25h0m0s: want a time of day up to 24h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cal.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("Validate() = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Date
		wantErr string // a part of the message; "" for no error
	}{
		{name: "OK", in: "2026-12-25", want: Date{2026, time.December, 25}},
		{name: "OKLeapDay", in: "2028-02-29", want: Date{2028, time.February, 29}},
		{name: "ErrNoLeapDay", in: "2027-02-29", wantErr: "no such day"},
		{name: "ErrNoMonth13", in: "2026-13-01", wantErr: "no such day"},
		{name: "ErrFormat", in: "25.12.2026", wantErr: "want YYYY-MM-DD"},
		{name: "ErrShort", in: "2026-1-1", wantErr: "want YYYY-MM-DD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if (err != nil) != (tt.wantErr != "") {
				t.Fatalf("ParseDate(%q) error = %v, want error %q", tt.in, err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseDate(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDate(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestDateNext(t *testing.T) {
	tests := []struct {
		name string
		in   Date
		want Date
	}{
		{name: "SameMonth", in: Date{2026, 3, 28}, want: Date{2026, 3, 29}},
		{name: "EndOfMonth", in: Date{2026, 3, 31}, want: Date{2026, 4, 1}},
		{name: "EndOfYear", in: Date{2026, 12, 31}, want: Date{2027, 1, 1}},
		{name: "LeapDay", in: Date{2028, 2, 28}, want: Date{2028, 2, 29}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Next(); got != tt.want {
				t.Errorf("%v.Next() = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func BenchmarkAddBusiness(b *testing.B) {
	cal := office(b)
	start := at(b, "2026-12-23T16:00:00+01:00")
	for b.Loop() {
		cal.AddBusiness(start, 72*time.Hour)
	}
}
