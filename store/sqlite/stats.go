package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
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
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return incident.StatsFigures{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	return stats(ctx, tx, f, now)
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

func stats(ctx context.Context, q queryer, f incident.StatsFilter, now time.Time) (incident.StatsFigures, error) {
	var out incident.StatsFigures
	// Opened in the window and matching the filter: a range of the index
	// incidents_opened_stats, read from the index alone. An incident merged
	// into another is not an incident of its own: it counts neither as
	// opened nor as resolved.
	win, args := incidentWhere(f)
	win = "opened_at >= ? AND opened_at < ? AND merged_into IS NULL" + win
	args = append([]any{f.Since.UnixNano(), f.Until.UnixNano()}, args...)

	err := q.QueryRowContext(ctx, `SELECT COUNT(*),
		COUNT(CASE WHEN state IN ('resolved', 'closed') AND resolved_at IS NOT NULL THEN 1 END),
		COUNT(CASE WHEN respond_by IS NOT NULL AND respond_breached_at IS NULL AND acknowledged_at IS NOT NULL
			AND acknowledged_at <= respond_by THEN 1 END),
		COUNT(CASE WHEN respond_breached_at IS NOT NULL THEN 1 END),
		COUNT(CASE WHEN resolve_by IS NOT NULL AND resolve_breached_at IS NULL AND resolved_at IS NOT NULL
			AND state IN ('resolved', 'closed') AND resolved_at <= resolve_by THEN 1 END),
		COUNT(CASE WHEN resolve_breached_at IS NOT NULL THEN 1 END)
		FROM incidents WHERE `+win, args...).Scan(&out.Opened, &out.Resolved,
		&out.RespondMet, &out.RespondMissed, &out.ResolveMet, &out.ResolveMissed)
	if err != nil {
		return out, fmt.Errorf("count opened incidents: %w", err)
	}
	if out.Resolved > maxStatsSamples { // refused before reading them
		return out, tooManySamples()
	}
	if out.TimesToAcknowledge, out.TimesToResolve, err = durations(ctx, q, win, args); err != nil {
		return out, err
	}
	if out.Backlog, err = backlog(ctx, q, f, now); err != nil {
		return out, err
	}
	if out.Events, out.Alerts, err = noise(ctx, q, f); err != nil {
		return out, err
	}
	if out.Signatures, err = signatures(ctx, q, win, args); err != nil {
		return out, err
	}
	if out.OpenedPerDay, err = openedPerDay(ctx, q, win, args); err != nil {
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

// durations reads the times to acknowledge and to resolve of the
// incidents matching where, in one pass, at most maxStatsSamples of each.
// MTTR counts from when the impact started (the earliest startsAt of the
// incident's alerts) to when it ended; MTTA from when the record opened,
// since nobody can acknowledge before that (docs/itil.md).
func durations(ctx context.Context, q queryer, where string, args []any) (ack, res []time.Duration, err error) {
	rows, err := q.QueryContext(ctx, `SELECT acknowledged_at - opened_at,
		CASE WHEN state IN ('resolved', 'closed') AND resolved_at IS NOT NULL
			THEN MAX(resolved_at - COALESCE(impact_started_at, opened_at), 0) END
		FROM incidents WHERE `+where+` AND (acknowledged_at IS NOT NULL OR (state IN ('resolved', 'closed') AND resolved_at IS NOT NULL))`,
		args...)
	if err != nil {
		return nil, nil, fmt.Errorf("times to acknowledge and resolve: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, r sql.NullInt64
		if err := rows.Scan(&a, &r); err != nil {
			return nil, nil, fmt.Errorf("times to acknowledge and resolve: %w", err)
		}
		if a.Valid {
			ack = append(ack, time.Duration(a.Int64))
		}
		if r.Valid {
			res = append(res, time.Duration(r.Int64))
		}
		if len(ack) > maxStatsSamples || len(res) > maxStatsSamples {
			return nil, nil, tooManySamples()
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("times to acknowledge and resolve: %w", err)
	}
	return ack, res, nil
}

func tooManySamples() error {
	return fmt.Errorf("more than %d incidents in the window, narrow it or filter by service or priority: %w",
		maxStatsSamples, incident.ErrInvalid)
}

// backlog groups the active incidents by age bucket in one pass: an age
// below a bucket's bound is an opened_at after now minus the bound.
func backlog(ctx context.Context, q queryer, f incident.StatsFilter, now time.Time) (incident.Backlog, error) {
	var out incident.Backlog
	var bucket strings.Builder
	var args []any
	bucket.WriteString("CASE")
	for i, b := range incident.BacklogAges {
		if b.Below == 0 {
			break
		}
		fmt.Fprintf(&bucket, " WHEN opened_at > ? THEN %d", i)
		args = append(args, now.Add(-b.Below).UnixNano())
	}
	fmt.Fprintf(&bucket, " ELSE %d END", len(incident.BacklogAges)-1)
	where, wargs := incidentWhere(f)
	rows, err := q.QueryContext(ctx, `SELECT `+bucket.String()+` AS bucket, COUNT(*), MIN(opened_at)
		FROM incidents WHERE state IN ('open', 'acknowledged') AND opened_at IS NOT NULL`+where+`
		GROUP BY bucket`, append(args, wargs...)...)
	if err != nil {
		return out, fmt.Errorf("count backlog: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i, n int
		var oldest int64
		if err := rows.Scan(&i, &n, &oldest); err != nil {
			return out, fmt.Errorf("scan backlog: %w", err)
		}
		out.Counts[i] = n
		out.Oldest = max(out.Oldest, now.Sub(time.Unix(0, oldest)))
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("count backlog: %w", err)
	}
	return out, nil
}

// countedTransitions are the transitions the noise figures count.
const countedTransitions = `('new', 'refired', 'resolved', 'stale')`

// noise counts the recorded events received in the window and their
// distinct fingerprints. With a service or priority, only events attached
// to a matching incident count: a range of events_incident per incident.
// Without, the whole UTC days inside the window come from the per-day
// figures (migration 0009) and only the parts of a day at either edge are
// read from the events; see noiseDays.
func noise(ctx context.Context, q queryer, f incident.StatsFilter) (events, alerts int, err error) {
	if f.Service != "" || f.Priority != 0 {
		inc, iargs := incidentWhere(f)
		err = q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT fingerprint) FROM events
			WHERE incident_id IN (SELECT id FROM incidents WHERE `+strings.TrimPrefix(inc, " AND ")+`)
			AND received_at >= ? AND received_at < ? AND transition IN `+countedTransitions,
			append(iargs, f.Since.UnixNano(), f.Until.UnixNano())...).Scan(&events, &alerts)
		if err != nil {
			return 0, 0, fmt.Errorf("count events: %w", err)
		}
		return events, alerts, nil
	}
	return noiseDays(ctx, q, f.Since.UnixNano(), f.Until.UnixNano())
}

// noiseDays counts the events in [since, until) (Unix nanoseconds) and
// their distinct fingerprints, exactly, from the per-day figures of the
// whole UTC days first..last inside the window (M) and the events of its
// edges before first and after last (E), each part of one day at most:
// distinct = |M| + |E \ M|. |M| counts each fingerprint on its first day in
// first..last: a day's fingerprints whose previous day was before first.
func noiseDays(ctx context.Context, q queryer, since, until int64) (events, alerts int, err error) {
	first := (since + nanosPerDay - 1) / nanosPerDay // the first midnight at or after since
	last := until/nanosPerDay - 1                    // the last day ending at or before until
	if first > last {                                // no whole day: under two days of events
		err = q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT fingerprint) FROM events
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
		(SELECT COALESCE(SUM(n), 0) FROM event_fingerprint_firsts WHERE day BETWEEN ?1 AND ?2 AND prev_day < ?1)`,
		first, last).Scan(&days, &firsts)
	if err != nil {
		return 0, 0, fmt.Errorf("count events per day: %w", err)
	}
	var edge, edgeOnly int
	err = q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT CASE WHEN NOT EXISTS (
			SELECT 1 FROM event_fingerprint_days d WHERE d.fingerprint = e.fingerprint AND d.day BETWEEN ?3 AND ?4)
		THEN e.fingerprint END)
		FROM events e WHERE ((e.received_at >= ?1 AND e.received_at < ?5) OR (e.received_at >= ?6 AND e.received_at < ?2))
		AND e.transition IN `+countedTransitions,
		since, until, first, last, first*nanosPerDay, (last+1)*nanosPerDay).Scan(&edge, &edgeOnly)
	if err != nil {
		return 0, 0, fmt.Errorf("count events at the window's edges: %w", err)
	}
	return days + edge, firsts + edgeOnly, nil
}

// signatures returns the rules (or, for incidents no rule grouped, the
// correlation keys) that opened the most incidents matching where, most
// first and then by name.
func signatures(ctx context.Context, q queryer, where string, args []any) ([]incident.SignatureCount, error) {
	rows, err := q.QueryContext(ctx, `SELECT rule, CASE WHEN rule = '' THEN correlation_key ELSE '' END AS key,
		COUNT(*) AS n FROM incidents WHERE `+where+`
		GROUP BY rule, key ORDER BY n DESC, rule, key LIMIT ?`,
		append(args[:len(args):len(args)], incident.MaxSignatures)...)
	if err != nil {
		return nil, fmt.Errorf("count signatures: %w", err)
	}
	defer rows.Close()
	var out []incident.SignatureCount
	for rows.Next() {
		var sc incident.SignatureCount
		if err := rows.Scan(&sc.Rule, &sc.Key, &sc.Incidents); err != nil {
			return nil, fmt.Errorf("scan signature: %w", err)
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// nanosPerDay is a UTC day in the unit of the incidents' times.
const nanosPerDay = int64(24 * time.Hour)

// openedPerDay counts the incidents matching where by UTC day of opened_at
// and priority. Times are Unix nanoseconds (after 1970), so a UTC day is an
// integer division.
func openedPerDay(ctx context.Context, q queryer, where string, args []any) ([]incident.DayCount, error) {
	rows, err := q.QueryContext(ctx, `SELECT opened_at / ? AS day, priority, COUNT(*)
		FROM incidents WHERE `+where+` GROUP BY day, priority ORDER BY day, priority`,
		append([]any{nanosPerDay}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("count incidents per day: %w", err)
	}
	defer rows.Close()
	var out []incident.DayCount
	for rows.Next() {
		var day int64
		var dc incident.DayCount
		if err := rows.Scan(&day, &dc.Priority, &dc.Incidents); err != nil {
			return nil, fmt.Errorf("scan incidents per day: %w", err)
		}
		dc.Day = time.Unix(0, day*nanosPerDay).UTC()
		out = append(out, dc)
	}
	return out, rows.Err()
}
