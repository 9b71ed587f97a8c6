package postgres

import (
	"context"
	"database/sql"
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
	// Repeatable read: one snapshot for every query below.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return incident.StatsFigures{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	return stats(ctx, runner{c: tx}, s.kept, f, now)
}

// Backlog counts the open and acknowledged incidents now by age (see
// incident.BacklogAges), of one service and priority (empty and 0 mean any;
// the filter's window is ignored).
func (s *Store) Backlog(ctx context.Context, f incident.StatsFilter, now time.Time) (incident.Backlog, error) {
	return backlog(ctx, s.r, f, now)
}

// keptStats are the parts of the stats a store keeps between calls; the
// zero value keeps nothing.
type keptStats struct {
	days  *statsdays.Days // the incidents' figures per day opened
	noise *noiseDays      // the noise figures of whole days, unfiltered
}

func stats(ctx context.Context, q runner, k keptStats, f incident.StatsFilter, now time.Time) (incident.StatsFigures, error) {
	var out incident.StatsFigures
	// The counters of what changed the events, and the database's clock,
	// which bounds the days either part keeps (migration 0010).
	var c eventChanges
	err := q.queryRow(ctx, `SELECT late, deleted, upto, (extract(epoch FROM now()) * 1000000000)::bigint
		FROM stats_event_changes WHERE id = 1`).Scan(&c.late, &c.deleted, &c.upto, &c.now)
	if err != nil {
		return out, fmt.Errorf("stats: read the event counters: %w", err)
	}
	// The incidents opened in the window and matching the filter, per UTC
	// day of opening: whole days that ended keepAfter before the clock
	// kept while their version is unchanged, the rest read by the index
	// on opened_at of the incidents not merged (migration 0006). An
	// incident merged into another is not an incident of its own: it
	// counts neither as opened nor as resolved.
	r := statsReader(q, f)
	r.KeepUntil = c.now - int64(keepAfter)
	if err := statsdays.Figures(ctx, k.days, r, f, &out); err != nil {
		return out, err
	}
	if out.Backlog, err = backlog(ctx, q, f, now); err != nil {
		return out, err
	}
	if f.Service == "" && f.Priority == 0 && k.noise != nil {
		out.Events, out.Alerts, err = k.noise.count(ctx, q, c, f.Since.UnixNano(), f.Until.UnixNano())
	} else {
		out.Events, out.Alerts, err = noiseRead(ctx, q, f)
	}
	if err != nil {
		return out, err
	}
	return out, nil
}

// statsReader reads the stats' day parts of the incidents matching f
// through q.
func statsReader(q runner, f incident.StatsFilter) statsdays.Reader {
	cond, cargs := incidentWhere(f)
	return statsdays.Reader{Query: q.query, From: "incidents", Greatest: "GREATEST",
		Cond: cond, CondArgs: cargs, MaxSamples: maxStatsSamples}
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

// PrimeStats reads the unfiltered stats of the last 90, 30 and 7 days at
// now and keeps their whole days (the incidents' figures and the noise),
// so that a dashboard's first call after a start need not read them; the
// daemon runs it in the background after it starts. The noise figures by
// service or priority are read at every call, so filtered windows are not
// primed.
func (s *Store) PrimeStats(ctx context.Context, now time.Time) error {
	for _, days := range []int{90, 30, 7} {
		f := incident.StatsFilter{Since: now.AddDate(0, 0, -days), Until: now}
		if _, err := s.Stats(ctx, f, now); err != nil {
			return fmt.Errorf("stats of the last %d days: %w", days, err)
		}
	}
	return nil
}
