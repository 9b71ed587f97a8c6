package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

const outboxColumns = `id, sink, incident_id, kind, timeline_id, state, created_at, attempts, next_attempt_at, last_error`

func scanOutbox(row scanner) (incident.OutboxRow, error) {
	var r incident.OutboxRow
	var timeline sql.NullInt64
	var created, next int64
	err := row.Scan(&r.ID, &r.Sink, &r.IncidentID, &r.Kind, &timeline, &r.State, &created, &r.Attempts, &next, &r.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return r, incident.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("scan outbox row: %w", err)
	}
	r.TimelineID, r.CreatedAt, r.NextAttemptAt = timeline.Int64, time.Unix(0, created).UTC(), time.Unix(0, next).UTC()
	return r, nil
}

// The outbox statements every recorded change runs once per sink, prepared
// once (see prepare).
const (
	qInsertOutbox = `INSERT INTO outbox (sink, incident_id, kind, timeline_id, state, created_at,
		attempts, next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qPendingOutbox    = `SELECT COUNT(*) FROM outbox WHERE sink = ? AND state IN ('pending', 'held')`
	qHasPendingOutbox = `SELECT COUNT(*) FROM outbox WHERE sink = ? AND incident_id = ? AND state IN ('pending', 'held')`
)

func init() {
	writerQueries = append(writerQueries, qInsertOutbox, qPendingOutbox, qHasPendingOutbox)
}

func (t *tx) AddOutbox(ctx context.Context, r *incident.OutboxRow) error {
	res, err := t.exec(ctx, qInsertOutbox, r.Sink, r.IncidentID, r.Kind,
		nullID(r.TimelineID), r.State, r.CreatedAt.UnixNano(), r.Attempts, r.NextAttemptAt.UnixNano(), r.LastError)
	if err != nil {
		return mapErr("insert outbox row", err)
	}
	r.ID, err = res.LastInsertId()
	return err
}

func (t *tx) PendingOutbox(ctx context.Context, sink string) (int, error) {
	var n int
	err := t.queryRow(ctx, qPendingOutbox, sink).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count outbox of %s: %w", sink, err)
	}
	return n, nil
}

func (t *tx) HasPendingOutbox(ctx context.Context, sink string, incidentID int64) (bool, error) {
	var n int
	err := t.queryRow(ctx, qHasPendingOutbox, sink, incidentID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("outbox of incident %d: %w", incidentID, err)
	}
	return n > 0, nil
}

func (t *tx) ReleaseHeld(ctx context.Context, incidentID int64, kind incident.NotifyKind, now time.Time) (int, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT DISTINCT sink FROM outbox WHERE incident_id = ? AND state = 'held' ORDER BY sink`, incidentID)
	sinks, err := collect(rows, err, "select held sinks", func(r scanner) (string, error) {
		var s string
		return s, r.Scan(&s)
	})
	if err != nil || len(sinks) == 0 {
		return 0, err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM outbox WHERE incident_id = ? AND state = 'held'`, incidentID); err != nil {
		return 0, mapErr("drop held outbox rows", err)
	}
	for _, s := range sinks {
		r := incident.OutboxRow{Sink: s, IncidentID: incidentID, Kind: kind, State: incident.OutboxPending, CreatedAt: now, NextAttemptAt: now}
		if err := t.AddOutbox(ctx, &r); err != nil {
			return 0, err
		}
	}
	return len(sinks), nil
}

// HeldIncidents returns the incidents with held notifications.
func (t *tx) HeldIncidents(ctx context.Context) ([]int64, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT DISTINCT incident_id FROM outbox WHERE state = 'held' ORDER BY incident_id`)
	return collect(rows, err, "select held incidents", func(r scanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})
}

// DeleteOutbox removes delivered (or coalesced) rows.
func (t *tx) DeleteOutbox(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	_, err := t.tx.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return mapErr("delete outbox rows", err)
	}
	return nil
}

