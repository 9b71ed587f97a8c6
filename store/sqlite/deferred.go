package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// Deferred inserts. Every new alert writes its state, its alert row, its
// first episode, an event and a timeline entry: rows the writer's
// per-alert path does not read back, or reads back by one key. Each was
// its own statement: a bind, step and reset through database/sql and the
// driver for one row (the episode's a query, for the ID it returned), and
// the setup of the events' triggers. Within a writer transaction they are
// kept in memory instead and written as multi-row INSERTs (deferWidths
// rows at a time; the states' and alerts' as upserts, which apply their
// rows in order as one statement each would):
//
//   - before any statement that is not one of passThrough, so every other
//     statement sees what writing at once would have shown it. The
//     pass-through statements name none of the deferred tables, nor fire
//     a trigger that does (TestPassThroughLeavesDeferredTablesAlone),
//     but for the reads below;
//   - the episodes before any pass-through statement that reads or writes
//     alert_episodes (touchesEpisodes);
//   - the states and the alert rows before a read of one of their own
//     keys (AlertState, alertNo, stateEpisodeNear, Alert, TouchAlert:
//     writeBefore), and not before a read of another key, so that the
//     next new alert's lookup does not write them;
//   - never for CountResolves, which adds the deferred resolves of its
//     alert to those stored (deferredResolves);
//   - before the transaction commits, and before the held incidents are
//     written (writeBack): no trigger that a held update fires reads them.
//
// The events of alerts numbered in this transaction come with their days
// (event_alert_days, event_alert_firsts) written before them, in two
// statements, where triggers on events looked them up row by row; the
// other counted events' days are kept by the triggers of a view that
// stores nothing, each event a row of its insert; every event's count by
// day and transition (event_days) is added with them, one upsert per day
// and transition (eventDays).
//
// Only an alert's first episode, of an alert numbered in this transaction,
// is deferred: no episode of that number can be stored, so the upsert of
// RecordEpisode is an insert, and its ID and end are known without it.
//
// IDs are given here, from the table's highest ID read in the transaction:
// the writer is the only one inserting timeline and episode rows, and its
// transactions run one at a time. The timeline's is read once per
// transaction (every timeline insert is deferred); the episodes' again
// after any statement that may have inserted one itself. A deferred write
// that fails fails the transaction, as a held incident's write does; its
// error is never a domain error (ErrConflict) of the statement that
// happened to need it written (deferredError).
type deferredRows struct {
	// args are each table's rows' arguments, deferredTables[i].width per row.
	args [len(deferredTables)][]any
	// nextTimelineID and nextEpisodeID are the IDs the next rows get; 0
	// until read.
	nextTimelineID, nextEpisodeID int64
	// episodeNos are the numbers given in this transaction that have an
	// episode inserted (deferred or not): another is a statement's.
	episodeNos map[int64]bool
	// stateKeys and alertKeys are the keys of the deferred states and
	// alerts: a statement reading one of those keys writes them first.
	stateKeys map[alertKey]bool
	alertKeys map[alertRowKey]bool
	// eventNos are the numbers given in this transaction that have a
	// counted event written: their days are stored, and their next
	// events' are kept by event_alert_day_touches.
	eventNos map[int64]bool
	// scratch holds a shared statement's arguments (sharedArgs).
	scratch []any
}

type alertRowKey struct {
	incidentID int64
	alertKey
}

// The deferred tables, in the order they are written. The events' counts
// by day (deferEventDays) and their alerts' days (deferAlertDays,
// deferAlertFirsts for a new alert's, deferDayTouches for another's) are
// not kept as they come: eventDays gives their rows from the events' when
// those are written.
const (
	deferStates = iota
	deferAlerts
	deferEpisodes
	deferEventDays
	deferAlertDays
	deferAlertFirsts
	deferDayTouches
	deferEvents
	deferTimeline
)

