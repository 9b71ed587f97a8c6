// Package statsdays computes the stats' incident figures (counts, SLA
// results, the exact MTTA and MTTR samples, signatures, opened per day)
// from parts per UTC day of opening, and keeps the parts of whole days in
// memory between calls, the same in both stores. A kept part is used only
// while its day's version (the table incident_stats_days, bumped by
// triggers in the transaction of any change of a column the figures read)
// is the one it was computed at, so a kept part is never stale, whoever
// wrote the change: another process on the same PostgreSQL database
// included.
package statsdays

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/sizedlru"
	"github.com/alertbridge/alertbridge/store/internal/statscounts"
)

// NanosPerDay is a UTC day in the unit of the incidents' times.
const NanosPerDay = int64(24 * time.Hour)

// cached bounds the day parts a store keeps: 91 days (a 90-day window at
// most touches 91) for five filters; budget bounds the bytes they hold. A
// part holds its day's durations (16 bytes per incident) and signatures:
// about 20 KB for a day of 1,100 incidents, up to ~100 bytes per incident
// when no rule groups them and each has a signature of its own. A day
// larger than a quarter of the budget (a storm of ~80k incidents in a day)
// is read each time instead.
const (
	cached = 512
	budget = 32 << 20
)

// Part is what the incidents opened in one part of one UTC day and
// matching a filter add to the stats figures. A whole day's part is kept
// (see Days); a part of a day at a window's edge is not.
type Part struct {
	Opened, Resolved                                     int
	RespondMet, RespondMissed, ResolveMet, ResolveMissed int
	Ack, Res                                             []time.Duration
	// Sigs are every signature of the part, any order; PerDay its counts
	// by priority, in order of priority.
	Sigs   []incident.SignatureCount
	PerDay []incident.DayCount
}

// Size estimates the bytes p holds.
func (p *Part) Size() int {
	n := 128 + 8*(len(p.Ack)+len(p.Res)) + 48*len(p.PerDay)
	for _, sc := range p.Sigs {
		n += 48 + len(sc.Rule) + len(sc.Key)
	}
	return n
}

// Span is the part of one UTC day inside a window: [Lo, Hi) in Unix
// nanoseconds.
type Span struct {
	Day, Lo, Hi int64
}

// Whole reports whether the span is its whole day.
func (s Span) Whole() bool { return s.Lo == s.Day*NanosPerDay && s.Hi == (s.Day+1)*NanosPerDay }

// FloorDay is the UTC day of t (Unix nanoseconds), also before 1970.
func FloorDay(t int64) int64 {
	d := t / NanosPerDay
	if t%NanosPerDay < 0 {
		d--
	}
	return d
}

// Key names a whole day's part: the day (Unix nanoseconds / NanosPerDay)
// and the filter.
type Key struct {
	Day      int64
	Service  string
	Priority incident.Priority
}

// kept is a kept part and the day's version it was computed at.
type kept struct {
	version int64
	part    *Part
}

// Days keeps whole days' parts between calls. Safe for concurrent use.
type Days struct {
	kept *sizedlru.LRU[Key, kept]
	// reading is held while whole days missing are read, so that the
	// polls that find them missing at once read them once.
	reading sync.Mutex
	// read counts the day parts computed from the incidents (kept ones
	// are not), for tests.
	read atomic.Int64
}

// New returns an empty Days.
func New() *Days {
	return &Days{kept: sizedlru.New[Key, kept](cached, budget)}
}

// Read is how many day parts were computed from the incidents, kept ones
// not counted: for tests that must know a part was kept.
func (d *Days) Read() int64 { return d.read.Load() }

// CountRead adds n to Read, for a part a Reader's Edge computed.
func (d *Days) CountRead(n int64) { d.read.Add(n) }

// HoldReading holds the lock of reading missing days, for tests of polls
// that wait on one read; the returned func lets it go.
func (d *Days) HoldReading() (release func()) {
	d.reading.Lock()
	return d.reading.Unlock
}

// Reader is how Figures reads one store, in one read transaction.
type Reader struct {
	// Query runs a statement with ? placeholders in the read transaction.
	Query QueryFunc
	// From names the incidents in the FROM clause of the per-day reads
	// (SQLite names the index it must read).
	From string
	// Greatest is the dialect's two-argument maximum: MAX or GREATEST.
	Greatest string
	// Cond is the filter's service and priority condition, each part
	// starting with " AND ", and CondArgs its arguments.
	Cond     string
	CondArgs []any
	// MaxSamples bounds the durations of each measure; more refuses the
	// call with tooManySamples.
	MaxSamples int
	// KeepUntil bounds the days kept: only a whole day that ended at or
	// before it (Unix nanoseconds) is kept. A store whose triggers skip
	// the changes of recent incidents sets it before the time they skip.
	KeepUntil int64
	// Edge, when set, returns the part of sp, the window's first day from
	// sp.Lo on, from what the store keeps of that day at version, or nil
	// for Figures to read it.
	Edge func(ctx context.Context, sp Span, version int64) (*Part, error)
}

