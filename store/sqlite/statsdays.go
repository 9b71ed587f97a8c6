package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/statscounts"
)

// statsDaysCached bounds the day parts a store keeps: 91 days (a 90-day
// window at most touches 91) for five filters; statsDaysBytes bounds the
// bytes they hold. A part holds its day's durations (16 bytes per
// incident) and signatures: about 20 KB for a day of 1,100 incidents, up
// to ~100 bytes per incident when no rule groups them and each has a
// signature of its own. A day larger than a quarter of the budget (a storm
// of ~80k incidents in a day) is read each time instead.
const (
	statsDaysCached = 512
	statsDaysBytes  = 32 << 20
)

// dayPart is what the incidents opened in one part of one UTC day and
// matching a filter add to the stats figures. A whole day's part is kept
// (see dayParts); a part of a day at a window's edge is not.
type dayPart struct {
	opened, resolved                                     int
	respondMet, respondMissed, resolveMet, resolveMissed int
	ack, res                                             []time.Duration
	// sigs are every signature of the part, any order; perDay its counts
	// by priority, in order of priority.
	sigs   []incident.SignatureCount
	perDay []incident.DayCount
}

// dayKey names a whole day's part: the day (Unix nanoseconds / nanosPerDay)
// and the filter.
type dayKey struct {
	day      int64
	service  string
	priority incident.Priority
}

// keptDay is a kept part and the day's version (incident_stats_days) it
// was computed at.
type keptDay struct {
	version int64
	part    *dayPart
}

// dayParts keeps whole days' parts between calls. A part is used only
// while its day's version is unchanged in the snapshot of the read that
// uses it, so a kept part is never stale: any change of what it counts
// bumps the version in the same transaction (migration 0014).
type dayParts struct {
	kept *sizedLRU[dayKey, keptDay]
	// reading is held while whole days missing are read, so that the
	// polls that find them missing at once read them once.
	reading sync.Mutex
	// edges keeps the incidents of windows' first days (statsedge.go);
	// edgeReads counts the reads of such days' incidents, for tests.
	edges     *sizedLRU[dayKey, keptEdge]
	edgeReads atomic.Int64
	// read counts the day parts computed from the incidents (kept ones
	// are not), and the first days whose incidents were read to keep,
	// for tests.
	read atomic.Int64
}

func newDayParts() *dayParts {
	return &dayParts{kept: newSizedLRU[dayKey, keptDay](statsDaysCached, statsDaysBytes),
		edges: newSizedLRU[dayKey, keptEdge](edgesCached, edgesBytes)}
}

// size estimates the bytes p holds.
func (p *dayPart) size() int {
	n := 128 + 8*(len(p.ack)+len(p.res)) + 48*len(p.perDay)
	for _, sc := range p.sigs {
		n += 48 + len(sc.Rule) + len(sc.Key)
	}
	return n
}

// sizedLRU is a least-recently-used cache bounded both in entries and in
// the bytes its values hold (as their sizes estimate them). An entry of
// more than maxEntry bytes is not kept. Safe for concurrent use.
type sizedLRU[K comparable, V any] struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[K, sizedValue[V]]
	bytes    int // held now
	budget   int
	maxEntry int
	entries  int
}

type sizedValue[V any] struct {
	v    V
	size int
}

// newSizedLRU makes a cache of at most entries values holding at most
// budget bytes, a quarter of them at most in one entry.
func newSizedLRU[K comparable, V any](entries, budget int) *sizedLRU[K, V] {
	return newSizedLRUMax[K, V](entries, budget, budget/4)
}

// newSizedLRUMax is newSizedLRU with one entry holding at most maxEntry
// bytes: more than a quarter for a value the callers share (the day every
// dashboard asks about), at the cost of the others' room.
func newSizedLRUMax[K comparable, V any](entries, budget, maxEntry int) *sizedLRU[K, V] {
	c := &sizedLRU[K, V]{budget: budget, maxEntry: maxEntry, entries: entries}
	l, err := simplelru.NewLRU(entries, func(_ K, v sizedValue[V]) { c.bytes -= v.size })
	if err != nil { // only for a size below 1
		panic(err)
	}
	c.lru = l
	return c
}

