package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

const episodeColumns = `id, source, fingerprint, starts_at, ends_at, incident_id, correlation_key`

func scanEpisode(row scanner) (incident.Episode, error) {
	var e incident.Episode
	var starts int64
	var ends, inc sql.NullInt64
	err := row.Scan(&e.ID, &e.Source, &e.Fingerprint, &starts, &ends, &inc, &e.Key)
	if errors.Is(err, sql.ErrNoRows) {
		return e, incident.ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("scan episode: %w", err)
	}
	e.StartsAt, e.EndsAt, e.IncidentID = time.Unix(0, starts).UTC(), fromNanos(ends), inc.Int64
	return e, nil
}

func (t *tx) PutEpisode(ctx context.Context, e *incident.Episode) error {
	if e.ID == 0 {
		err := t.r.queryRow(ctx, `INSERT INTO alert_episodes (source, fingerprint, starts_at, ends_at, incident_id,
			correlation_key) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, e.Source, e.Fingerprint, e.StartsAt.UnixNano(),
			nanos(e.EndsAt), nullID(e.IncidentID), e.Key).Scan(&e.ID)
		if err != nil {
			return mapErr("insert episode", err)
		}
		return nil
	}
	res, err := t.r.exec(ctx, `UPDATE alert_episodes SET starts_at = ?, ends_at = ?, incident_id = ?,
		correlation_key = ? WHERE id = ?`, e.StartsAt.UnixNano(), nanos(e.EndsAt), nullID(e.IncidentID), e.Key, e.ID)
	if err != nil {
		return mapErr("update episode", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update episode %d: %w", e.ID, incident.ErrNotFound)
	}
	return nil
}

func (t *tx) RecordEpisode(ctx context.Context, e *incident.Episode) error {
	var ends sql.NullInt64
	err := t.r.queryRow(ctx, `INSERT INTO alert_episodes (source, fingerprint, starts_at, ends_at, incident_id,
			correlation_key) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, fingerprint, starts_at) DO UPDATE SET
			ends_at = COALESCE(EXCLUDED.ends_at, alert_episodes.ends_at),
			incident_id = EXCLUDED.incident_id, correlation_key = EXCLUDED.correlation_key
		RETURNING id, ends_at`, e.Source, e.Fingerprint, e.StartsAt.UnixNano(), nanos(e.EndsAt),
		nullID(e.IncidentID), e.Key).Scan(&e.ID, &ends)
	if err != nil {
		return mapErr("record episode", err)
	}
	e.EndsAt = fromNanos(ends)
	return nil
}

func (t *tx) EpisodeNear(ctx context.Context, source, fp string, at time.Time, within time.Duration) (incident.Episode, error) {
	n := at.UnixNano()
	return scanEpisode(t.r.queryRow(ctx, `SELECT `+episodeColumns+` FROM alert_episodes
		WHERE source = ? AND fingerprint = ? AND starts_at BETWEEN ? AND ?
		ORDER BY abs(starts_at - ?), starts_at LIMIT 1`, source, fp, n-int64(within), n+int64(within), n))
}

// nextChunk is how many alerts one NextEpisodes statement asks about.
const nextChunk = 200

// NextEpisodes asks for up to nextChunk alerts' next episodes in one
// statement: regrouping a key's incidents asks for every open episode of
// them, one round trip each before (12 statements per alert of the mixed
// bench traffic).
func (t *tx) NextEpisodes(ctx context.Context, after []incident.Episode) ([]incident.Episode, error) {
	out := make([]incident.Episode, len(after))
	for lo := 0; lo < len(after); lo += nextChunk {
		c := after[lo:min(len(after), lo+nextChunk)]
		args := make([]any, 0, 4*len(c))
		for i, e := range c {
			args = append(args, lo+i, e.Source, e.Fingerprint, e.StartsAt.UnixNano())
		}
		rows, err := t.r.query(ctx, `SELECT v.i, e.id, e.source, e.fingerprint, e.starts_at, e.ends_at, e.incident_id, e.correlation_key
			FROM (VALUES `+strings.TrimSuffix(strings.Repeat("(?::bigint, ?, ?, ?::bigint), ", len(c)), ", ")+`)
				AS v (i, source, fingerprint, after)
			CROSS JOIN LATERAL (SELECT `+episodeColumns+` FROM alert_episodes
				WHERE source = v.source AND fingerprint = v.fingerprint AND starts_at > v.after
				ORDER BY starts_at LIMIT 1) e`, args...)
		if err != nil {
			return nil, fmt.Errorf("select next episodes: %w", err)
		}
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				var i int
				e, err := scanEpisode(indexed{rows, &i})
				if err != nil {
					return err
				}
				out[i] = e
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("select next episodes: %w", err)
		}
	}
	return out, nil
}

func (t *tx) Episodes(ctx context.Context, incidentIDs []int64) ([]incident.Episode, error) {
	if len(incidentIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(incidentIDs))
	for i, id := range incidentIDs {
		args[i] = id
	}
	rows, err := t.r.query(ctx, `SELECT `+episodeColumns+` FROM alert_episodes
		WHERE incident_id IN (`+placeholders(len(incidentIDs))+`) ORDER BY starts_at, source, fingerprint`, args...)
	return collect(rows, err, "select episodes", scanEpisode)
}

// keyIncidentsWhere are KeyIncidents' conditions: key, to, from.
const keyIncidentsWhere = `correlation_key = ? AND merged_into IS NULL AND state <> 'closed'
		AND COALESCE(impact_started_at, opened_at, last_event_at) <= ?
		AND (resolved_at IS NULL OR state IN ('pending', 'open', 'acknowledged') OR resolved_at >= ?)`

func (t *tx) KeyIncidents(ctx context.Context, key string, from, to time.Time) ([]incident.Incident, error) {
	rows, err := t.r.query(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE `+keyIncidentsWhere+`
		ORDER BY COALESCE(impact_started_at, opened_at, last_event_at), id`, key, to.UnixNano(), from.UnixNano())
	return collect(rows, err, "select incidents of key", scanIncident)
}