// tooManySamples is the error of a window with more than max acknowledged
// or resolved incidents.
func tooManySamples(max int) error {
	return fmt.Errorf("more than %d incidents in the window, narrow it or filter by service or priority: %w",
		max, incident.ErrInvalid)
}

// Figures fills the figures of the incidents opened in f's window (counts,
// SLA results, durations, signatures, opened per day) from the parts of
// each UTC day: kept ones where the day's version says they are current
// (when d is not nil), the others read from the incidents in one pass per
// run of adjacent days. All reads go through r, one read transaction, so
// the versions and the rows agree.
func Figures(ctx context.Context, d *Days, r Reader, f incident.StatsFilter, out *incident.StatsFigures) error {
	since, until := f.Since.UnixNano(), f.Until.UnixNano()
	first, last := FloorDay(since), FloorDay(until-1)
	spans := make([]Span, 0, last-first+1)
	for day := first; day <= last; day++ {
		spans = append(spans, Span{Day: day, Lo: max(since, day*NanosPerDay), Hi: min(until, (day+1)*NanosPerDay)})
	}
	parts := make([]*Part, len(spans))
	keepable := func(sp Span) bool { return sp.Whole() && sp.Hi <= r.KeepUntil }
	var versions map[int64]int64
	if d != nil {
		var err error
		if versions, err = dayVersions(ctx, r, first, last); err != nil {
			return err
		}
		keep := func() (missing bool) {
			for i, sp := range spans {
				if !keepable(sp) || parts[i] != nil {
					continue
				}
				if k, ok := d.kept.Get(Key{sp.Day, f.Service, f.Priority}); ok && k.version == versions[sp.Day] {
					parts[i] = k.part
				} else {
					missing = true
				}
			}
			return missing
		}
		if keep() {
			d.reading.Lock()
			defer d.reading.Unlock()
			keep() // another read may have kept some meanwhile
		}
	}
	// The window's first day, when the window starts inside it and goes
	// on past it: from what the store keeps of it, if it does.
	if d != nil && r.Edge != nil && len(spans) > 1 && !spans[0].Whole() {
		p, err := r.Edge(ctx, spans[0], versions[spans[0].Day])
		if err != nil {
			return err
		}
		parts[0] = p // nil: read below
	}
	// The days not kept, as runs of adjacent spans. resolved counts the
	// resolved incidents of the parts known so far.
	resolved := 0
	for _, p := range parts {
		if p != nil {
			resolved += p.Resolved
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
		if err := readParts(ctx, r, parts[i:j], spans[i:j], &resolved); err != nil {
			return err
		}
		if d != nil {
			d.read.Add(int64(j - i))
			for k := i; k < j; k++ {
				if keepable(spans[k]) {
					d.kept.Add(Key{spans[k].Day, f.Service, f.Priority}, kept{versions[spans[k].Day], parts[k]}, parts[k].Size())
				}
			}
		}
		i = j
	}

	sigs := map[incident.SignatureCount]int{}
	for _, p := range parts {
		out.Opened += p.Opened
		out.Resolved += p.Resolved
		out.RespondMet += p.RespondMet
		out.RespondMissed += p.RespondMissed
		out.ResolveMet += p.ResolveMet
		out.ResolveMissed += p.ResolveMissed
		out.TimesToAcknowledge = append(out.TimesToAcknowledge, p.Ack...)
		out.TimesToResolve = append(out.TimesToResolve, p.Res...)
		out.OpenedPerDay = append(out.OpenedPerDay, p.PerDay...)
		for _, sc := range p.Sigs {
			sigs[incident.SignatureCount{Rule: sc.Rule, Key: sc.Key}] += sc.Incidents
		}
	}
	if len(out.TimesToAcknowledge) > r.MaxSamples || len(out.TimesToResolve) > r.MaxSamples {
		return tooManySamples(r.MaxSamples)
	}
	for sc, n := range sigs {
		sc.Incidents = n
		out.Signatures = append(out.Signatures, sc)
	}
	// Most first, then by rule and key, byte order (SQLite's BINARY,
	// PostgreSQL's COLLATE "C").
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
func dayVersions(ctx context.Context, r Reader, first, last int64) (map[int64]int64, error) {
	out := make(map[int64]int64, last-first+1)
	err := EachRow(ctx, r.Query, `SELECT day, version FROM incident_stats_days WHERE day BETWEEN ? AND ?`,
		[]any{first, last}, func(rows *sql.Rows) error {
			var day, v int64
			if err := rows.Scan(&day, &v); err != nil {
				return err
			}
			out[day] = v
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("stats day versions: %w", err)
	}
	return out, nil
}

// dayOf is the day of opened_at, floored as FloorDay does, in SQL both
// stores run.
const dayOf = `(opened_at / 86400000000000 - CASE WHEN opened_at % 86400000000000 < 0 THEN 1 ELSE 0 END)`

// Queries are the statements readParts runs over a range of days, with
// the range's bounds (opened_at from, to) and then r.CondArgs as
// arguments: the counts, the durations, the signatures and the counts by
// priority, each grouped by day.
func Queries(r Reader) [4]string {
	// Opened in the range and matching the filter. An incident merged into
	// another is not an incident of its own: it counts neither as opened
	// nor as resolved.
	where := "opened_at >= ? AND opened_at < ? AND merged_into IS NULL" + r.Cond
	return [4]string{
		`SELECT ` + dayOf + ` AS day, ` + statscounts.Columns + `
		FROM ` + r.From + ` WHERE ` + where + ` GROUP BY day`,
		// MTTR counts from when the impact started (the earliest startsAt
		// of the incident's alerts) to when it ended; MTTA from when the
		// record opened, since nobody can acknowledge before that
		// (docs/itil.md).
		`SELECT ` + dayOf + `, acknowledged_at - opened_at,
		CASE WHEN state IN ('resolved', 'closed') AND resolved_at IS NOT NULL
			THEN ` + r.Greatest + `(resolved_at - COALESCE(impact_started_at, opened_at), 0) END
		FROM ` + r.From + ` WHERE ` + where + ` AND (acknowledged_at IS NOT NULL OR (state IN ('resolved', 'closed') AND resolved_at IS NOT NULL))`,
		// Signatures: the rule, or for incidents no rule grouped the
		// correlation key.
		`SELECT ` + dayOf + ` AS day, rule, CASE WHEN rule = '' THEN correlation_key ELSE '' END AS key,
		COUNT(*) FROM ` + r.From + ` WHERE ` + where + ` GROUP BY day, rule, key`,
		`SELECT ` + dayOf + ` AS day, priority, COUNT(*)
		FROM ` + r.From + ` WHERE ` + where + ` GROUP BY day, priority ORDER BY day, priority`,
	}
}

// readParts reads the parts of spans, adjacent days, from the incidents
// opened in them and matching the filter, into parts (one each). Each
// figure is one pass over the spans' range, grouped by day. Before reading
// durations it adds the range's resolved incidents to *resolved and
// refuses, as the stores' Stats document, past r.MaxSamples.
func readParts(ctx context.Context, r Reader, parts []*Part, spans []Span, resolved *int) error {
	for k := range spans {
		parts[k] = &Part{}
	}
	part := func(day int64) (*Part, error) {
		k := day - spans[0].Day
		if k < 0 || k >= int64(len(spans)) { // opened_at was in [lo, hi)
			return nil, fmt.Errorf("stats: day %d outside %d..%d", day, spans[0].Day, spans[len(spans)-1].Day)
		}
		return parts[k], nil
	}
	qs := Queries(r)
	args := append([]any{spans[0].Lo, spans[len(spans)-1].Hi}, r.CondArgs...)

	err := EachRow(ctx, r.Query, qs[0], args, func(rows *sql.Rows) error {
		var day int64
		var c Part
		if err := rows.Scan(&day, &c.Opened, &c.Resolved, &c.RespondMet, &c.RespondMissed, &c.ResolveMet, &c.ResolveMissed); err != nil {
			return err
		}
		p, err := part(day)
		if err != nil {
			return err
		}
		*p = c
		*resolved += c.Resolved
		return nil
	})
	if err != nil {
		return fmt.Errorf("count opened incidents: %w", err)
	}
	if *resolved > r.MaxSamples { // refused before reading them
		return tooManySamples(r.MaxSamples)
	}

	err = EachRow(ctx, r.Query, qs[1], args, func(rows *sql.Rows) error {
		var day int64
		var a, res sql.NullInt64
		if err := rows.Scan(&day, &a, &res); err != nil {
			return err
		}
		p, err := part(day)
		if err != nil {
			return err
		}
		if a.Valid {
			p.Ack = append(p.Ack, time.Duration(a.Int64))
		}
		if res.Valid {
			p.Res = append(p.Res, time.Duration(res.Int64))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("times to acknowledge and resolve: %w", err)
	}

	err = EachRow(ctx, r.Query, qs[2], args, func(rows *sql.Rows) error {
		var day int64
		var sc incident.SignatureCount
		if err := rows.Scan(&day, &sc.Rule, &sc.Key, &sc.Incidents); err != nil {
			return err
		}
		p, err := part(day)
		if err != nil {
			return err
		}
		p.Sigs = append(p.Sigs, sc)
		return nil
	})
	if err != nil {
		return fmt.Errorf("count signatures: %w", err)
	}

	err = EachRow(ctx, r.Query, qs[3], args, func(rows *sql.Rows) error {
		var day int64
		var dc incident.DayCount
		if err := rows.Scan(&day, &dc.Priority, &dc.Incidents); err != nil {
			return err
		}
		p, err := part(day)
		if err != nil {
			return err
		}
		dc.Day = time.Unix(0, day*NanosPerDay).UTC()
		p.PerDay = append(p.PerDay, dc)
		return nil
	})
	if err != nil {
		return fmt.Errorf("count incidents per day: %w", err)
	}
	return nil
}

// QueryFunc runs a statement and returns its rows.
type QueryFunc func(ctx context.Context, query string, args ...any) (*sql.Rows, error)

// EachRow runs query through q and calls fn for each row.
func EachRow(ctx context.Context, q QueryFunc, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q(ctx, query, args...)
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
