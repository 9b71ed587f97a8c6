package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

const episodeColumns = `id, source, fingerprint, starts_at, ends_at, incident_id, correlation_key`

// The episode statements every new, refired or resolved alert runs:
// prepared once (see prepare) rather than parsed again in each transaction,
// which cost a tenth of the writer's CPU on new alerts.
const (
	qInsertEpisode = `INSERT INTO alert_episodes (alert_no, source, fingerprint, starts_at, ends_at, incident_id,
			correlation_key) VALUES (?, ?, ?, ?, ?, ?, ?)`
	qUpdateEpisode = `UPDATE alert_episodes SET starts_at = ?, ends_at = ?, incident_id = ?,
		correlation_key = ? WHERE id = ?`
	// qRecordEpisode is RecordEpisode: the insert, or the update of the
	// alert's episode with the same start.
	qRecordEpisode = `INSERT INTO alert_episodes (alert_no, source, fingerprint, starts_at, ends_at, incident_id,
			correlation_key) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (alert_no, starts_at) DO UPDATE SET
			ends_at = COALESCE(excluded.ends_at, alert_episodes.ends_at),
			incident_id = excluded.incident_id, correlation_key = excluded.correlation_key
		RETURNING id, ends_at`
	// An alert's episodes by its number (alertno.go).
	qEpisodeNear = `SELECT ` + episodeColumns + ` FROM alert_episodes
		WHERE alert_no = ? AND starts_at BETWEEN ? AND ?
		ORDER BY abs(starts_at - ?), starts_at LIMIT 1`
	qNextEpisode = `SELECT ` + episodeColumns + ` FROM alert_episodes
		WHERE alert_no = ? AND starts_at > ? ORDER BY starts_at LIMIT 1`
	// qStateEpisodeNear is qEpisodeNear for an alert whose number this
	// transaction does not know yet, found from its state in the same
	// statement: the number, then the episode's columns (episode ID 0 when
	// no episode is near); no row when the state numbered by the candidate
	// (statekeys.go) does not hold the key.
	qStateEpisodeNear = `SELECT s.alert_no, COALESCE(e.id, 0), COALESCE(e.source, ''), COALESCE(e.fingerprint, ''),
			COALESCE(e.starts_at, 0), e.ends_at, e.incident_id, COALESCE(e.correlation_key, '')
		FROM alert_states s LEFT JOIN alert_episodes e ON e.alert_no = s.alert_no AND e.starts_at BETWEEN ? AND ?
		WHERE s.alert_no = ? AND s.source = ? AND s.fingerprint = ?
		ORDER BY abs(e.starts_at - ?), e.starts_at LIMIT 1`
)

// The reads placement and regrouping run for every new incident and
// resolve, prepared once as well (Episodes for one incident, the usual
// case): parsing them was 7% of the daemon's CPU at one alert per request.
var (
	qKeyIncidents = `SELECT ` + incidentColumns + ` FROM incidents WHERE ` + keyIncidentsWhere + `
		ORDER BY COALESCE(impact_started_at, opened_at, last_event_at), id`
	// qOtherKeyIncident runs without writing the held incidents first
	// when none of them but except has the key (see OtherKeyIncident).
	qOtherKeyIncident = `SELECT EXISTS (SELECT 1 FROM incidents WHERE ` + keyIncidentsWhere + ` AND id <> ?)`
	qAlertSpan        = `SELECT MIN(starts_at), MAX(ends_at) FROM alert_episodes WHERE incident_id = ?`
	// qHoldingEpisode reads the incident's first entry in its index by
	// start, then its open episodes up to by, and stops at the first whose
	// alert fired no later episode.
	qHoldingEpisode = `SELECT (SELECT MIN(starts_at) FROM alert_episodes WHERE incident_id = ?),
		EXISTS (SELECT 1 FROM alert_episodes e INDEXED BY alert_episodes_open
			WHERE e.incident_id = ? AND e.ends_at IS NULL AND e.starts_at <= ? AND e.id <> ?
			AND NOT EXISTS (SELECT 1 FROM alert_episodes n WHERE n.alert_no = e.alert_no AND n.starts_at > e.starts_at))`
)

// keyIncidentsWhere are KeyIncidents' conditions: key, to, from.
const keyIncidentsWhere = `correlation_key = ? AND merged_into IS NULL AND state <> 'closed'
		AND COALESCE(impact_started_at, opened_at, last_event_at) <= ?
		AND (resolved_at IS NULL OR state IN ('pending', 'open', 'acknowledged') OR resolved_at >= ?)`

// episodesOf is the query of the episodes of n incidents.
func episodesOf(n int) string {
	return `SELECT ` + episodeColumns + ` FROM alert_episodes
		WHERE incident_id IN (` + placeholders(n) + `) ORDER BY starts_at, source, fingerprint`
}

