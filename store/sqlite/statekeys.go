package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// The alert states' keys (migration 0024). Every event starts with a
// lookup of its alert's state by (source, fingerprint). That key was a
// UNIQUE index of alert_states, led by the fingerprint, a hash: each new
// alert's state landed on a leaf of its own, about 60% of the pages a
// commit of new alerts wrote, and more as the store grew. The table is now
// keyed by the alert's number alone, and the store keeps in memory, for
// every stored state, its key's hash and its number: 38 bytes a state at
// a million (BenchmarkStateKeysMemory).
//
// A lookup gives the numbers stored under the key's hash: the candidates
// (one, almost always; none for a key with no state). Every statement that
// reads or writes a state by key reads it by a candidate number AND its
// key, so a candidate of another key (two keys with one hash, or a state
// deleted and not forgotten yet) matches nothing. What the index must
// never do is miss: a stored state whose number it does not give would be
// read as no state, and the alert given a second state and number. So:
//   - it is built from every row of alert_states before the writer runs
//     (buildStateKeys, at open, holding the store's lock: no one else
//     writes);
//   - every state the writer puts is added as it is put (PutAlertState),
//     whether the transaction commits or not: no state is written any
//     other way (TestStatesOnlyWrittenByTheUpsert);
//   - a state is taken out only after the transaction that deleted it has
//     committed (retention; see forgetDeleted).
//
// The hash is seeded afresh by each process, so that no one can choose
// fingerprints that share one.
type stateKeys struct {
	mu   sync.RWMutex
	seed maphash.Seed
	// shards hold the hashes by their top bit, so that the build fills
	// them on a core each.
	shards [2]keyShard
	// hash, when set (tests), replaces the seeded hash: a constant one
	// makes every key collide.
	hash func(source, fingerprint []byte) uint64
}

// keyShard holds the hashes with a single number in one, those with
// several in more.
type keyShard struct {
	one  map[uint64]int64
	more map[uint64][]int64
}

func newStateKeys(size int) *stateKeys {
	x := &stateKeys{seed: maphash.MakeSeed()}
	for i := range x.shards {
		x.shards[i] = keyShard{one: make(map[uint64]int64, size/len(x.shards)), more: map[uint64][]int64{}}
	}
	return x
}

func (x *stateKeys) shard(h uint64) *keyShard { return &x.shards[h>>63] }

// stateKeysHash, when set (tests), is given to every index made after.
var stateKeysHash func(source, fingerprint []byte) uint64

// sumJoined hashes a key given as source, a zero byte and fingerprint.
func (x *stateKeys) sumJoined(key []byte) uint64 {
	if x.hash != nil {
		source, fp, _ := bytes.Cut(key, []byte{0})
		return x.hash(source, fp)
	}
	return maphash.Bytes(x.seed, key)
}

func (x *stateKeys) sumKey(k alertKey) uint64 {
	if x.hash != nil {
		return x.hash([]byte(k.source), []byte(k.fingerprint))
	}
	var h maphash.Hash
	h.SetSeed(x.seed)
	h.WriteString(k.source)
	h.WriteByte(0)
	h.WriteString(k.fingerprint)
	return h.Sum64()
}

// lookup appends the candidates for k's state to dst.
func (x *stateKeys) lookup(k alertKey, dst []int64) []int64 {
	h := x.sumKey(k)
	x.mu.RLock()
	defer x.mu.RUnlock()
	sh := x.shard(h)
	if no, ok := sh.one[h]; ok {
		return append(dst, no)
	}
	return append(dst, sh.more[h]...)
}

// add notes that the state numbered no may hold k.
func (x *stateKeys) add(k alertKey, no int64) {
	x.addHash(x.sumKey(k), no)
}

func (x *stateKeys) addHash(h uint64, no int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.shard(h).add(h, no)
}

