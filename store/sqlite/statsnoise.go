package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/alertbridge/alertbridge/store/internal/sizedlru"
	"slices"
	"sync"
	"sync/atomic"
)

// leadingDaysCached bounds the leading days kept: one per window length a
// dashboard polls (7, 30 and 90 days, say), and the day before each at
// midnight; leadingDaysBytes the bytes they hold: 13 bytes per event and
// one per alert, about 200 KB for a day of 13k events, 10 MB for a storm
// day of 774k new alerts, a week later. One day may take half of it: a
// day of more than ~1.2M events is read from the events each time.
const (
	leadingDaysCached = 8
	leadingDaysBytes  = 32 << 20
)

// leadingDay is what the noise figures need of one UTC day D to count the
// part of it at the start of a window that ends now (no event on a day
// after the window's last, so an alert of D is among the whole days' ones
// exactly when it was seen on a day after D): D's counted events in order
// of receipt and, for each of their alerts, whether it was seen later.
//
// It is valid while the day's events (their count in event_days), the
// number of D's alerts seen on a later day (the rows of
// event_alert_firsts whose previous day is D: one per such alert)
// and the deletions of retention (stats_history_deleted) are unchanged.
// Each only grows, except by retention, so equal figures mean equal
// contents.
type leadingDay struct {
	events, later, deleted int64
	at                     []int64 // received_at, ascending
	alert                  []int32 // each event's alert: an index into seenLater
	seenLater              []bool
}

// leadingDays keeps leadingDay values by day.
type leadingDays struct {
	kept *sizedlru.LRU[int64, *leadingDay]
	// reading is held while a day is read, so that the polls that find
	// it missing at once (a dashboard's panels after a restart) read it
	// once, not each on the same two cores.
	reading sync.Mutex
	// read counts the days read from the events (kept ones are not), for
	// tests.
	read atomic.Int64
}

func newLeadingDays() *leadingDays {
	return &leadingDays{kept: sizedlru.NewMax[int64, *leadingDay](leadingDaysCached, leadingDaysBytes, leadingDaysBytes/2)}
}

// size estimates the bytes d holds.
func (d *leadingDay) size() int { return 128 + 8*cap(d.at) + 4*cap(d.alert) + cap(d.seenLater) }

// leadingPart counts the events in [since, (day+1)*nanosPerDay), where day
// is since's UTC day, and their distinct alerts not seen on a later day,
// from a kept leadingDay when it is still valid. The caller has checked
// that no event was received after the window's last whole day.
func (ld *leadingDays) leadingPart(ctx context.Context, q queryer, day, since int64) (events, alerts int, err error) {
	var now leadingDay
	err = q.QueryRowContext(ctx, `SELECT
		(SELECT COALESCE(SUM(n), 0) FROM event_days WHERE day = ?1),
		(SELECT COALESCE(SUM(n), 0) FROM event_alert_firsts WHERE day > ?1 AND prev_day = ?1),
		(SELECT n FROM stats_history_deleted WHERE id = 1)`, day).Scan(&now.events, &now.later, &now.deleted)
	if err != nil {
		return 0, 0, fmt.Errorf("count events of day %d: %w", day, err)
	}
	valid := func(d *leadingDay) bool {
		return d.events == now.events && d.later == now.later && d.deleted == now.deleted
	}
	d, ok := ld.kept.Get(day)
	if !ok || !valid(d) {
		ld.reading.Lock()
		if d, ok = ld.kept.Get(day); !ok || !valid(d) { // another read may have kept it meanwhile
			if err := readLeadingDay(ctx, q, day, &now); err != nil {
				ld.reading.Unlock()
				return 0, 0, err
			}
			ld.read.Add(1)
			d = &now
			ld.kept.Add(day, d, d.size())
		}
		ld.reading.Unlock()
	}
	i, _ := slices.BinarySearch(d.at, since) // the first event at or after since
	seen := make([]bool, len(d.seenLater))
	for _, a := range d.alert[i:] {
		if !seen[a] {
			seen[a] = true
			if !d.seenLater[a] {
				alerts++
			}
		}
	}
	return len(d.at) - i, alerts, nil
}

// readLeadingDay reads day's counted events and which of their alerts
// were seen on a later day into d.
func readLeadingDay(ctx context.Context, q queryer, day int64, d *leadingDay) error {
	index := map[int64]int32{} // by alert number
	err := eachRow(ctx, q, `SELECT received_at, alert_no FROM events
		WHERE received_at >= ? AND received_at < ? AND transition IN `+countedTransitions+`
		ORDER BY received_at`, []any{day * nanosPerDay, (day + 1) * nanosPerDay}, func(rows *sql.Rows) error {
		var at, no int64
		if err := rows.Scan(&at, &no); err != nil {
			return err
		}
		a, ok := index[no]
		if !ok {
			a = int32(len(index))
			index[no] = a
		}
		d.at = append(d.at, at)
		d.alert = append(d.alert, a)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read events of day %d: %w", day, err)
	}
	d.seenLater = make([]bool, len(index))
	err = eachRow(ctx, q, `SELECT DISTINCT e.alert_no FROM events e
		WHERE e.received_at >= ?1 AND e.received_at < ?2 AND e.transition IN `+countedTransitions+`
		AND EXISTS (SELECT 1 FROM event_alert_days f WHERE f.alert_no = e.alert_no AND f.day > ?3)`,
		[]any{day * nanosPerDay, (day + 1) * nanosPerDay, day}, func(rows *sql.Rows) error {
			var no int64
			if err := rows.Scan(&no); err != nil {
				return err
			}
			if a, ok := index[no]; ok {
				d.seenLater[a] = true
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("read alerts of day %d seen later: %w", day, err)
	}
	return nil
}
