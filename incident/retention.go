package incident

import (
	"context"
	"fmt"
	"time"
)

// Closing and retention keep the store bounded over months. A resolved
// incident closes CloseAfter after it resolved (CloseResolved, in the
// sweep); a closed incident is final. Once it has been closed for the
// retention period, its history (events, timeline, alerts) is deleted in
// small batches (Tx.DeleteHistory), while its row stays, so that reports
// over any past window (MTTA, MTTR, SLA attainment, opened per day) stay
// exact. docs/operations.md says which data is kept and which deleted.

// CloseBatch bounds the incidents one transaction closes, so that a first
// sweep over a long history (an upgrade, a downtime) is many short
// transactions. A close writes the incident's row through (its state
// changes), its index entries and a timeline entry: 0.23 ms each on the
// seeded store of 100k incidents once its pages are cached, 1.1 ms before,
// so that the 256 a sweep closed in one transaction held ingest for
// 60-300 ms. The pipeline runs several batches per sweep, each its own
// transaction, and leaves the rest for the next sweep: closing is
// bookkeeping, and closing 37k in 12 s at once took three quarters of the
// writer from ingest.
const CloseBatch = 32

// CloseResolved closes the resolved incidents that resolved closeAfter or
// longer before now, at most CloseBatch of them, oldest resolve first,
// each with a timeline entry, and returns them. closeAfter 0 closes none:
// resolved incidents then stay resolved (and reopenable) for ever.
func CloseResolved(ctx context.Context, tx Tx, closeAfter time.Duration, now time.Time) ([]Incident, error) {
	if closeAfter <= 0 {
		return nil, nil
	}
	due, err := tx.ClosableIncidents(ctx, now.Add(-closeAfter), CloseBatch)
	if err != nil {
		return nil, err
	}
	for i := range due {
		inc := &due[i]
		if !CanTransition(inc.State, StateClosed) {
			return nil, fmt.Errorf("close incident %d in state %s: %w", inc.ID, inc.State, ErrConflict)
		}
		inc.State, inc.ClosedAt, inc.UpdatedAt = StateClosed, now, now
		if err := tx.UpdateIncident(ctx, *inc); err != nil {
			return nil, err
		}
		msg := fmt.Sprintf("closed: resolved more than close_after %s ago; it is final, and a new alert opens a new incident",
			closeAfter)
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineClosed, "", msg); err != nil {
			return nil, err
		}
	}
	return due, nil
}

// HistoryDeleted counts what one retention batch (Tx.DeleteHistory)
// deleted: rows by table, and the closed incidents whose history is now
// gone.
type HistoryDeleted struct {
	Events, Timeline, Alerts, AlertStates, Episodes int
	// AlertDays are rows a backend keeps per alert and day to count
	// distinct alerts (SQLite's event_alert_days).
	AlertDays int
	// Incidents are the closed incidents the batch finished with: their
	// HistoryDeletedAt is set.
	Incidents int
}

// Rows is how many rows the batch deleted in all.
func (h HistoryDeleted) Rows() int {
	return h.Events + h.Timeline + h.Alerts + h.AlertStates + h.Episodes + h.AlertDays
}

// Work is what the batch counts against its limit: the rows it deleted
// and the incidents it marked. A batch whose Work is below its limit left
// nothing due.
func (h HistoryDeleted) Work() int { return h.Rows() + h.Incidents }

// Add adds o's counts to h.
func (h *HistoryDeleted) Add(o HistoryDeleted) {
	h.Events += o.Events
	h.Timeline += o.Timeline
	h.Alerts += o.Alerts
	h.AlertStates += o.AlertStates
	h.Episodes += o.Episodes
	h.AlertDays += o.AlertDays
	h.Incidents += o.Incidents
}
