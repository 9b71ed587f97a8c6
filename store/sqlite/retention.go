package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/history"
)

func (t *tx) ClosableIncidents(ctx context.Context, resolvedBefore time.Time, limit int) ([]incident.Incident, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+incidentColumns+history.Closable, resolvedBefore.UnixNano(), limit)
	return collect(rows, err, "select incidents to close", scanIncident)
}

// DeleteHistory also forgets, with what is left of the batch's limit, the
// days before before's UTC day of event_fingerprint_days (migration 0009),
// which otherwise grows by a row per alert and day for ever. The per-day
// figures the stats read (event_days, event_fingerprint_firsts) stay
// whole. What is lost: a later first event of an alert whose days were
// all forgotten records no previous day, so a stats window reaching back
// over such a gap (longer than the retention) counts that alert twice in
// its distinct alerts.
func (t *tx) DeleteHistory(ctx context.Context, before time.Time, limit int, now time.Time) (incident.HistoryDeleted, error) {
	h, err := history.Delete(ctx, history.Conn{
		Exec: t.tx.ExecContext,
		QueryRow: func(ctx context.Context, q string, args ...any) interface{ Scan(...any) error } {
			return t.tx.QueryRowContext(ctx, q, args...)
		},
		RowID: "rowid",
	}, before, limit, now)
	if err != nil || h.Work() >= limit {
		return h, err
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM event_fingerprint_days WHERE (fingerprint, day) IN (
		SELECT fingerprint, day FROM event_fingerprint_days WHERE day < ? LIMIT ?)`,
		before.UnixNano()/nanosPerDay, limit-h.Work())
	if err != nil {
		return h, fmt.Errorf("delete fingerprint days: %w", err)
	}
	n, err := res.RowsAffected()
	h.FingerprintDays = int(n)
	return h, err
}
