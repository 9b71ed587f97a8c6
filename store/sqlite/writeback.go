package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/incidentrow"
)

// Incident write-back. Every alert that joins an incident rewrites the
// incident's row (counts, last event, impact start): 100 new alerts of one
// group were 100 updates of one row, each re-encoding its labels, in one
// transaction whose readers outside see only the last. Within a writer
// transaction, an update of an incident the transaction has read or created
// is held in memory instead, and the row written once:
//
//   - before any statement that is not one of the per-alert statements in
//     passThrough (those neither read nor write incidents, nor fire a
//     trigger that does: TestPassThroughTablesHaveNoTriggerOnIncidents), so
//     every other statement sees what writing through would have shown it;
//   - before the transaction commits.
//
// A read of a held incident by ID returns the held copy. An update that
// changes a column a constraint, index condition or trigger of incidents
// depends on (incidentrow.HoldableUpdate) is written through at once, so a conflict
// or CHECK failure is reported by the call that caused it, as before; what
// is held changes only columns no constraint checks, and its deferred write
// can fail only as any write can (I/O), which fails the transaction.
type writeBack struct {
	// base is each incident this transaction read or wrote since the last
	// statement that may have changed incidents behind it, as its row
	// stands (held or written): an update of it cannot miss its row, and is
	// compared with it to decide whether it may be held.
	base map[int64]incident.Incident
	// held are the incidents whose row is behind base, in the order first
	// held (written in that order: deterministic).
	held   []int64
	isHeld map[int64]bool
	// err is a held write that failed: the transaction must not commit.
	err error
}

// holdIncidents turns the write-back on; tests turn it off to compare.
var holdIncidents = true

// heldUpdates counts the updates held back, for tests that must know the
// write-back was exercised.
var heldUpdates atomic.Int64

// passThrough are the writer's statements that neither read nor write
// incidents nor fire a trigger that does: they run without writing the
// held incidents first. qIncidentByID is one: a row not held is current.
// qOtherKeyIncident is one too: it writes them first itself when one it
// may read is held.
var passThrough = map[string]bool{
	qSelectAlertState: true, qSelectAlert: true,
	qTouchAlert: true, qNextTimelineID: true, qIncidentByID: true,
	qInsertEpisode: true, qUpdateEpisode: true, qRecordEpisode: true, qEpisodeNear: true, qNextEpisode: true, qStateEpisodeNear: true,
	qInsertOutbox: true, qPendingOutbox: true, qHasPendingOutbox: true,
	qActiveMaintenance: true, qHoldingEpisode: true, qOtherKeyIncident: true,
}

// passThroughTables are the tables the passThrough statements write.
var passThroughTables = []string{"alert_states", "alerts", "alert_episodes", "alert_orphans", "outbox"}

// remember notes inc as its row stands now.
func (w *writeBack) remember(inc incident.Incident) {
	if w.base == nil {
		w.base = make(map[int64]incident.Incident)
	}
	w.base[inc.ID] = inc
}

// heldCopy returns the held row of id, if it is held.
func (w *writeBack) heldCopy(id int64) (incident.Incident, bool) {
	if !w.isHeld[id] {
		return incident.Incident{}, false
	}
	inc := w.base[id]
	inc.Labels = maps.Clone(inc.Labels) // the caller may change its copy
	return inc, true
}

// holdsKey reports whether an incident but except with key is held.
// Correlation keys are never held (incidentrow.HoldableUpdate), so a held
// row's key is its key in the table.
func (w *writeBack) holdsKey(key string, except int64) bool {
	for _, id := range w.held {
		if id != except && w.base[id].CorrelationKey == key {
			return true
		}
	}
	return false
}

// hold holds inc's row if it may be held: its row was read or written in
// this transaction since the last statement that may have changed it, and
// inc changes no column that a constraint, an index's condition or a
// trigger of incidents reads (incidentrow.HoldableUpdate; for the triggers
// on other tables, see triggersReadingIncidents). The partial indexes on
// due times only need the row written before a statement that reads them,
// which writing held rows first ensures.
func (w *writeBack) hold(inc incident.Incident) bool {
	base, ok := w.base[inc.ID]
	if !holdIncidents || !ok || !incidentrow.HoldableUpdate(base, inc) {
		return false
	}
	heldUpdates.Add(1)
	if !w.isHeld[inc.ID] {
		if w.isHeld == nil {
			w.isHeld = make(map[int64]bool)
		}
		w.isHeld[inc.ID] = true
		w.held = append(w.held, inc.ID)
	}
	inc.Labels = maps.Clone(inc.Labels) // the caller may change its map later
	w.base[inc.ID] = inc
	return true
}

// triggersReadingIncidents are the triggers on the passThrough statements'
// tables that read incidents, each with why its statements may still pass
// through: what it reads is a column no held row changes
// (incidentrow.HoldableUpdate), so the row it reads is the row writing through
// would have shown it. TestPassThroughTablesHaveNoTriggerOnIncidents
// fails on any other.
var triggersReadingIncidents = map[string]string{}

