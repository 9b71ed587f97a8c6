package sqlite

import (
	"context"
	"fmt"
)

// Deferred inserts. Every new alert appends an event and a timeline entry,
// rows that no statement of the writer's per-alert path reads back. Each
// was its own statement: a bind, step and reset through database/sql and
// the driver for one row, and the setup of the events' triggers. Within a
// writer transaction they are kept in memory instead and written as
// multi-row INSERTs (deferWidths rows at a time):
//
//   - before any statement that is not one of passThrough, which neither
//     read nor write events or timeline, nor fire a trigger that does
//     (TestPassThroughLeavesDeferredTablesAlone), so every other
//     statement sees what inserting at once would have shown it;
//   - before the transaction commits, and before the held incidents are
//     written (writeBack): no trigger that a held update fires reads them.
//
// A timeline entry's ID is given here, from the table's highest ID read
// once per transaction: the writer is the only one inserting timeline
// rows, and its transactions run one at a time. A deferred insert that
// fails (I/O) fails the transaction, as a held incident's write does; its
// error is never a domain error (ErrConflict) of the statement that
// happened to write it.
type deferredRows struct {
	events, timeline []any // each row's arguments, eventArgs and timelineArgs per row
	// nextTimelineID is the ID the next timeline entry gets; 0 until read
	// in this transaction.
	nextTimelineID int64
}

const (
	eventArgs    = 16
	timelineArgs = 8
)

// deferWidths are the row counts of the prepared multi-row INSERTs, widest
// first: n rows are written in at most a few statements. Per row, an event
// costs 24 µs alone and 15 µs in statements of 32 or more rows; a timeline
// entry 5.5 and 2.7 µs (modernc.org/sqlite, this machine, with the events'
// triggers).
var deferWidths = [...]int{64, 16, 4, 1}

func insertEvents(n int) string {
	return `INSERT INTO events (received_at, source, fingerprint, status, labels, annotations,
		group_labels, receiver, generator_url, starts_at, ends_at, transition, rule, correlation_key, incident_id,
		alert_no) VALUES ` + rows(n, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
}

func insertTimeline(n int) string {
	return `INSERT INTO timeline (id, incident_id, at, kind, actor, on_behalf_of, fingerprint, message)
		VALUES ` + rows(n, "(?, ?, ?, ?, ?, ?, ?, ?)")
}

// qNextTimelineID reads the ID the transaction's first timeline entry gets.
const qNextTimelineID = `SELECT COALESCE(MAX(id), 0) + 1 FROM timeline`

// deferredQueries are the prepared INSERTs by width, as deferWidths.
var deferredQueries = func() (q [2][len(deferWidths)]string) {
	for i, w := range deferWidths {
		q[0][i], q[1][i] = insertEvents(w), insertTimeline(w)
	}
	return q
}()

func init() {
	writerQueries = append(writerQueries, qNextTimelineID)
	writerQueries = append(writerQueries, deferredQueries[0][:]...)
	writerQueries = append(writerQueries, deferredQueries[1][:]...)
}

// deferEvent keeps an event's row for the next write of the deferred rows.
func (t *tx) deferEvent(ctx context.Context, args ...any) error {
	if err := t.begin(ctx); err != nil {
		return err
	}
	t.rows.events = append(t.rows.events, args...)
	return nil
}

// deferTimeline keeps a timeline entry's row and returns its ID.
func (t *tx) deferTimeline(ctx context.Context, args ...any) (int64, error) {
	if t.rows.nextTimelineID == 0 {
		// Reads timeline, none of whose rows is deferred yet.
		st, qctx, err := t.stmt(ctx, qNextTimelineID)
		if err != nil {
			return 0, err
		}
		if err := st.QueryRowContext(qctx).Scan(&t.rows.nextTimelineID); err != nil {
			return 0, fmt.Errorf("read the next timeline ID: %w", err)
		}
	}
	id := t.rows.nextTimelineID
	t.rows.nextTimelineID++
	t.rows.timeline = append(t.rows.timeline, id)
	t.rows.timeline = append(t.rows.timeline, args...)
	return id, nil
}

// writeDeferred writes the deferred rows; the transaction has begun, and
// ctx is the statement's (see quiet).
func (t *tx) writeDeferred(ctx context.Context) error {
	for i, table := range [2]struct {
		args  *[]any
		width int
		name  string
	}{{&t.rows.events, eventArgs, "events"}, {&t.rows.timeline, timelineArgs, "timeline"}} {
		args := *table.args
		for len(args) > 0 {
			n := len(args) / table.width
			w := 0
			for deferWidths[w] > n {
				w++
			}
			k := deferWidths[w] * table.width
			if _, err := t.stmts[deferredQueries[i][w]].ExecContext(ctx, args[:k]...); err != nil {
				// Not mapErr: a conflict here is no domain error of the
				// statement that needed the rows written.
				return fmt.Errorf("write %d deferred %s rows: %w", len(*table.args)/table.width, table.name, err)
			}
			args = args[k:]
		}
		clear(*table.args) // the strings they hold
		*table.args = (*table.args)[:0]
	}
	return nil
}
