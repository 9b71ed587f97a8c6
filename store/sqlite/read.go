package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alertbridge/alertbridge/incident"
)

// Incident returns one incident, or incident.ErrNotFound.
func (s *Store) Incident(ctx context.Context, id int64) (incident.Incident, error) {
	return scanIncident(s.r.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
}

// Incidents lists incidents newest first.
func (s *Store) Incidents(ctx context.Context, f incident.IncidentFilter) ([]incident.Incident, error) {
	if searchable(f.Query) {
		// The matches of the search index, newest first, drive the
		// query: a page of a search that matches most incidents ends
		// after its first rows, one that matches few reads only those.
		// The incidents not indexed yet, all newer than those indexed,
		// come first (searchindex.go); each side is read in id order and
		// the two merged.
		c := incidentConds(f)
		in(&c, "state", f.States)
		q, args := c.newestFirstBy("m.id", `WITH m(id) AS (`+searchTail+`
			UNION ALL SELECT rowid FROM incident_search WHERE incident_search MATCH ?)
			SELECT `+incidentColumns+` FROM m CROSS JOIN incidents USING (id)`, f.AfterID, f.Limit)
		rows, err := s.r.QueryContext(ctx, q, append([]any{ftsPhrase(f.Query)}, args...)...)
		return collect(rows, err, "list incidents", scanIncident)
	}
	c := incidentConds(f)
	in(&c, "state", f.States)
	q, args := c.newestFirst(`SELECT `+incidentColumns+` FROM incidents`, f.AfterID, f.Limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	return collect(rows, err, "list incidents", scanIncident)
}

// Alerts returns an incident's alerts in the order they joined.
func (s *Store) Alerts(ctx context.Context, incidentID int64) ([]incident.Alert, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE incident_id = ?
		ORDER BY first_seen_at, fingerprint, source`, incidentID)
	return collect(rows, err, "list alerts", scanAlert)
}

// AlertsPage returns at most limit of an incident's alerts in the order
// Alerts lists them, those after the cursor (the zero cursor: from the
// first): a range of the index alerts_incident_joined.
func (s *Store) AlertsPage(ctx context.Context, incidentID int64, after incident.AlertCursor, limit int) ([]incident.Alert, error) {
	q := `SELECT ` + alertColumns + ` FROM alerts WHERE incident_id = ?`
	args := []any{incidentID}
	if after != (incident.AlertCursor{}) {
		q += ` AND (first_seen_at, fingerprint, source) > (?, ?, ?)`
		args = append(args, after.FirstSeenAt.UnixNano(), after.Fingerprint, after.Source)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY first_seen_at, fingerprint, source LIMIT ?`, append(args, limit)...)
	return collect(rows, err, "list alerts", scanAlert)
}

// TimelinePage returns at most limit of an incident's timeline entries
// with IDs above afterID, oldest first (as Timeline).
func (s *Store) TimelinePage(ctx context.Context, incidentID, afterID int64, limit int) ([]incident.TimelineEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, incident_id, at, kind, actor, on_behalf_of, fingerprint, message
		FROM timeline WHERE incident_id = ? AND id > ? ORDER BY id LIMIT ?`, incidentID, afterID, limit)
	return collect(rows, err, "list timeline", scanTimeline)
}

// Timeline returns an incident's timeline, oldest first.
func (s *Store) Timeline(ctx context.Context, incidentID int64) ([]incident.TimelineEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, incident_id, at, kind, actor, on_behalf_of, fingerprint, message
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
// qActiveByPriority reads the counts the writer's triggers keep
// (incident_counts, migration 0029): a scrape under ingest read every
// active incident's entry of incidents_state_priority again after each
// commit. A priority with none has a row of 0, left out.
const qActiveByPriority = `SELECT priority, n FROM incident_counts WHERE kind IN ('open', 'acknowledged') AND n <> 0`

func (s *Store) ActiveByPriority(ctx context.Context) (map[incident.Priority]int, error) {
	rows, err := s.r.QueryContext(ctx, qActiveByPriority)
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
		out[incident.Priority(p)] += n
	}
	return out, rows.Err()
}

// eventsChunk is how many events Events reads per query.
const eventsChunk = 1000

// Events calls fn for every recorded event received in [since, until)
// (a zero bound is open), oldest first (by ID), stopping at fn's first
// error. It reads eventsChunk events per query and calls fn between
// queries, never inside one: a backtest that takes minutes over the
// events must not hold a read snapshot that long, which would keep every
// WAL checkpoint from completing and the WAL growing. Events are only
// ever appended, so the chunks together are the events of the window,
// each once.
func (s *Store) Events(ctx context.Context, since, until time.Time, fn func(incident.EventRecord) error) error {
	// The window's first event by ID: its rows are then a range of the
	// table, whatever order the events arrived in. +received_at keeps the
	// chunks on that range rather than the received_at index (which would
	// sort the whole window for each chunk).
	where := ` WHERE +received_at >= ?`
	args := []any{since.UnixNano()}
	if !until.IsZero() {
		where += ` AND +received_at < ?`
		args = append(args, until.UnixNano())
	}
	var first sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(id) FROM events`+strings.ReplaceAll(where, "+", ""), args...).
		Scan(&first); err != nil {
		return fmt.Errorf("list events: %w", err)
	}
	if !first.Valid {
		return nil
	}
	after := first.Int64 - 1
	for {
		recs, last, err := s.eventsAfter(ctx, where, append(args[:len(args):len(args)], after))
		if err != nil {
			return err
		}
		for _, e := range recs {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(recs) < eventsChunk {
			return nil
		}
		after = last
	}
}

// eventsAfter reads the next chunk of Events: the events matching where
// with IDs above the last argument, and the last ID it read (the argument
// when none).
func (s *Store) eventsAfter(ctx context.Context, where string, args []any) ([]incident.EventRecord, int64, error) {
	last := args[len(args)-1].(int64)
	rows, err := s.r.QueryContext(ctx, `SELECT id, received_at, source, fingerprint, status, labels, annotations,
		group_labels, receiver, generator_url, starts_at, ends_at, transition, rule, correlation_key, incident_id
		FROM events`+where+` AND id > ? ORDER BY id LIMIT ?`, append(args, eventsChunk)...)
	if err != nil {
		return nil, last, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []incident.EventRecord
	for rows.Next() {
		var e incident.EventRecord
		var received int64
		var labels, ann string
		var group sql.NullString
		var starts, ends, incID sql.NullInt64
		if err := rows.Scan(&last, &received, &e.Source, &e.Fingerprint, &e.Status, &labels, &ann, &group, &e.Receiver,
			&e.GeneratorURL, &starts, &ends, &e.Transition, &e.Rule, &e.Key, &incID); err != nil {
			return nil, last, fmt.Errorf("scan event: %w", err)
		}
		if err := json.Unmarshal([]byte(labels), &e.Labels); err != nil {
			return nil, last, fmt.Errorf("decode event labels: %w", err)
		}
		if err := json.Unmarshal([]byte(ann), &e.Annotations); err != nil {
			return nil, last, fmt.Errorf("decode event annotations: %w", err)
		}
		if group.Valid {
			if err := json.Unmarshal([]byte(group.String), &e.GroupLabels); err != nil {
				return nil, last, fmt.Errorf("decode event group labels: %w", err)
			}
		}
		e.ReceivedAt, e.StartsAt, e.EndsAt = time.Unix(0, received).UTC(), fromNanos(starts), fromNanos(ends)
		e.IncidentID = incID.Int64
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, last, fmt.Errorf("list events: %w", err)
	}
	return out, last, nil
}

// IncidentByKey returns the incident that owns a correlation key, as the
// writer sees it (tx.IncidentByKey), or incident.ErrNotFound.
func (s *Store) IncidentByKey(ctx context.Context, key string) (incident.Incident, error) {
	return incidentByKey(func(q string) scanner { return s.r.QueryRowContext(ctx, q, key) })
}

// Changes lists changes newest first by ID, the order its cursor
// (f.AfterID) continues: a change reported late lists before older ones
// that started after it.
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
	rows, err := s.r.QueryContext(ctx, q, args...)
	return collect(rows, err, "list changes", scanChange)
}

// IncidentChanges returns the changes linked to an incident, by rank.
func (s *Store) IncidentChanges(ctx context.Context, incidentID int64) ([]incident.ChangeLink, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT ic.rank, ic.reason, c.id, c.source, c.external_id, c.service, c.summary,
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
	rows, err := s.r.QueryContext(ctx, `SELECT s.change_id, s.rank, s.reason, s.n, `+incidentColumns+` FROM (
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
	rows, err := s.r.QueryContext(ctx, `SELECT fingerprint, source, status, starts_at, ends_at, incident_id, last_seen_at
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

// qSLABreaches reads the breached incidents' counts by target and
// priority that the writer's triggers keep (incident_counts, migration
// 0029).
const qSLABreaches = `SELECT CASE kind WHEN 'respond_breached' THEN 'respond' ELSE 'resolve' END, priority, n
	FROM incident_counts WHERE kind IN ('respond_breached', 'resolve_breached') AND n <> 0`

// SLABreaches counts the missed SLA targets of all incidents, by target
// ("respond", "resolve") and priority. Marks are never removed, so the
// counts only grow: they back a counter.
func (s *Store) SLABreaches(ctx context.Context) (map[[2]string]int, error) {
	rows, err := s.r.QueryContext(ctx, qSLABreaches)
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

// collect scans every row of a query with scan; err is the query's own, and
// what names the query in errors.
func collect[T any](rows *sql.Rows, err error, what string, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
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
	return scanMaintenance(s.r.QueryRowContext(ctx, qActiveMaintenance, service, at.UnixNano(), at.UnixNano()))
}

// IncidentAlerts returns an incident's alerts (as Alerts).
func (s *Store) IncidentAlerts(ctx context.Context, incidentID int64) ([]incident.Alert, error) {
	return s.Alerts(ctx, incidentID)
}

var _ incident.PlacementReader = (*Store)(nil)

// IncidentCounts counts the incidents f matches by state, whatever its
// States, AfterID and Limit say: the list's counts by state.
func (s *Store) IncidentCounts(ctx context.Context, f incident.IncidentFilter) (map[incident.State]int, error) {
	c := incidentConds(f)
	if searchable(f.Query) {
		// The search index names the candidates when they are few; when
		// most incidents match, reading them all in table order is
		// cheaper than looking each one up by the index's list.
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM incident_search
			WHERE incident_search MATCH ? LIMIT ?)`, ftsPhrase(f.Query), searchIndexedCount).Scan(&n); err != nil {
			return nil, fmt.Errorf("count incidents: %w", err)
		}
		if n < searchIndexedCount {
			c.add("id IN (SELECT rowid FROM incident_search WHERE incident_search MATCH ? UNION ALL "+searchTail+")",
				ftsPhrase(f.Query))
		}
	}
	where, args := c.where()
	rows, err := s.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM incidents`+where+` GROUP BY state`, args...)
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

// IncidentsVersion changes whenever an incident is created or changed:
// the web UI's live list polls it (an ETag) before it renders anything. A
// trigger counts every insert and update of an incident (migration 0008).
func (s *Store) IncidentsVersion(ctx context.Context) (string, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT n FROM incidents_version WHERE id = 1`).Scan(&n); err != nil {
		return "", fmt.Errorf("incidents version: %w", err)
	}
	return fmt.Sprintf("v%d", n), nil
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
		c.add("(instr(lower(title), lower(?)) > 0 OR instr(correlation_key, ?) > 0)", f.Query, f.Query)
	}
	return c
}

// searchIndexedCount is how many candidates the search index may name for
// IncidentCounts to count through it; with more, it scans the table.
const searchIndexedCount = 2000

// searchable reports whether the search index can answer a query: it
// holds trigrams, so a query of fewer than three characters has none (and
// matches so many incidents that a scan fills a page at once).
func searchable(q string) bool { return utf8.RuneCountInString(q) >= 3 }

// ftsPhrase quotes q as one FTS5 phrase: with the trigram tokenizer, the
// rows that contain q as a substring (case-insensitively), whatever
// characters q holds.
func ftsPhrase(q string) string { return `"` + strings.ReplaceAll(q, `"`, `""`) + `"` }
