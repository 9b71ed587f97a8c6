package sqlite

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
	res, err := t.exec(ctx, `INSERT INTO nonces (source, nonce, expires_at) VALUES (?, ?, ?)
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
	res, err := t.exec(ctx, `DELETE FROM nonces WHERE rowid IN
		(SELECT rowid FROM nonces WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`, now.UnixNano(), limit)
	if err != nil {
		return 0, mapErr("delete expired nonces", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// headroomPages is how many pages Heartbeat makes the database find room
// for: 256 KiB at the default page size of 4 KiB.
const headroomPages = 64

// Heartbeat proves there is room for headroomPages more pages, then
// records now in the heartbeat row. Updating a row in place needs no new
// page, so a database that cannot grow would still take it; filling the
// row's headroom with zeros needs pages from the free list or from growing
// the database, as new incidents do, and fails with SQLITE_FULL when they
// would. The filling is rolled back to a savepoint, so it writes nothing
// and frees nothing: the pages stay where they were, and an idle database
// at its limit fails every heartbeat rather than only the first. What the
// transaction commits is the one small row, which still fails on a disk
// where the write-ahead log cannot grow.
func (t *tx) Heartbeat(ctx context.Context, now time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `SAVEPOINT headroom`); err != nil {
		return mapErr("heartbeat", err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE heartbeat
		SET headroom = zeroblob(? * (SELECT page_size FROM pragma_page_size())) WHERE id = 1`, headroomPages); err != nil {
		return mapErr("heartbeat: find room", err)
	}
	if _, err := t.tx.ExecContext(ctx, `ROLLBACK TO headroom`); err != nil {
		return mapErr("heartbeat", err)
	}
	if _, err := t.tx.ExecContext(ctx, `RELEASE headroom`); err != nil {
		return mapErr("heartbeat", err)
	}
	if _, err := t.exec(ctx, `UPDATE heartbeat SET at = ? WHERE id = 1`, now.UnixNano()); err != nil {
		return mapErr("heartbeat", err)
	}
	return nil
}
