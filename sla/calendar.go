package sla

import (
	"errors"
	"fmt"
	"time"
)

// Day is the length of a day of the clock, the greatest End of a Calendar.
const Day = 24 * time.Hour

// Calendar is a business-hours calendar: the time that counts towards a
// target is, on each day of Days that is not a holiday, the window from
// Start to End of that day's wall clock in Location.
//
// A window lies within one day: End is after Start and at most 24h (the
// next midnight), and a shift over midnight (22:00-06:00) is not supported
// in this version; two calendars, or 00:00-24:00 on consecutive days, cover
// such cases. A window that a daylight saving change shortens or lengthens
// counts the time that really passes in it. A Start or End wall time that a
// change skips or repeats is the instant time.Date gives for it.
//
// A nil *Calendar means 24x7: every instant is business time. A Calendar is
// safe for concurrent use as long as nobody modifies it; do not modify one
// that others hold, its Holidays map included.
type Calendar struct {
	// Location is the time zone of Start, End and Holidays; nil means UTC.
	Location *time.Location
	// Days are the business days, indexed by time.Weekday.
	Days [7]bool
	// Start and End are the business window as times of day: durations
	// since midnight, e.g. 9h and 17h. 0 <= Start < End <= 24h.
	Start, End time.Duration
	// Holidays are the dates, in Location, that are not business days even
	// when their weekday is in Days.
	Holidays map[Date]bool
}

// Validate reports whether c has business time at all: at least one
// business day, and 0 <= Start < End <= 24h. AddBusiness and BusinessBetween
// treat a calendar that fails it as 24x7, since it has no business moment to
// start or stop a clock at.
func (c *Calendar) Validate() error {
	var errs []error
	if c.Days == [7]bool{} {
		errs = append(errs, errors.New("no business days"))
	}
	switch {
	case c.Start < 0 || c.Start >= Day:
		errs = append(errs, fmt.Errorf("start %v: want a time of day from 0 to 24h", c.Start))
	case c.End > Day:
		errs = append(errs, fmt.Errorf("end %v: want a time of day up to 24h", c.End))
	case c.End <= c.Start:
		errs = append(errs, fmt.Errorf("end %v is not after start %v (overnight windows are not supported)", c.End, c.Start))
	}
	return errors.Join(errs...)
}

// AddBusiness returns the instant when d of business time has passed after
// t: the earliest instant u not before t such that BusinessBetween(t, u) is
// d. When t is outside business hours, the clock starts at the next
// business moment; a result that falls on the end of a window is that end,
// not the start of the next window. A d of 0 or less gives t. The result is
// in t's location.
//
// With a nil (24x7) or invalid calendar it is t.Add(d). The cost grows with
// the number of calendar days that d spans.
func (c *Calendar) AddBusiness(t time.Time, d time.Duration) time.Time {
	if c.is24x7() {
		return t.Add(d)
	}
	if d <= 0 {
		return t
	}
	for day := DateOf(t.In(c.location())); ; day = day.Next() {
		start, end := c.window(day)
		if !c.open(day) || !end.After(t) {
			continue
		}
		if start.Before(t) {
			start = t
		}
		if !end.After(start) {
			// A window that a daylight saving change turns inside out,
			// such as 02:30-03:00 on the day 02:00-03:00 is skipped.
			continue
		}
		if avail := end.Sub(start); d > avail {
			d -= avail
			continue
		}
		return start.Add(d).In(t.Location())
	}
}

// BusinessBetween returns the business time that passes between a and b,
// for reporting how much of a target an incident used. It is 0 when b is
// not after a. With a nil (24x7) or invalid calendar it is b.Sub(a).
func (c *Calendar) BusinessBetween(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if c.is24x7() {
		return b.Sub(a)
	}
	var total time.Duration
	for day := DateOf(a.In(c.location())); ; day = day.Next() {
		start, end := c.window(day)
		if !start.Before(b) {
			return total
		}
		if !c.open(day) {
			continue
		}
		if start.Before(a) {
			start = a
		}
		if end.After(b) {
			end = b
		}
		if end.After(start) {
			total += end.Sub(start)
		}
	}
}

// is24x7 reports whether every instant counts: for nil, and for an invalid
// calendar, on which the loops of AddBusiness would never end.
func (c *Calendar) is24x7() bool {
	return c == nil || c.Validate() != nil
}

func (c *Calendar) location() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// open reports whether day is a business day.
func (c *Calendar) open(day Date) bool {
	return c.Days[day.Weekday()] && !c.Holidays[day]
}

// window returns the instants at which day's business window starts and
// ends, whether or not day is a business day. time.Date normalises an End
// of 24h to the next midnight.
func (c *Calendar) window(day Date) (start, end time.Time) {
	return c.wallClock(day, c.Start), c.wallClock(day, c.End)
}

// wallClock returns the instant at which day's wall clock in the calendar's
// location shows the time of day tod.
func (c *Calendar) wallClock(day Date, tod time.Duration) time.Time {
	h, rest := tod/time.Hour, tod%time.Hour
	return time.Date(day.Year, day.Month, day.Day, int(h), 0, 0, int(rest), c.location())
}