func init() {
	writerQueries = append(writerQueries, qInsertEpisode, qUpdateEpisode, qRecordEpisode, qEpisodeNear, qNextEpisode, qStateEpisodeNear,
		qKeyIncidents, qOtherKeyIncident, qAlertSpan, qHoldingEpisode, episodesOf(1))
}

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
		no, err := t.numberAlert(ctx, e.Source, e.Fingerprint)
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, qInsertEpisode, no, e.Source, e.Fingerprint, e.StartsAt.UnixNano(), nanos(e.EndsAt),
			nullID(e.IncidentID), e.Key)
		if err != nil {
			return mapErr("insert episode", err)
		}
		t.episodeInserted(no)
		e.ID, err = res.LastInsertId()
		return err
	}
	res, err := t.exec(ctx, qUpdateEpisode, e.StartsAt.UnixNano(), nanos(e.EndsAt), nullID(e.IncidentID), e.Key, e.ID)
	if err != nil {
		return mapErr("update episode", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update episode %d: %w", e.ID, incident.ErrNotFound)
	}
	return nil
}

func (t *tx) RecordEpisode(ctx context.Context, e *incident.Episode) error {
	no, err := t.numberAlert(ctx, e.Source, e.Fingerprint)
	if err != nil {
		return err
	}
	// The first episode of a new alert: an insert, whose end is its own.
	id, ok, err := t.deferFirstEpisode(ctx, no, e.Source, e.Fingerprint, e.StartsAt.UnixNano(), nanos(e.EndsAt),
		nullID(e.IncidentID), e.Key)
	if err != nil {
		return fmt.Errorf("record episode: %w", err)
	}
	if ok {
		e.ID, e.EndsAt = id, endsAtAsStored(e.EndsAt)
		return nil
	}
	t.episodeInserted(no)
	var ends sql.NullInt64 // on the heap only for a statement's episode
	err = t.queryRow(ctx, qRecordEpisode, no, e.Source, e.Fingerprint, e.StartsAt.UnixNano(), nanos(e.EndsAt),
		nullID(e.IncidentID), e.Key).Scan(&e.ID, &ends)
	if err != nil {
		return mapErr("record episode", err)
	}
	e.EndsAt = fromNanos(ends)
	return nil
}

func (t *tx) EpisodeNear(ctx context.Context, source, fp string, at time.Time, within time.Duration) (incident.Episode, error) {
	n := at.UnixNano()
	k := alertKey{source, fp}
	if t.stateSettles(k) {
		// The number and the episode in one statement: this is the first
		// lookup of most events of an alert the dedupe cache held.
		return t.stateEpisodeNear(ctx, k, n-int64(within), n+int64(within), n)
	}
	no, err := t.alertNo(ctx, source, fp)
	if err != nil {
		return incident.Episode{}, err
	}
	if no == 0 {
		return incident.Episode{}, incident.ErrNotFound // no episode at all
	}
	return scanEpisode(t.queryRow(ctx, qEpisodeNear, no, n-int64(within), n+int64(within), n))
}

// stateEpisodeNear is EpisodeNear through the alert's state, which also
// tells the transaction the alert's number (none without a state: no
// orphan rows are left).
func (t *tx) stateEpisodeNear(ctx context.Context, k alertKey, from, to, at int64) (incident.Episode, error) {
	if err := t.writeBefore(ctx, deferStates, t.rows.stateKeys[k]); err != nil {
		return incident.Episode{}, err
	}
	var buf [2]int64
	for _, cand := range t.keys.lookup(k, buf[:0]) {
		var no int64
		e, err := scanEpisode(numbered{t.queryRow(ctx, qStateEpisodeNear, from, to, cand, k.source, k.fingerprint, at), &no})
		switch {
		case errors.Is(err, incident.ErrNotFound): // another key's state
			continue
		case err != nil:
			return e, err
		}
		t.know(k, no)
		if e.ID == 0 {
			return incident.Episode{}, incident.ErrNotFound
		}
		return e, nil
	}
	t.know(k, 0) // no state, so no number
	return incident.Episode{}, incident.ErrNotFound
}

// numbered scans a row of an alert's number and then an episode's
// columns, for scanEpisode.
type numbered struct {
	row scanner
	no  *int64
}

func (n numbered) Scan(dest ...any) error { return n.row.Scan(append([]any{n.no}, dest...)...) }

