// Package backlogrow is the backlog's query and its reading, the same in
// both stores: the open and acknowledged incidents counted by age bucket
// (incident.BacklogAges), with the oldest one's age.
package backlogrow

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// Query returns the backlog's query over the incidents that also match
// where (" AND ..." conditions, with wargs), and its arguments: an age
// below a bucket's bound is an opened_at after now minus the bound. It
// uses ? placeholders.
func Query(where string, wargs []any, now time.Time) (string, []any) {
	var bucket strings.Builder
	var args []any
	bucket.WriteString("CASE")
	for i, b := range incident.BacklogAges {
		if b.Below == 0 {
			break
		}
		fmt.Fprintf(&bucket, " WHEN opened_at > ? THEN %d", i)
		args = append(args, now.Add(-b.Below).UnixNano())
	}
	fmt.Fprintf(&bucket, " ELSE %d END", len(incident.BacklogAges)-1)
	return `SELECT ` + bucket.String() + ` AS bucket, COUNT(*), MIN(opened_at)
		FROM incidents WHERE state IN ('open', 'acknowledged') AND opened_at IS NOT NULL` + where + `
		GROUP BY bucket`, append(args, wargs...)
}

// Read reads the rows of Query, run at now, and closes them.
func Read(rows *sql.Rows, now time.Time) (incident.Backlog, error) {
	defer rows.Close()
	var out incident.Backlog
	for rows.Next() {
		var i, n int
		var oldest int64
		if err := rows.Scan(&i, &n, &oldest); err != nil {
			return out, fmt.Errorf("scan backlog: %w", err)
		}
		out.Counts[i] = n
		out.Oldest = max(out.Oldest, now.Sub(time.Unix(0, oldest)))
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("count backlog: %w", err)
	}
	return out, nil
}
