package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// TestMigrateEventAlertDays upgrades a version-20 store to 21, where the
// noise figures count alerts by number, and checks what it made of:
//   - am/a, with a state (number 1), and gm/a, the same fingerprint from
//     another source with no state: it takes the next number, as an orphan,
//     as does am/b, which has no state either;
//   - a repeat, not counted: it carries no number;
//   - a day of fingerprint a whose events retention deleted (no times): it
//     goes to both of a's alerts, so that each one's next day finds it;
//   - the per-day firsts: kept as they were.
//
// Then an event of gm/a after the upgrade takes its orphan's number and
// chains to its day before, and the figures of a window after the upgrade
// count am/a and gm/a as two alerts.
func TestMigrateEventAlertDays(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db := mustVersion(t, path, 20)
	d0 := int64(20513) // 2026-03-01
	at := func(day int64, h int) int64 { return day*nanosPerDay + int64(h)*int64(time.Hour) }
	for _, q := range []string{
		`INSERT INTO alert_states (alert_no, source, fingerprint, status, last_seen_at) VALUES (1, 'am', 'a', 'firing', 1)`,
		// A day of a whose events are gone, as retention leaves it.
		`INSERT INTO event_fingerprint_days (fingerprint, day) VALUES ('a', 20513)`,
		`INSERT INTO event_fingerprint_firsts (day, prev_day, n) VALUES (20513, -1, 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, e := range []struct {
		at                     int64
		source, fp, transition string
	}{
		{at(d0+1, 10), "am", "a", "new"},
		{at(d0+1, 11), "gm", "a", "new"},
		{at(d0+1, 12), "am", "a", "repeat"},
		{at(d0+2, 9), "am", "b", "resolved"},
	} {
		if _, err := db.ExecContext(ctx, `INSERT INTO events (received_at, source, fingerprint, status, labels, transition)
			VALUES (?, ?, ?, 'firing', '{}', ?)`, e.at, e.source, e.fp, e.transition); err != nil {
			t.Fatal(err)
		}
	}
	oldFirsts := readRows(t, db, `SELECT day, prev_day, n FROM event_fingerprint_firsts ORDER BY 1, 2`)
	st := mustUpgrade(t, db, path)
	for _, n := range []struct {
		source, fp    string
		state, orphan int64
	}{{"am", "a", 1, 0}, {"gm", "a", 0, 2}, {"am", "b", 0, 3}} {
		if s, o := numberOf(t, st, n.source, n.fp); s != n.state || o != n.orphan {
			t.Errorf("%s/%s: state's number %d, orphan's %d; want %d, %d", n.source, n.fp, s, o, n.state, n.orphan)
		}
	}
	if diff := gocmp.Diff(texts([]int64{1}, []int64{2}, []int64{0}, []int64{3}),
		readRows(t, st.r, `SELECT COALESCE(alert_no, 0) FROM events ORDER BY id`)); diff != "" {
		t.Errorf("events' numbers (-want +got):\n%s", diff)
	}
	wantDays := texts(
		[]int64{1, d0, 0, 0}, []int64{1, d0 + 1, at(d0+1, 10), at(d0+1, 10)},
		[]int64{2, d0, 0, 0}, []int64{2, d0 + 1, at(d0+1, 11), at(d0+1, 11)},
		[]int64{3, d0 + 2, at(d0+2, 9), at(d0+2, 9)},
	)
	if diff := gocmp.Diff(wantDays, readRows(t, st.r,
		`SELECT alert_no, day, COALESCE(first_at, 0), COALESCE(last_at, 0) FROM event_alert_days ORDER BY 1, 2`)); diff != "" {
		t.Errorf("event_alert_days (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff(oldFirsts, readRows(t, st.r, `SELECT day, prev_day, n FROM event_alert_firsts ORDER BY 1, 2`)); diff != "" {
		t.Errorf("event_alert_firsts against the firsts before (-before +after):\n%s", diff)
	}

	// gm/a again, after the upgrade: its orphan's number, and its day before.
	err := st.Update(ctx, func(tx incident.Tx) error {
		return tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: time.Unix(0, at(d0+2, 10)), Source: "gm", Fingerprint: "a",
			Status: incident.StatusFiring, Transition: incident.TransitionRefired})
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, o := numberOf(t, st, "gm", "a"); s != 0 || o != 2 {
		t.Errorf("gm/a after its event: state's number %d, orphan's %d; want none, 2", s, o)
	}
	if diff := gocmp.Diff(texts([]int64{d0 + 2, d0 + 1, 1}), readRows(t, st.r,
		`SELECT day, prev_day, n FROM event_alert_firsts WHERE day = ? AND prev_day = ?`, d0+2, d0+1)); diff != "" {
		t.Errorf("gm/a's first event of day 2 after day 1 (-want +got):\n%s", diff)
	}
	// The window of day 2 alone counts am/b and gm/a, from the firsts; the
	// window from day 1 on, the upgrade's days by fingerprint (a once) and
	// day 2's by alert (gm/a seen on day 1 already: not again).
	for _, w := range []struct {
		since, until           int64
		wantEvents, wantAlerts int
	}{
		{(d0 + 2) * nanosPerDay, (d0 + 3) * nanosPerDay, 2, 2},
		{(d0 + 1) * nanosPerDay, (d0 + 3) * nanosPerDay, 4, 2},
		{at(d0+1, 10), at(d0+2, 11), 4, 3}, // no whole day: from the events, by alert
	} {
		events, alerts, err := noiseDays(ctx, st.r, nil, w.since, w.until)
		if err != nil || events != w.wantEvents || alerts != w.wantAlerts {
			t.Errorf("window %s to %s: events, alerts = %d, %d, %v; want %d, %d", time.Unix(0, w.since).UTC(),
				time.Unix(0, w.until).UTC(), events, alerts, err, w.wantEvents, w.wantAlerts)
		}
	}
}

// readRows runs query and reads its rows as rowTexts does.
func readRows(t *testing.T, q queryer, query string, args ...any) []string {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	return rowTexts(t, rows)
}

// texts are rows of integers as rowTexts reads them.
func texts(rows ...[]int64) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		vals := make([]any, len(r))
		for j, v := range r {
			vals[j] = v
		}
		out[i] = fmt.Sprint(vals...)
	}
	return out
}

// TestRetentionKeepsStatesWithDays: retention forgets an incident's alerts'
// days before its cutoff, by their numbers, and deletes a state only once
// its alert has no day left either. An alert of the forgotten incident that
// was seen again after the cutoff (dropped by a rule: an event of no
// incident) keeps its state, so that its next event takes the number its
// counted events already carry, and the noise figures count it once.
func TestRetentionKeepsStatesWithDays(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	old := mustCreate(t, st, "old", noT0.Add(time.Hour))
	before := noT0.Add(48 * time.Hour)
	event := func(tx incident.Tx, fp string, at time.Time, inc int64) error {
		return tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: at, Source: "am", Fingerprint: fp,
			Status: incident.StatusFiring, Transition: incident.TransitionNew, IncidentID: inc})
	}
	if err := st.Update(ctx, func(tx incident.Tx) error {
		for _, fp := range []string{"back", "gone"} {
			if err := putEp(ctx, tx, fp, noT0, old); err != nil {
				return err
			}
			if err := putState(ctx, tx, fp, old); err != nil {
				return err
			}
			if err := tx.PutAlert(ctx, incident.Alert{IncidentID: old, Source: "am", Fingerprint: fp,
				Status: incident.StatusFiring, StartsAt: noT0, FirstSeenAt: noT0, LastSeenAt: noT0}); err != nil {
				return err
			}
			if err := event(tx, fp, noT0, old); err != nil {
				return err
			}
		}
		return event(tx, "back", before.Add(time.Hour), 0) // dropped, after the cutoff
	}); err != nil {
		t.Fatal(err)
	}
	back, _ := numberOf(t, st, "am", "back")
	var del incident.HistoryDeleted
	if err := st.Update(ctx, func(tx incident.Tx) error {
		var err error
		del, err = tx.DeleteHistory(ctx, before, 100, before)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if del.AlertDays != 2 || del.AlertStates != 1 || del.Incidents != 1 {
		t.Errorf("deleted %+v; want both alerts' days of the old incident, gone's state, the incident", del)
	}
	if diff := gocmp.Diff(texts([]int64{back, noT0.Add(49*time.Hour).UnixNano() / nanosPerDay}),
		readRows(t, st.r, `SELECT alert_no, day FROM event_alert_days`)); diff != "" {
		t.Errorf("days left (-want +got):\n%s", diff)
	}
	if s, _ := numberOf(t, st, "am", "back"); s != back {
		t.Fatalf("back's state after retention: number %d, want %d kept", s, back)
	}
	again := before.Add(2 * time.Hour)
	if err := st.Update(ctx, func(tx incident.Tx) error { return event(tx, "back", again, 0) }); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(texts([]int64{back}, []int64{back}), readRows(t, st.r,
		`SELECT alert_no FROM events WHERE fingerprint = 'back' ORDER BY id`)); diff != "" {
		t.Errorf("back's events' numbers (-want +got):\n%s", diff)
	}
	events, alerts, err := noiseDays(ctx, st.r, nil, before.UnixNano(), again.Add(time.Hour).UnixNano())
	if err != nil || events != 2 || alerts != 1 {
		t.Errorf("noise after the cutoff: %d events of %d alerts, %v; want 2 of 1", events, alerts, err)
	}
}
