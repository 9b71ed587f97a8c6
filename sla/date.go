package sla

import (
	"fmt"
	"time"
)

// Date is a civil date, a day of the calendar without a time zone, such as
// a holiday: 2026-12-25 is Christmas Day wherever the calendar is. The zero
// Date is not a valid date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses a date written as YYYY-MM-DD, such as "2026-12-25".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	switch {
	case err == nil:
	case len(s) == len(time.DateOnly) && s[4] == '-' && s[7] == '-':
		// The form is right, the day is not: "2027-02-29", "2026-13-01".
		return Date{}, fmt.Errorf("date %q: no such day", s)
	default:
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD, e.g. 2026-12-25", s)
	}
	return DateOf(t), nil
}

// String renders d as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return d.noonUTC().Weekday()
}

// Next returns the day after d.
func (d Date) Next() Date {
	return DateOf(d.noonUTC().AddDate(0, 0, 1))
}

// noonUTC is d at noon UTC: a fixed instant of the day, for date arithmetic
// that no time zone can shift to another day.
func (d Date) noonUTC() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
}
