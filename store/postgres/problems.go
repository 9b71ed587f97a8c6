package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

const problemColumns = `id, name, signature, state, title, root_cause, workaround, first_seen_at, last_seen_at,
	incident_count, opened_at, resolved_at, closed_at, updated_at`

const qProblemByID = `SELECT ` + problemColumns + ` FROM problems WHERE id = ?`

func (t *tx) Problem(ctx context.Context, id int64) (incident.Problem, error) {
	p, err := scanProblem(t.r.queryRow(ctx, qProblemByID, id))
	if errors.Is(err, incident.ErrNotFound) {
		return p, fmt.Errorf("problem %d: %w", id, err)
	}
	return p, err
}

func (t *tx) ProblemBySignature(ctx context.Context, signature string) (incident.Problem, error) {
	return scanProblem(t.r.queryRow(ctx, `SELECT `+problemColumns+` FROM problems WHERE signature = ? ORDER BY id DESC LIMIT 1`, signature))
}

func (t *tx) CreateProblem(ctx context.Context, p *incident.Problem) error {
	err := t.r.queryRow(ctx, `INSERT INTO problems (name, signature, state, title, root_cause, workaround, first_seen_at,
		last_seen_at, incident_count, opened_at, resolved_at, closed_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, p.Name, p.Signature, p.State, p.Title, p.RootCause,
		p.Workaround, p.FirstSeenAt.UnixNano(), p.LastSeenAt.UnixNano(), p.IncidentCount, p.OpenedAt.UnixNano(),
		nanos(p.ResolvedAt), nanos(p.ClosedAt), p.UpdatedAt.UnixNano()).Scan(&p.ID)
	if err != nil {
		return mapErr("insert problem", err)
	}
	return nil
}

func (t *tx) UpdateProblem(ctx context.Context, p incident.Problem) error {
	res, err := t.r.exec(ctx, `UPDATE problems SET state = ?, title = ?, root_cause = ?, workaround = ?, first_seen_at = ?,
		last_seen_at = ?, incident_count = ?, opened_at = ?, resolved_at = ?, closed_at = ?, updated_at = ?
		WHERE id = ?`, p.State, p.Title, p.RootCause, p.Workaround, p.FirstSeenAt.UnixNano(),
		p.LastSeenAt.UnixNano(), p.IncidentCount, p.OpenedAt.UnixNano(), nanos(p.ResolvedAt), nanos(p.ClosedAt),
		p.UpdatedAt.UnixNano(), p.ID)
	if err != nil {
		return mapErr("update problem", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update problem %d: %w", p.ID, incident.ErrNotFound)
	}
	return nil
}

func (t *tx) AddProblemEntry(ctx context.Context, e *incident.ProblemEntry) error {
	err := t.r.queryRow(ctx, `INSERT INTO problem_timeline (problem_id, at, kind, actor, on_behalf_of, message)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, e.ProblemID, e.At.UnixNano(), e.Kind, e.Actor, e.OnBehalfOf, e.Message).Scan(&e.ID)
	if err != nil {
		return mapErr("insert problem timeline", err)
	}
	return nil
}

func (t *tx) AddIncidentSignature(ctx context.Context, s incident.IncidentSignature) error {
	if _, err := t.r.exec(ctx, `INSERT INTO incident_signatures (incident_id, problem_rule, signature, opened_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (incident_id, problem_rule) DO UPDATE SET signature = excluded.signature, opened_at = excluded.opened_at`,
		s.IncidentID, s.ProblemRule, s.Signature, s.OpenedAt.UnixNano()); err != nil {
		return mapErr("upsert incident signature", err)
	}
	return nil
}