func (t *tx) OtherKeyIncident(ctx context.Context, key string, except int64, from, to time.Time) (bool, error) {
	var found bool
	err := t.r.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incidents WHERE `+keyIncidentsWhere+` AND id <> ?)`,
		key, to.UnixNano(), from.UnixNano(), except).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("other incidents of key: %w", err)
	}
	return found, nil
}

func (t *tx) HoldingEpisode(ctx context.Context, incidentID, except int64, by time.Time) (time.Time, bool, error) {
	var first sql.NullInt64
	var open bool
	if err := t.r.queryRow(ctx, qHoldingEpisode, incidentID, incidentID, by.UnixNano(), except).Scan(&first, &open); err != nil {
		return time.Time{}, false, fmt.Errorf("episodes of incident %d: %w", incidentID, err)
	}
	return fromNanos(first), open, nil
}

// qHoldingEpisode reads the incident's first entry in its index by start,
// then its open episodes (alert_episodes_open) up to by, and stops at the
// first whose alert fired no later episode.
const qHoldingEpisode = `SELECT (SELECT MIN(starts_at) FROM alert_episodes WHERE incident_id = ?),
	EXISTS (SELECT 1 FROM alert_episodes e
		WHERE e.incident_id = ? AND e.ends_at IS NULL AND e.starts_at <= ? AND e.id <> ?
		AND NOT EXISTS (SELECT 1 FROM alert_episodes n
			WHERE n.source = e.source AND n.fingerprint = e.fingerprint AND n.starts_at > e.starts_at))`

func (t *tx) AlertSpan(ctx context.Context, incidentID int64) (start, end time.Time, err error) {
	var s, e sql.NullInt64
	err = t.r.queryRow(ctx, `SELECT MIN(starts_at), MAX(ends_at) FROM alert_episodes WHERE incident_id = ?`,
		incidentID).Scan(&s, &e)
	if err != nil {
		return start, end, fmt.Errorf("span of incident %d: %w", incidentID, err)
	}
	return fromNanos(s), fromNanos(e), nil
}

func (t *tx) DeleteAlert(ctx context.Context, incidentID int64, source, fp string) error {
	_, err := t.r.exec(ctx, `DELETE FROM alerts WHERE incident_id = ? AND source = ? AND fingerprint = ?`,
		incidentID, source, fp)
	if err != nil {
		return mapErr("delete alert", err)
	}
	return nil
}

func (t *tx) IncidentAlerts(ctx context.Context, incidentID int64) ([]incident.Alert, error) {
	rows, err := t.r.query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE incident_id = ?
		ORDER BY first_seen_at, fingerprint, source`, incidentID)
	return collect(rows, err, "select alerts", scanAlert)
}

// AlertHistory returns the latest firings (at most perAlert each, newest
// first) of the alerts an incident holds, in whichever incident they
// happened: the firing history the incident page draws.
func (s *Store) AlertHistory(ctx context.Context, incidentID int64, perAlert int) ([]incident.Episode, error) {
	rows, err := s.r.query(ctx, `SELECT `+episodeColumns+` FROM (
		SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.source, e.fingerprint ORDER BY e.starts_at DESC) AS n
		FROM alert_episodes e JOIN alerts a ON a.source = e.source AND a.fingerprint = e.fingerprint
		WHERE a.incident_id = ?) h
		WHERE n <= ? ORDER BY source, fingerprint, starts_at DESC`, incidentID, perAlert)
	return collect(rows, err, "list alert history", scanEpisode)
}

// indexed scans a row whose first column is an index into i, and the rest
// as its scanner's caller asks.
type indexed struct {
	row scanner
	i   *int
}

func (x indexed) Scan(dest ...any) error {
	return x.row.Scan(append([]any{x.i}, dest...)...)
}
