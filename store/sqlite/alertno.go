package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// Alert numbers (migration 0020). Episodes are keyed by (alert_no,
// starts_at), where an alert's number is given in order of first sight,
// so that a commit's new alerts append their episodes at the index's end
// together rather than each on a leaf of its own, as a key led by the
// fingerprint, a hash, did.
//
// The invariant the episodes' lookups rest on: every alert with an episode
// (or, since migration 0021, a day in event_alert_days: its counted events
// carry its number) has a state holding its number (alert_states.alert_no),
// or else a row in alert_orphans: the alerts whose state retention deleted
// before migration 0020, and those a transaction wrote an episode or a
// counted event of without a state. So:
//   - a number given in a transaction is written to the alert's state in
//     the same transaction, or else to alert_orphans (keepUnstated);
//   - retention deletes a state only once none of its alert's episodes or
//     days is left (statesWhere);
//   - a number is never given twice: numbers come from one counter, the
//     writer's, which starts above every number stored.

const (
	// qAlertNo is an alert's number: its state's (by a candidate number
	// and the key, statekeys.go), else its orphan's, else 0.
	qAlertNo = `SELECT COALESCE((SELECT alert_no FROM alert_states WHERE alert_no = ? AND source = ? AND fingerprint = ?),
		-(SELECT alert_no FROM alert_orphans WHERE source = ? AND fingerprint = ?), 0)`
	qDeleteOrphan = `DELETE FROM alert_orphans WHERE source = ? AND fingerprint = ?`
	qInsertOrphan = `INSERT INTO alert_orphans (source, fingerprint, alert_no) VALUES (?, ?, ?)`
	// qMaxAlertNo is the highest number stored, where the writer's counter
	// starts: each by the rightmost entry of an index.
	qMaxAlertNo = `SELECT MAX(COALESCE((SELECT MAX(alert_no) FROM alert_states), 0),
		COALESCE((SELECT MAX(alert_no) FROM alert_episodes), 0),
		COALESCE((SELECT MAX(alert_no) FROM alert_orphans), 0))`
)

// statesWhere is retention's condition on the states of an incident whose
// history it deletes (after its episodes): a state goes once its alert has
// no episode left in any incident, and no day in event_alert_days (whose
// counted events carry the number: a later event must not number the alert
// anew while they count).
const statesWhere = `incident_id = ? AND NOT EXISTS (SELECT 1 FROM alert_episodes e WHERE e.alert_no = alert_states.alert_no)
	AND NOT EXISTS (SELECT 1 FROM event_alert_days d WHERE d.alert_no = alert_states.alert_no)`

func init() {
	writerQueries = append(writerQueries, qAlertNo, qDeleteOrphan, qInsertOrphan)
	passThrough[qAlertNo], passThrough[qDeleteOrphan], passThrough[qInsertOrphan] = true, true, true
}

type alertKey struct{ source, fingerprint string }

// alertNumbers are the numbers a transaction knows and has given.
type alertNumbers struct {
	// next is the store's counter: the next number to give. Only the
	// writer, holding the writer's connection, reads or moves it.
	next *int64
	// orphansLeft is the store's: whether alert_orphans may have rows.
	// When not, an alert without a state has no number, and its state's
	// lookup says so.
	orphansLeft *bool
	// known are the numbers read or given in this transaction; 0 is an
	// alert known to have none.
	known map[alertKey]int64
	// orphans are the alerts whose known number is an orphan's row.
	orphans map[alertKey]bool
	// unstated are the numbers given (or taken over from alert_orphans) in
	// this transaction that no state holds yet.
	unstated map[alertKey]unstated
	// given are the numbers given in this transaction: no row stored
	// before it holds one.
	given map[int64]bool
}

type unstated struct {
	no     int64
	orphan bool // taken over from alert_orphans, whose row is still there
}

// forget drops what the transaction knows, after a statement that may
// have deleted states (retention), but for the numbers no state holds
// yet: there was no state of theirs to delete.
func (n *alertNumbers) forget() {
	for k := range n.known {
		if _, ok := n.unstated[k]; !ok {
			delete(n.known, k)
			delete(n.orphans, k)
		}
	}
}

