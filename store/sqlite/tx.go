package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/incidentrow"
	"github.com/alertbridge/alertbridge/store/internal/labeljson"
	"github.com/alertbridge/alertbridge/store/internal/maintmemo"
)

// tx implements incident.Tx over one SQLite transaction.
type tx struct {
	// tx runs a statement after writing the incidents held back (see
	// writeBack); conn runs it as it is, for the statements that may.
	tx flushing
	// conn is the writer's connection; begun once the first statement has
	// begun the transaction on it (see begin).
	conn  *sql.Conn
	begun bool
	db    *sql.DB
	stmts map[string]*sql.Stmt // prepared on conn
	wb    writeBack
	rows  deferredRows // the events and timeline entries not written yet (deferred.go)
	// keys is the store's index of the alert states' keys (statekeys.go).
	keys *stateKeys
	// deleted are the states this transaction deleted, which the index
	// forgets once it commits (see forgetDeleted).
	deleted []numberedKey
	// maint are the ActiveMaintenance answers of this transaction, until
	// it writes a change.
	maint maintmemo.Memo
	// outer is the context of the last statement and inner the same
	// without its cancellation (see quiet).
	outer, inner context.Context
	// nos are the alert numbers of this transaction (alertno.go).
	nos alertNumbers
	// fresh are the incidents this transaction created, each with the
	// alerts it put on them: no other alert has a row on such an incident,
	// so Alert answers for it without a statement. The notification that
	// opens an incident brings most of its alerts, and each one is asked
	// for before it is put. A move onto an incident forgets it here.
	fresh map[int64]map[alertKey]bool
	// created counts the incidents this transaction inserted, which wait
	// for the search index (searchindex.go).
	created int
}

func newTx(db *sql.DB, conn *sql.Conn, stmts map[string]*sql.Stmt, nos alertNumbers) *tx {
	t := &tx{db: db, conn: conn, stmts: stmts, nos: nos}
	t.tx = flushing{t}
	return t
}

// begin returns the SQLite transaction, begun at the first statement
// rather than when Update is called: a writer transaction that runs no
// statement at all (a group of repeats answered from the caches and
// deferred) then costs no BEGIN and COMMIT, which were a seventh of the
// daemon's CPU on repeats of one alert per request. A deferred BEGIN
// reads nothing either, so the transaction sees what it saw before.
func (t *tx) begin(ctx context.Context) error {
	if !t.begun {
		qctx, err := t.quiet(ctx)
		if err == nil {
			_, err = t.conn.ExecContext(qctx, "BEGIN IMMEDIATE")
		}
		if err != nil {
			t.wb.err = fmt.Errorf("begin: %w", err)
			return t.wb.err
		}
		t.begun = true
	}
	return nil
}

// rollback ends a transaction begun and not committed: after fn or the
// commit failed. SQLite may have rolled it back already (a failed COMMIT
// after an I/O error does), and then says so, which is no error here.
func (t *tx) rollback() {
	if t.begun {
		t.conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck // see above
		t.begun = false
	}
}