var deferredTables = [...]struct {
	name  string
	width int // arguments per row
	// cols are the columns a row gives, in its arguments' order; upsert
	// what follows the rows (an ON CONFLICT clause, or nothing).
	cols, upsert string
	// shared are the columns (positions in a row) that the rows of one
	// notification have in common as a rule: a run of rows alike in all
	// of them is written with each of those values bound once (see
	// writeTable).
	shared []int
}{
	// An upsert of many rows applies them in order, as one statement each
	// would; a key twice is updated by its second row. A state is keyed
	// by its number, which the writer knows for every state it puts
	// (statekeys.go): the stored state's, or a new one.
	deferStates: {"alert_states", 8, `alert_no, source, fingerprint, status, starts_at, ends_at, incident_id, last_seen_at`,
		`ON CONFLICT (alert_no) DO UPDATE SET status = excluded.status,
			starts_at = excluded.starts_at, ends_at = excluded.ends_at, incident_id = excluded.incident_id,
			last_seen_at = excluded.last_seen_at`, []int{1, 3, 6, 7}},
	deferAlerts: {"alerts", 12, `incident_id, source, fingerprint, status, labels, annotations,
			starts_at, ends_at, generator_url, first_seen_at, last_seen_at, count`,
		`ON CONFLICT (incident_id, source, fingerprint) DO UPDATE SET status = excluded.status, labels = excluded.labels,
			annotations = excluded.annotations, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
			generator_url = excluded.generator_url, last_seen_at = excluded.last_seen_at, count = excluded.count`,
		[]int{0, 1, 3, 9, 10, 11}},
	deferEpisodes: {"alert_episodes", 8, `id, alert_no, source, fingerprint, starts_at, ends_at, incident_id, correlation_key`,
		``, []int{2, 5, 6, 7}},
	// The events' counts by day and transition (eventDays), which a
	// trigger on events kept row by row until migration 0023.
	deferEventDays: {"event_days", 3, `day, transition, n`, `ON CONFLICT (day, transition) DO UPDATE SET n = n + excluded.n`, nil},
	// A new alert's days, written before its events (eventDays).
	deferAlertDays: {"event_alert_days", 4, `alert_no, day, first_at, last_at`, ``, []int{1, 2, 3}},
	deferAlertFirsts: {"event_alert_firsts", 3, `day, prev_day, n`,
		`ON CONFLICT (day, prev_day) DO UPDATE SET n = n + excluded.n`, nil},
	// The days of other alerts, kept by the view's triggers (migration
	// 0022).
	deferDayTouches: {"event_alert_day_touches", 2, `alert_no, received_at`, ``, nil},
	deferEvents: {"events", eventArgs, `received_at, source, fingerprint, status, labels, annotations,
			group_labels, receiver, generator_url, starts_at, ends_at, transition, rule, correlation_key, incident_id,
			alert_no`, ``, []int{eventReceivedAt, eventSource, 3, 6, 7, eventTransition, 12, 13, 14}},
	deferTimeline: {"timeline", 8, `id, incident_id, at, kind, actor, on_behalf_of, fingerprint, message`,
		``, []int{1, 2, 3, 4, 5}},
}

// deferredQuery is the INSERT of n rows of table i, its shared columns
// bound once (shared) or in every row.
func deferredQuery(i, n int, shared bool) string {
	table := deferredTables[i]
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", table.width), ", ") + ")"
	if !shared {
		return `INSERT INTO ` + table.name + ` (` + table.cols + `) VALUES ` + rows(n, row) + ` ` + table.upsert
	}
	// SELECT ?, v.column1, ...: the shared values come first in the
	// arguments, then each row's others. WHERE true parses the upsert
	// after the SELECT as such, not as a join's ON.
	list := make([]string, table.width)
	for _, c := range sharedColumns[i].shared {
		list[c] = "?"
	}
	for k, c := range sharedColumns[i].own {
		list[c] = fmt.Sprintf("v.column%d", k+1)
	}
	row = "(" + strings.TrimSuffix(strings.Repeat("?, ", len(sharedColumns[i].own)), ", ") + ")"
	return `INSERT INTO ` + table.name + ` (` + table.cols + `) SELECT ` + strings.Join(list, ", ") +
		` FROM (VALUES ` + rows(n, row) + `) AS v WHERE true ` + table.upsert
}

