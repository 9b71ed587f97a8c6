package postgres

import (
	"context"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/history"
)

func (t *tx) ClosableIncidents(ctx context.Context, resolvedBefore time.Time, limit int) ([]incident.Incident, error) {
	rows, err := t.r.query(ctx, `SELECT `+incidentColumns+history.Closable, resolvedBefore.UnixNano(), limit)
	return collect(rows, err, "select incidents to close", scanIncident)
}

func (t *tx) DeleteHistory(ctx context.Context, before time.Time, limit int, now time.Time) (incident.HistoryDeleted, error) {
	return history.Delete(ctx, history.Conn{
		Exec: t.r.exec,
		QueryRow: func(ctx context.Context, q string, args ...any) interface{ Scan(...any) error } {
			return t.r.queryRow(ctx, q, args...)
		},
		RowID: "ctid",
	}, before, limit, now)
}