// exec runs a writer statement, reusing its prepared form: SQLite would
// otherwise parse and plan every statement on every call.
func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if _, ok := t.stmts[q]; ok {
		st, qctx, err := t.stmt(ctx, q)
		if err != nil {
			return nil, err
		}
		return st.ExecContext(qctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if _, ok := t.stmts[q]; ok {
		st, qctx, err := t.stmt(ctx, q)
		if err != nil {
			// The context ended, or the held write or the begin failed: the
			// transaction fails (see flushing).
			return failedRow(t.db, err)
		}
		return st.QueryRowContext(qctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

// quiet returns, for one statement of the transaction, ctx without its
// cancellation, or ctx's error once it has ended. The driver starts a
// goroutine per statement to watch a context that can end, a tenth of
// the writer's CPU besides SQLite's own on new alerts. Instead every
// statement checks ctx first, and so does the commit (Update), which
// rolls the transaction back once ctx has ended. A statement already
// running when it ends runs to its end: the writer's statements are
// lookups and writes of a few rows by index.
func (t *tx) quiet(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ctx != t.outer {
		t.outer, t.inner = ctx, context.WithoutCancel(ctx)
	}
	return t.inner, nil
}

// The writer's statements, prepared once at open (see prepare).
var (
	// A state by a candidate number and its key (statekeys.go).
	qSelectAlertState = `SELECT alert_no, status, starts_at, ends_at, incident_id, last_seen_at
		FROM alert_states WHERE alert_no = ? AND source = ? AND fingerprint = ?`
	// The key's owner: the incident taking its alerts (one at most, by the
	// unique index), else the one whose impact ended last: a late firing
	// recorded afterwards may have a newer ID but an older end.
	qIncidentByKeyActive = `SELECT ` + incidentColumns + ` FROM incidents
		WHERE correlation_key = ? AND state IN ('pending', 'open', 'acknowledged') AND sealed_at IS NULL`
	qIncidentByKeyLast = `SELECT ` + incidentColumns + ` FROM incidents
		WHERE correlation_key = ? ORDER BY resolved_at DESC, id DESC LIMIT 1`
	qIncidentByID = `SELECT ` + incidentColumns + ` FROM incidents WHERE id = ?`
	qDueIncidents = `SELECT ` + incidentColumns + ` FROM incidents WHERE id IN (` + dueIDs + `) ORDER BY id LIMIT ?`
	qSelectAlert  = `SELECT ` + alertColumns + ` FROM alerts WHERE incident_id = ? AND source = ? AND fingerprint = ?`
)

const qUpsertChange = `INSERT INTO changes (source, external_id, service, summary, url, started_at, finished_at,
	labels, maintenance, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (source, external_id) DO UPDATE SET service = excluded.service, summary = excluded.summary,
		url = excluded.url, started_at = excluded.started_at, finished_at = excluded.finished_at,
		labels = excluded.labels, maintenance = excluded.maintenance, received_at = excluded.received_at
	RETURNING id`

const qTouchAlert = `UPDATE alerts SET count = count + 1, last_seen_at = ?, starts_at = ?, annotations = ?
	WHERE incident_id = ? AND source = ? AND fingerprint = ?`

// dueIDs are the IDs of the incidents due at a time (given five times),
// one range of a partial index per way to come due (migration 0017; named,
// as the planner would rather take every open incident from
// incidents_state_priority on a store without statistics): a scheduled
// resolve, a pending window, a respond or resolve target passed unmarked,
// a flapping incident quiet for its flap window. An incident due more
// than one way is listed more than once; the caller's IN takes it once.
const dueIDs = `SELECT id FROM incidents INDEXED BY incidents_resolve_due
		WHERE resolve_due_at IS NOT NULL AND resolve_due_at <= ? AND state IN ('open', 'acknowledged')
	UNION ALL SELECT id FROM incidents INDEXED BY incidents_pending
		WHERE state = 'pending' AND window_ns > 0 AND sealed_at IS NULL AND last_event_at + window_ns < ?
	UNION ALL SELECT id FROM incidents INDEXED BY incidents_respond_due
		WHERE respond_by IS NOT NULL AND respond_breached_at IS NULL AND state = 'open' AND respond_by < ?
	UNION ALL SELECT id FROM incidents INDEXED BY incidents_resolve_target_due
		WHERE resolve_by IS NOT NULL AND resolve_breached_at IS NULL AND state IN ('open', 'acknowledged')
		AND resolve_by < ?
	UNION ALL SELECT id FROM incidents INDEXED BY incidents_flapping
		WHERE flapping_since IS NOT NULL AND state <> 'closed' AND last_event_at + flap_window_ns < ?`

var writerQueries = []string{qUpsertChange, qTouchAlert, qSelectAlertState, qIncidentByKeyActive, qIncidentByKeyLast, qIncidentByID, qInsertIncident, qUpdateIncident, qSelectAlert, qDueIncidents, qActiveMaintenance}

var _ incident.Tx = (*tx)(nil)

func (t *tx) AlertState(ctx context.Context, source, fp string) (incident.AlertState, error) {
	if err := t.writeBefore(ctx, deferStates, t.rows.stateKeys[alertKey{source, fp}]); err != nil {
		return incident.AlertState{Source: source, Fingerprint: fp}, err
	}
	// A key the index does not have has no state: no read (statekeys.go).
	var buf [2]int64
	cands := t.keys.lookup(alertKey{source, fp}, buf[:0])
	for _, no := range cands {
		s, err := t.readAlertState(ctx, no, source, fp)
		if !errors.Is(err, incident.ErrNotFound) {
			return s, err
		}
	}
	return t.noAlertState(source, fp)
}

// readAlertState reads the state numbered no if it holds the key, else
// fails with incident.ErrNotFound; its scan's targets are its own, so
// that a lookup the index answers puts nothing on the heap for them.
func (t *tx) readAlertState(ctx context.Context, no int64, source, fp string) (incident.AlertState, error) {
	s := incident.AlertState{Source: source, Fingerprint: fp}
	var starts, ends, lastSeen sql.NullInt64
	var incID sql.NullInt64
	err := t.queryRow(ctx, qSelectAlertState, no, source, fp).Scan(&no, &s.Status, &starts, &ends, &incID, &lastSeen)
	if errors.Is(err, sql.ErrNoRows) {
		return s, incident.ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("select alert state: %w", err)
	}
	t.know(alertKey{source, fp}, no)
	s.StartsAt, s.EndsAt, s.LastSeenAt, s.IncidentID = fromNanos(starts), fromNanos(ends), fromNanos(lastSeen), incID.Int64
	return s, nil
}

// noAlertState answers for a key with no state.
func (t *tx) noAlertState(source, fp string) (incident.AlertState, error) {
	// No number either, unless it is an orphan's (then alertNo asks) or
	// this transaction gave it one with an episode.
	if k := (alertKey{source, fp}); t.stateSettles(k) {
		t.know(k, 0)
	}
	return incident.AlertState{Source: source, Fingerprint: fp}, incident.ErrNotFound
}

func (t *tx) PutAlertState(ctx context.Context, s incident.AlertState) error {
	var incID any
	if s.IncidentID != 0 {
		incID = s.IncidentID
	}
	no, err := t.numberAlert(ctx, s.Source, s.Fingerprint)
	if err != nil {
		return err
	}
	// Written with the deferred rows, by its number (ON CONFLICT): a
	// stored state's, which the index gave, or a new one's. The index
	// knows it from now on, whether this transaction commits or not.
	t.keys.add(alertKey{s.Source, s.Fingerprint}, no)
	err = t.deferState(ctx, alertKey{s.Source, s.Fingerprint},
		no, s.Source, s.Fingerprint, string(s.Status), nanos(s.StartsAt), nanos(s.EndsAt), incID, s.LastSeenAt.UnixNano())
	if err != nil {
		return fmt.Errorf("upsert alert state: %w", err)
	}
	return t.stated(ctx, alertKey{s.Source, s.Fingerprint})
}

// IncidentByKey returns the incident that owns the key: the one taking its
// alerts, else the one whose impact ended last (see qIncidentByKeyLast).
func (t *tx) IncidentByKey(ctx context.Context, key string) (incident.Incident, error) {
	inc, err := incidentByKey(func(q string) scanner { return t.queryRow(ctx, q, key) })
	if err == nil {
		t.wb.remember(inc)
	}
	return inc, err
}

// incidentByKey runs the two owner queries through query.
func incidentByKey(query func(q string) scanner) (incident.Incident, error) {
	inc, err := scanIncident(query(qIncidentByKeyActive))
	if errors.Is(err, incident.ErrNotFound) {
		return scanIncident(query(qIncidentByKeyLast))
	}
	return inc, err
}

// Incident returns the incident's row, as held back if it is (see
// writeBack).
func (t *tx) Incident(ctx context.Context, id int64) (incident.Incident, error) {
	if inc, ok := t.wb.heldCopy(id); ok {
		return inc, nil
	}
	inc, err := scanIncident(t.queryRow(ctx, qIncidentByID, id))
	if err == nil {
		t.wb.remember(inc)
	}
	return inc, err
}

func (t *tx) CreateIncident(ctx context.Context, inc *incident.Incident) error {
	res, err := t.exec(ctx, qInsertIncident, incidentrow.InsertArgs(inc)...)
	if err != nil {
		return mapErr("insert incident", err)
	}
	if inc.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	t.created++
	t.wb.remember(*inc)
	if t.fresh == nil {
		t.fresh = make(map[int64]map[alertKey]bool)
	}
	t.fresh[inc.ID] = map[alertKey]bool{}
	return nil
}

// UpdateIncident writes inc's row, or holds it back until a statement
// needs it (see writeBack).
func (t *tx) UpdateIncident(ctx context.Context, inc incident.Incident) error {
	if t.wb.hold(inc) {
		return nil
	}
	res, err := t.exec(ctx, qUpdateIncident, incidentrow.UpdateArgs(&inc)...)
	if err != nil {
		return mapErr("update incident", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update incident %d: %w", inc.ID, incident.ErrNotFound)
	}
	t.wb.remember(inc)
	return nil
}

func (t *tx) Alert(ctx context.Context, incidentID int64, source, fp string) (incident.Alert, error) {
	if put, ok := t.fresh[incidentID]; ok && !put[alertKey{source, fp}] {
		return incident.Alert{}, incident.ErrNotFound
	}
	if err := t.writeBefore(ctx, deferAlerts, t.rows.alertKeys[alertRowKey{incidentID, alertKey{source, fp}}]); err != nil {
		return incident.Alert{}, err
	}
	row := t.queryRow(ctx, qSelectAlert, incidentID, source, fp)
	return scanAlert(row)
}

func (t *tx) AlertsByFingerprint(ctx context.Context, incidentID int64, fp string) ([]incident.Alert, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE incident_id = ? AND fingerprint = ?
		ORDER BY source`, incidentID, fp)
	return collect(rows, err, "select alerts by fingerprint", scanAlert)
}

func (t *tx) PutAlert(ctx context.Context, a incident.Alert) error {
	labels := labeljson.String(a.Labels)
	ann := labeljson.String(a.Annotations)
	err := t.deferAlert(ctx, alertRowKey{a.IncidentID, alertKey{a.Source, a.Fingerprint}},
		a.IncidentID, a.Source, a.Fingerprint, string(a.Status), labels, ann, nanos(a.StartsAt), nanos(a.EndsAt),
		a.GeneratorURL, a.FirstSeenAt.UnixNano(), a.LastSeenAt.UnixNano(), a.Count)
	if err != nil {
		return fmt.Errorf("upsert alert: %w", err)
	}
	if put, ok := t.fresh[a.IncidentID]; ok {
		put[alertKey{a.Source, a.Fingerprint}] = true
	}
	return nil
}

func (t *tx) TouchAlert(ctx context.Context, incidentID int64, source, fp string, seen, startsAt time.Time, annotations map[string]string) error {
	ann := labeljson.String(annotations)
	if err := t.writeBefore(ctx, deferAlerts, t.rows.alertKeys[alertRowKey{incidentID, alertKey{source, fp}}]); err != nil {
		return err
	}
	res, err := t.exec(ctx, qTouchAlert, seen.UnixNano(), nanos(startsAt), ann, incidentID, source, fp)
	if err != nil {
		return mapErr("touch alert", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("touch alert %s/%s of incident %d: %w", source, fp, incidentID, incident.ErrNotFound)
	}
	return nil
}

// touchChunk is how many touches one statement writes: a multi-row
// UPDATE ... FROM (VALUES ...) costs one statement's overhead (bind, step,
// reset through database/sql and the driver) for many keyed updates.
const touchChunk = 100

// touchStatements are the prepared UPDATEs for a full chunk of touches,
// the state's and the alert's; shorter chunks are prepared by the
// transaction.
var touchStatements = [2]string{touchStateQuery(touchChunk), touchAlertQuery(touchChunk)}

func init() { writerQueries = append(writerQueries, touchStatements[:]...) }

// touchStateQuery moves last-seen times of n alert states forward only,
// each by a candidate number and its key (statekeys.go).
func touchStateQuery(n int) string {
	return `UPDATE alert_states SET last_seen_at = MAX(COALESCE(alert_states.last_seen_at, 0), v.column4)
		FROM (VALUES ` + rows(n, "(?, ?, ?, ?)") + `) AS v
		WHERE alert_states.alert_no = v.column1 AND alert_states.source = v.column2
		AND alert_states.fingerprint = v.column3`
}

// touchAlertQuery adds n touches' counts to their alerts and moves their
// last-seen times forward only.
func touchAlertQuery(n int) string {
	return `UPDATE alerts SET count = alerts.count + v.column4, last_seen_at = MAX(COALESCE(alerts.last_seen_at, 0), v.column5)
		FROM (VALUES ` + rows(n, "(?, ?, ?, ?, ?)") + `) AS v
		WHERE alerts.incident_id = v.column1 AND alerts.source = v.column2 AND alerts.fingerprint = v.column3`
}

func rows(n int, row string) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

func (t *tx) TouchAlerts(ctx context.Context, touches []incident.Touch) error {
	states, alerts := incident.CoalesceTouches(touches)
	sargs := make([]any, 0, 4*len(states))
	for _, tc := range states {
		// A key with no candidate has no state to touch.
		var buf [2]int64
		cands := t.keys.lookup(alertKey{tc.Source, tc.Fingerprint}, buf[:0])
		for _, no := range cands {
			sargs = append(sargs, no, tc.Source, tc.Fingerprint, tc.Seen.UnixNano())
		}
	}
	aargs := make([]any, 0, 5*len(alerts))
	for _, tc := range alerts {
		aargs = append(aargs, tc.IncidentID, tc.Source, tc.Fingerprint, tc.Count, tc.Seen.UnixNano())
	}
	if err := t.execChunks(ctx, sargs, 4, touchStateQuery, "touch alert states"); err != nil {
		return err
	}
	return t.execChunks(ctx, aargs, 5, touchAlertQuery, "touch alerts")
}

// execChunks runs query(n) over args, width of them per row, touchChunk
// rows at a time.
func (t *tx) execChunks(ctx context.Context, args []any, width int, query func(int) string, op string) error {
	for len(args) > 0 {
		n := min(len(args)/width, touchChunk)
		if _, err := t.exec(ctx, query(n), args[:n*width]...); err != nil {
			return mapErr(op, err)
		}
		args = args[n*width:]
	}
	return nil
}

func (t *tx) AddTimeline(ctx context.Context, e *incident.TimelineEntry) error {
	id, err := t.deferTimeline(ctx, e.IncidentID, e.At.UnixNano(), string(e.Kind), e.Actor, e.OnBehalfOf, e.Fingerprint, e.Message)
	if err != nil {
		return fmt.Errorf("insert timeline: %w", err)
	}
	e.ID = id
	return nil
}

func (t *tx) AddEvent(ctx context.Context, e incident.EventRecord) error {
	labels := labeljson.String(e.Labels)
	ann := labeljson.String(e.Annotations)
	var group any
	if e.GroupLabels != nil {
		group = labeljson.String(e.GroupLabels)
	}
	// A counted event carries its alert's number, by which the noise
	// figures count distinct alerts (migration 0021); a new alert's was
	// given with its first episode, so this is no statement more.
	var no any
	if counted(e.Transition) {
		n, err := t.numberAlert(ctx, e.Source, e.Fingerprint)
		if err != nil {
			return err
		}
		no = n
	}
	err := t.deferRow(ctx, deferEvents,
		e.ReceivedAt.UnixNano(), e.Source, e.Fingerprint, string(e.Status), labels, ann, group, e.Receiver,
		e.GeneratorURL, nanos(e.StartsAt), nanos(e.EndsAt), string(e.Transition), e.Rule, e.Key, nullID(e.IncidentID), no)
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	return nil
}

func (t *tx) ChangeByExternalID(ctx context.Context, source, externalID string) (incident.Change, error) {
	c, err := scanChange(t.tx.QueryRowContext(ctx, `SELECT `+changeColumns+` FROM changes
		WHERE source = ? AND external_id = ?`, source, externalID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, incident.ErrNotFound
	}
	return c, err
}

func (t *tx) PutChange(ctx context.Context, c *incident.Change) error {
	t.maint.Forget()
	labels := labeljson.String(c.Labels)
	err := t.queryRow(ctx, qUpsertChange, c.Source, c.ExternalID, c.Service, c.Summary, c.URL, c.StartedAt.UnixNano(),
		nanos(c.FinishedAt), labels, c.Maintenance, c.ReceivedAt.UnixNano()).Scan(&c.ID)
	if err != nil {
		return mapErr("upsert change", err)
	}
	return nil
}

func (t *tx) ChangesFor(ctx context.Context, services []string, from, to time.Time) ([]incident.Change, error) {
	if len(services) == 0 {
		return nil, nil
	}
	args := []any{from.UnixNano(), to.UnixNano()}
	for _, s := range services {
		args = append(args, s)
	}
	rows, err := t.tx.QueryContext(ctx, changesFor(len(services)), args...)
	return collect(rows, err, "select changes", scanChange)
}

// ActiveMaintenance runs as a prepared statement that passes the held
// incidents through (it reads changes only): placement asks it for every
// alert of a service, and writing the held incident before each one undid
// the write-back for exactly those alerts. The answer is kept for the
// transaction, as the alerts of one notification ask it at the same time,
// until the transaction writes a change (PutChange).
func (t *tx) ActiveMaintenance(ctx context.Context, service string, at time.Time) (incident.Change, error) {
	return t.maint.Ask(service, at, func() (incident.Change, error) {
		return scanMaintenance(t.queryRow(ctx, qActiveMaintenance, service, at.UnixNano(), at.UnixNano()))
	})
}

func (t *tx) ActiveIncidentsFor(ctx context.Context, services []string) ([]incident.Incident, error) {
	return activeIncidentsFor(ctx, t.tx, services)
}

// qActiveMaintenance is the newest maintenance change on a service whose
// window holds a time (service, then the time twice).
const qActiveMaintenance = `SELECT ` + changeColumns + ` FROM changes
	WHERE maintenance = 1 AND service = ? AND started_at <= ? AND (finished_at IS NULL OR finished_at > ?)
	ORDER BY started_at DESC, id DESC LIMIT 1`

func scanMaintenance(row *sql.Row) (incident.Change, error) {
	c, err := scanChange(row)
	if errors.Is(err, sql.ErrNoRows) {
		return c, incident.ErrNotFound
	}
	return c, err
}

// activeIncidentsFor is ActiveIncidentsFor for the writer and the readers.
func activeIncidentsFor(ctx context.Context, q queryer, services []string) ([]incident.Incident, error) {
	if len(services) == 0 {
		return nil, nil
	}
	args := make([]any, len(services))
	for i, s := range services {
		args[i] = s
	}
	rows, err := q.QueryContext(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE state IN ('open', 'acknowledged') AND sealed_at IS NULL
		AND service IN (`+placeholders(len(services))+`) ORDER BY id DESC`, args...)
	return collect(rows, err, "select active incidents", scanIncident)
}

func (t *tx) MoveAlerts(ctx context.Context, from, to int64) (int, error) {
	delete(t.fresh, to) // it may hold any of from's alerts now
	res, err := t.tx.ExecContext(ctx, `UPDATE alerts SET incident_id = ? WHERE incident_id = ?
		AND NOT EXISTS (SELECT 1 FROM alerts t WHERE t.incident_id = ?
			AND t.source = alerts.source AND t.fingerprint = alerts.fingerprint)`, to, from, to)
	if err != nil {
		return 0, mapErr("move alerts", err)
	}
	n, _ := res.RowsAffected()
	// An alert both had keeps the target's row; the source's copy goes.
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM alerts WHERE incident_id = ?`, from); err != nil {
		return 0, mapErr("drop merged alerts", err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE alert_states SET incident_id = ? WHERE incident_id = ?`, to, from); err != nil {
		return 0, mapErr("repoint alert states", err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE alert_episodes SET incident_id = ? WHERE incident_id = ?`, to, from); err != nil {
		return 0, mapErr("move episodes", err)
	}
	return int(n), nil
}

func (t *tx) MoveAlert(ctx context.Context, from, to int64, source, fp string) error {
	if put, ok := t.fresh[to]; ok {
		put[alertKey{source, fp}] = true
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE alerts SET incident_id = ? WHERE incident_id = ? AND source = ? AND fingerprint = ?`,
		to, from, source, fp)
	if err != nil {
		return mapErr("move alert", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("move alert %s/%s of incident %d: %w", source, fp, from, incident.ErrNotFound)
	}
	var buf [2]int64
	cands := t.keys.lookup(alertKey{source, fp}, buf[:0])
	for _, no := range cands {
		if _, err := t.tx.ExecContext(ctx, `UPDATE alert_states SET incident_id = ?
			WHERE alert_no = ? AND source = ? AND fingerprint = ? AND incident_id = ?`, to, no, source, fp, from); err != nil {
			return mapErr("repoint alert state", err)
		}
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE alert_episodes SET incident_id = ? WHERE incident_id = ? AND source = ? AND fingerprint = ?`,
		to, from, source, fp); err != nil {
		return mapErr("move episodes", err)
	}
	return nil
}

func (t *tx) AlertCounts(ctx context.Context, id int64) (alerts, firing int, err error) {
	err = t.tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(status = 'firing'), 0) FROM alerts WHERE incident_id = ?`,
		id).Scan(&alerts, &firing)
	if err != nil {
		return 0, 0, fmt.Errorf("count alerts of incident %d: %w", id, err)
	}
	return alerts, firing, nil
}

// qCountTimeline counts an incident's entries of a kind the partial index
// timeline_counted holds (migration 0028); it repeats the index's
// condition, without which the planner may not use it. qCountTimelineAny
// counts any other kind from the incident's entries.
const (
	qCountTimeline = `SELECT COUNT(*) FROM timeline WHERE incident_id = ? AND kind = ? AND at >= ?
		AND kind IN ('alert_resolved', 'workaround')`
	qCountTimelineAny = `SELECT COUNT(*) FROM timeline WHERE incident_id = ? AND kind = ? AND at >= ?`
)

// countedKinds are the kinds timeline_counted holds.
var countedKinds = map[incident.TimelineKind]bool{incident.TimelineAlertResolved: true, incident.TimelineWorkaround: true}

func (t *tx) CountTimeline(ctx context.Context, id int64, kind incident.TimelineKind, since time.Time) (int, error) {
	q := qCountTimelineAny
	if countedKinds[kind] {
		q = qCountTimeline
	}
	var n int
	err := t.tx.QueryRowContext(ctx, q, id, kind, since.UnixNano()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count timeline of incident %d: %w", id, err)
	}
	return n, nil
}

// qCountResolves counts an alert's resolves since a time (flapping), from
// the partial index events_resolved (migration 0019).
const qCountResolves = `SELECT COUNT(*) FROM events WHERE source = ? AND fingerprint = ?
	AND transition = 'resolved' AND received_at >= ?`

// changesFor is the query of the changes of n services started in a
// window (the window's bounds, then the services).
func changesFor(n int) string {
	return `SELECT ` + changeColumns + ` FROM changes
		WHERE started_at >= ? AND started_at <= ? AND service IN (` + placeholders(n) + `)
		ORDER BY started_at, id`
}

func init() {
	writerQueries = append(writerQueries, qCountResolves, changesFor(1))
	passThrough[qCountResolves] = true // CountResolves adds the deferred events itself
}

// CountResolves counts the stored resolves and adds the deferred ones
// (deferred.go): every resolve asks, and writing the deferred rows first
// cost a flush per resolve, a fifth of the writer's time under churn.
func (t *tx) CountResolves(ctx context.Context, source, fp string, since time.Time) (int, error) {
	var n int
	err := t.queryRow(ctx, qCountResolves, source, fp, since.UnixNano()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count resolves of %s/%s: %w", source, fp, err)
	}
	return n + t.deferredResolves(source, fp, since.UnixNano()), nil
}

func (t *tx) LinkChange(ctx context.Context, l incident.ChangeLink) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO incident_changes (incident_id, change_id, rank, reason) VALUES (?, ?, ?, ?)
		ON CONFLICT (incident_id, change_id) DO UPDATE SET rank = excluded.rank, reason = excluded.reason`,
		l.IncidentID, l.Change.ID, l.Rank, l.Reason)
	if err != nil {
		return mapErr("link change", err)
	}
	return nil
}

const changeColumns = `id, source, external_id, service, summary, url, started_at, finished_at, labels, maintenance, received_at`

func scanChange(row scanner) (incident.Change, error) {
	var c incident.Change
	var started, received int64
	var finished sql.NullInt64
	var labels string
	if err := row.Scan(&c.ID, &c.Source, &c.ExternalID, &c.Service, &c.Summary, &c.URL, &started, &finished,
		&labels, &c.Maintenance, &received); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, err
		}
		return c, fmt.Errorf("scan change: %w", err)
	}
	if err := json.Unmarshal([]byte(labels), &c.Labels); err != nil {
		return c, fmt.Errorf("decode change labels: %w", err)
	}
	c.StartedAt, c.FinishedAt, c.ReceivedAt = time.Unix(0, started).UTC(), fromNanos(finished), time.Unix(0, received).UTC()
	return c, nil
}

func (t *tx) DueIncidents(ctx context.Context, now time.Time) ([]incident.Incident, error) {
	st, qctx, err := t.stmt(ctx, qDueIncidents)
	if err != nil {
		return nil, err
	}
	n := now.UnixNano()
	rows, err := st.QueryContext(qctx, n, n, n, n, n, incident.SweepBatch)
	return collect(rows, err, "select due incidents", scanIncident)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// mapErr turns a unique-constraint violation into incident.ErrConflict,
// but not one of deferred rows written before the statement (deferred.go).
func mapErr(op string, err error) error {
	var se *sqlite.Error
	var de *deferredError
	if !errors.As(err, &de) && errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return fmt.Errorf("%s: %w: %w", op, incident.ErrConflict, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

type scanner interface {
	Scan(dest ...any) error
}

const alertColumns = `incident_id, source, fingerprint, status, labels, annotations, starts_at, ends_at, generator_url,
	first_seen_at, last_seen_at, count`

func scanAlert(row scanner) (incident.Alert, error) {
	var a incident.Alert
	var labels, ann string
	var starts, ends, first, last sql.NullInt64
	err := row.Scan(&a.IncidentID, &a.Source, &a.Fingerprint, &a.Status, &labels, &ann, &starts, &ends, &a.GeneratorURL,
		&first, &last, &a.Count)
	if errors.Is(err, sql.ErrNoRows) {
		return a, incident.ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("scan alert: %w", err)
	}
	if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil {
		return a, fmt.Errorf("decode labels of alert %s: %w", a.Fingerprint, err)
	}
	if err := json.Unmarshal([]byte(ann), &a.Annotations); err != nil {
		return a, fmt.Errorf("decode annotations of alert %s: %w", a.Fingerprint, err)
	}
	a.StartsAt, a.EndsAt, a.FirstSeenAt, a.LastSeenAt = fromNanos(starts), fromNanos(ends), fromNanos(first), fromNanos(last)
	return a, nil
}
