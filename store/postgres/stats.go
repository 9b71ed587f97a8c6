package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/backlogrow"
	"github.com/alertbridge/alertbridge/store/internal/statscounts"
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
	// Repeatable read: one snapshot for every query below.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return incident.StatsFigures{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	return stats(ctx, runner{c: tx}, f, now)
}

// Backlog counts the open and acknowledged incidents now by age (see
// incident.BacklogAges), of one service and priority (empty and 0 mean any;
// the filter's window is ignored).
func (s *Store) Backlog(ctx context.Context, f incident.StatsFilter, now time.Time) (incident.Backlog, error) {
	return backlog(ctx, s.r, f, now)
}

func stats(ctx context.Context, q runner, f incident.StatsFilter, now time.Time) (incident.StatsFigures, error) {
	var out incident.StatsFigures
	// Opened in the window and matching the filter, from the index on
	// opened_at of the incidents not merged (migration 0006): an incident
	// merged into another is not an incident of its own, it counts neither
	// as opened nor as resolved. The counts come from one pass, the times
	// to acknowledge and resolve from another.
	win, args := windowWhere(f)
	err := q.queryRow(ctx, qStatsCounts+win, args...).Scan(&out.Opened, &out.Resolved,
		&out.RespondMet, &out.RespondMissed, &out.ResolveMet, &out.ResolveMissed)
	if err != nil {
		return out, fmt.Errorf("count opened incidents and SLA results: %w", err)
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

// qStatsCounts counts the incidents opened, resolved, and meeting or
// missing their SLA targets, of the window that follows it (windowWhere).
const qStatsCounts = `SELECT ` + statscounts.Columns + ` FROM incidents WHERE `

// windowWhere returns the condition of the incidents opened in f's window
// that match its service and priority, and its arguments.
func windowWhere(f incident.StatsFilter) (string, []any) {
	where, args := incidentWhere(f)
	return "opened_at >= ? AND opened_at < ? AND merged_into IS NULL" + where,
		append([]any{f.Since.UnixNano(), f.Until.UnixNano()}, args...)
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

// durations reads the times to acknowledge (acknowledged_at − opened_at)
// and to resolve of the incidents matching where, in one pass: MTTR counts
// from when the impact started (the earliest startsAt of the incident's
// alerts) to when it ended, MTTA from when the record opened, since nobody
// can acknowledge before that (docs/itil.md). Each measure holds at most
// maxStatsSamples; every row read adds to one of them at least, so reading
// 2·maxStatsSamples+1 rows is enough to know that one holds more.
func durations(ctx context.Context, q runner, where string, args []any) (ack, resolve []time.Duration, err error) {
	rows, err := q.query(ctx, `SELECT
		CASE WHEN acknowledged_at IS NOT NULL THEN acknowledged_at - opened_at END,
		CASE WHEN state IN ('resolved', 'closed') AND resolved_at IS NOT NULL
			THEN GREATEST(resolved_at - COALESCE(impact_started_at, opened_at), 0) END
		FROM incidents WHERE `+where+` AND (acknowledged_at IS NOT NULL
			OR (state IN ('resolved', 'closed') AND resolved_at IS NOT NULL)) LIMIT ?`,
		append(args[:len(args):len(args)], 2*maxStatsSamples+1)...)
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
			resolve = append(resolve, time.Duration(r.Int64))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("times to acknowledge and resolve: %w", err)
	}
	if len(ack) > maxStatsSamples || len(resolve) > maxStatsSamples {
		return nil, nil, fmt.Errorf("more than %d incidents in the window, narrow it or filter by service or priority: %w",
			maxStatsSamples, incident.ErrInvalid)
	}
	return ack, resolve, nil
}

// backlog groups the active incidents by age bucket in one pass.
func backlog(ctx context.Context, q runner, f incident.StatsFilter, now time.Time) (incident.Backlog, error) {
	where, wargs := incidentWhere(f)
	query, args := backlogrow.Query(where, wargs, now)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return incident.Backlog{}, fmt.Errorf("count backlog: %w", err)
	}
	return backlogrow.Read(rows, now)
}

// noise counts the recorded events received in the window and their
// distinct alerts, (source, fingerprint), DESIGN's alert identity: an index
// range scan on received_at. With a service
// or priority, only events attached to a matching incident count.
func noise(ctx context.Context, q runner, f incident.StatsFilter) (events, alerts int, err error) {
	where := `received_at >= ? AND received_at < ? AND transition IN ('new', 'refired', 'resolved', 'stale')`
	args := []any{f.Since.UnixNano(), f.Until.UnixNano()}
	if f.Service != "" || f.Priority != 0 {
		inc, iargs := incidentWhere(f)
		where += ` AND incident_id IN (SELECT id FROM incidents WHERE ` + strings.TrimPrefix(inc, " AND ") + `)`
		args = append(args, iargs...)
	}
	err = q.queryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT (source, fingerprint)) FROM events WHERE `+where, args...).
		Scan(&events, &alerts)
	if err != nil {
		return 0, 0, fmt.Errorf("count events: %w", err)
	}
	return events, alerts, nil
}

// signatures returns the rules (or, for incidents no rule grouped, the
// correlation keys) that opened the most incidents matching where, most
// first and then by name.
func signatures(ctx context.Context, q runner, where string, args []any) ([]incident.SignatureCount, error) {
	rows, err := q.query(ctx, `SELECT rule, CASE WHEN rule = '' THEN correlation_key ELSE '' END AS key,
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
func openedPerDay(ctx context.Context, q runner, where string, args []any) ([]incident.DayCount, error) {
	rows, err := q.query(ctx, `SELECT opened_at / ? AS day, priority, COUNT(*)
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