func (sh *keyShard) add(h uint64, no int64) {
	if have, ok := sh.one[h]; ok {
		if have != no {
			delete(sh.one, h)
			sh.more[h] = []int64{have, no}
		}
		return
	}
	if nos, ok := sh.more[h]; ok {
		for _, n := range nos {
			if n == no {
				return
			}
		}
		sh.more[h] = append(nos, no)
		return
	}
	sh.one[h] = no
}

// remove forgets the state numbered no, which held k and is deleted.
func (x *stateKeys) remove(k alertKey, no int64) {
	h := x.sumKey(k)
	x.mu.Lock()
	defer x.mu.Unlock()
	sh := x.shard(h)
	if have, ok := sh.one[h]; ok {
		if have == no {
			delete(sh.one, h)
		}
		return
	}
	nos := sh.more[h]
	for i, n := range nos {
		if n == no {
			nos = append(nos[:i:i], nos[i+1:]...)
			break
		}
	}
	switch len(nos) {
	case 0:
		delete(sh.more, h)
	case 1:
		delete(sh.more, h)
		sh.one[h] = nos[0]
	default:
		sh.more[h] = nos
	}
}

// len is how many numbers the index holds.
func (x *stateKeys) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := 0
	for _, sh := range x.shards {
		n += len(sh.one)
		for _, nos := range sh.more {
			n += len(nos)
		}
	}
	return n
}

