package statsdays

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/alertbridge/alertbridge/incident"
)

func TestFloorDayAndWhole(t *testing.T) {
	day := NanosPerDay
	for _, tc := range []struct {
		name string
		at   int64
		want int64
	}{
		{"epoch", 0, 0},
		{"last nanosecond of day 0", day - 1, 0},
		{"midnight of day 1", day, 1},
		{"a nanosecond before 1970", -1, -1},
		{"midnight before 1970", -day, -1},
		{"a nanosecond before that midnight", -day - 1, -2},
		{"2026-11-28 12:00", time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC).UnixNano(), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC).UnixNano() / day},
	} {
		if got := FloorDay(tc.at); got != tc.want {
			t.Errorf("%s: FloorDay(%d) = %d, want %d", tc.name, tc.at, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s    Span
		want bool
	}{
		{Span{Day: 3, Lo: 3 * day, Hi: 4 * day}, true},
		{Span{Day: 3, Lo: 3*day + 1, Hi: 4 * day}, false},
		{Span{Day: 3, Lo: 3 * day, Hi: 4*day - 1}, false},
		{Span{Day: -1, Lo: -day, Hi: 0}, true},
	} {
		if got := tc.s.Whole(); got != tc.want {
			t.Errorf("%+v.Whole() = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// TestFiguresKeepsOnlyDaysBeforeKeepUntil: a whole day is kept between
// calls only when it ended at or before KeepUntil; the others are read at
// every call, and the figures are the same either way. On a bare SQLite
// table with the columns the reads name.
func TestFiguresKeepsOnlyDaysBeforeKeepUntil(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(ctx, `CREATE TABLE incidents (opened_at INTEGER, merged_into INTEGER, service TEXT, priority INTEGER,
		state TEXT, acknowledged_at INTEGER, resolved_at INTEGER, impact_started_at INTEGER, respond_by INTEGER,
		respond_breached_at INTEGER, resolve_by INTEGER, resolve_breached_at INTEGER, rule TEXT, correlation_key TEXT);
		CREATE TABLE incident_stats_days (day INTEGER PRIMARY KEY, version INTEGER NOT NULL)`)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for i := range 40 { // ten days, four incidents a day
		opened := start.Add(time.Duration(i) * 6 * time.Hour).UnixNano()
		if _, err := db.ExecContext(ctx, `INSERT INTO incidents VALUES (?, NULL, 'api', ?, 'resolved', ?, ?, NULL, NULL, NULL, NULL, NULL, 'disk', 'k')`,
			opened, 1+i%5, opened+int64(time.Minute), opened+int64(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	f := incident.StatsFilter{Since: start.Add(12 * time.Hour), Until: start.Add(9*24*time.Hour + 12*time.Hour)} // whole days 1..8
	for _, tc := range []struct {
		name      string
		keepUntil time.Time
		again     int64 // parts read by the second call
	}{
		{"every whole day", start.Add(30 * 24 * time.Hour), 2},
		{"up to the end of day 5", start.Add(6 * 24 * time.Hour), 5}, // the two edges and days 6..8
		{"none", start, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New()
			r := Reader{Query: db.QueryContext, From: "incidents", Greatest: "MAX", MaxSamples: 1000, KeepUntil: tc.keepUntil.UnixNano()}
			var first, second incident.StatsFigures
			if err := Figures(ctx, d, r, f, &first); err != nil {
				t.Fatal(err)
			}
			read := d.Read()
			if err := Figures(ctx, d, r, f, &second); err != nil {
				t.Fatal(err)
			}
			if got := d.Read() - read; got != tc.again {
				t.Errorf("the second call read %d parts, want %d", got, tc.again)
			}
			if first.Opened != 36 || second.Opened != 36 || len(second.TimesToAcknowledge) != 36 || len(second.OpenedPerDay) != 36 {
				t.Errorf("figures: opened %d then %d, %d times to acknowledge, %d day counts", first.Opened, second.Opened,
					len(second.TimesToAcknowledge), len(second.OpenedPerDay))
			}
		})
	}
}
