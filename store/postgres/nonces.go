package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// UseNonce inserts the nonce, or takes over an expired row of the same
// source and value; an unexpired one makes the upsert change nothing, which
// is a replay.
func (t *tx) UseNonce(ctx context.Context, source, nonce string, expires, now time.Time) error {
	res, err := t.r.exec(ctx, `INSERT INTO nonces (source, nonce, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (source, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE nonces.expires_at <= ?`,
		source, nonce, expires.UnixNano(), now.UnixNano())
	if err != nil {
		return mapErr("use nonce", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("use nonce: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("nonce of source %s: %w", source, incident.ErrReplay)
	}
	return nil
}

func (t *tx) DeleteExpiredNonces(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := t.r.exec(ctx, `DELETE FROM nonces WHERE (source, nonce) IN
		(SELECT source, nonce FROM nonces WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`, now.UnixNano(), limit)
	if err != nil {
		return 0, mapErr("delete expired nonces", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Heartbeat records now in the heartbeat row. SQLite's also proves the
// database can still grow; here every update writes a WAL record, so a
// server that cannot write (a full disk, a read-only standby) fails it as
// it fails new incidents.
func (t *tx) Heartbeat(ctx context.Context, now time.Time) error {
	if _, err := t.r.exec(ctx, `UPDATE heartbeat SET at = ? WHERE id = 1`, now.UnixNano()); err != nil {
		return mapErr("heartbeat", err)
	}
	return nil
}