// sharedColumns are each table's shared columns and the others, each in
// the order of a row's columns: the order of the ?s in its shared
// statement's SELECT list (deferredQuery) and of their arguments
// (sharedArgs), whatever the order deferredTables names them in.
var sharedColumns = func() (cols [len(deferredTables)]struct{ shared, own []int }) {
	for i, table := range deferredTables {
		if len(table.shared) == 0 {
			continue
		}
		for c := range table.width {
			if slices.Contains(table.shared, c) {
				cols[i].shared = append(cols[i].shared, c)
			} else {
				cols[i].own = append(cols[i].own, c)
			}
		}
	}
	return cols
}()

// The positions in an event's row (deferredTables[deferEvents]) that
// deferredResolves and eventDays read, and its width.
const (
	eventReceivedAt  = 0
	eventSource      = 1
	eventFingerprint = 2
	eventTransition  = 11
	eventAlertNo     = 15
	eventArgs        = 16
)

// deferWidths are the row counts of the prepared multi-row INSERTs, widest
// first: n rows are written in at most a few statements. Per row, an event
// costs 24 µs alone and 15 µs in statements of 32 or more rows; a timeline
// entry 5.5 and 2.7 µs (modernc.org/sqlite, this machine, with the events'
// triggers).
var deferWidths = [...]int{64, 16, 4, 1}

// The reads of the IDs the next rows get.
const (
	qNextTimelineID = `SELECT COALESCE(MAX(id), 0) + 1 FROM timeline`
	qNextEpisodeID  = `SELECT COALESCE(MAX(id), 0) + 1 FROM alert_episodes`
)

// deferredQueries are the prepared INSERTs by table and width, and
// sharedQueries those binding the shared columns once (none for a table
// without).
var deferredQueries, sharedQueries = func() (q, sq [len(deferredTables)][len(deferWidths)]string) {
	for i, table := range deferredTables {
		for j, w := range deferWidths {
			q[i][j] = deferredQuery(i, w, false)
			if len(table.shared) > 0 {
				sq[i][j] = deferredQuery(i, w, true)
			}
		}
	}
	return q, sq
}()

// touchesEpisodes are the pass-through statements that read or write
// alert_episodes: the deferred episodes are written before them, and an
// insert among them moves the highest ID.
var touchesEpisodes = map[string]bool{
	qInsertEpisode: true, qUpdateEpisode: true, qRecordEpisode: true, qEpisodeNear: true, qNextEpisode: true,
	qStateEpisodeNear: true, qHoldingEpisode: true, qNextEpisodeID: true,
}

func init() {
	writerQueries = append(writerQueries, qNextTimelineID, qNextEpisodeID)
	for i, q := range deferredQueries {
		writerQueries = append(writerQueries, q[:]...)
		if len(deferredTables[i].shared) > 0 {
			writerQueries = append(writerQueries, sharedQueries[i][:]...)
		}
	}
	passThrough[qNextTimelineID], passThrough[qNextEpisodeID] = true, true
}

// deferRow keeps a row of table for the next write of the deferred rows.
func (t *tx) deferRow(ctx context.Context, table int, args ...any) error {
	if err := t.begin(ctx); err != nil {
		return err
	}
	t.rows.args[table] = append(t.rows.args[table], args...)
	return nil
}

// deferState keeps the upsert of an alert's state.
func (t *tx) deferState(ctx context.Context, k alertKey, args ...any) error {
	err := t.deferRow(ctx, deferStates, args...)
	if err == nil {
		mark(&t.rows.stateKeys, k)
	}
	return err
}

// deferAlert keeps the upsert of an alert's row.
func (t *tx) deferAlert(ctx context.Context, k alertRowKey, args ...any) error {
	err := t.deferRow(ctx, deferAlerts, args...)
	if err == nil {
		mark(&t.rows.alertKeys, k)
	}
	return err
}