// buildStateKeys reads every state's number and key through q, whose
// alert numbers are at most highest: two readers hash the keys of the
// table's halves by number, each on a connection of its own, and then
// two goroutines fill a shard each, sized for its keys. (A map's adds
// are a cache miss each: about as long as the reads.)
func buildStateKeys(ctx context.Context, q queryer, highest int64) (*stateKeys, error) {
	start := time.Now()
	x := newStateKeys(0)
	x.hash = stateKeysHash
	half := highest / 2
	var parts [2][2][]hashedState // by reader, then by shard
	var errs [2]error
	var wg sync.WaitGroup
	for i, where := range []string{`alert_no <= ?`, `alert_no > ?`} {
		wg.Go(func() { parts[i], errs[i] = readStateKeys(ctx, q, x, where, half) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("read alert states' keys: %w", err)
	}
	for s := range x.shards {
		wg.Go(func() {
			sh := &x.shards[s]
			sh.one = make(map[uint64]int64, len(parts[0][s])+len(parts[1][s]))
			for _, p := range parts {
				for _, e := range p[s] {
					sh.add(e.h, e.no)
				}
			}
		})
	}
	wg.Wait()
	slog.Debug("alert states' keys read", "states", x.len(), "took", time.Since(start))
	return x, nil
}

type hashedState struct {
	h  uint64
	no int64
}

// readStateKeys reads the numbers and hashed keys of the states where
// holds, by shard.
func readStateKeys(ctx context.Context, q queryer, x *stateKeys, where string, arg int64) (out [2][]hashedState, err error) {
	// The key as the index hashes it: source, a zero byte, fingerprint.
	rows, err := q.QueryContext(ctx, `SELECT alert_no, source || char(0) || fingerprint FROM alert_states WHERE `+where, arg)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	// Sized for the numbers the range may hold, as many as a million: the
	// slices' growth was garbage the collector ran for beside the reads.
	size := min(max(arg, 0), 1<<20) / 2
	out[0], out[1] = make([]hashedState, 0, size), make([]hashedState, 0, size)
	var key sql.RawBytes
	for rows.Next() {
		var e hashedState
		if err := rows.Scan(&e.no, &key); err != nil {
			return out, err
		}
		e.h = x.sumJoined(key)
		out[e.h>>63] = append(out[e.h>>63], e)
	}
	return out, rows.Err()
}

// noteDeletedStates gives the writer's connection a temporary trigger
// that notes every state deleted, in temp.deleted_states, which is rolled
// back with its transaction (see takeDeleted).
func noteDeletedStates(ctx context.Context, wc *sql.Conn) error {
	for _, q := range []string{
		`CREATE TEMP TABLE IF NOT EXISTS deleted_states (alert_no INTEGER NOT NULL, source TEXT NOT NULL, fingerprint TEXT NOT NULL)`,
		`CREATE TEMP TRIGGER IF NOT EXISTS alert_states_deleted AFTER DELETE ON main.alert_states BEGIN
			INSERT INTO deleted_states (alert_no, source, fingerprint) VALUES (old.alert_no, old.source, old.fingerprint);
		END`,
	} {
		if _, err := wc.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("note deleted alert states: %w", err)
		}
	}
	return nil
}

// numberedKey is a state's number and key: one deleted, or read by number.
type numberedKey struct {
	no  int64
	key alertKey
}

// scanNumberedKey scans a number, a source and a fingerprint.
func scanNumberedKey(sc scanner) (numberedKey, error) {
	var d numberedKey
	err := sc.Scan(&d.no, &d.key.source, &d.key.fingerprint)
	return d, err
}

// takeDeleted moves the states deleted so far from temp.deleted_states to
// the transaction, which has the index forget them once it commits.
func (t *tx) takeDeleted(ctx context.Context) error {
	rows, err := t.tx.QueryContext(ctx, `DELETE FROM temp.deleted_states RETURNING alert_no, source, fingerprint`)
	deleted, err := collect(rows, err, "read deleted alert states", scanNumberedKey)
	t.deleted = append(t.deleted, deleted...)
	return err
}

// forgetDeleted has the index forget the states the transaction deleted,
// after it committed.
func (t *tx) forgetDeleted() {
	for _, d := range t.deleted {
		t.keys.remove(d.key, d.no)
	}
	t.deleted = nil
}

// incidentAlertNos returns the numbers of the alerts incident id holds:
// each its state's, found through the index, else its orphan's
// (alertno.go); an alert with neither has no episode or day.
func incidentAlertNos(ctx context.Context, q queryer, keys *stateKeys, id int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT source, fingerprint FROM alerts WHERE incident_id = ?`, id)
	alerts, err := collect(rows, err, "read the alerts' keys", func(sc scanner) (alertKey, error) {
		var k alertKey
		err := sc.Scan(&k.source, &k.fingerprint)
		return k, err
	})
	if err != nil || len(alerts) == 0 {
		return nil, err
	}
	want := make(map[alertKey]bool, len(alerts))
	var cands []int64
	for _, k := range alerts {
		want[k] = true
		cands = keys.lookup(k, cands)
	}
	var nos []int64
	if len(cands) > 0 {
		rows, err = q.QueryContext(ctx, `SELECT alert_no, source, fingerprint FROM alert_states
			WHERE alert_no IN (SELECT value FROM json_each(?))`, jsonNumbers(cands))
		stated, err := collect(rows, err, "read the alerts' states", scanNumberedKey)
		if err != nil {
			return nil, err
		}
		for _, d := range stated {
			if want[d.key] { // not another key's state
				nos = append(nos, d.no)
				delete(want, d.key)
			}
		}
	}
	if len(want) > 0 {
		rows, err = q.QueryContext(ctx, `SELECT o.alert_no, o.source, o.fingerprint FROM alerts a
			JOIN alert_orphans o ON o.source = a.source AND o.fingerprint = a.fingerprint WHERE a.incident_id = ?`, id)
		orphans, err := collect(rows, err, "read the alerts' orphan numbers", scanNumberedKey)
		if err != nil {
			return nil, err
		}
		for _, d := range orphans {
			if want[d.key] {
				nos = append(nos, d.no)
			}
		}
	}
	return nos, nil
}

// jsonNumbers is nos as a JSON array, for json_each.
func jsonNumbers(nos []int64) string {
	b := make([]byte, 0, 2+8*len(nos))
	b = append(b, '[')
	for i, no := range nos {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, no, 10)
	}
	return string(append(b, ']'))
}