// alertNo returns the alert's number, or 0 when it has none: then it has
// no episode either.
func (t *tx) alertNo(ctx context.Context, source, fp string) (int64, error) {
	k := alertKey{source, fp}
	if no, ok := t.nos.known[k]; ok {
		return no, nil
	}
	var no int64
	if err := t.writeBefore(ctx, deferStates, t.rows.stateKeys[k]); err != nil {
		return 0, err
	}
	// Each candidate in turn, and 0 (no state) when there is none; what
	// a candidate not the key's gives is the orphan's number, or 0.
	var buf [2]int64
	cands := t.keys.lookup(k, buf[:0])
	if len(cands) == 0 {
		cands = append(cands, 0)
	}
	for _, cand := range cands {
		if err := t.queryRow(ctx, qAlertNo, cand, source, fp, source, fp).Scan(&no); err != nil {
			return 0, fmt.Errorf("select alert number: %w", err)
		}
		if no > 0 {
			break
		}
	}
	if no < 0 { // an orphan's: a state that takes it over takes its row
		no = -no
		if t.nos.orphans == nil {
			t.nos.orphans = make(map[alertKey]bool)
		}
		t.nos.orphans[k] = true
	}
	t.know(k, no)
	return no, nil
}

// numberAlert returns the alert's number, giving it the next one when it
// has none; the caller writes the alert's state in this transaction.
func (t *tx) numberAlert(ctx context.Context, source, fp string) (int64, error) {
	no, err := t.alertNo(ctx, source, fp)
	k := alertKey{source, fp}
	switch {
	case err != nil:
		return 0, err
	case no == 0:
		no = *t.nos.next
		*t.nos.next++
		t.know(k, no)
		if t.nos.given == nil {
			t.nos.given = make(map[int64]bool)
		}
		t.nos.given[no] = true
		t.unstate(k, unstated{no: no})
	case t.nos.orphans[k]:
		t.unstate(k, unstated{no: no, orphan: true})
	}
	return no, nil
}

// stateSettles reports whether the alert's state, read now, settles its
// number: the transaction does not know it yet, and no orphan row could
// hold it.
func (t *tx) stateSettles(k alertKey) bool {
	_, known := t.nos.known[k]
	return !known && !*t.nos.orphansLeft
}

func (t *tx) know(k alertKey, no int64) {
	if t.nos.known == nil {
		t.nos.known = make(map[alertKey]int64)
	}
	t.nos.known[k] = no
}

func (t *tx) unstate(k alertKey, u unstated) {
	if t.nos.unstated == nil {
		t.nos.unstated = make(map[alertKey]unstated)
	}
	t.nos.unstated[k] = u
}

// stated notes that the alert's state now holds its number, and deletes
// the orphan row it took the number from.
func (t *tx) stated(ctx context.Context, k alertKey) error {
	u, ok := t.nos.unstated[k]
	if !ok {
		return nil
	}
	if u.orphan {
		if _, err := t.exec(ctx, qDeleteOrphan, k.source, k.fingerprint); err != nil {
			return fmt.Errorf("delete orphan number: %w", err)
		}
	}
	delete(t.nos.unstated, k)
	delete(t.nos.orphans, k)
	return nil
}

// keepUnstated writes, before the commit, the numbers given in this
// transaction that no state holds to alert_orphans, so that their
// episodes are found again: a transaction may write an alert's episodes
// without its state (incident.Tx does not order them), though the
// pipeline's always write both.
func (t *tx) keepUnstated(ctx context.Context) error {
	if len(t.nos.unstated) == 0 {
		return nil
	}
	keys := make([]alertKey, 0, len(t.nos.unstated))
	for k, u := range t.nos.unstated {
		if !u.orphan { // an orphan's number has its row still
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b alertKey) int { // deterministic
		return cmp.Or(cmp.Compare(a.source, b.source), cmp.Compare(a.fingerprint, b.fingerprint))
	})
	for _, k := range keys {
		if _, err := t.exec(ctx, qInsertOrphan, k.source, k.fingerprint, t.nos.unstated[k].no); err != nil {
			return fmt.Errorf("keep alert number of %s/%s: %w", k.source, k.fingerprint, err)
		}
		*t.nos.orphansLeft = true
	}
	clear(t.nos.unstated)
	return nil
}

// readAlertNumbers reads the highest alert number stored and whether
// alert_orphans has rows.
func readAlertNumbers(ctx context.Context, c interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (highest int64, orphans bool, err error) {
	err = c.QueryRowContext(ctx, qMaxAlertNo+`, EXISTS (SELECT 1 FROM alert_orphans)`).Scan(&highest, &orphans)
	if err != nil {
		return 0, false, fmt.Errorf("read alert numbers: %w", err)
	}
	return highest, orphans, nil
}