// flush writes the deferred rows (deferred.go) and the held incidents'
// rows before a statement that may read or change them, and forgets every
// incident row it knew: that statement may change them behind it.
func (t *tx) flush(ctx context.Context) error {
	w := &t.wb
	if w.err != nil {
		return w.err
	}
	// The statement to come may insert an episode itself: the next
	// deferred one's ID is read again.
	t.rows.nextEpisodeID = 0
	// A held row was read or written by a statement first, and a deferred
	// row began the transaction, so it has begun.
	if len(w.held) == 0 && !t.deferred() {
		return nil
	}
	ctx, err := t.quiet(ctx)
	if err != nil {
		w.err = err
		return err
	}
	if err := t.writeDeferred(ctx); err != nil {
		w.err = err
		return err
	}
	for _, id := range w.held {
		inc := w.base[id]
		res, err := t.stmts[qUpdateIncident].ExecContext(ctx, incidentrow.UpdateArgs(&inc)...)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				err = errNoRowChanged
			}
		}
		if err != nil {
			// As a deferred row's: never a domain error (not found, a
			// conflict) of the statement that happened to need it.
			w.err = &deferredError{fmt.Errorf("write incident %d held back: %w", id, err)}
			return w.err
		}
	}
	w.held = w.held[:0]
	clear(w.isHeld)
	clear(w.base)
	return nil
}

// errNoRowChanged is a held incident's write that found no row.
var errNoRowChanged = errors.New("it changed no row")

// flushing is the transaction as every statement but the passThrough ones
// runs it: the held incidents are written first. A statement prepared at
// open (writerQueries) runs prepared. A failed write is
// returned by the statement that needed it, and fails the transaction
// whatever the caller does with it (Store.Update returns it).
type flushing struct{ t *tx }

func (f flushing) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	qctx, err := f.ready(ctx)
	if err != nil {
		return nil, err
	}
	if st, ok := f.t.stmts[q]; ok {
		return st.ExecContext(qctx, args...)
	}
	return f.t.conn.ExecContext(qctx, q, args...)
}

func (f flushing) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	qctx, err := f.ready(ctx)
	if err != nil {
		return nil, err
	}
	if st, ok := f.t.stmts[q]; ok {
		return st.QueryContext(qctx, args...)
	}
	return f.t.conn.QueryContext(qctx, q, args...)
}

// QueryRowContext returns, after a failed write or begin or once ctx has
// ended, a row whose Scan fails; the transaction fails with the cause (see
// flushing).
func (f flushing) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	qctx, err := f.ready(ctx)
	if err != nil {
		return failedRow(f.t.db, err)
	}
	if st, ok := f.t.stmts[q]; ok {
		return st.QueryRowContext(qctx, args...)
	}
	return f.t.conn.QueryRowContext(qctx, q, args...)
}

// failedRow is a row whose Scan fails with err, context.Canceled or
// context.DeadlineExceeded, without running anything: a statement must
// never run outside the transaction, where a write (an upsert RETURNING
// its ID) would commit on its own, and where on the writer's one
// connection, held by the transaction, it would wait for ever.
func failedRow(db *sql.DB, err error) *sql.Row {
	ctx, cancel := context.WithCancel(context.Background())
	if errors.Is(err, context.DeadlineExceeded) {
		ctx, cancel = context.WithDeadline(context.Background(), time.Time{})
	}
	cancel()
	return db.QueryRowContext(ctx, "SELECT 1")
}

// ready begins the transaction, writes the held incidents, and returns
// the context to run one statement with (see quiet).
func (f flushing) ready(ctx context.Context) (context.Context, error) {
	if err := f.t.begin(ctx); err != nil {
		return nil, err
	}
	if err := f.t.flush(ctx); err != nil {
		return nil, err
	}
	return f.t.quiet(ctx)
}

// stmt readies q, a statement prepared at open, for one run: it begins
// the transaction, writes the held incidents unless q passes through, and
// returns the statement with the context to run it with (see quiet).
func (t *tx) stmt(ctx context.Context, q string) (*sql.Stmt, context.Context, error) {
	if err := t.begin(ctx); err != nil {
		return nil, nil, err
	}
	if !passThrough[q] {
		if err := t.flush(ctx); err != nil {
			return nil, nil, err
		}
	}
	qctx, err := t.quiet(ctx)
	if err != nil {
		return nil, nil, err
	}
	if touchesEpisodes[q] {
		if err := t.writeTable(qctx, deferEpisodes); err != nil {
			t.wb.err = err
			return nil, nil, err
		}
		if q == qInsertEpisode || q == qRecordEpisode {
			t.rows.nextEpisodeID = 0 // it takes an ID itself
		}
	}
	return t.stmts[q], qctx, nil
}