// mark adds k to the set *m, making it first if need be.
func mark[K comparable](m *map[K]bool, k K) {
	if *m == nil {
		*m = make(map[K]bool)
	}
	(*m)[k] = true
}

// writeBefore writes table's deferred rows before a statement that reads
// one of them (deferred: the key it reads is among them).
func (t *tx) writeBefore(ctx context.Context, table int, deferred bool) error {
	if !deferred {
		return nil
	}
	qctx, err := t.quiet(ctx)
	if err == nil {
		err = t.writeTable(qctx, table)
	}
	if err != nil && t.wb.err == nil {
		t.wb.err = err
	}
	return err
}

// deferTimeline keeps a timeline entry's row and returns its ID.
func (t *tx) deferTimeline(ctx context.Context, args ...any) (int64, error) {
	id, err := t.nextID(ctx, deferTimeline, &t.rows.nextTimelineID, qNextTimelineID)
	if err == nil {
		t.rows.args[deferTimeline] = append(append(t.rows.args[deferTimeline], id), args...)
	}
	return id, err
}

// deferFirstEpisode keeps the first episode of an alert numbered in this
// transaction (no; args are the rest of the episode's columns) and returns
// its ID, if it may: else it reports false, and the caller runs its
// statement.
func (t *tx) deferFirstEpisode(ctx context.Context, no int64, args ...any) (id int64, ok bool, err error) {
	if !t.nos.given[no] || t.rows.episodeNos[no] {
		return 0, false, nil
	}
	id, err = t.nextID(ctx, deferEpisodes, &t.rows.nextEpisodeID, qNextEpisodeID)
	if err != nil {
		return 0, false, err
	}
	t.rows.args[deferEpisodes] = append(append(t.rows.args[deferEpisodes], id, no), args...)
	t.episodeInserted(no)
	return id, true, nil
}

// episodeInserted notes that an episode of alert number no was inserted:
// a later one of the same alert may meet it, and is a statement's.
func (t *tx) episodeInserted(no int64) {
	if t.nos.given[no] {
		mark(&t.rows.episodeNos, no)
	}
}

// nextID gives the next ID of table's rows from *next, read by q first
// when not yet known; the transaction has begun when it returns.
func (t *tx) nextID(ctx context.Context, table int, next *int64, q string) (int64, error) {
	if *next == 0 {
		// Its own table's deferred rows are none (see touchesEpisodes and
		// flush), or written first.
		st, qctx, err := t.stmt(ctx, q)
		if err != nil {
			return 0, err
		}
		if err := st.QueryRowContext(qctx).Scan(next); err != nil {
			return 0, fmt.Errorf("read the next %s ID: %w", deferredTables[table].name, err)
		}
	}
	id := *next
	*next++
	return id, nil
}

// deferredResolves counts the deferred events that qCountResolves would
// count: the alert's resolves received at or after since.
func (t *tx) deferredResolves(source, fp string, since int64) int {
	n := 0
	args := t.rows.args[deferEvents]
	for i := 0; i+eventArgs <= len(args); i += eventArgs {
		row := args[i : i+eventArgs]
		if row[eventTransition] == string(incident.TransitionResolved) && row[eventSource] == source &&
			row[eventFingerprint] == fp && row[eventReceivedAt].(int64) >= since {
			n++
		}
	}
	return n
}

// deferred reports whether any row is deferred.
func (t *tx) deferred() bool {
	for _, args := range t.rows.args {
		if len(args) > 0 {
			return true
		}
	}
	return false
}

