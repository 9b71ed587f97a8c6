package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/sizedlru"
	"github.com/alertbridge/alertbridge/store/internal/statsdays"
)

// The noise figures of the stats, the window's counted events and their
// distinct alerts, read every counted event of the window: over half a
// second for 30 days of 1M events. A past day's events do not change, but
// by retention and by an insert stamped long before it happens (migration
// 0010 counts both), so whole days are kept in memory: each day's count of
// events and its distinct alerts, as ordinals of an identity table, so
// that the window's distinct alerts are the union of its days' ordinals,
// exactly. The parts of a window that are not whole days kept (its first
// and last days, and the last minutes, which ingest still writes to) are
// read at every call.

// Bounds of what the noise days keep: noiseDaysCached days in
// noiseDaysBytes (4 bytes an alert of a day); noiseMaxIDs identities: a
// call that must read events and finds that many drops every kept day and
// identity first, and reads its whole window, so that the table does not
// keep the alerts of days long gone (it holds at most the bound and one
// window's alerts).
const (
	noiseDaysCached = 400 // a window is at most incident.MaxStatsWindow
	noiseDaysBytes  = 64 << 20
)

// noiseMaxIDs is a variable so that tests can lower it.
var noiseMaxIDs = 1_000_000

// keepAfter is how long after its end a day (or a step of one) may be
// kept, by the database's clock: an event inserted later into it is older
// than two minutes at its insert, which the trigger stats_event_late
// counts, and a change of an incident opened in it is a change of an
// incident opened over two minutes before, which the triggers
// incident_stats_days_* follow (migration 0010). The two minutes between
// are for a transaction already open when the day was kept.
const keepAfter = 4 * time.Minute

// countedTransitions are the events the noise figures count.
const countedTransitions = `transition IN ('new', 'refired', 'resolved', 'stale')`

// noiseDays keeps the noise figures of whole days. Safe for concurrent
// use: a call holds mu while it reads, so polls that miss a day at once
// read it once.
type noiseDays struct {
	mu   sync.Mutex
	ids  map[string]uint32 // source + "\x00" + fingerprint → ordinal
	kept *sizedlru.LRU[int64, *noiseDay]
	// read counts the whole days read from the events, for tests.
	read atomic.Int64
}

// noiseDay is the counted events of a day from its start to end (the
// day's end, or a step of it: keptEnd) and their distinct alerts, as read
// with the counters of stats_event_changes it is valid under.
type noiseDay struct {
	late, deleted int64
	end           int64
	events        int
	alerts        []uint32
}

func (d *noiseDay) size() int { return 64 + 4*cap(d.alerts) }

func newNoiseDays() *noiseDays {
	return &noiseDays{ids: map[string]uint32{}, kept: sizedlru.New[int64, *noiseDay](noiseDaysCached, noiseDaysBytes)}
}

// eventChanges is the row of stats_event_changes and the database's clock
// (Unix nanoseconds), read in the stats' transaction.
type eventChanges struct{ late, deleted, upto, now int64 }

// valid reports whether d, kept for day, still counts what the events
// hold: nothing was inserted late or updated since, and no deletion since
// reached the day (every deletion ever removed only older events). Its end
// was keepAfter before the clock when it was read, so an event inserted
// into it since would have been late.
func (d *noiseDay) valid(day int64, c eventChanges) bool {
	return d.late == c.late && (d.deleted == c.deleted || c.upto < day*statsdays.NanosPerDay)
}

// prefixStep is how far the kept part of a day that has not ended
// keepAfter ago (today's, as a rule) moves at a time: a call reads the
// day's events after the kept part, and the part itself is read again once
// there is a step more to keep, so that a dashboard polling the stats
// reads the last five minutes or so of today at each call, not the
// whole day.
const prefixStep = time.Minute

// keptEnd is where the kept part of day ends in the window [since, until)
// at the database's clock: the day's end for a whole day that ended
// keepAfter before the clock, a step boundary before then for the day
// clock − keepAfter falls in (or the window ends in), and 0 when nothing
// of the day may be kept (it starts before the window, or no step of it
// is old enough).
func keptEnd(day, since, until, clock int64) int64 {
	lo, hi := day*statsdays.NanosPerDay, (day+1)*statsdays.NanosPerDay
	if lo < since {
		return 0
	}
	end := min(hi, until, clock-int64(keepAfter))
	if end < hi {
		end = lo + (end-lo)/int64(prefixStep)*int64(prefixStep)
	}
	if end <= lo {
		return 0
	}
	return end
}

