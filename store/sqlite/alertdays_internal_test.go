package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// TestAlertDaysAsTheEventsSay: the days eventDays writes for the alerts
// numbered in a transaction, and those the triggers of
// event_alert_day_touches keep for the others, are the days the stored
// events say: event_alert_days one row per alert and day with the day's
// first and last counted event, event_alert_firsts each alert's days
// paired with the one before. The same transactions run on two stores, one
// with the new alerts' rows off (every day the triggers'), and the tables
// must match the events and each other row for row, as event_days must
// match each day's and transition's count of the events:
//   - new alerts of one day, many at once;
//   - a new alert's events on three days, in no order, several a day, two
//     of them at the same time;
//   - a new alert whose first events are written by a statement in the
//     middle of the transaction (IncidentByKey writes the deferred rows),
//     and whose later ones, on a day before and a day after, are then the
//     triggers' to count;
//   - an uncounted repeat, which carries no number;
//   - in a second transaction, the first alert, now stored, on a day
//     between two of its days, beside a new alert.
//
// Then the new alerts alone, on a store without the view's triggers.
//
// It fails when eventDays pairs a day with the wrong one before it,
// misses a day's first or last time, or counts an alert whose days the
// transaction has written already.
func TestAlertDaysAsTheEventsSay(t *testing.T) {
	ctx := context.Background()
	day := func(d int, h, m int) time.Time {
		return noT0.Add(time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	type step struct {
		fp    string
		at    time.Time
		tr    incident.Transition
		flush bool // read an incident by key first: the deferred rows are written
	}
	txs := [][]step{
		{
			{fp: "a", at: day(5, 10, 0), tr: incident.TransitionNew},
			{fp: "a", at: day(5, 9, 0), tr: incident.TransitionResolved},
			{fp: "a", at: day(7, 1, 0), tr: incident.TransitionRefired},
			{fp: "b", at: day(5, 10, 0), tr: incident.TransitionNew},
			{fp: "a", at: day(3, 23, 0), tr: incident.TransitionResolved},
			{fp: "a", at: day(7, 0, 30), tr: incident.TransitionStale},
			{fp: "a", at: day(7, 0, 30), tr: incident.TransitionRefired},
			{fp: "c", at: day(5, 11, 0), tr: incident.TransitionRepeat},
			{fp: "d", at: day(4, 12, 0), tr: incident.TransitionNew},
			{fp: "e", at: day(5, 12, 0), tr: incident.TransitionNew, flush: true},
			{fp: "d", at: day(6, 1, 0), tr: incident.TransitionResolved},
			{fp: "d", at: day(2, 1, 0), tr: incident.TransitionRefired},
			{fp: "d", at: day(4, 13, 0), tr: incident.TransitionResolved},
			{fp: "d", at: day(4, 11, 0), tr: incident.TransitionRefired},
		},
		{
			{fp: "a", at: day(6, 5, 0), tr: incident.TransitionResolved},
			{fp: "f", at: day(6, 5, 0), tr: incident.TransitionNew},
		},
	}
	for i := range 100 {
		txs[0] = append(txs[0], step{fp: fmt.Sprint("many", i), at: day(5, 14, i%60), tr: incident.TransitionNew})
	}
	dump := func(txs [][]step, on, alone bool) map[string][]string {
		countNewAlertDays = on
		defer func() { countNewAlertDays = true }()
		st := mustOpenStore(t)
		if alone {
			for _, q := range []string{`DROP TRIGGER event_alert_day_first`, `DROP TRIGGER event_alert_day_times`} {
				if _, err := st.wc.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
		}
		id := mustCreate(t, st, "k", time.Time{})
		for _, steps := range txs {
			err := st.Update(ctx, func(tx incident.Tx) error {
				for _, s := range steps {
					if s.flush {
						if _, err := tx.IncidentByKey(ctx, "k"); err != nil {
							return err
						}
					}
					ev := incident.EventRecord{ReceivedAt: s.at, Source: "am", Fingerprint: s.fp, Status: incident.StatusFiring,
						Transition: s.tr, IncidentID: id}
					if err := tx.AddEvent(ctx, ev); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// What the events say, from the events alone.
		saidDays := readRows(t, st.r, `SELECT alert_no || ' ' || day || ' ' || first_at || ' ' || last_at FROM (
				SELECT alert_no, received_at / 86400000000000 AS day, MIN(received_at) AS first_at, MAX(received_at) AS last_at
				FROM events WHERE alert_no IS NOT NULL GROUP BY alert_no, day)
			ORDER BY alert_no, day`)
		storedDays := readRows(t, st.r, `SELECT alert_no || ' ' || day || ' ' || first_at || ' ' || last_at
			FROM event_alert_days ORDER BY alert_no, day`)
		saidFirsts := readRows(t, st.r, `SELECT day || ' ' || prev_day || ' ' || COUNT(*) FROM (
				SELECT day, COALESCE(LAG(day) OVER (PARTITION BY alert_no ORDER BY day), -1) AS prev_day FROM (
					SELECT DISTINCT alert_no, received_at / 86400000000000 AS day FROM events WHERE alert_no IS NOT NULL))
			GROUP BY day, prev_day ORDER BY day, prev_day`)
		storedFirsts := readRows(t, st.r, `SELECT day || ' ' || prev_day || ' ' || n FROM event_alert_firsts
			WHERE n <> 0 ORDER BY day, prev_day`)
		counted := readRows(t, st.r, `SELECT (received_at / 86400000000000) || ' ' || transition || ' ' || COUNT(*)
			FROM events GROUP BY received_at / 86400000000000, transition
			ORDER BY received_at / 86400000000000, transition`)
		counts := readRows(t, st.r, `SELECT day || ' ' || transition || ' ' || n FROM event_days ORDER BY day, transition`)
		if diff := gocmp.Diff(counted, counts); diff != "" {
			t.Errorf("event_days differs from the events' count (-events +event_days):\n%s", diff)
		}
		if diff := gocmp.Diff(saidDays, storedDays); diff != "" {
			t.Errorf("event_alert_days differs from the events (-events +stored):\n%s", diff)
		}
		if diff := gocmp.Diff(saidFirsts, storedFirsts); diff != "" {
			t.Errorf("event_alert_firsts differs from the events (-events +stored):\n%s", diff)
		}
		return map[string][]string{
			"days": readRows(t, st.r, `SELECT s.fingerprint || ' ' || d.day || ' ' || d.first_at || ' ' || d.last_at
				FROM event_alert_days d JOIN (SELECT source, fingerprint, alert_no FROM alert_states
					UNION ALL SELECT source, fingerprint, alert_no FROM alert_orphans) s ON s.alert_no = d.alert_no
				ORDER BY s.fingerprint, d.day`),
			"firsts": readRows(t, st.r, `SELECT day || ' ' || prev_day || ' ' || n FROM event_alert_firsts ORDER BY day, prev_day`),
			"counts": readRows(t, st.r, `SELECT day || ' ' || transition || ' ' || n FROM event_days ORDER BY day, transition`),
		}
	}
	before := newAlertDaysWritten.Load()
	want, got := dump(txs, false, false), dump(txs, true, false)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("tables with the new alerts' rows differ from the triggers' alone (-triggers +eventDays):\n%s", diff)
	}
	// New alerts only, written at once: eventDays leaves the triggers
	// nothing to do, so without them the tables are the same. This fails
	// when a day's first or last time is missed, which the triggers would
	// mend at a cost.
	var fresh []step
	for _, s := range txs[0] {
		if !s.flush && s.fp != "d" && s.fp != "e" {
			fresh = append(fresh, s)
		}
	}
	want, got = dump([][]step{fresh}, false, false), dump([][]step{fresh}, true, true)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("new alerts' tables by eventDays alone differ from the triggers' (-triggers +eventDays):\n%s", diff)
	}
	if len(want["days"]) < 100 || len(want["firsts"]) < 5 {
		t.Fatalf("the triggers wrote %d days and %d firsts: the test exercises too little", len(want["days"]), len(want["firsts"]))
	}
	// a, b, d, e and the 100 in the first transaction, f in the second;
	// then a, b and the 100.
	if n := newAlertDaysWritten.Load() - before; n != 105+102 {
		t.Errorf("eventDays wrote the days of %d alerts, want 105 and then 102", n)
	}
}