func (t *tx) UnlinkedSignatures(ctx context.Context, signature string, since time.Time) ([]incident.IncidentSignature, error) {
	rows, err := t.r.query(ctx, `SELECT s.incident_id, s.problem_rule, s.signature, s.opened_at
		FROM incident_signatures s JOIN incidents i ON i.id = s.incident_id
		WHERE s.signature = ? AND s.opened_at >= ? AND i.problem_id IS NULL
		ORDER BY s.opened_at, s.incident_id`, signature, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("select incident signatures: %w", err)
	}
	defer rows.Close()
	var out []incident.IncidentSignature
	for rows.Next() {
		var s incident.IncidentSignature
		var opened int64
		if err := rows.Scan(&s.IncidentID, &s.ProblemRule, &s.Signature, &opened); err != nil {
			return nil, fmt.Errorf("scan incident signature: %w", err)
		}
		s.OpenedAt = time.Unix(0, opened).UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *tx) SetIncidentProblem(ctx context.Context, incidentID, problemID int64) error {
	res, err := t.r.exec(ctx, `UPDATE incidents SET problem_id = ? WHERE id = ?`, nullID(problemID), incidentID)
	if err != nil {
		return mapErr("link incident to problem", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("link incident %d to problem %d: %w", incidentID, problemID, incident.ErrNotFound)
	}
	return nil
}

func scanProblem(row scanner) (incident.Problem, error) {
	var p incident.Problem
	var first, last, opened, updated int64
	var resolved, closed sql.NullInt64
	err := row.Scan(&p.ID, &p.Name, &p.Signature, &p.State, &p.Title, &p.RootCause, &p.Workaround, &first, &last,
		&p.IncidentCount, &opened, &resolved, &closed, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, incident.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("scan problem: %w", err)
	}
	p.FirstSeenAt, p.LastSeenAt = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	p.OpenedAt, p.UpdatedAt = time.Unix(0, opened).UTC(), time.Unix(0, updated).UTC()
	p.ResolvedAt, p.ClosedAt = fromNanos(resolved), fromNanos(closed)
	return p, nil
}

// Problem returns one problem, or incident.ErrNotFound.
func (s *Store) Problem(ctx context.Context, id int64) (incident.Problem, error) {
	p, err := scanProblem(s.r.queryRow(ctx, `SELECT `+problemColumns+` FROM problems WHERE id = ?`, id))
	if errors.Is(err, incident.ErrNotFound) {
		return p, fmt.Errorf("problem %d: %w", id, err)
	}
	return p, err
}

// Problems lists problems newest first.
func (s *Store) Problems(ctx context.Context, f incident.ProblemFilter) ([]incident.Problem, error) {
	var c conds
	in(&c, "state", f.States)
	if f.Signature != "" {
		c.add("signature = ?", f.Signature)
	}
	q, args := c.newestFirst(`SELECT `+problemColumns+` FROM problems`, f.AfterID, f.Limit)
	rows, err := s.r.query(ctx, q, args...)
	return collect(rows, err, "list problems", scanProblem)
}

// ProblemIncidents returns the incidents linked to a problem, oldest first.
func (s *Store) ProblemIncidents(ctx context.Context, id int64) ([]incident.Incident, error) {
	rows, err := s.r.query(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE problem_id = ? ORDER BY id`, id)
	return collect(rows, err, "list problem incidents", scanIncident)
}

// ProblemFigures returns, for each of the problems that has incidents,
// its worst incident priority and its total downtime at now; a problem
// without incidents is absent.
func (s *Store) ProblemFigures(ctx context.Context, ids []int64, now time.Time) (map[int64]incident.ProblemFigures, error) {
	out := make(map[int64]incident.ProblemFigures, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var c conds
	in(&c, "problem_id", ids)
	where, args := c.where()
	// An incident merged into another counts in that one; a pending one
	// (never opened) had no impact yet.
	rows, err := s.r.query(ctx, `SELECT problem_id, MIN(priority),
		CAST(COALESCE(SUM(CASE WHEN merged_into IS NULL AND COALESCE(impact_started_at, opened_at) IS NOT NULL
			THEN GREATEST(COALESCE(resolved_at, ?) - COALESCE(impact_started_at, opened_at), 0) ELSE 0 END), 0) AS BIGINT)
		FROM incidents`+where+` GROUP BY problem_id`, append([]any{now.UnixNano()}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("problem figures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, downtime int64
		var p int
		if err := rows.Scan(&id, &p, &downtime); err != nil {
			return nil, fmt.Errorf("scan problem figures: %w", err)
		}
		out[id] = incident.ProblemFigures{Priority: incident.Priority(p), Downtime: time.Duration(downtime)}
	}
	return out, rows.Err()
}

// ActiveProblemIncidents returns the open and acknowledged incidents
// linked to a problem, oldest first.
func (t *tx) ActiveProblemIncidents(ctx context.Context, problemID int64) ([]incident.Incident, error) {
	rows, err := t.r.query(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE problem_id = ? AND state IN ('open', 'acknowledged') AND merged_into IS NULL ORDER BY id`, problemID)
	return collect(rows, err, "list active problem incidents", scanIncident)
}

// ProblemTimeline returns a problem's timeline, oldest first.
func (s *Store) ProblemTimeline(ctx context.Context, id int64) ([]incident.ProblemEntry, error) {
	rows, err := s.r.query(ctx, `SELECT id, problem_id, at, kind, actor, on_behalf_of, message
		FROM problem_timeline WHERE problem_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("list problem timeline: %w", err)
	}
	defer rows.Close()
	var out []incident.ProblemEntry
	for rows.Next() {
		var e incident.ProblemEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.ProblemID, &at, &e.Kind, &e.Actor, &e.OnBehalfOf, &e.Message); err != nil {
			return nil, fmt.Errorf("scan problem timeline: %w", err)
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// QuietProblems returns the problems of rule name in one of states whose
// latest incident opened at or before quietSince and none of whose
// incidents is active, or was resolved after quietSince, oldest first.
func (t *tx) QuietProblems(ctx context.Context, name string, states []incident.ProblemState, quietSince time.Time) ([]incident.Problem, error) {
	if len(states) == 0 {
		return nil, nil
	}
	var c conds
	c.add("name = ?", name)
	in(&c, "state", states)
	since := quietSince.UnixNano()
	c.add("last_seen_at <= ?", since)
	// Quiet is also quiet since the last incident ended: a problem whose
	// incident ran for weeks was not quiet while it did.
	c.add(`NOT EXISTS (SELECT 1 FROM incidents i WHERE i.problem_id = problems.id
		AND (i.state IN ('pending', 'open', 'acknowledged') OR i.resolved_at > ?))`, since)
	where, args := c.where()
	rows, err := t.r.query(ctx, `SELECT `+problemColumns+` FROM problems`+where+` ORDER BY id`, args...)
	return collect(rows, err, "select quiet problems", scanProblem)
}

// ResolvedProblems returns the resolved problems of rule name resolved at
// or before before, oldest first.
func (t *tx) ResolvedProblems(ctx context.Context, name string, before time.Time) ([]incident.Problem, error) {
	rows, err := t.r.query(ctx, `SELECT `+problemColumns+` FROM problems
		WHERE name = ? AND state = 'resolved' AND resolved_at <= ? ORDER BY id`, name, before.UnixNano())
	return collect(rows, err, "select resolved problems", scanProblem)
}

// ProblemCounts returns how many problems each problem rule has in each
// state, and their incidents, by rule and state.
func (s *Store) ProblemCounts(ctx context.Context) ([]incident.ProblemCount, error) {
	rows, err := s.r.query(ctx, `SELECT name, state, COUNT(*), CAST(COALESCE(SUM(incident_count), 0) AS BIGINT)
		FROM problems GROUP BY name, state ORDER BY name, state`)
	if err != nil {
		return nil, fmt.Errorf("count problems: %w", err)
	}
	defer rows.Close()
	var out []incident.ProblemCount
	for rows.Next() {
		var c incident.ProblemCount
		var incs int64
		if err := rows.Scan(&c.Rule, &c.State, &c.Problems, &incs); err != nil {
			return nil, fmt.Errorf("scan problem count: %w", err)
		}
		c.Incidents = int(incs)
		out = append(out, c)
	}
	return out, rows.Err()
}
