package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/statscounts"
)

// The first day of a window that starts inside it (since = now − 30 days,
// say) is a different part at every call as the window moves with now,
// while that day's incidents seldom change: a dashboard polling the stats
// read the day's incidents at every poll, half of a warm call's CPU on the
// seeded store. Such a day's incidents are kept one row each, with the
// day's version (incident_stats_days), and the window's part of the day
// is counted from them.

// edgeRowsMax bounds the incidents of one day kept so: a larger day is
// read each time instead. Its rows (about 100 bytes each, more with long
// correlation keys) stay within the quarter of edgesBytes that one entry
// of the cache may hold, or the day would be read whole at every call
// and not kept. A variable so tests can lower it.
var edgeRowsMax = 10_000

// edgesCached bounds the days kept so (a day per filter), edgesBytes the
// bytes they hold.
const (
	edgesCached = 64
	edgesBytes  = 8 << 20
)

// edgeRow is what one incident adds to the part of its day.
type edgeRow struct {
	opened                                                         int64 // opened_at
	resolved, respondMet, respondMissed, resolveMet, resolveMissed bool
	hasAck, hasRes                                                 bool
	ack, res                                                       time.Duration
	rule, key                                                      string
	priority                                                       incident.Priority
}

// keptEdge is a day's incidents, by opened_at, at the day's version;
// large says the day is too large to keep, and read each time.
type keptEdge struct {
	version int64
	rows    []edgeRow
	large   bool
}

func edgeSize(rows []edgeRow) int {
	n := 64
	for _, r := range rows {
		n += 96 + len(r.rule) + len(r.key)
	}
	return n
}

// edgePart returns the part of sp, the window's first day from sp.Lo on,
// counted from the day's kept incidents, which it reads and keeps first
// when the day's version is not the one kept. It returns nil when the day
// is too large to keep (more than edgeRowsMax incidents, or rows beyond
// what one cache entry may hold): the caller reads the part instead.
func (dp *dayParts) edgePart(ctx context.Context, q queryer, f incident.StatsFilter, sp daySpan, version int64) (*dayPart, error) {
	k := dayKey{Day: sp.Day, Service: f.Service, Priority: f.Priority}
	e, ok := dp.edges.Get(k)
	if !ok || e.version != version {
		dp.edgeReads.Add(1)
		rows, fits, err := readEdgeRows(ctx, q, f, sp.Day)
		if err != nil {
			return nil, err
		}
		if size := edgeSize(rows); !fits || size > edgesBytes/4 {
			// Not kept: remembered so at this version, so that the next
			// calls read only their part, as before.
			dp.edges.Add(k, keptEdge{version: version, large: true}, edgeSize(nil))
			if !fits {
				return nil, nil
			}
			dp.CountRead(1)
			return keptEdge{rows: rows}.part(sp), nil
		}
		dp.CountRead(1)
		e = keptEdge{version: version, rows: rows}
		dp.edges.Add(k, e, edgeSize(rows))
	}
	if e.large {
		return nil, nil
	}
	return e.part(sp), nil
}

// part counts the kept incidents opened in [sp.Lo, sp.Hi) as readDayParts
// counts them.
func (e keptEdge) part(sp daySpan) *dayPart {
	lo := sort.Search(len(e.rows), func(i int) bool { return e.rows[i].opened >= sp.Lo })
	hi := sort.Search(len(e.rows), func(i int) bool { return e.rows[i].opened >= sp.Hi })
	p := &dayPart{}
	sigs := map[incident.SignatureCount]int{}
	byPriority := map[incident.Priority]int{}
	count := func(n *int, yes bool) {
		if yes {
			*n++
		}
	}
	for _, r := range e.rows[lo:hi] {
		p.Opened++
		count(&p.Resolved, r.resolved)
		count(&p.RespondMet, r.respondMet)
		count(&p.RespondMissed, r.respondMissed)
		count(&p.ResolveMet, r.resolveMet)
		count(&p.ResolveMissed, r.resolveMissed)
		if r.hasAck {
			p.Ack = append(p.Ack, r.ack)
		}
		if r.hasRes {
			p.Res = append(p.Res, r.res)
		}
		sigs[incident.SignatureCount{Rule: r.rule, Key: r.key}]++
		byPriority[r.priority]++
	}
	for sc, n := range sigs {
		sc.Incidents = n
		p.Sigs = append(p.Sigs, sc)
	}
	day := time.Unix(0, sp.Day*nanosPerDay).UTC()
	for pr, n := range byPriority {
		p.PerDay = append(p.PerDay, incident.DayCount{Day: day, Priority: pr, Incidents: n})
	}
	slices.SortFunc(p.PerDay, func(a, b incident.DayCount) int { return int(a.Priority) - int(b.Priority) })
	return p
}

// readEdgeRows reads the incidents opened on day and matching f, by
// opened_at, each with what it adds to the figures (the expressions
// readDayParts aggregates); fits is false when there are more than
// edgeRowsMax of them.
func readEdgeRows(ctx context.Context, q queryer, f incident.StatsFilter, day int64) (rows []edgeRow, fits bool, err error) {
	cond, fargs := incidentWhere(f)
	args := append([]any{day * nanosPerDay, (day + 1) * nanosPerDay}, fargs...)
	args = append(args, edgeRowsMax+1)
	rows = []edgeRow{}
	err = eachRow(ctx, q, `SELECT opened_at, `+statscounts.Flags+`, acknowledged_at - opened_at,
		CASE WHEN state IN ('resolved', 'closed') AND resolved_at IS NOT NULL
			THEN MAX(resolved_at - COALESCE(impact_started_at, opened_at), 0) END,
		rule, CASE WHEN rule = '' THEN correlation_key ELSE '' END, priority
		FROM incidents INDEXED BY incidents_opened_stats
		WHERE opened_at >= ? AND opened_at < ? AND merged_into IS NULL`+cond+`
		ORDER BY opened_at LIMIT ?`, args, func(r *sql.Rows) error {
		var e edgeRow
		var a, res sql.NullInt64
		if err := r.Scan(&e.opened, &e.resolved, &e.respondMet, &e.respondMissed, &e.resolveMet, &e.resolveMissed,
			&a, &res, &e.rule, &e.key, &e.priority); err != nil {
			return err
		}
		e.hasAck, e.ack = a.Valid, time.Duration(a.Int64)
		e.hasRes, e.res = res.Valid, time.Duration(res.Int64)
		rows = append(rows, e)
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("read the incidents of the window's first day: %w", err)
	}
	return rows, len(rows) <= edgeRowsMax, nil
}
