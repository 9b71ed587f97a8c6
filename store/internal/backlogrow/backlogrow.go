// Package backlogrow is the backlog's query and its reading, the same in
// both stores: the open and acknowledged incidents counted by age bucket
// (incident.BacklogAges), with the oldest one's age.
package backlogrow

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// bounded is the number of buckets with an upper bound: all but the last.
const bounded = len(incident.BacklogAges) - 1

// Query returns the backlog's query over the incidents that also match
// where (" AND ..." conditions, with wargs), and its arguments: an age
// below a bucket's bound is an opened_at after now minus the bound. It
// uses ? placeholders.
//
// Its one row counts every active incident and, for each bounded bucket,
// those younger than its bound (FILTER, in both SQLite and PostgreSQL);
// Read takes the buckets as differences. Grouping by a CASE of the age
// sorted every active incident in a temporary b-tree: 0.82 ms against
// 0.42 ms over 3,435 active incidents on the seeded store.
func Query(where string, wargs []any, now time.Time) (string, []any) {
	var cols strings.Builder
	var args []any
	for _, c := range Cutoffs(now) {
		cols.WriteString(", COUNT(*) FILTER (WHERE opened_at > ?)")
		args = append(args, c)
	}
	return `SELECT COUNT(*)` + cols.String() + `, MIN(opened_at)
		FROM incidents WHERE state IN ('open', 'acknowledged') AND opened_at IS NOT NULL` + where,
		append(args, wargs...)
}

// Cutoffs are the bounded buckets' bounds at now, as opened_at values
// (unix nanoseconds): an incident opened after cutoff i is younger than
// bucket i's bound.
func Cutoffs(now time.Time) [bounded]int64 {
	var out [bounded]int64
	for i, b := range incident.BacklogAges[:bounded] {
		out[i] = now.Add(-b.Below).UnixNano()
	}
	return out
}

// Read reads the row of Query, run at now, and closes the rows.
func Read(rows *sql.Rows, now time.Time) (incident.Backlog, error) {
	defer rows.Close()
	var out incident.Backlog
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return out, fmt.Errorf("count backlog: %w", err)
		}
		return out, errors.New("count backlog: no row")
	}
	var total int
	var younger [bounded]int // younger[i]: younger than bucket i's bound
	var oldest sql.NullInt64 // NULL when none is active
	dest := []any{&total}
	for i := range younger {
		dest = append(dest, &younger[i])
	}
	if err := rows.Scan(append(dest, &oldest)...); err != nil {
		return out, fmt.Errorf("scan backlog: %w", err)
	}
	below := 0
	for i, n := range younger {
		out.Counts[i] = n - below
		below = n
	}
	out.Counts[bounded] = total - below
	if oldest.Valid {
		out.Oldest = max(0, now.Sub(time.Unix(0, oldest.Int64)))
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("count backlog: %w", err)
	}
	return out, nil
}