// count returns the counted events received in [since, until) and their
// distinct alerts (source, fingerprint), from the parts of days kept,
// those it reads and keeps, and the rest of the window read as it is; c
// was read in the same transaction.
func (nd *noiseDays) count(ctx context.Context, q runner, c eventChanges, since, until int64) (events, alerts int, err error) {
	nd.mu.Lock()
	defer nd.mu.Unlock()

	first, last := statsdays.FloorDay(since), statsdays.FloorDay(until-1)
	ends := make([]int64, last-first+1)  // each day's kept end (keptEnd)
	days := make([]*noiseDay, len(ends)) // kept, or read below to keep
	fresh := make([]bool, len(ends))     // read in this call: to keep
	type span struct {
		lo, hi int64
		keep   bool // the rows go to their days' parts, to keep
	}
	var spans []span // what the kept parts leave, in order
	add := func(lo, hi int64, keep bool) {
		if n := len(spans); n > 0 && spans[n-1].hi == lo && spans[n-1].keep == keep {
			spans[n-1].hi = hi
		} else if lo < hi {
			spans = append(spans, span{lo, hi, keep})
		}
	}
	plan := func() {
		spans = spans[:0]
		for i := range ends {
			day := first + int64(i)
			lo, hi := max(since, day*statsdays.NanosPerDay), min(until, (day+1)*statsdays.NanosPerDay)
			end := ends[i]
			if end == 0 {
				add(lo, hi, false)
				continue
			}
			if d := days[i]; d == nil {
				add(lo, end, true)
			}
			add(end, hi, false)
		}
	}
	for i := range ends {
		day := first + int64(i)
		if ends[i] = keptEnd(day, since, until, c.now); ends[i] == 0 {
			continue
		}
		if d, ok := nd.kept.Get(day); ok && d.end == ends[i] && d.valid(day, c) {
			days[i] = d
		}
	}
	plan()

	var unkept []uint32 // alerts of the parts not kept, repeats and all
	if len(spans) > 0 && len(nd.ids) >= noiseMaxIDs {
		// The kept parts go with the identities: read it all again.
		nd.ids, nd.kept = map[string]uint32{}, sizedlru.New[int64, *noiseDay](noiseDaysCached, noiseDaysBytes)
		clear(days)
		plan()
	}
	for _, sp := range spans {
		err := nd.readRange(ctx, q, sp.lo, sp.hi, func(day int64, id uint32, n int) {
			if !sp.keep {
				events += n
				unkept = append(unkept, id)
				return
			}
			i := day - first
			d := days[i]
			if d == nil {
				d = &noiseDay{late: c.late, deleted: c.deleted, end: ends[i]}
				days[i], fresh[i] = d, true
			}
			d.events += n
			d.alerts = append(d.alerts, id)
		})
		if err != nil {
			return 0, 0, fmt.Errorf("count events: %w", err)
		}
	}

	seen := make([]uint64, (len(nd.ids)+63)/64)
	mark := func(ids []uint32) {
		for _, id := range ids {
			w, b := id/64, uint64(1)<<(id%64)
			seen[w] |= b
		}
	}
	mark(unkept)
	for i, d := range days {
		switch {
		case ends[i] == 0:
			continue
		case d == nil: // read, with no counted event
			d = &noiseDay{late: c.late, deleted: c.deleted, end: ends[i]}
			fresh[i] = true
		}
		if fresh[i] {
			nd.read.Add(1)
			nd.kept.Add(first+int64(i), d, d.size())
		}
		events += d.events
		mark(d.alerts)
	}
	for _, w := range seen {
		alerts += bits.OnesCount64(w)
	}
	return events, alerts, nil
}

// readRange reads the counted events received in [lo, hi), grouped by
// day and alert, and calls fn with each group's day, the alert's ordinal
// (given one when new) and its events. The caller holds nd.mu.
func (nd *noiseDays) readRange(ctx context.Context, q runner, lo, hi int64, fn func(day int64, id uint32, n int)) error {
	rows, err := q.query(ctx, `SELECT received_at / 86400000000000 - CASE WHEN received_at % 86400000000000 < 0 THEN 1 ELSE 0 END,
		source, fingerprint, COUNT(*) FROM events
		WHERE received_at >= ? AND received_at < ? AND `+countedTransitions+` GROUP BY 1, 2, 3`, lo, hi)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var day int64
		var source, fingerprint string
		var n int
		if err := rows.Scan(&day, &source, &fingerprint, &n); err != nil {
			return err
		}
		key := source + "\x00" + fingerprint
		id, ok := nd.ids[key]
		if !ok {
			id = uint32(len(nd.ids)) //nolint:gosec // bounded by noiseMaxIDs, far below 2^32
			nd.ids[key] = id
		}
		fn(day, id, n)
	}
	return rows.Err()
}

// noiseRead counts the recorded events received in the window and their
// distinct alerts, (source, fingerprint), DESIGN's alert identity, keeping
// nothing: an index range scan on received_at, grouped by alert in a hash
// (a distinct count sorts, twice as slow at 166k events). With a service
// or priority, only events attached to a matching incident count.
func noiseRead(ctx context.Context, q runner, f incident.StatsFilter) (events, alerts int, err error) {
	where := `received_at >= ? AND received_at < ? AND ` + countedTransitions
	args := []any{f.Since.UnixNano(), f.Until.UnixNano()}
	if f.Service != "" || f.Priority != 0 {
		inc, iargs := incidentWhere(f)
		where += ` AND incident_id IN (SELECT id FROM incidents WHERE ` + strings.TrimPrefix(inc, " AND ") + `)`
		args = append(args, iargs...)
	}
	var sum sql.NullInt64
	err = q.queryRow(ctx, `SELECT SUM(n), COUNT(*) FROM (SELECT COUNT(*) AS n FROM events WHERE `+where+`
		GROUP BY source, fingerprint) AS a`, args...).Scan(&sum, &alerts)
	if err != nil {
		return 0, 0, fmt.Errorf("count events: %w", err)
	}
	return int(sum.Int64), alerts, nil
}
