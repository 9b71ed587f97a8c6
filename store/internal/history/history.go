// Package history is retention's deletion of the history of closed
// incidents (incident.Tx's DeleteHistory), which both backends share: the
// same statements, with ? placeholders, over each backend's name for a
// row's physical identity (SQLite's rowid, PostgreSQL's ctid), so that a
// batch deletes at most its limit of rows without DELETE … LIMIT, which
// neither backend offers.
package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// Closable follows the incident columns of a SELECT in ClosableIncidents:
// the resolved incidents that resolved at or before the first argument,
// at most the second, oldest resolve first (the index incidents_to_close).
const Closable = ` FROM incidents` + ClosableWhere

// ClosableWhere follows FROM incidents in Closable, for a backend that
// names the index.
const ClosableWhere = ` WHERE state = 'resolved' AND resolved_at <= ? ORDER BY resolved_at, id LIMIT ?`

// Conn is the transaction a batch runs in.
type Conn struct {
	Exec     func(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRow func(ctx context.Context, q string, args ...any) interface{ Scan(dest ...any) error }
	// RowID names a row's physical identity: "rowid" or "ctid".
	RowID string
	// Forget, when set, deletes at most limit rows a backend keeps of the
	// incident beyond the tables below, before them; it returns how many.
	Forget func(ctx context.Context, incidentID int64, limit int) (int, error)
	// Where, when set, replaces a table's condition (incident_id = ?, with
	// the incident's ID as its one argument): a backend that keeps some of
	// an incident's rows longer says which go.
	Where map[string]string
}

// tables are what an incident's history is, in the order it is deleted:
// the rows a reader of the incident shows first go first, and its events
// last. Each counts into one field of the result. The outbox is not among
// them: its dead letters go after notifications.dead_letter_retention,
// and nothing of a closed incident is pending for months.
var tables = []struct {
	name  string
	count func(*incident.HistoryDeleted) *int
}{
	{"timeline", func(h *incident.HistoryDeleted) *int { return &h.Timeline }},
	{"alerts", func(h *incident.HistoryDeleted) *int { return &h.Alerts }},
	{"alert_episodes", func(h *incident.HistoryDeleted) *int { return &h.Episodes }},
	{"alert_states", func(h *incident.HistoryDeleted) *int { return &h.AlertStates }},
	{"events", func(h *incident.HistoryDeleted) *int { return &h.Events }},
}

// Delete deletes at most limit rows (see incident.Tx.DeleteHistory).
func Delete(ctx context.Context, c Conn, before time.Time, limit int, now time.Time) (incident.HistoryDeleted, error) {
	var out incident.HistoryDeleted
	if limit <= 0 {
		return out, nil
	}
	budget := limit
	for budget > 0 {
		var id int64
		err := c.QueryRow(ctx, `SELECT id FROM incidents WHERE state = 'closed' AND history_deleted_at IS NULL
			AND closed_at < ? ORDER BY closed_at, id LIMIT 1`, before.UnixNano()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			// The events of no incident last, by the partial index
			// events_unattached of both backends.
			n, err := c.deleteRows(ctx, "events", "incident_id IS NULL AND received_at < ?", before.UnixNano(), budget)
			out.Events += n
			return out, err
		}
		if err != nil {
			return out, fmt.Errorf("select closed incident to forget: %w", err)
		}
		if c.Forget != nil {
			n, err := c.Forget(ctx, id, budget)
			if err != nil {
				return out, err
			}
			out.AlertDays += n
			if budget -= n; budget == 0 {
				return out, nil
			}
		}
		for _, t := range tables {
			where := "incident_id = ?"
			if w, ok := c.Where[t.name]; ok {
				where = w
			}
			n, err := c.deleteRows(ctx, t.name, where, id, budget)
			if err != nil {
				return out, err
			}
			*t.count(&out) += n
			if budget -= n; budget == 0 {
				return out, nil // the rest of this incident's history is the next batch's
			}
		}
		if _, err := c.Exec(ctx, `UPDATE incidents SET history_deleted_at = ? WHERE id = ?`, now.UnixNano(), id); err != nil {
			return out, fmt.Errorf("mark history of incident %d deleted: %w", id, err)
		}
		out.Incidents++
		budget-- // marking counts too, so that a batch stays short however little history each has
	}
	return out, nil
}

// deleteRows deletes at most limit rows of table matching where (with one
// argument) and returns how many it deleted.
func (c Conn) deleteRows(ctx context.Context, table, where string, arg any, limit int) (int, error) {
	res, err := c.Exec(ctx, `DELETE FROM `+table+` WHERE `+c.RowID+` IN (SELECT `+c.RowID+` FROM `+table+
		` WHERE `+where+` LIMIT ?)`, arg, limit)
	if err != nil {
		return 0, fmt.Errorf("delete from %s: %w", table, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete from %s: %w", table, err)
	}
	return int(n), nil
}
