package sqlite

import (
	"context"
	"database/sql"
	"math"
	"sync/atomic"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/sizedlru"
	"github.com/alertbridge/alertbridge/store/internal/statsdays"
)

// dayPart, daySpan and dayKey are the shared package's: the incidents'
// figures per day are computed and kept alike in both stores.
type (
	dayPart = statsdays.Part
	daySpan = statsdays.Span
	dayKey  = statsdays.Key
)

// dayParts keeps whole days' parts between calls (statsdays.Days), and
// the incidents of windows' first days (statsedge.go). A part is used only
// while its day's version is unchanged in the snapshot of the read that
// uses it, so a kept part is never stale: any change of what it counts
// bumps the version in the same transaction (migration 0014).
type dayParts struct {
	*statsdays.Days
	// edges keeps the incidents of windows' first days (statsedge.go);
	// edgeReads counts the reads of such days' incidents, for tests.
	edges     *sizedlru.LRU[dayKey, keptEdge]
	edgeReads atomic.Int64
}

func newDayParts() *dayParts {
	return &dayParts{Days: statsdays.New(), edges: sizedlru.New[dayKey, keptEdge](edgesCached, edgesBytes)}
}

// floorDay is the UTC day of t (Unix nanoseconds), also before 1970.
func floorDay(t int64) int64 { return statsdays.FloorDay(t) }

// incidentFigures fills the figures of the incidents opened in f's window
// (statsdays.Figures): from the day parts kept in dp (none when dp is
// nil), the window's first day from its kept incidents (statsedge.go), and
// the rest read through q, one read transaction.
func incidentFigures(ctx context.Context, q queryer, dp *dayParts, f incident.StatsFilter, out *incident.StatsFigures) error {
	cond, args := incidentWhere(f)
	r := statsdays.Reader{
		Query: q.QueryContext,
		// Named: with a service or priority the planner would rather take
		// every incident of the service from incidents_service_state, all
		// days of it, for the part of one day. The index holds every
		// column the figures read.
		From:     "incidents INDEXED BY incidents_opened_stats",
		Greatest: "MAX",
		Cond:     cond, CondArgs: args,
		MaxSamples: maxStatsSamples,
		// The triggers of migration 0014 follow every change: any whole
		// day may be kept.
		KeepUntil: math.MaxInt64,
	}
	if dp == nil {
		return statsdays.Figures(ctx, nil, r, f, out)
	}
	r.Edge = func(ctx context.Context, sp daySpan, version int64) (*dayPart, error) {
		return dp.edgePart(ctx, q, f, sp, version)
	}
	return statsdays.Figures(ctx, dp.Days, r, f, out)
}

// eachRow runs query and calls fn for each row.
func eachRow(ctx context.Context, q queryer, query string, args []any, fn func(*sql.Rows) error) error {
	return statsdays.EachRow(ctx, q.QueryContext, query, args, fn)
}
