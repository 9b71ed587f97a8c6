// Package sla does the calendar arithmetic of service level targets: when a
// respond or resolve target of so much business time, started at some
// instant, falls due, and how much business time lies between two instants.
//
// A Calendar says which hours count (days of the week, a daily time window,
// holidays, in one time zone); a nil *Calendar means every hour counts
// (24x7). Business time is real elapsed time inside the calendar's windows,
// so a window that a daylight saving change shortens or lengthens counts as
// the time that really passed.
//
// sla is pure: it imports the standard library only, reads no clock (every
// instant is passed in) and does no I/O. It must not import incident, rules
// or any other package of alertbridge; those build on it.
package sla
