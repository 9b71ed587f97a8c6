package postgres

import (
	"context"
	"database/sql"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/heartbeatrow"
	"github.com/alertbridge/alertbridge/store/internal/stale"
)

// rowRunner runs heartbeatrow's statements through a runner, which
// rebinds their placeholders and notes serialization failures.
type rowRunner struct{ r runner }

func (w rowRunner) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return w.r.exec(ctx, q, args...)
}

func (w rowRunner) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return w.r.query(ctx, q, args...)
}

func (t *tx) HeartbeatRecord(ctx context.Context, key string) (incident.Heartbeat, error) {
	return heartbeatrow.Get(ctx, rowRunner{t.r}, key)
}

func (t *tx) HeartbeatRecords(ctx context.Context) ([]incident.Heartbeat, error) {
	return heartbeatrow.List(ctx, rowRunner{t.r})
}

func (t *tx) PutHeartbeatRecord(ctx context.Context, hb incident.Heartbeat) error {
	return heartbeatrow.PutRow(ctx, rowRunner{t.r}, hb)
}

func (t *tx) DeleteHeartbeatRecord(ctx context.Context, key string) error {
	return heartbeatrow.DeleteRow(ctx, rowRunner{t.r}, key)
}

// HeartbeatRecords lists every heartbeat monitor, by key (GET
// /api/v1/heartbeats, the metrics).
func (s *Store) HeartbeatRecords(ctx context.Context) ([]incident.Heartbeat, error) {
	return heartbeatrow.List(ctx, rowRunner{s.r})
}

func (t *tx) StaleAlerts(ctx context.Context, q incident.StaleQuery) ([]incident.AlertState, error) {
	return stale.Alerts(ctx, rowRunner{t.r}, q)
}
