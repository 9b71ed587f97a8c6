package stale

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// Runner runs the query: a transaction (PostgreSQL's rebinds the
// placeholders).
type Runner interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// Alerts runs q.
func Alerts(ctx context.Context, r Runner, q incident.StaleQuery) ([]incident.AlertState, error) {
	var b strings.Builder
	b.WriteString(`SELECT s.fingerprint, s.source, s.starts_at, s.incident_id, s.last_seen_at FROM alert_states s`)
	args := []any{q.SeenBefore.UnixNano()}
	if q.Rule != "" || len(q.ExceptRules) > 0 {
		b.WriteString(` JOIN incidents i ON i.id = s.incident_id`)
	}
	b.WriteString(` WHERE s.status = 'firing' AND s.incident_id IS NOT NULL AND s.last_seen_at <= ?`)
	if q.Source != "" {
		b.WriteString(` AND s.source = ?`)
		args = append(args, q.Source)
	}
	if q.Rule != "" {
		b.WriteString(` AND i.rule = ?`)
		args = append(args, q.Rule)
	}
	if len(q.ExceptRules) > 0 {
		b.WriteString(` AND i.rule NOT IN (?` + strings.Repeat(`, ?`, len(q.ExceptRules)-1) + `)`)
		for _, r := range q.ExceptRules {
			args = append(args, r)
		}
	}
	b.WriteString(` ORDER BY s.last_seen_at, s.source, s.fingerprint LIMIT ?`)
	args = append(args, q.Limit)
	rows, err := r.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("stale alerts: %w", err)
	}
	defer rows.Close()
	var out []incident.AlertState
	for rows.Next() {
		a := incident.AlertState{Status: incident.StatusFiring}
		var starts sql.NullInt64
		var last int64
		if err := rows.Scan(&a.Fingerprint, &a.Source, &starts, &a.IncidentID, &last); err != nil {
			return nil, fmt.Errorf("scan stale alert: %w", err)
		}
		if starts.Valid {
			a.StartsAt = time.Unix(0, starts.Int64).UTC()
		}
		a.LastSeenAt = time.Unix(0, last).UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stale alerts: %w", err)
	}
	return out, nil
}
