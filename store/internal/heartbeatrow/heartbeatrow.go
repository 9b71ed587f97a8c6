package heartbeatrow

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// Columns are the columns every read selects, in Scan's order.
const Columns = `key, kind, name, labels, state, last_beat_at, armed_at, changed_at, incident_id`

// The statements.
const (
	Select = `SELECT ` + Columns + ` FROM heartbeat_monitors WHERE key = ?`
	All    = `SELECT ` + Columns + ` FROM heartbeat_monitors ORDER BY key`
	Put    = `INSERT INTO heartbeat_monitors (` + Columns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, name = excluded.name, labels = excluded.labels,
		state = excluded.state, last_beat_at = excluded.last_beat_at, armed_at = excluded.armed_at,
		changed_at = excluded.changed_at, incident_id = excluded.incident_id`
	Delete = `DELETE FROM heartbeat_monitors WHERE key = ?`
)

// Runner runs statements: a transaction, or the read pool.
type Runner interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// Args are Put's arguments for hb.
func Args(hb incident.Heartbeat) ([]any, error) {
	var labels []byte
	if hb.Labels != nil {
		var err error
		if labels, err = json.Marshal(hb.Labels); err != nil {
			return nil, fmt.Errorf("heartbeat %s labels: %w", hb.Key, err)
		}
	}
	var inc any
	if hb.IncidentID != 0 {
		inc = hb.IncidentID
	}
	return []any{hb.Key, string(hb.Kind), hb.Name, nullString(labels), string(hb.State), nanos(hb.LastBeatAt),
		hb.ArmedAt.UnixNano(), hb.ChangedAt.UnixNano(), inc}, nil
}

// Get reads the heartbeat with key, or incident.ErrNotFound.
func Get(ctx context.Context, r Runner, key string) (incident.Heartbeat, error) {
	hbs, err := list(ctx, r, Select, key)
	if err != nil {
		return incident.Heartbeat{}, err
	}
	if len(hbs) == 0 {
		return incident.Heartbeat{}, fmt.Errorf("heartbeat %s: %w", key, incident.ErrNotFound)
	}
	return hbs[0], nil
}

// List reads every heartbeat, by key.
func List(ctx context.Context, r Runner) ([]incident.Heartbeat, error) {
	return list(ctx, r, All)
}

// PutRow inserts or replaces hb.
func PutRow(ctx context.Context, r Runner, hb incident.Heartbeat) error {
	args, err := Args(hb)
	if err != nil {
		return err
	}
	if _, err := r.ExecContext(ctx, Put, args...); err != nil {
		return fmt.Errorf("put heartbeat %s: %w", hb.Key, err)
	}
	return nil
}

// DeleteRow forgets the heartbeat with key.
func DeleteRow(ctx context.Context, r Runner, key string) error {
	if _, err := r.ExecContext(ctx, Delete, key); err != nil {
		return fmt.Errorf("delete heartbeat %s: %w", key, err)
	}
	return nil
}

func list(ctx context.Context, r Runner, q string, args ...any) ([]incident.Heartbeat, error) {
	rows, err := r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read heartbeats: %w", err)
	}
	defer rows.Close()
	var out []incident.Heartbeat
	for rows.Next() {
		hb, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, hb)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read heartbeats: %w", err)
	}
	return out, nil
}

func scan(rows *sql.Rows) (incident.Heartbeat, error) {
	var hb incident.Heartbeat
	var labels sql.NullString
	var last, inc sql.NullInt64
	var armed, changed int64
	if err := rows.Scan(&hb.Key, &hb.Kind, &hb.Name, &labels, &hb.State, &last, &armed, &changed, &inc); err != nil {
		return hb, fmt.Errorf("scan heartbeat: %w", err)
	}
	if labels.Valid {
		if err := json.Unmarshal([]byte(labels.String), &hb.Labels); err != nil {
			return hb, fmt.Errorf("heartbeat %s labels: %w", hb.Key, err)
		}
	}
	if last.Valid {
		hb.LastBeatAt = time.Unix(0, last.Int64).UTC()
	}
	hb.ArmedAt, hb.ChangedAt = time.Unix(0, armed).UTC(), time.Unix(0, changed).UTC()
	hb.IncidentID = inc.Int64
	return hb, nil
}

func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func nullString(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