// writeDeferred writes every table's deferred rows; the transaction has
// begun, and ctx is the statement's (see quiet).
func (t *tx) writeDeferred(ctx context.Context) error {
	t.eventDays()
	for i := range deferredTables {
		if err := t.writeTable(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// writeTable writes table i's deferred rows, in order, widest statements
// first. Rows alike in the table's shared columns, minSharedRun of them or
// more in a row (a notification's, as a rule), go in statements that bind
// those values once: binding was a fifth of the writer's time on new
// alerts, and most of a new alert's arguments are its notification's.
// Other rows go in statements that bind every value.
func (t *tx) writeTable(ctx context.Context, i int) error {
	table, all := deferredTables[i], t.rows.args[i]
	w, n := table.width, len(all)/table.width
	plain := 0 // the first row not written
	for r := 0; r < n && len(table.shared) > 0; {
		end := r + 1
		for end < n && sameShared(all[r*w:(r+1)*w], all[end*w:(end+1)*w], table.shared) {
			end++
		}
		if end-r >= minSharedRun {
			if err := t.writeRows(ctx, i, all[plain*w:r*w], false); err != nil {
				return err
			}
			if err := t.writeRows(ctx, i, all[r*w:end*w], true); err != nil {
				return err
			}
			plain = end
		}
		r = end
	}
	if err := t.writeRows(ctx, i, all[plain*w:], false); err != nil {
		return err
	}
	clear(all) // the strings they hold
	t.rows.args[i] = all[:0]
	switch i {
	case deferStates:
		clear(t.rows.stateKeys)
	case deferAlerts:
		clear(t.rows.alertKeys)
	}
	return nil
}

// sharedRowsWritten counts each table's rows written with their shared
// columns bound once, for tests that must know it happened.
var sharedRowsWritten [len(deferredTables)]atomic.Int64

// minSharedRun is the fewest rows alike in their shared columns written
// with those bound once: a shorter run would cost statements of its own.
const minSharedRun = 4

// sameShared reports whether rows a and b have the same values in the
// columns shared.
func sameShared(a, b []any, shared []int) bool {
	for _, c := range shared {
		if !sameValue(a[c], b[c]) {
			return false
		}
	}
	return true
}

// sameValue reports whether two arguments are the same value, for the
// kinds the writer binds; any other is never the same.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	}
	return false
}

// writeRows writes rows (table i's arguments, whole rows) in statements of
// deferWidths rows, widest first; shared: all alike in the table's shared
// columns, which are bound once per statement.
func (t *tx) writeRows(ctx context.Context, i int, rows []any, shared bool) error {
	table := deferredTables[i]
	w := table.width
	for len(rows) > 0 {
		n := len(rows) / w
		j := 0
		for deferWidths[j] > n {
			j++
		}
		k := deferWidths[j] * w
		q, args := deferredQueries[i][j], rows[:k]
		if shared {
			q, args = sharedQueries[i][j], t.sharedArgs(i, rows[:k])
			sharedRowsWritten[i].Add(int64(deferWidths[j]))
		}
		_, err := t.stmts[q].ExecContext(ctx, args...)
		if shared {
			clear(args) // the strings it holds
		}
		if err != nil {
			return &deferredError{fmt.Errorf("write %d deferred %s rows: %w", len(t.rows.args[i])/w, table.name, err)}
		}
		rows = rows[k:]
	}
	return nil
}

// sharedArgs are the arguments of table i's shared statement
// (deferredQuery) for rows: the first row's shared values, then each
// row's others, in the transaction's scratch slice.
func (t *tx) sharedArgs(i int, rows []any) []any {
	cols, w := sharedColumns[i], deferredTables[i].width
	args := t.rows.scratch[:0]
	for _, c := range cols.shared {
		args = append(args, rows[c])
	}
	for r := 0; r < len(rows); r += w {
		for _, c := range cols.own {
			args = append(args, rows[r+c])
		}
	}
	t.rows.scratch = args
	return args
}

// countNewAlertDays turns eventDays' rows of new alerts on; a test turns
// it off to compare with what the triggers write alone.
var countNewAlertDays = true

// newAlertDaysWritten counts the alerts whose days eventDays gave, for
// tests that must know it ran.
var newAlertDaysWritten atomic.Int64

// alertDay is a counted event of an alert numbered in this transaction:
// its number, UTC day and time.
type alertDay struct{ no, day, at int64 }

// eventDays gives, before the deferred events are written, the rows that
// count them by day, which triggers on events wrote row by row until
// migrations 0022 and 0023:
//
//   - event_days, every event's day and transition: one row per day and
//     transition with its count, added to the stored one. Every event is
//     a deferred row, so this counts every event;
//
// and the rows that keep their alerts' days (event_alert_days,
// event_alert_firsts: migration 0021):
//
//   - for an alert numbered in this transaction, at its first counted
//     events here, the rows themselves. No day of its number is stored,
//     so what the triggers would leave, whatever the events' order, is
//     one row per day it has events on, from the day's first to its last,
//     and in event_alert_firsts one more for each day paired with the one
//     before it (-1 for its first): the pairs are written as one upsert,
//     each with its count. Its later events in this transaction, in a
//     later write, are the next case's (eventNos);
//   - for every other counted event, a row of event_alert_day_touches,
//     whose triggers look its alert's day up and keep it as those on
//     events did.
//
// The lookups were a fifth of the writer's time on new alerts.
func (t *tx) eventDays() {
	args := t.rows.args[deferEvents]
	var days []alertDay
	var counts []tally[dayTransition]
	touches := t.rows.args[deferDayTouches]
	for i := 0; i+eventArgs <= len(args); i += eventArgs {
		at := args[i+eventReceivedAt].(int64)
		counts = count(counts, dayTransition{at / nanosPerDay, args[i+eventTransition].(string)})
		no, ok := args[i+eventAlertNo].(int64)
		if !ok {
			continue // uncounted: no number
		}
		if !countNewAlertDays || !t.nos.given[no] || t.rows.eventNos[no] {
			touches = append(touches, no, at) // its days may be stored
			continue
		}
		days = append(days, alertDay{no: no, day: at / nanosPerDay, at: at})
	}
	t.rows.args[deferDayTouches] = touches
	for _, c := range counts {
		t.rows.args[deferEventDays] = append(t.rows.args[deferEventDays], c.key.day, c.key.transition, c.n)
	}
	slices.SortFunc(days, func(a, b alertDay) int {
		return cmp.Or(cmp.Compare(a.no, b.no), cmp.Compare(a.day, b.day), cmp.Compare(a.at, b.at))
	})
	var firsts []tally[[2]int64] // (day, prev_day)
	for i := 0; i < len(days); {
		d := days[i]
		prev := int64(-1)
		if i > 0 && days[i-1].no == d.no {
			prev = days[i-1].day
		}
		j := i + 1
		for j < len(days) && days[j].no == d.no && days[j].day == d.day {
			j++
		}
		t.rows.args[deferAlertDays] = append(t.rows.args[deferAlertDays], d.no, d.day, d.at, days[j-1].at)
		firsts = count(firsts, [2]int64{d.day, prev})
		if !t.rows.eventNos[d.no] {
			mark(&t.rows.eventNos, d.no)
			newAlertDaysWritten.Add(1)
		}
		i = j
	}
	for _, c := range firsts {
		t.rows.args[deferAlertFirsts] = append(t.rows.args[deferAlertFirsts], c.key[0], c.key[1], c.n)
	}
}

// dayTransition is the key of an event's count in event_days.
type dayTransition struct {
	day        int64
	transition string
}

// tally is a key's count among a write's rows.
type tally[K comparable] struct {
	key K
	n   int64
}

// count adds one to k's count in counts: a write's events fall on a day
// or two, so a scan is all it takes.
func count[K comparable](counts []tally[K], k K) []tally[K] {
	for j := range counts {
		if counts[j].key == k {
			counts[j].n++
			return counts
		}
	}
	return append(counts, tally[K]{key: k, n: 1})
}

// deferredError is a failed write of deferred rows: never a domain error
// (mapErr's ErrConflict) of the statement that happened to need them
// written.
type deferredError struct{ err error }

func (e *deferredError) Error() string { return e.err.Error() }
func (e *deferredError) Unwrap() error { return e.err }

// endsAtAsStored is an end as an episode's statement returns it.
func endsAtAsStored(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(0, t.UnixNano()).UTC()
}
