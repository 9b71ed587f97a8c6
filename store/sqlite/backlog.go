package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/backlogrow"
)

// hourNanos is backlog_hours' hour: an incident opened at opened_at
// (unix nanoseconds) is counted in hour opened_at / hourNanos (migration
// 0031). Go's division truncates as SQLite's does.
const hourNanos = int64(time.Hour)

// activeIn are the active incidents of a range of opening times, read
// from incidents_state_priority: one range of it per state and priority
// (priority is 1 to 5 by the table's CHECK).
const activeIn = `FROM incidents WHERE state IN ('open', 'acknowledged') AND priority IN (1, 2, 3, 4, 5) AND opened_at`

// qKeptBacklog is keptBacklog's statement: backlogrow.Query's row
// (every active incident, those younger than each bounded bucket's
// bound, the oldest's opening) from backlog_hours. A bucket's count sums
// the hours wholly younger than its bound and counts the incidents of the
// hour its bound falls in; the oldest is read from the oldest hour's
// incidents. Each bound's arguments: its hour, its cutoff, the hour's end.
var qKeptBacklog = func() string {
	var b strings.Builder
	b.WriteString(`SELECT (SELECT COALESCE(SUM(n), 0) FROM backlog_hours)`)
	for range len(incident.BacklogAges) - 1 { // the bounded buckets, as backlogrow.Cutoffs
		b.WriteString(`,
	(SELECT COALESCE(SUM(n), 0) FROM backlog_hours WHERE hour > ?)
		+ (SELECT COUNT(*) ` + activeIn + ` > ? AND opened_at < ?)`)
	}
	b.WriteString(`,
	(SELECT MIN(opened_at) ` + activeIn + ` >= (SELECT MIN(hour) FROM backlog_hours) * 3600000000000
		AND opened_at < ((SELECT MIN(hour) FROM backlog_hours) + 1) * 3600000000000)`)
	return b.String()
}()

// keptBacklog is the backlog of every service and priority at now, from
// backlog_hours: it reads the incidents only in the hours the buckets'
// bounds fall in and in the oldest hour, not all the active ones as
// backlogrow.Query does, and equals its count
// (TestBacklogHoursEqualTheRows). One statement: one snapshot.
func keptBacklog(ctx context.Context, q queryer, now time.Time) (incident.Backlog, error) {
	var args []any
	for _, cut := range backlogrow.Cutoffs(now) {
		hour := cut / hourNanos
		args = append(args, hour, cut, (hour+1)*hourNanos)
	}
	rows, err := q.QueryContext(ctx, qKeptBacklog, args...)
	if err != nil {
		return incident.Backlog{}, fmt.Errorf("count backlog: %w", err)
	}
	return backlogrow.Read(rows, now)
}
