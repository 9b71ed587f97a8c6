package sqlite

import (
	"context"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/heartbeatrow"
	"github.com/alertbridge/alertbridge/store/internal/stale"
)

func (t *tx) HeartbeatRecord(ctx context.Context, key string) (incident.Heartbeat, error) {
	return heartbeatrow.Get(ctx, t.tx, key)
}

func (t *tx) HeartbeatRecords(ctx context.Context) ([]incident.Heartbeat, error) {
	return heartbeatrow.List(ctx, t.tx)
}

func (t *tx) PutHeartbeatRecord(ctx context.Context, hb incident.Heartbeat) error {
	return heartbeatrow.PutRow(ctx, t.tx, hb)
}

func (t *tx) DeleteHeartbeatRecord(ctx context.Context, key string) error {
	return heartbeatrow.DeleteRow(ctx, t.tx, key)
}

// HeartbeatRecords lists every heartbeat monitor, by key (GET
// /api/v1/heartbeats, the metrics).
func (s *Store) HeartbeatRecords(ctx context.Context) ([]incident.Heartbeat, error) {
	return heartbeatrow.List(ctx, s.r)
}

func (t *tx) StaleAlerts(ctx context.Context, q incident.StaleQuery) ([]incident.AlertState, error) {
	return stale.Alerts(ctx, t.tx, q)
}
