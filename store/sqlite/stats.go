package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/backlogrow"
	"github.com/alertbridge/alertbridge/store/internal/statsdays"
)

// maxStatsSamples bounds the durations Stats reads per measure (8 bytes
// each): a window with more acknowledged or resolved incidents than this is
// refused rather than read whole. A variable so tests can lower it.
var maxStatsSamples = 1_000_000

// Stats counts the figures of the service-level stats at now: incidents
// opened in [f.Since, f.Until) and their acknowledge and resolve times, the
// open backlog now (regardless of the window), the events received in the
// window and the top signatures. All of it is read in one read transaction,
// so the figures agree with each other. It returns an error wrapping
// incident.ErrInvalid when the window is empty or longer than
// incident.MaxStatsWindow, or holds more than maxStatsSamples acknowledged or
// resolved incidents.
func (s *Store) Stats(ctx context.Context, f incident.StatsFilter, now time.Time) (incident.StatsFigures, error) {
	if !f.Since.Before(f.Until) || f.Until.Sub(f.Since) > incident.MaxStatsWindow {
		return incident.StatsFigures{}, fmt.Errorf("stats window %s to %s: %w", f.Since, f.Until, incident.ErrInvalid)
	}
	if s.statsSlots != nil {
		select {
		case s.statsSlots <- struct{}{}:
			defer func() { <-s.statsSlots }()
		case <-ctx.Done():
			return incident.StatsFigures{}, ctx.Err()
		}
	}
	return retryKeptAhead(s.kept, func(k keptStats) (incident.StatsFigures, error) {
		return statsIn(ctx, s.r, k, f, now)
	})
}

// primeWindows are the windows PrimeStats reads, longest first: the
// longest reads and keeps the per-day parts the others share, each of the
// others its own first, partial day.
var primeWindows = []time.Duration{90 * 24 * time.Hour, 30 * 24 * time.Hour, 7 * 24 * time.Hour}

// primePriorityWindows are the windows PrimeStats reads for each priority.
// The events of a day are read once for every priority (readPriorities),
// by P1's call; P2 to P5 add the days of their own incidents, which are
// far fewer. 90 days of every priority would not fit the parts' budget on
// a busy store, and reading them would triple the priming.
var primePriorityWindows = []time.Duration{30 * 24 * time.Hour, 7 * 24 * time.Hour}

// PrimeStats reads the stats of the last 90, 30 and 7 days at now, for
// no filter, and of the last 30 and 7 days for each priority, and keeps their
// parts, so that a dashboard's first call after a start need not read them
// (0.3-0.9 s at 100k incidents while ingesting, against 15-40 ms once
// kept; docs/performance.md). The daemon runs it in the background after
// it starts. A service's figures are not primed: nothing says which
// services a dashboard shows.
func (s *Store) PrimeStats(ctx context.Context, now time.Time) error {
	for _, w := range primeWindows {
		if _, err := s.Stats(ctx, incident.StatsFilter{Since: now.Add(-w), Until: now}, now); err != nil {
			return fmt.Errorf("stats of the last %s: %w", w, err)
		}
	}
	for _, w := range primePriorityWindows {
		for p := incident.Priority(1); p <= 5; p++ {
			if _, err := s.Stats(ctx, incident.StatsFilter{Since: now.Add(-w), Until: now, Priority: p}, now); err != nil {
				return fmt.Errorf("stats of %s in the last %s: %w", p, w, err)
			}
		}
	}
	return nil
}

// retryKeptAhead runs read with k, and again when it fails with
// errKeptAhead: a read that began before another call kept a newer edge
// of the noise figures (statsfiltered.go) begins again rather than read
// the day whole at its older snapshot; the third try reads it whole.
func retryKeptAhead(k keptStats, read func(keptStats) (incident.StatsFigures, error)) (incident.StatsFigures, error) {
	for try := 1; ; try++ {
		k.whole = try == 3
		out, err := read(k)
		if !errors.Is(err, errKeptAhead) || k.whole {
			return out, err
		}
	}
}