// RescheduleOutbox records a failed attempt: the row is tried again at next,
// or, when dead, kept as a dead letter.
func (t *tx) RescheduleOutbox(ctx context.Context, id int64, attempts int, next time.Time, lastErr string, dead bool) error {
	state := incident.OutboxPending
	if dead {
		state = incident.OutboxDead
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, state = ? WHERE id = ?`,
		attempts, next.UnixNano(), lastErr, state, id)
	if err != nil {
		return mapErr("reschedule outbox row", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("outbox row %d: %w", id, incident.ErrNotFound)
	}
	return nil
}

// ReplayOutbox puts a dead letter back in line, due at now. It returns
// incident.ErrNotFound for an unknown row and incident.ErrConflict for a
// row that is not dead.
func (t *tx) ReplayOutbox(ctx context.Context, id int64, now time.Time) (incident.OutboxRow, error) {
	r, err := scanOutbox(t.tx.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	if err != nil {
		return r, err
	}
	if r.State != incident.OutboxDead {
		return r, fmt.Errorf("outbox row %d is %s, not dead: %w", id, r.State, incident.ErrConflict)
	}
	r.State, r.Attempts, r.NextAttemptAt, r.CreatedAt = incident.OutboxPending, 0, now, now
	_, err = t.tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, created_at = ? WHERE id = ?`,
		now.UnixNano(), now.UnixNano(), id)
	if err != nil {
		return r, mapErr("replay outbox row", err)
	}
	return r, nil
}

// PurgeDeadOutbox forgets at most limit dead letters that died before
// before, and returns how many.
func (t *tx) PurgeDeadOutbox(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
		WHERE state = 'dead' AND next_attempt_at < ? ORDER BY id LIMIT ?)`, before.UnixNano(), limit)
	if err != nil {
		return 0, mapErr("purge dead letters", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PutTicket records what a sink made of an incident.
func (t *tx) PutTicket(ctx context.Context, tk incident.Ticket) error {
	data, err := json.Marshal(nonNil(tk.Data))
	if err != nil {
		return fmt.Errorf("encode ticket data: %w", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO tickets (incident_id, sink, external_id, url, data, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, sink) DO UPDATE SET external_id = excluded.external_id,
		url = excluded.url, data = excluded.data, updated_at = excluded.updated_at`,
		tk.IncidentID, tk.Sink, tk.ExternalID, tk.URL, string(data), tk.UpdatedAt.UnixNano())
	if err != nil {
		return mapErr("upsert ticket", err)
	}
	return nil
}

// DueOutbox returns, for sink, the head row of each incident (the oldest
// pending one: rows go out in order per incident) that is due at now,
// soonest first, at most limit.
func (s *Store) DueOutbox(ctx context.Context, sink string, now time.Time, limit int) ([]incident.OutboxRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox o
		WHERE sink = ? AND state = 'pending' AND next_attempt_at <= ?
		AND id = (SELECT MIN(id) FROM outbox p WHERE p.sink = o.sink AND p.incident_id = o.incident_id AND p.state = 'pending')
		ORDER BY next_attempt_at, id LIMIT ?`, sink, now.UnixNano(), limit)
	return collect(rows, err, "select due outbox rows", scanOutbox)
}

// OutboxAfter returns the pending rows of sink for an incident after row
// id, in order.
func (s *Store) OutboxAfter(ctx context.Context, sink string, incidentID, id int64) ([]incident.OutboxRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE sink = ? AND incident_id = ? AND state = 'pending' AND id > ? ORDER BY id`, sink, incidentID, id)
	return collect(rows, err, "select outbox rows", scanOutbox)
}