// NextEpisodes runs one prepared statement for each: in-process, one
// statement each costs no round trip.
func (t *tx) NextEpisodes(ctx context.Context, after []incident.Episode) ([]incident.Episode, error) {
	out := make([]incident.Episode, len(after))
	for i, e := range after {
		no, err := t.alertNo(ctx, e.Source, e.Fingerprint)
		if err != nil {
			return nil, err
		}
		if no == 0 {
			continue // no episode at all
		}
		next, err := scanEpisode(t.queryRow(ctx, qNextEpisode, no, e.StartsAt.UnixNano()))
		switch {
		case err == nil:
			out[i] = next
		case !errors.Is(err, incident.ErrNotFound):
			return nil, err
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
	rows, err := t.tx.QueryContext(ctx, episodesOf(len(incidentIDs)), args...)
	return collect(rows, err, "select episodes", scanEpisode)
}

func (t *tx) KeyIncidents(ctx context.Context, key string, from, to time.Time) ([]incident.Incident, error) {
	rows, err := t.tx.QueryContext(ctx, qKeyIncidents, key, to.UnixNano(), from.UnixNano())
	return collect(rows, err, "select incidents of key", scanIncident)
}

// OtherKeyIncident reads the incidents of key as they stand unless one
// of them but except is held: a resolve asks it with its own incident
// held, which writing first would rewrite at every alert of a resolve
// rather than once at the commit.
func (t *tx) OtherKeyIncident(ctx context.Context, key string, except int64, from, to time.Time) (bool, error) {
	if t.wb.holdsKey(key, except) {
		if err := t.flush(ctx); err != nil {
			return false, err
		}
	}
	var found bool
	err := t.queryRow(ctx, qOtherKeyIncident, key, to.UnixNano(), from.UnixNano(), except).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("other incidents of key: %w", err)
	}
	return found, nil
}

func (t *tx) HoldingEpisode(ctx context.Context, incidentID, except int64, by time.Time) (time.Time, bool, error) {
	var first sql.NullInt64
	var open bool
	if err := t.queryRow(ctx, qHoldingEpisode, incidentID, incidentID, by.UnixNano(), except).Scan(&first, &open); err != nil {
		return time.Time{}, false, fmt.Errorf("episodes of incident %d: %w", incidentID, err)
	}
	return fromNanos(first), open, nil
}

func (t *tx) AlertSpan(ctx context.Context, incidentID int64) (start, end time.Time, err error) {
	var s, e sql.NullInt64
	err = t.tx.QueryRowContext(ctx, qAlertSpan, incidentID).Scan(&s, &e)
	if err != nil {
		return start, end, fmt.Errorf("span of incident %d: %w", incidentID, err)
	}
	return fromNanos(s), fromNanos(e), nil
}

func (t *tx) DeleteAlert(ctx context.Context, incidentID int64, source, fp string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM alerts WHERE incident_id = ? AND source = ? AND fingerprint = ?`,
		incidentID, source, fp)
	if err != nil {
		return mapErr("delete alert", err)
	}
	return nil
}

func (t *tx) IncidentAlerts(ctx context.Context, incidentID int64) ([]incident.Alert, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE incident_id = ?
		ORDER BY first_seen_at, fingerprint, source`, incidentID)
	return collect(rows, err, "select alerts", scanAlert)
}

// AlertHistory returns the latest firings (at most perAlert each, newest
// first) of the alerts an incident holds, in whichever incident they
// happened: the firing history the incident page draws.
func (s *Store) AlertHistory(ctx context.Context, incidentID int64, perAlert int) ([]incident.Episode, error) {
	if s.keys == nil { // a read-only store: by key, with no index but the one SQLite makes
		rows, err := s.r.QueryContext(ctx, qAlertHistoryByKey, incidentID, perAlert)
		return collect(rows, err, "list alert history", scanEpisode)
	}
	// One snapshot for the alerts' numbers and their episodes.
	rtx, err := s.r.beginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("list alert history: %w", err)
	}
	defer rtx.Rollback() //nolint:errcheck // read only
	nos, err := incidentAlertNos(ctx, rtx, s.keys, incidentID)
	if err != nil {
		return nil, err
	}
	rows, err := rtx.QueryContext(ctx, `SELECT `+episodeColumns+` FROM (
		SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.alert_no ORDER BY e.starts_at DESC) AS n
		FROM alert_episodes e WHERE e.alert_no IN (SELECT value FROM json_each(?)))
		WHERE n <= ? ORDER BY source, fingerprint, starts_at DESC`, jsonNumbers(nos), perAlert)
	return collect(rows, err, "list alert history", scanEpisode)
}

// qAlertHistoryByKey is AlertHistory's query without the index: an
// alert's episodes are found by its number, its state's, or its orphan's
// (alertno.go).
const qAlertHistoryByKey = `SELECT ` + episodeColumns + ` FROM (
		SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.alert_no ORDER BY e.starts_at DESC) AS n
		FROM (SELECT COALESCE(
				(SELECT alert_no FROM alert_states s WHERE s.source = a.source AND s.fingerprint = a.fingerprint),
				(SELECT alert_no FROM alert_orphans o WHERE o.source = a.source AND o.fingerprint = a.fingerprint)) AS no
			FROM alerts a WHERE a.incident_id = ?) a
		JOIN alert_episodes e ON e.alert_no = a.no)
		WHERE n <= ? ORDER BY source, fingerprint, starts_at DESC`
