package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/history"
)

// qClosable names its index: without statistics the planner read every
// resolved incident by state and sorted them, 30 ms per call on the
// seeded store of 96k resolved incidents (250 ms cold), where the index
// gives the oldest in order.
var qClosable = `SELECT ` + incidentColumns + ` FROM incidents INDEXED BY incidents_to_close` + history.ClosableWhere

func (t *tx) ClosableIncidents(ctx context.Context, resolvedBefore time.Time, limit int) ([]incident.Incident, error) {
	rows, err := t.tx.QueryContext(ctx, qClosable, resolvedBefore.UnixNano(), limit)
	return collect(rows, err, "select incidents to close", scanIncident)
}

// DeleteHistory also forgets, for each incident it forgets, the days
// before before's UTC day of its alerts' event_alert_days (migrations
// 0009, 0021), which otherwise grows by a row per alert and day for ever;
// found by the table's key, so it costs ingest no index. The
// per-day figures the stats read (event_days, event_alert_firsts)
// stay whole. What is lost: a later first event of an alert whose days
// were forgotten records no previous day, so a stats window reaching back
// over such a gap (longer than the retention) counts that alert twice in
// its distinct alerts. The days of alerts no incident held (dropped by a
// rule) are kept.
func (t *tx) DeleteHistory(ctx context.Context, before time.Time, limit int, now time.Time) (incident.HistoryDeleted, error) {
	day := before.UnixNano() / nanosPerDay
	out, err := history.Delete(ctx, history.Conn{
		Exec: t.tx.ExecContext,
		QueryRow: func(ctx context.Context, q string, args ...any) interface{ Scan(...any) error } {
			return t.tx.QueryRowContext(ctx, q, args...)
		},
		RowID:  "rowid",
		Forget: t.forgetAlertDays(day),
		Where:  map[string]string{"alert_states": statesWhere},
	}, before, limit, now)
	if out.AlertStates > 0 {
		t.nos.forget()
		if err := t.takeDeleted(ctx); err != nil {
			return out, err
		}
	}
	if err != nil || out.Rows() == 0 {
		return out, err
	}
	// The noise figures' kept leading days are no longer what the events
	// say (statsnoise.go).
	if _, err := t.tx.ExecContext(ctx, `UPDATE stats_history_deleted SET n = n + 1 WHERE id = 1`); err != nil {
		return out, fmt.Errorf("note deleted history: %w", err)
	}
	return out, nil
}

// forgetAlertDays deletes at most limit days before day of the alerts of
// an incident from event_alert_days. It runs before the incident's alerts
// and states go (history.Delete), and a state whose alert has days left
// stays (statesWhere), so each alert's number is found by its state
// (through the index of the states' keys), or its orphan row.
func (t *tx) forgetAlertDays(day int64) func(ctx context.Context, id int64, limit int) (int, error) {
	return func(ctx context.Context, id int64, limit int) (int, error) {
		nos, err := incidentAlertNos(ctx, t.tx, t.keys, id)
		if err != nil || len(nos) == 0 {
			return 0, err
		}
		res, err := t.tx.ExecContext(ctx, `DELETE FROM event_alert_days WHERE (alert_no, day) IN (
			SELECT alert_no, day FROM event_alert_days WHERE alert_no IN (SELECT value FROM json_each(?1)) AND day < ?2 LIMIT ?3)`,
			jsonNumbers(nos), day, limit)
		if err != nil {
			return 0, fmt.Errorf("delete alert days of incident %d: %w", id, err)
		}
		n, err := res.RowsAffected()
		return int(n), err
	}
}
