package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alertbridge/alertbridge/incident"
)

// Incident returns one incident, or incident.ErrNotFound.
func (s *Store) Incident(ctx context.Context, id int64) (incident.Incident, error) {
	return scanIncident(s.r.queryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
}

// Incidents lists incidents newest first.
func (s *Store) Incidents(ctx context.Context, f incident.IncidentFilter) ([]incident.Incident, error) {
	q, args := incidentsQuery(f)
	rows, err := s.r.query(ctx, q, args...)
	return collect(rows, err, "list incidents", scanIncident)
}

// incidentsQuery is the statement Incidents runs, and its arguments.
func incidentsQuery(f incident.IncidentFilter) (string, []any) {
	c := incidentConds(f)
	in(&c, "state", f.States)
	q, args := c.newestFirst(`SELECT `+incidentColumns+` FROM incidents`, f.AfterID, f.Limit)
	return q, planEach(f, args)
}

// Alerts returns an incident's alerts in the order they joined.
func (s *Store) Alerts(ctx context.Context, incidentID int64) ([]incident.Alert, error) {
	rows, err := s.r.query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE incident_id = ?
		ORDER BY first_seen_at, fingerprint, source`, incidentID)
	return collect(rows, err, "list alerts", scanAlert)
}

// AlertsPage returns at most limit of an incident's alerts after the
// cursor, in the order of Alerts (first seen, fingerprint, source).
func (s *Store) AlertsPage(ctx context.Context, incidentID int64, after incident.AlertCursor, limit int) ([]incident.Alert, error) {
	q := `SELECT ` + alertColumns + ` FROM alerts WHERE incident_id = ?`
	args := []any{incidentID}
	if after != (incident.AlertCursor{}) {
		q += ` AND (first_seen_at, fingerprint, source) > (?, ?, ?)`
		args = append(args, after.FirstSeenAt.UnixNano(), after.Fingerprint, after.Source)
	}
	rows, err := s.r.query(ctx, q+` ORDER BY first_seen_at, fingerprint, source LIMIT ?`, append(args, limit)...)
	return collect(rows, err, "list alerts", scanAlert)
}

// TimelinePage returns at most limit of an incident's timeline entries
// with IDs above afterID, oldest first (as Timeline).
func (s *Store) TimelinePage(ctx context.Context, incidentID, afterID int64, limit int) ([]incident.TimelineEntry, error) {
	rows, err := s.r.query(ctx, `SELECT id, incident_id, at, kind, actor, on_behalf_of, fingerprint, message
		FROM timeline WHERE incident_id = ? AND id > ? ORDER BY id LIMIT ?`, incidentID, afterID, limit)
	return collect(rows, err, "list timeline", scanTimeline)
}

// Timeline returns an incident's timeline, oldest first.
func (s *Store) Timeline(ctx context.Context, incidentID int64) ([]incident.TimelineEntry, error) {
	rows, err := s.r.query(ctx, `SELECT id, incident_id, at, kind, actor, on_behalf_of, fingerprint, message
		FROM timeline WHERE incident_id = ? ORDER BY id`, incidentID)
	return collect(rows, err, "list timeline", scanTimeline)
}

func scanTimeline(row scanner) (incident.TimelineEntry, error) {
	var e incident.TimelineEntry
	var at sql.NullInt64
	if err := row.Scan(&e.ID, &e.IncidentID, &at, &e.Kind, &e.Actor, &e.OnBehalfOf, &e.Fingerprint, &e.Message); err != nil {
		return e, fmt.Errorf("scan timeline: %w", err)
	}
	e.At = fromNanos(at)
	return e, nil
}

// ActiveByPriority counts open and acknowledged incidents per priority.
func (s *Store) ActiveByPriority(ctx context.Context) (map[incident.Priority]int, error) {
	rows, err := s.r.query(ctx, `SELECT priority, COUNT(*) FROM incidents
		WHERE state IN ('open', 'acknowledged') GROUP BY priority`)
	if err != nil {
		return nil, fmt.Errorf("count active incidents: %w", err)
	}
	defer rows.Close()
	out := make(map[incident.Priority]int)
	for rows.Next() {
		var p, n int
		if err := rows.Scan(&p, &n); err != nil {
			return nil, fmt.Errorf("scan count: %w", err)
		}
		out[incident.Priority(p)] = n
	}
	return out, rows.Err()
}

// Events calls fn for every recorded event received in [since, until)
// (a zero bound is open), oldest first, stopping at fn's first error.
func (s *Store) Events(ctx context.Context, since, until time.Time, fn func(incident.EventRecord) error) error {
	q := `SELECT received_at, source, fingerprint, status, labels, annotations, group_labels, receiver,
		generator_url, starts_at, ends_at, transition, rule, correlation_key, incident_id FROM events
		WHERE received_at >= ?`
	args := []any{since.UnixNano()}
	if !until.IsZero() {
		q += ` AND received_at < ?`
		args = append(args, until.UnixNano())
	}
	rows, err := s.r.query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e incident.EventRecord
		var received int64
		var labels, ann string
		var group sql.NullString
		var starts, ends, incID sql.NullInt64
		if err := rows.Scan(&received, &e.Source, &e.Fingerprint, &e.Status, &labels, &ann, &group, &e.Receiver,
			&e.GeneratorURL, &starts, &ends, &e.Transition, &e.Rule, &e.Key, &incID); err != nil {
			return fmt.Errorf("scan event: %w", err)
		}
		if err := json.Unmarshal([]byte(labels), &e.Labels); err != nil {
			return fmt.Errorf("decode event labels: %w", err)
		}
		if err := json.Unmarshal([]byte(ann), &e.Annotations); err != nil {
			return fmt.Errorf("decode event annotations: %w", err)
		}
		if group.Valid {
			if err := json.Unmarshal([]byte(group.String), &e.GroupLabels); err != nil {
				return fmt.Errorf("decode event group labels: %w", err)
			}
		}
		e.ReceivedAt, e.StartsAt, e.EndsAt = time.Unix(0, received).UTC(), fromNanos(starts), fromNanos(ends)
		e.IncidentID = incID.Int64
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// IncidentByKey returns the incident that owns a correlation key, as the
// writer sees it (tx.IncidentByKey), or incident.ErrNotFound.
func (s *Store) IncidentByKey(ctx context.Context, key string) (incident.Incident, error) {
	return incidentByKey(ctx, s.r, key)
}

// Changes lists changes newest first (by start time, then ID).
func (s *Store) Changes(ctx context.Context, f incident.ChangeFilter) ([]incident.Change, error) {
	var c conds
	if f.Service != "" {
		c.add("service = ?", f.Service)
	}
	if !f.Since.IsZero() {
		c.add("started_at >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		c.add("started_at < ?", f.Until.UnixNano())
	}
	q, args := c.newestFirst(`SELECT `+changeColumns+` FROM changes`, f.AfterID, f.Limit)
	rows, err := s.r.query(ctx, q, args...)
	return collect(rows, err, "list changes", scanChange)
}

// IncidentChanges returns the changes linked to an incident, by rank.
func (s *Store) IncidentChanges(ctx context.Context, incidentID int64) ([]incident.ChangeLink, error) {
	rows, err := s.r.query(ctx, `SELECT ic.rank, ic.reason, c.id, c.source, c.external_id, c.service, c.summary,
		c.url, c.started_at, c.finished_at, c.labels, c.maintenance, c.received_at
		FROM incident_changes ic JOIN changes c ON c.id = ic.change_id
		WHERE ic.incident_id = ? ORDER BY ic.rank`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("list incident changes: %w", err)
	}
	defer rows.Close()
	var out []incident.ChangeLink
	for rows.Next() {
		l := incident.ChangeLink{IncidentID: incidentID}
		var rest rowPrefix
		rest.dst = []any{&l.Rank, &l.Reason}
		if l.Change, err = scanChange(rest.wrap(rows)); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// ChangeSuspects returns the incidents that suspect each of the changes
// (their incident.ChangeLink), by change, newest change and newest
// incident first, at most perChange of each change, each with the count
// of them all.
func (s *Store) ChangeSuspects(ctx context.Context, changeIDs []int64, perChange int) ([]incident.Suspect, error) {
	if len(changeIDs) == 0 || perChange <= 0 {
		return nil, nil
	}
	var c conds
	in(&c, "ic.change_id", changeIDs)
	where, args := c.where()
	rows, err := s.r.query(ctx, `SELECT s.change_id, s.rank, s.reason, s.n, `+incidentColumns+` FROM (
			SELECT ic.change_id, ic.incident_id, ic.rank, ic.reason,
				ROW_NUMBER() OVER (PARTITION BY ic.change_id ORDER BY ic.incident_id DESC) AS rn,
				COUNT(*) OVER (PARTITION BY ic.change_id) AS n
			FROM incident_changes ic`+where+`
		) s JOIN incidents ON incidents.id = s.incident_id
		WHERE s.rn <= ? ORDER BY s.change_id DESC, s.incident_id DESC`, append(args, perChange)...)
	return collect(rows, err, "list change suspects", func(row scanner) (incident.Suspect, error) {
		var sp incident.Suspect
		var err error
		sp.Incident, err = scanIncident(rowPrefix{dst: []any{&sp.ChangeID, &sp.Rank, &sp.Reason, &sp.Total}}.wrap(row))
		return sp, err
	})
}

// rowPrefix scans leading columns into dst and the rest into what the
// wrapped scanner is given, so scanChange serves joined rows too.
type rowPrefix struct {
	dst []any
	row scanner
}

func (r rowPrefix) wrap(row scanner) scanner { r.row = row; return r }

func (r rowPrefix) Scan(dest ...any) error {
	return r.row.Scan(append(append([]any(nil), r.dst...), dest...)...)
}

// FiringAlerts returns the states of the alerts from source that are firing,
// for anti-entropy against the source.
func (s *Store) FiringAlerts(ctx context.Context, source string) ([]incident.AlertState, error) {
	rows, err := s.r.query(ctx, `SELECT fingerprint, source, status, starts_at, ends_at, incident_id, last_seen_at
		FROM alert_states WHERE status = 'firing' AND source = ? ORDER BY fingerprint`, source)
	return collect(rows, err, "list firing alerts", func(row scanner) (incident.AlertState, error) {
		var a incident.AlertState
		var starts, ends, incID, last sql.NullInt64
		if err := row.Scan(&a.Fingerprint, &a.Source, &a.Status, &starts, &ends, &incID, &last); err != nil {
			return a, fmt.Errorf("scan alert state: %w", err)
		}
		a.StartsAt, a.EndsAt, a.IncidentID, a.LastSeenAt = fromNanos(starts), fromNanos(ends), incID.Int64, fromNanos(last)
		return a, nil
	})
}

// SLABreaches counts the missed SLA targets of all incidents, by target
// ("respond", "resolve") and priority. Marks are never removed, so the
// counts only grow: they back a counter.
func (s *Store) SLABreaches(ctx context.Context) (map[[2]string]int, error) {
	rows, err := s.r.query(ctx, `SELECT 'respond', priority, COUNT(*) FROM incidents
		WHERE respond_breached_at IS NOT NULL GROUP BY priority
		UNION ALL SELECT 'resolve', priority, COUNT(*) FROM incidents
		WHERE resolve_breached_at IS NOT NULL GROUP BY priority`)
	if err != nil {
		return nil, fmt.Errorf("count SLA breaches: %w", err)
	}
	defer rows.Close()
	out := make(map[[2]string]int)
	for rows.Next() {
		var target string
		var p, n int
		if err := rows.Scan(&target, &p, &n); err != nil {
			return nil, fmt.Errorf("scan SLA breaches: %w", err)
		}
		out[[2]string{target, incident.Priority(p).String()}] = n
	}
	return out, rows.Err()
}

// The reads placement needs (incident.PlacementReader), so that rules
// explain and the web UI decide where an alert goes exactly as the writer
// does, from the live database.

// ActiveIncidentsFor returns the unsealed open or acknowledged incidents of
// any of services, newest first.
func (s *Store) ActiveIncidentsFor(ctx context.Context, services []string) ([]incident.Incident, error) {
	return activeIncidentsFor(ctx, s.r, services)
}

// ActiveMaintenance returns a maintenance change on service whose window
// covers at, or incident.ErrNotFound.
func (s *Store) ActiveMaintenance(ctx context.Context, service string, at time.Time) (incident.Change, error) {
	return activeMaintenance(ctx, s.r, service, at)
}

// IncidentAlerts returns an incident's alerts (as Alerts).
func (s *Store) IncidentAlerts(ctx context.Context, incidentID int64) ([]incident.Alert, error) {
	return s.Alerts(ctx, incidentID)
}

var _ incident.PlacementReader = (*Store)(nil)

// IncidentCounts counts the incidents f matches by state, whatever its
// States, AfterID and Limit say: the list's counts by state.
func (s *Store) IncidentCounts(ctx context.Context, f incident.IncidentFilter) (map[incident.State]int, error) {
	q, args := incidentCountsQuery(f)
	rows, err := s.r.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count incidents: %w", err)
	}
	defer rows.Close()
	out := map[incident.State]int{}
	for rows.Next() {
		var st incident.State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count incidents: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// incidentCountsQuery is the statement IncidentCounts runs, and its
// arguments.
func incidentCountsQuery(f incident.IncidentFilter) (string, []any) {
	where, args := incidentConds(f).where()
	return `SELECT state, COUNT(*) FROM incidents` + where + ` GROUP BY state`, planEach(f, args)
}

// IncidentsVersion changes whenever an incident is created or changed,
// by any replica: the web UI's live list polls it (an ETag) before it
// renders anything. Every change of a row bumps its revision (a trigger),
// so the sum of the committed revisions grows with every committed
// change, whatever order the transactions commit in and whatever their
// clocks say; MAX(updated_at), as SQLite has it, would miss a change a
// replica with a slower clock made.
func (s *Store) IncidentsVersion(ctx context.Context) (string, error) {
	var maxID, n, revisions int64
	err := s.r.queryRow(ctx, `SELECT COALESCE(MAX(id), 0), COUNT(*), COALESCE(SUM(revision), 0)::BIGINT
		FROM incidents`).Scan(&maxID, &n, &revisions)
	if err != nil {
		return "", fmt.Errorf("incidents version: %w", err)
	}
	return fmt.Sprintf("%d-%d-%d", maxID, n, revisions), nil
}

// planEach returns the arguments of a listing or count under f, led, when
// f searches, by the pgx mode that runs the statement unprepared (the
// unnamed statement; its description cached), so that PostgreSQL plans it
// for the pattern it is given. A prepared statement gets, after five runs,
// a generic plan when that looks no dearer, one plan for any pattern: for
// the page, a walk of every incident newest first that a rare query never
// ends early (29 ms at 100k incidents, 2 ms from the trigram indexes); for
// the counts, a read of the trigram indexes that a common or short query
// pays for in full on top of the scan it needed anyway.
func planEach(f incident.IncidentFilter, args []any) []any {
	if f.Query == "" {
		return args
	}
	return append([]any{pgx.QueryExecModeCacheDescribe}, args...)
}

// incidentConds are a filter's conditions but its states and paging.
func incidentConds(f incident.IncidentFilter) conds {
	var c conds
	if f.Priority != 0 {
		c.add("priority = ?", int(f.Priority))
	}
	if f.Service != "" {
		c.add("service = ?", f.Service)
	}
	if f.Query != "" {
		// LIKE, which the trigram indexes of migration 0005 answer (and
		// strpos is not), on the indexes' own expressions. title is
		// COLLATE "C", so its lower() folds ASCII only, as SQLite's
		// lower() does; the pattern is folded alike here.
		c.add(`(lower(title) LIKE ? OR correlation_key LIKE ?)`, containing(foldASCII(f.Query)), containing(f.Query))
	}
	return c
}