// OutboxRows lists rows in a state (all states when empty), newest first,
// continuing after the row afterID (0: from the newest), at most limit.
func (s *Store) OutboxRows(ctx context.Context, state incident.OutboxState, afterID int64, limit int) ([]incident.OutboxRow, error) {
	var c conds
	if state != "" {
		c.add("state = ?", state)
	}
	q, args := c.newestFirst(`SELECT `+outboxColumns+` FROM outbox`, afterID, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	return collect(rows, err, "list outbox", scanOutbox)
}

// OutboxStats counts each sink's rows by state, and its oldest waiting row.
// qOutboxStats reads the counts the writer's triggers keep
// (outbox_counts, migration 0030) and each sink's first entry of
// outbox_pending_age: counted from the outbox's rows, a scrape read every
// row's entry, more the longer a sink was down.
const qOutboxStats = `SELECT c.sink, c.state, c.n, CASE WHEN c.state = 'pending'
		THEN (SELECT MIN(o.created_at) FROM outbox o WHERE o.sink = c.sink AND o.state = 'pending') END
	FROM outbox_counts c WHERE c.n <> 0`

func (s *Store) OutboxStats(ctx context.Context) (map[string]incident.OutboxStats, error) {
	rows, err := s.r.QueryContext(ctx, qOutboxStats)
	if err != nil {
		return nil, fmt.Errorf("outbox stats: %w", err)
	}
	defer rows.Close()
	out := map[string]incident.OutboxStats{}
	for rows.Next() {
		var sink, state string
		var n int
		var oldest sql.NullInt64
		if err := rows.Scan(&sink, &state, &n, &oldest); err != nil {
			return nil, fmt.Errorf("outbox stats: %w", err)
		}
		st := out[sink]
		switch incident.OutboxState(state) {
		case incident.OutboxPending:
			st.Pending = n
		case incident.OutboxHeld:
			st.Held = n
		case incident.OutboxDead:
			st.Dead = n
		}
		if state == string(incident.OutboxPending) && oldest.Valid {
			st.Oldest = time.Unix(0, oldest.Int64).UTC()
		}
		out[sink] = st
	}
	return out, rows.Err()
}

// Ticket returns what sink made of an incident, or incident.ErrNotFound.
func (s *Store) Ticket(ctx context.Context, incidentID int64, sink string) (incident.Ticket, error) {
	return scanTicket(s.r.QueryRowContext(ctx, `SELECT incident_id, sink, external_id, url, data, updated_at
		FROM tickets WHERE incident_id = ? AND sink = ?`, incidentID, sink))
}

// Tickets returns what every sink made of an incident, by sink.
func (s *Store) Tickets(ctx context.Context, incidentID int64) ([]incident.Ticket, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT incident_id, sink, external_id, url, data, updated_at
		FROM tickets WHERE incident_id = ? ORDER BY sink`, incidentID)
	return collect(rows, err, "list tickets", scanTicket)
}

// TicketByExternalID returns the ticket a sink keeps under an external ID
// (a callback names it so), or incident.ErrNotFound.
func (s *Store) TicketByExternalID(ctx context.Context, sink, externalID string) (incident.Ticket, error) {
	return scanTicket(s.r.QueryRowContext(ctx, `SELECT incident_id, sink, external_id, url, data, updated_at
		FROM tickets WHERE sink = ? AND external_id = ?`, sink, externalID))
}

func scanTicket(row scanner) (incident.Ticket, error) {
	var tk incident.Ticket
	var data string
	var updated int64
	err := row.Scan(&tk.IncidentID, &tk.Sink, &tk.ExternalID, &tk.URL, &data, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return tk, incident.ErrNotFound
	}
	if err != nil {
		return tk, fmt.Errorf("scan ticket: %w", err)
	}
	if err := json.Unmarshal([]byte(data), &tk.Data); err != nil {
		return tk, fmt.Errorf("decode ticket data: %w", err)
	}
	tk.UpdatedAt = time.Unix(0, updated).UTC()
	return tk, nil
}

// TimelineEntry returns one timeline entry, or incident.ErrNotFound.
func (s *Store) TimelineEntry(ctx context.Context, id int64) (incident.TimelineEntry, error) {
	e, err := scanTimeline(s.r.QueryRowContext(ctx, `SELECT id, incident_id, at, kind, actor, on_behalf_of, fingerprint, message
		FROM timeline WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, incident.ErrNotFound
	}
	return e, err
}