// Get returns the value of k, if kept, and marks it recently used.
func (c *sizedLRU[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.lru.Get(k)
	return v.v, ok
}

// Add keeps v, of size bytes, under k, dropping the least recently used
// entries until the bytes held are within the budget.
func (c *sizedLRU[K, V]) Add(k K, v V, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(k) // an old value of k: its bytes go (the eviction callback)
	if size > c.maxEntry {
		return
	}
	c.lru.Add(k, sizedValue[V]{v, size})
	c.bytes += size
	for c.bytes > c.budget {
		c.lru.RemoveOldest()
	}
}

// AddIfRoom keeps v as Add does, but only when that drops no other
// entry, and reports whether it kept it: a value nobody asked for yet must
// not push out one somebody uses.
func (c *sizedLRU[K, V]) AddIfRoom(k K, v V, size int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, bytes := c.lru.Len(), c.bytes
	if old, ok := c.lru.Peek(k); ok {
		n, bytes = n-1, bytes-old.size
	}
	if size > c.maxEntry || n+1 > c.entries || bytes+size > c.budget {
		return false
	}
	c.lru.Remove(k)
	c.lru.Add(k, sizedValue[V]{v, size})
	c.bytes += size
	return true
}

// Remove forgets k's value, if kept.
func (c *sizedLRU[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(k) // its bytes go (the eviction callback)
}

// Keys returns the keys kept, the least recently used first, without
// marking any used.
func (c *sizedLRU[K, V]) Keys() []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Keys()
}

// Bytes is what the kept values hold, as estimated.
func (c *sizedLRU[K, V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// daySpan is the part of one UTC day inside a window: [lo, hi) in Unix
// nanoseconds.
type daySpan struct {
	day, lo, hi int64
}

func (d daySpan) whole() bool { return d.lo == d.day*nanosPerDay && d.hi == (d.day+1)*nanosPerDay }

// floorDay is the UTC day of t (Unix nanoseconds), also before 1970.
func floorDay(t int64) int64 {
	d := t / nanosPerDay
	if t%nanosPerDay < 0 {
		d--
	}
	return d
}

// incidentFigures fills the figures of the incidents opened in f's window
// (counts, SLA results, durations, signatures, opened per day) from the
// parts of each UTC day: kept ones where the day's version says they are
// current (when dp is not nil), the others read from the incidents in one
// pass per run of adjacent days. All reads go through q, one read
// transaction, so the versions and the rows agree.
func incidentFigures(ctx context.Context, q queryer, dp *dayParts, f incident.StatsFilter, out *incident.StatsFigures) error {
	since, until := f.Since.UnixNano(), f.Until.UnixNano()
	first, last := floorDay(since), floorDay(until-1)
	spans := make([]daySpan, 0, last-first+1)
	for d := first; d <= last; d++ {
		spans = append(spans, daySpan{day: d, lo: max(since, d*nanosPerDay), hi: min(until, (d+1)*nanosPerDay)})
	}
	parts := make([]*dayPart, len(spans))
	var versions map[int64]int64
	if dp != nil {
		var err error
		if versions, err = dayVersions(ctx, q, first, last); err != nil {
			return err
		}
		keep := func() (missing bool) {
			for i, sp := range spans {
				if !sp.whole() || parts[i] != nil {
					continue
				}
				if k, ok := dp.kept.Get(dayKey{sp.day, f.Service, f.Priority}); ok && k.version == versions[sp.day] {
					parts[i] = k.part
				} else {
					missing = true
				}
			}
			return missing
		}
		if keep() {
			dp.reading.Lock()
			defer dp.reading.Unlock()
			keep() // another read may have kept some meanwhile
		}
	}
	// The window's first day, when the window starts inside it and goes
	// on past it: counted from its kept incidents (statsedge.go).
	if dp != nil && len(spans) > 1 && !spans[0].whole() {
		p, err := dp.edgePart(ctx, q, f, spans[0], versions[spans[0].day])
		if err != nil {
			return err
		}
		parts[0] = p // nil: too large to keep, read below
	}
	// The days not kept, as runs of adjacent spans. resolved counts the
	// resolved incidents of the parts known so far.
	resolved := 0
	for _, p := range parts {
		if p != nil {
			resolved += p.resolved
		}
	}
	for i := 0; i < len(spans); {
		if parts[i] != nil {
			i++
			continue
		}
		j := i
		for j < len(spans) && parts[j] == nil {
			j++
		}
		read, err := readDayParts(ctx, q, f, parts, i, spans[i:j], &resolved)
		if err != nil {
			return err
		}
		if dp != nil {
			dp.read.Add(int64(read))
			for k := i; k < j; k++ {
				if spans[k].whole() {
					dp.kept.Add(dayKey{spans[k].day, f.Service, f.Priority}, keptDay{versions[spans[k].day], parts[k]}, parts[k].size())
				}
			}
		}
		i = j
	}

	sigs := map[incident.SignatureCount]int{}
	for _, p := range parts {
		out.Opened += p.opened
		out.Resolved += p.resolved
		out.RespondMet += p.respondMet
		out.RespondMissed += p.respondMissed
		out.ResolveMet += p.resolveMet
		out.ResolveMissed += p.resolveMissed
		out.TimesToAcknowledge = append(out.TimesToAcknowledge, p.ack...)
		out.TimesToResolve = append(out.TimesToResolve, p.res...)
		out.OpenedPerDay = append(out.OpenedPerDay, p.perDay...)
		for _, sc := range p.sigs {
			sigs[incident.SignatureCount{Rule: sc.Rule, Key: sc.Key}] += sc.Incidents
		}
	}
	if len(out.TimesToAcknowledge) > maxStatsSamples || len(out.TimesToResolve) > maxStatsSamples {
		return tooManySamples()
	}
	for sc, n := range sigs {
		sc.Incidents = n
		out.Signatures = append(out.Signatures, sc)
	}
	// Most first, then by rule and key: SQLite's BINARY order is Go's.
	slices.SortFunc(out.Signatures, func(a, b incident.SignatureCount) int {
		return cmp.Or(cmp.Compare(b.Incidents, a.Incidents), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Key, b.Key))
	})
	if len(out.Signatures) > incident.MaxSignatures {
		out.Signatures = out.Signatures[:incident.MaxSignatures:incident.MaxSignatures]
	}
	return nil
}

// dayVersions reads the versions of the days first..last; a day without a
// row has version 0.
func dayVersions(ctx context.Context, q queryer, first, last int64) (map[int64]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT day, version FROM incident_stats_days WHERE day BETWEEN ? AND ?`, first, last)
	if err != nil {
		return nil, fmt.Errorf("stats day versions: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]int64, last-first+1)
	for rows.Next() {
		var day, v int64
		if err := rows.Scan(&day, &v); err != nil {
			return nil, fmt.Errorf("stats day versions: %w", err)
		}
		out[day] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats day versions: %w", err)
	}
	return out, nil
}

// readDayParts reads the parts of spans, adjacent days, from the incidents
// opened in them and matching f, into parts[at:], and returns how many it
// read. Each figure is one pass over the spans' range, grouped by day.
// Before reading durations it adds the range's resolved incidents to
// *resolved and refuses, as Stats documents, past maxStatsSamples.
func readDayParts(ctx context.Context, q queryer, f incident.StatsFilter, parts []*dayPart, at int, spans []daySpan, resolved *int) (int, error) {
	for k := range spans {
		parts[at+k] = &dayPart{}
	}
	part := func(day int64) (*dayPart, error) {
		k := day - spans[0].day
		if k < 0 || k >= int64(len(spans)) { // opened_at was in [lo, hi)
			return nil, fmt.Errorf("stats: day %d outside %d..%d", day, spans[0].day, spans[len(spans)-1].day)
		}
		return parts[at+int(k)], nil
	}
	cond, fargs := incidentWhere(f)
	where := "opened_at >= ? AND opened_at < ? AND merged_into IS NULL" + cond
	args := append([]any{spans[0].lo, spans[len(spans)-1].hi}, fargs...)
	// The day of opened_at, floored as floorDay does.
	const dayOf = `(opened_at / 86400000000000 - (opened_at % 86400000000000 < 0))`

	// Opened in the range and matching the filter: a range of the index
	// incidents_opened_stats, read from the index alone (named: with a
	// service or priority the planner would rather take every incident of
	// the service from incidents_service_state, all days of it, for the
	// part of one day). An incident merged
	// into another is not an incident of its own: it counts neither as
	// opened nor as resolved.
	err := eachRow(ctx, q, `SELECT `+dayOf+` AS day, `+statscounts.Columns+`
		FROM incidents INDEXED BY incidents_opened_stats WHERE `+where+` GROUP BY day`, args, func(rows *sql.Rows) error {
		var day int64
		var c dayPart
		if err := rows.Scan(&day, &c.opened, &c.resolved, &c.respondMet, &c.respondMissed, &c.resolveMet, &c.resolveMissed); err != nil {
			return err
		}
		p, err := part(day)
		if err != nil {
			return err
		}
		*p = c
		*resolved += c.resolved
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count opened incidents: %w", err)
	}
	if *resolved > maxStatsSamples { // refused before reading them
		return 0, tooManySamples()
	}

	// MTTR counts from when the impact started (the earliest startsAt of
	// the incident's alerts) to when it ended; MTTA from when the record
	// opened, since nobody can acknowledge before that (docs/itil.md).
	err = eachRow(ctx, q, `SELECT `+dayOf+`, acknowledged_at - opened_at,
		CASE WHEN state IN ('resolved', 'closed') AND resolved_at IS NOT NULL
			THEN MAX(resolved_at - COALESCE(impact_started_at, opened_at), 0) END
		FROM incidents INDEXED BY incidents_opened_stats WHERE `+where+` AND (acknowledged_at IS NOT NULL OR (state IN ('resolved', 'closed') AND resolved_at IS NOT NULL))`,
		args, func(rows *sql.Rows) error {
			var day int64
			var a, r sql.NullInt64
			if err := rows.Scan(&day, &a, &r); err != nil {
				return err
			}
			p, err := part(day)
			if err != nil {
				return err
			}
			if a.Valid {
				p.ack = append(p.ack, time.Duration(a.Int64))
			}
			if r.Valid {
				p.res = append(p.res, time.Duration(r.Int64))
			}
			return nil
		})
	if err != nil {
		return 0, fmt.Errorf("times to acknowledge and resolve: %w", err)
	}

	// Signatures: the rule, or for incidents no rule grouped the
	// correlation key.
	err = eachRow(ctx, q, `SELECT `+dayOf+` AS day, rule, CASE WHEN rule = '' THEN correlation_key ELSE '' END AS key,
		COUNT(*) FROM incidents INDEXED BY incidents_opened_stats WHERE `+where+` GROUP BY day, rule, key`, args, func(rows *sql.Rows) error {
		var day int64
		var sc incident.SignatureCount
		if err := rows.Scan(&day, &sc.Rule, &sc.Key, &sc.Incidents); err != nil {
			return err
		}
		p, err := part(day)
		if err != nil {
			return err
		}
		p.sigs = append(p.sigs, sc)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count signatures: %w", err)
	}

	err = eachRow(ctx, q, `SELECT `+dayOf+` AS day, priority, COUNT(*)
		FROM incidents INDEXED BY incidents_opened_stats WHERE `+where+` GROUP BY day, priority ORDER BY day, priority`, args, func(rows *sql.Rows) error {
		var day int64
		var dc incident.DayCount
		if err := rows.Scan(&day, &dc.Priority, &dc.Incidents); err != nil {
			return err
		}
		p, err := part(day)
		if err != nil {
			return err
		}
		dc.Day = time.Unix(0, day*nanosPerDay).UTC()
		p.perDay = append(p.perDay, dc)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count incidents per day: %w", err)
	}
	return len(spans), nil
}

// eachRow runs query and calls fn for each row.
func eachRow(ctx context.Context, q queryer, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