// statsIn reads the stats in one read transaction of p.
func statsIn(ctx context.Context, p *readPool, k keptStats, f incident.StatsFilter, now time.Time) (incident.StatsFigures, error) {
	tx, err := p.beginRead(ctx)
	if err != nil {
		return incident.StatsFigures{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	return stats(ctx, tx, k, f, now)
}

// Backlog counts the open and acknowledged incidents now by age (see
// incident.BacklogAges), of one service and priority (empty and 0 mean any;
// the filter's window is ignored).
func (s *Store) Backlog(ctx context.Context, f incident.StatsFilter, now time.Time) (incident.Backlog, error) {
	return backlog(ctx, s.r, f, now)
}

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// keptStats are the parts of the stats a store keeps between calls; the
// zero value keeps nothing (OpenReadOnly).
type keptStats struct {
	days     *dayParts     // incidents' figures per day opened (statsdays.go)
	lead     *leadingDays  // the noise figures' leading days (statsnoise.go)
	filtered *filteredDays // the noise figures by service or priority (statsfiltered.go)
	// whole: an edge of the noise figures kept at a newer snapshot than
	// the read's is read whole instead of failing with errKeptAhead.
	whole bool
}

func newKeptStats() keptStats {
	return keptStats{days: newDayParts(), lead: newLeadingDays(), filtered: newFilteredDays()}
}

func stats(ctx context.Context, q queryer, k keptStats, f incident.StatsFilter, now time.Time) (incident.StatsFigures, error) {
	var out incident.StatsFigures
	if err := incidentFigures(ctx, q, k.days, f, &out); err != nil {
		return out, err
	}
	var err error
	if out.Backlog, err = backlog(ctx, q, f, now); err != nil {
		return out, err
	}
	if out.Events, out.Alerts, err = noise(ctx, q, k, f); err != nil {
		return out, err
	}
	return out, nil
}

// incidentWhere returns the service and priority conditions, each starting
// with " AND ", and their arguments.
func incidentWhere(f incident.StatsFilter) (string, []any) {
	var b strings.Builder
	var args []any
	if f.Service != "" {
		b.WriteString(" AND service = ?")
		args = append(args, f.Service)
	}
	if f.Priority != 0 {
		b.WriteString(" AND priority = ?")
		args = append(args, int(f.Priority))
	}
	return b.String(), args
}

// backlog groups the active incidents by age bucket: of every service and
// priority from the hours kept (keptBacklog), else in one pass over the
// matching ones.
func backlog(ctx context.Context, q queryer, f incident.StatsFilter, now time.Time) (incident.Backlog, error) {
	if f.Service == "" && f.Priority == 0 {
		return keptBacklog(ctx, q, now)
	}
	query, args := backlogQuery(f, now)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return incident.Backlog{}, fmt.Errorf("count backlog: %w", err)
	}
	return backlogrow.Read(rows, now)
}

// backlogQuery is backlog's query of a service or priority. By priority,
// it reads incidents_state_priority alone (migration 0016;
// scrapeplan_test.go).
func backlogQuery(f incident.StatsFilter, now time.Time) (string, []any) {
	where, wargs := incidentWhere(f)
	return backlogrow.Query(where, wargs, now)
}

// countedTransitions are the transitions the noise figures count.
const countedTransitions = `('new', 'refired', 'resolved', 'stale')`

// counted reports whether the noise figures count an event of t: one of
// countedTransitions.
func counted(t incident.Transition) bool {
	switch t {
	case incident.TransitionNew, incident.TransitionRefired, incident.TransitionResolved, incident.TransitionStale:
		return true
	}
	return false
}

// noise counts the recorded events received in the window and their
// distinct alerts (by number, migration 0021). With a service or priority,
// only events attached to a matching incident count: from the days kept by
// k.filtered, else a range of events_incident per matching incident
// (noiseByIncident).
// Without, the whole UTC days inside the window come from the per-day
// figures (migration 0009) and only the parts of a day at either edge are
// read from the events; see noiseDays.
func noise(ctx context.Context, q queryer, k keptStats, f incident.StatsFilter) (events, alerts int, err error) {
	if f.Service == "" && f.Priority == 0 {
		return noiseDays(ctx, q, k.lead, f.Since.UnixNano(), f.Until.UnixNano())
	}
	if k.filtered != nil {
		events, alerts, ok, err := k.filtered.count(ctx, q, f, k.whole)
		if err != nil || ok {
			return events, alerts, err
		}
	}
	return noiseByIncident(ctx, q, f)
}

// noiseByIncident counts the noise figures of a service or priority by
// probing the events of every matching incident in the window.
func noiseByIncident(ctx context.Context, q queryer, f incident.StatsFilter) (events, alerts int, err error) {
	inc, iargs := incidentWhere(f)
	err = q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT alert_no) FROM events
		WHERE incident_id IN (SELECT id FROM incidents WHERE `+strings.TrimPrefix(inc, " AND ")+`)
		AND received_at >= ? AND received_at < ? AND transition IN `+countedTransitions,
		append(iargs, f.Since.UnixNano(), f.Until.UnixNano())...).Scan(&events, &alerts)
	if err != nil {
		return 0, 0, fmt.Errorf("count events: %w", err)
	}
	return events, alerts, nil
}

// noiseDays counts the events in [since, until) (Unix nanoseconds) and
// their distinct alerts, exactly, from the per-day figures of the
// whole UTC days first..last inside the window (M) and the events of its
// edges before first and after last (E), each part of one day at most:
// distinct = |M| + |E \ M|. |M| counts each alert on its first day in
// first..last: a day's alerts whose previous day was before first.
// The day until falls in is one of M when it starts inside the window, less
// what it received at or after until (L): distinct(window) = distinct(window
// and L) minus L's alerts with no event in the window. So a window that ends
// now reads only the events of its first day's part, and those from a kept
// leadingDay when ld is not nil.
func noiseDays(ctx context.Context, q queryer, ld *leadingDays, since, until int64) (events, alerts int, err error) {
	first := (since + nanosPerDay - 1) / nanosPerDay // the first midnight at or after since
	last := until/nanosPerDay - 1                    // the last day ending at or before until
	// late and lateOnly are what the day until falls in adds when it is
	// counted whole (below): the events received in it at or after until,
	// and those of their alerts with no event in the window.
	var late, lateOnly int
	if end := until / nanosPerDay; until%nanosPerDay != 0 && first <= end {
		// The day until falls in, starting inside the window, counts as a
		// whole day, and what it received at or after until is taken out
		// again: for a window that ends now, the few events committed
		// since, so that no event of today is read one by one.
		if late, lateOnly, err = lateEvents(ctx, q, since, until, (end+1)*nanosPerDay); err != nil {
			return 0, 0, err
		}
		last = end
	}
	if first > last { // no whole day: under two days of events
		err = q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT alert_no) FROM events
			WHERE received_at >= ? AND received_at < ? AND transition IN `+countedTransitions, since, until).
			Scan(&events, &alerts)
		if err != nil {
			return 0, 0, fmt.Errorf("count events: %w", err)
		}
		return events, alerts, nil
	}
	var days, firsts int
	err = q.QueryRowContext(ctx, `SELECT
		(SELECT COALESCE(SUM(n), 0) FROM event_days WHERE day BETWEEN ?1 AND ?2 AND transition IN `+countedTransitions+`),
		(SELECT COALESCE(SUM(n), 0) FROM event_alert_firsts WHERE day BETWEEN ?1 AND ?2 AND prev_day < ?1)`,
		first, last).Scan(&days, &firsts)
	if err != nil {
		return 0, 0, fmt.Errorf("count events per day: %w", err)
	}
	if ld != nil && since < first*nanosPerDay {
		// With no event on a day after last, the part of the day before
		// first can come from a kept leadingDay (statsnoise.go).
		var newest int64
		err = q.QueryRowContext(ctx, `SELECT COALESCE(MAX(day), -1) FROM event_days`).Scan(&newest)
		if err != nil {
			return 0, 0, fmt.Errorf("newest day of events: %w", err)
		}
		if newest <= last {
			edge, edgeOnly, err := ld.leadingPart(ctx, q, first-1, since)
			if err != nil {
				return 0, 0, err
			}
			return days + edge - late, firsts + edgeOnly - lateOnly, nil
		}
	}
	var edge, edgeOnly int
	err = q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT CASE WHEN NOT EXISTS (
			SELECT 1 FROM event_alert_days d WHERE d.alert_no = e.alert_no AND d.day BETWEEN ?3 AND ?4)
		THEN e.alert_no END)
		FROM events e WHERE ((e.received_at >= ?1 AND e.received_at < ?5) OR (e.received_at >= ?6 AND e.received_at < ?2))
		AND e.transition IN `+countedTransitions,
		since, until, first, last, first*nanosPerDay, (last+1)*nanosPerDay).Scan(&edge, &edgeOnly)
	if err != nil {
		return 0, 0, fmt.Errorf("count events at the window's edges: %w", err)
	}
	return days + edge - late, firsts + edgeOnly - lateOnly, nil
}

// nanosPerDay is a UTC day in the unit of the incidents' times.
const nanosPerDay = statsdays.NanosPerDay

// lateEvents counts the counted events received in [until, dayEnd) and
// their distinct alerts with no counted event in [since, until). Whether
// an alert had one is read from its days in event_alert_days
// (migrations 0019, 0021), by the alert's number: the same fingerprint
// from two sources is two alerts. A day strictly inside the window
// holds one if it is recorded at all; since's day if its last counted
// event came at or after since; until's day if its first came before
// until. The caller counts until's day whole only when it starts inside
// the window, so since's day is never after it.
func lateEvents(ctx context.Context, q queryer, since, until, dayEnd int64) (late, lateOnly int, err error) {
	err = q.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE received_at >= ? AND received_at < ?
		AND transition IN `+countedTransitions, until, dayEnd).Scan(&late)
	if err != nil || late == 0 {
		return late, 0, wrapErr("count events after the window", err)
	}
	err = q.QueryRowContext(ctx, `SELECT COUNT(DISTINCT CASE WHEN NOT EXISTS (
			SELECT 1 FROM event_alert_days d WHERE d.alert_no = e.alert_no AND d.day BETWEEN ?1 AND ?2
			AND (d.day > ?1 OR d.last_at >= ?3) AND (d.day < ?2 OR d.first_at < ?4))
		THEN e.alert_no END)
		FROM events e WHERE e.received_at >= ?4 AND e.received_at < ?5 AND e.transition IN `+countedTransitions,
		since/nanosPerDay, until/nanosPerDay, since, until, dayEnd).Scan(&lateOnly)
	return late, lateOnly, wrapErr("count alerts after the window", err)
}

// wrapErr wraps err with what, or returns nil.
func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
