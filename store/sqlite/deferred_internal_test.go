package sqlite

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// TestDeferredRowsWritten: a transaction's events and timeline entries,
// however many, are all written, each with its arguments and in order,
// the timeline entries under the IDs AddTimeline gave, and the events'
// triggers ran for each row. One store takes every size in turn, each on
// an incident and a day of its own.
func TestDeferredRowsWritten(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	for day, n := range []int{1, 3, 4, 5, 17, 64, 69, 150} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			id := mustCreate(t, st, fmt.Sprint("k", n), time.Time{})
			var given []int64
			at := noT0.Add(time.Duration(day) * 24 * time.Hour)
			err := st.Update(ctx, func(tx incident.Tx) error {
				for i := range n {
					ev := incident.EventRecord{ReceivedAt: at.Add(time.Duration(i) * time.Millisecond), Source: "am",
						Fingerprint: fmt.Sprintf("fp%03d", i), Status: incident.StatusFiring,
						Labels: map[string]string{"i": fmt.Sprint(i)}, Transition: incident.TransitionNew, IncidentID: id}
					if err := tx.AddEvent(ctx, ev); err != nil {
						return err
					}
					e := incident.TimelineEntry{IncidentID: id, At: at, Kind: incident.TimelineAlertFiring, Actor: "system",
						Fingerprint: ev.Fingerprint, Message: fmt.Sprint("entry ", i)}
					if err := tx.AddTimeline(ctx, &e); err != nil {
						return err
					}
					given = append(given, e.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			tl := readRows(t, st.r, `SELECT id || '|' || message FROM timeline WHERE incident_id = ? ORDER BY id`, id)
			ev := readRows(t, st.r, `SELECT fingerprint || '|' || labels FROM events WHERE incident_id = ? ORDER BY id`, id)
			days := readRows(t, st.r, `SELECT COUNT(*) FROM event_alert_days WHERE day = ?`, at.UnixNano()/int64(24*time.Hour))
			if len(tl) != n || len(ev) != n {
				t.Fatalf("%d timeline entries and %d events stored, want %d of each", len(tl), len(ev), n)
			}
			for i := range n {
				if want := fmt.Sprintf("%d|entry %d", given[i], i); tl[i] != want {
					t.Errorf("timeline entry %d: %q, want %q", i, tl[i], want)
				}
				if want := fmt.Sprintf(`fp%03d|{"i":"%d"}`, i, i); ev[i] != want {
					t.Errorf("event %d: %q, want %q", i, ev[i], want)
				}
			}
			if days[0] != fmt.Sprint(n) {
				t.Errorf("%s alert days, want %d: the events' triggers did not run for every row", days[0], n)
			}
		})
	}
}

// TestDeferredRowsSeenByTheTransaction: a statement that reads events or
// timeline in the same transaction sees the rows deferred before it, and
// IDs go on from where the rows written so far end.
func TestDeferredRowsSeenByTheTransaction(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	id := mustCreate(t, st, "k", time.Time{})
	at := noT0.Add(time.Hour)
	err := st.Update(ctx, func(itx incident.Tx) error {
		tx, raw := itx, itx.(*tx)
		var ids []int64
		for i := range 3 {
			// The first event is deferred alone: no timeline entry is.
			ev := incident.EventRecord{ReceivedAt: at, Source: "am", Fingerprint: "fp", Status: incident.StatusResolved,
				Transition: incident.TransitionResolved, IncidentID: id}
			if err := tx.AddEvent(ctx, ev); err != nil {
				return err
			}
			// Another alert's resolve, and one received before since,
			// deferred too, are not counted.
			if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: at, Source: "am", Fingerprint: "other",
				Status: incident.StatusResolved, Transition: incident.TransitionResolved, IncidentID: id}); err != nil {
				return err
			}
			if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: at.Add(-time.Second), Source: "am", Fingerprint: "fp",
				Status: incident.StatusResolved, Transition: incident.TransitionResolved, IncidentID: id}); err != nil {
				return err
			}
			r, err := tx.CountResolves(ctx, "am", "fp", at)
			if err != nil {
				return err
			}
			if len(raw.rows.args[deferEvents]) == 0 {
				t.Error("CountResolves wrote the deferred events rather than count them")
			}
			e := incident.TimelineEntry{IncidentID: id, At: at, Kind: incident.TimelineAlertResolved, Actor: "system", Message: "m"}
			if err := tx.AddTimeline(ctx, &e); err != nil {
				return err
			}
			ids = append(ids, e.ID)
			n, err := tx.CountTimeline(ctx, id, incident.TimelineAlertResolved, at)
			if err != nil {
				return err
			}
			if n != i+1 || r != i+1 {
				t.Errorf("after %d deferred entries and events the transaction counts %d entries and %d resolves", i+1, n, r)
			}
		}
		if ids[1] != ids[0]+1 || ids[2] != ids[1]+1 {
			t.Errorf("timeline IDs %v, want consecutive", ids)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := readRows(t, st.r, `SELECT COUNT(*) FROM timeline WHERE kind = ?`, incident.TimelineAlertResolved); got[0] != "3" {
		t.Errorf("%s entries stored, want 3", got[0])
	}
}

// TestDeferredRowFailureFailsTheTransaction: a deferred row that cannot be
// written (a timeline entry of no incident) fails the transaction at its
// end even though every call returned nil, with an error that is no
// domain error, and nothing of it is stored. The next transaction gives
// the same IDs again.
func TestDeferredRowFailureFailsTheTransaction(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	id := mustCreate(t, st, "k", time.Time{})
	var first int64
	add := func(tx incident.Tx, incidentID int64) error {
		ev := incident.EventRecord{ReceivedAt: noT0, Source: "am", Fingerprint: "fp", Status: incident.StatusFiring,
			Transition: incident.TransitionNew, IncidentID: id}
		if err := tx.AddEvent(ctx, ev); err != nil {
			return err
		}
		e := incident.TimelineEntry{IncidentID: incidentID, At: noT0, Kind: incident.TimelineAlertFiring, Actor: "system"}
		err := tx.AddTimeline(ctx, &e)
		first = e.ID
		return err
	}
	err := st.Update(ctx, func(tx incident.Tx) error { return add(tx, id+1000) })
	if err == nil || !strings.Contains(err.Error(), "deferred timeline") {
		t.Fatalf("Update = %v, want the deferred timeline entry's failure", err)
	}
	if errors.Is(err, incident.ErrConflict) || errors.Is(err, incident.ErrNotFound) || errors.Is(err, incident.ErrInvalid) {
		t.Errorf("Update = %v: a domain error", err)
	}
	if got := readRows(t, st.r, `SELECT (SELECT COUNT(*) FROM events) || '/' || (SELECT COUNT(*) FROM timeline)`); got[0] != "0/0" {
		t.Errorf("events/timeline stored after the failed transaction: %s, want 0/0", got[0])
	}
	// A statement after the failed write fails as well, with a row that
	// knows nothing of the cause; Update still returns the cause.
	err = st.Update(ctx, func(tx incident.Tx) error {
		if err := add(tx, id+1000); err != nil {
			return err
		}
		_, err := tx.IncidentByKey(ctx, "k")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "deferred timeline") || errors.Is(err, context.Canceled) {
		t.Errorf("Update after a read = %v, want the deferred timeline entry's failure", err)
	}
	failed := first
	if err := st.Update(ctx, func(tx incident.Tx) error { return add(tx, id) }); err != nil {
		t.Fatal(err)
	}
	if first != failed {
		t.Errorf("the next transaction's entry has ID %d, want %d again", first, failed)
	}
	if got := readRows(t, st.r, `SELECT id FROM timeline`); len(got) != 1 || got[0] != fmt.Sprint(first) {
		t.Errorf("timeline IDs %v, want [%d]", got, first)
	}
}

// TestPassThroughLeavesDeferredTablesAlone: the statements that run while
// events and timeline entries are deferred (passThrough) neither name
// those tables nor any table their triggers write, and no trigger on the
// tables those statements write does; the deferred tables' triggers do
// not read incidents, whose held rows are written after them; and a
// trigger on incidents that reads a deferred table fires only on a change
// no held row makes (incidentrow.HoldableUpdate keeps priority and
// service, and deletes are never held).
func TestPassThroughLeavesDeferredTablesAlone(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	triggers := func(table string) map[string]string {
		rows, err := st.r.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?`, table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var name, sql string
			if err := rows.Scan(&name, &sql); err != nil {
				t.Fatal(err)
			}
			out[name] = sql
		}
		return out
	}
	// The deferred tables from the events' counts on (the states, alerts
	// and episodes are read by key: writeBefore, touchesEpisodes), and the
	// tables their triggers write.
	var watched []string
	for _, table := range deferredTables[deferEventDays:] {
		watched = append(watched, table.name)
	}
	names := append([]string(nil), watched...)
	written := regexp.MustCompile(`(?i)\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)`)
	incidents := readersOfIncidents(t, st)
	tables := map[string]bool{}
	for _, name := range readRows(t, st.r, `SELECT name FROM sqlite_master WHERE type = 'table'`) {
		tables[name] = true
	}
	for _, table := range watched {
		for name, sql := range triggers(table) {
			for _, m := range written.FindAllStringSubmatch(sql, -1) {
				if tables[m[1]] { // not the SET of an upsert's DO UPDATE
					names = append(names, m[1])
				}
			}
			if incidents.MatchString(sql) {
				t.Errorf("trigger %s on %s reads incidents: held rows are written after the deferred ones", name, table)
			}
		}
	}
	if len(names) == len(watched) {
		t.Fatal("no table written by the deferred tables' triggers found: the check would see nothing")
	}
	touches := regexp.MustCompile(`(?i)\b(` + strings.Join(names, "|") + `)\b`)
	for q := range passThrough {
		// qCountResolves reads events, and CountResolves adds the deferred
		// ones itself (TestDeferredRowsSeenByTheTransaction).
		if q != qNextTimelineID && q != qCountResolves && touches.MatchString(q) {
			t.Errorf("pass-through statement names a deferred table or one its triggers write: %s", q)
		}
	}
	for _, table := range passThroughTables {
		for name, sql := range triggers(table) {
			if touches.MatchString(sql) {
				t.Errorf("trigger %s on %s names a deferred table or one its triggers write", name, table)
			}
		}
	}
	// The deferred episodes are written before the pass-through statements
	// that name their table, and no trigger of the others' tables reads it.
	episodes := regexp.MustCompile(`(?i)\balert_episodes\b`)
	for q := range passThrough {
		if episodes.MatchString(q) && !touchesEpisodes[q] {
			t.Errorf("pass-through statement names alert_episodes but is not in touchesEpisodes: %s", q)
		}
	}
	for _, table := range passThroughTables {
		for name, sql := range triggers(table) {
			if episodes.MatchString(sql) {
				t.Errorf("trigger %s on %s names alert_episodes, whose first rows may be deferred", name, table)
			}
		}
	}
	// A pass-through statement that names the deferred states or alerts
	// reads by one key, and its caller writes them first when that key is
	// among them; no trigger of the pass-through tables reads them.
	keyed := map[string]bool{qSelectAlertState: true, qAlertNo: true, qStateEpisodeNear: true, qSelectAlert: true, qTouchAlert: true}
	statesOrAlerts := regexp.MustCompile(`(?i)\b(alert_states|alerts)\b`)
	for q := range passThrough {
		if statesOrAlerts.MatchString(q) && !keyed[q] {
			t.Errorf("pass-through statement names alert_states or alerts, whose rows may be deferred: %s", q)
		}
	}
	for _, table := range passThroughTables {
		for name, sql := range triggers(table) {
			if statesOrAlerts.MatchString(sql) {
				t.Errorf("trigger %s on %s names alert_states or alerts, whose rows may be deferred", name, table)
			}
		}
	}
	onlyUnheld := map[string]bool{"event_filter_days_update": true, "event_filter_days_delete": true}
	for name, sql := range triggers("incidents") {
		if (touches.MatchString(sql) || episodes.MatchString(sql) || statesOrAlerts.MatchString(sql)) && !onlyUnheld[name] {
			t.Errorf("trigger %s on incidents names a deferred table: a held update may fire it", name)
		}
	}
}

// TestDeferredFirstEpisodes: a new alert's first episode is deferred with
// an ID of its own; a statement that reads episodes in the same
// transaction finds it; a second record of the same firing updates it; an
// episode another statement inserts in between takes the next ID, and the
// next deferred one the ID after that.
func TestDeferredFirstEpisodes(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	id := mustCreate(t, st, "k", time.Time{})
	at := noT0.Add(time.Hour)
	ep := func(fp string) incident.Episode {
		return incident.Episode{Source: "am", Fingerprint: fp, StartsAt: at, IncidentID: id, Key: "k"}
	}
	var ids []int64
	err := st.Update(ctx, func(tx incident.Tx) error {
		a := ep("a")
		if err := tx.RecordEpisode(ctx, &a); err != nil {
			return err
		}
		near, err := tx.EpisodeNear(ctx, "am", "a", at, time.Minute)
		if err != nil {
			return fmt.Errorf("the deferred episode is not found in its transaction: %w", err)
		}
		if near.ID != a.ID || near.IncidentID != id {
			t.Errorf("EpisodeNear = %+v, want ID %d of incident %d", near, a.ID, id)
		}
		again := ep("a")
		again.EndsAt = at.Add(time.Minute)
		if err := tx.RecordEpisode(ctx, &again); err != nil {
			return err
		}
		if again.ID != a.ID {
			t.Errorf("the same firing recorded again has ID %d, want %d", again.ID, a.ID)
		}
		b := ep("b") // deferred, then written by the insert after it
		if err := tx.RecordEpisode(ctx, &b); err != nil {
			return err
		}
		c := ep("c") // inserted by its statement
		if err := tx.PutEpisode(ctx, &c); err != nil {
			return err
		}
		d := ep("d")
		if err := tx.RecordEpisode(ctx, &d); err != nil {
			return err
		}
		ids = []int64{a.ID, b.ID, c.ID, d.ID}
		for _, e := range []incident.Episode{a, b, c, d} {
			if err := tx.PutAlertState(ctx, incident.AlertState{Source: "am", Fingerprint: e.Fingerprint,
				Status: incident.StatusFiring, StartsAt: at, IncidentID: id, LastSeenAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("%d|a|%d", ids[0], at.Add(time.Minute).UnixNano()),
		fmt.Sprintf("%d|b|", ids[1]), fmt.Sprintf("%d|c|", ids[2]), fmt.Sprintf("%d|d|", ids[3]),
	}
	got := readRows(t, st.r, `SELECT id || '|' || fingerprint || '|' || COALESCE(ends_at, '') FROM alert_episodes ORDER BY id`)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("episodes stored %v, want %v", got, want)
	}
	if ids[1] != ids[0]+1 || ids[2] != ids[1]+1 || ids[3] != ids[2]+1 {
		t.Errorf("episode IDs %v, want consecutive", ids)
	}
}

// TestDeferredStatesAndAlertsByKey: a read of a deferred state or alert
// by its key sees it, and a touch finds it; a read of another key leaves
// the deferred rows where they are; the last write of a key is stored.
func TestDeferredStatesAndAlertsByKey(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	id := mustCreate(t, st, "k", time.Time{})
	at := noT0.Add(time.Hour)
	state := func(fp string, status incident.Status) incident.AlertState {
		return incident.AlertState{Source: "am", Fingerprint: fp, Status: status, StartsAt: at, IncidentID: id, LastSeenAt: at}
	}
	err := st.Update(ctx, func(itx incident.Tx) error {
		tx := itx.(*tx)
		if err := tx.PutAlertState(ctx, state("a", incident.StatusFiring)); err != nil {
			return err
		}
		if err := tx.PutAlertState(ctx, state("b", incident.StatusFiring)); err != nil {
			return err
		}
		if _, err := tx.AlertState(ctx, "am", "c"); !errors.Is(err, incident.ErrNotFound) {
			return fmt.Errorf("state of c: %w, want not found", err)
		}
		if len(tx.rows.args[deferStates]) == 0 {
			t.Error("a read of another key wrote the deferred states")
		}
		got, err := tx.AlertState(ctx, "am", "a")
		if err != nil {
			return fmt.Errorf("the deferred state of a is not read in its transaction: %w", err)
		}
		if got.Status != incident.StatusFiring || got.IncidentID != id {
			t.Errorf("state of a: %+v", got)
		}
		if err := tx.PutAlertState(ctx, state("a", incident.StatusResolved)); err != nil {
			return err
		}
		// One key twice in the rows of one statement: the second wins.
		for _, status := range []incident.Status{incident.StatusFiring, incident.StatusResolved} {
			if err := tx.PutAlertState(ctx, state("twice", status)); err != nil {
				return err
			}
		}
		a := incident.Alert{IncidentID: id, Source: "am", Fingerprint: "a", Status: incident.StatusFiring,
			Labels: map[string]string{"alertname": "A"}, StartsAt: at, FirstSeenAt: at, LastSeenAt: at, Count: 1}
		if err := tx.PutAlert(ctx, a); err != nil {
			return err
		}
		if _, err := tx.Alert(ctx, id, "am", "c"); !errors.Is(err, incident.ErrNotFound) {
			return fmt.Errorf("alert c: %w, want not found", err)
		}
		if len(tx.rows.args[deferAlerts]) == 0 {
			t.Error("a read of another alert wrote the deferred alerts")
		}
		if got, err := tx.Alert(ctx, id, "am", "a"); err != nil || got.Count != 1 {
			return fmt.Errorf("the deferred alert a is not read in its transaction: %+v, %w", got, err)
		}
		b := a
		b.Fingerprint = "b"
		if err := tx.PutAlert(ctx, b); err != nil {
			return err
		}
		if err := tx.TouchAlert(ctx, id, "am", "b", at.Add(time.Second), at, nil); err != nil {
			return fmt.Errorf("touch of the deferred alert b: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := readRows(t, st.r, `SELECT fingerprint || '|' || status FROM alert_states ORDER BY fingerprint`); strings.Join(got, " ") != "a|resolved b|firing twice|resolved" {
		t.Errorf("states stored %v, want a and twice resolved, b firing", got)
	}
	if got := readRows(t, st.r, `SELECT fingerprint || '|' || count FROM alerts ORDER BY fingerprint`); strings.Join(got, " ") != "a|1 b|2" {
		t.Errorf("alerts stored %v, want a seen once and b twice", got)
	}
}

// TestSharedRunsWrittenInOrder: events in runs alike in the shared
// columns, of every length around minSharedRun and the statements'
// widths, and split by one row unlike the others, are stored each with its
// own values in every column, in the order given, the runs of
// minSharedRun or more rows with their shared values bound once.
func TestSharedRunsWrittenInOrder(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	id := mustCreate(t, st, "k", time.Time{})
	var want []string
	before := sharedRowsWritten[deferEvents].Load()
	err := st.Update(ctx, func(tx incident.Tx) error {
		i := 0
		for r, n := range []int{1, 3, 4, 5, 70, 2, 67, 1, 16} {
			for j := range n {
				ev := incident.EventRecord{ReceivedAt: noT0.Add(time.Duration(r) * time.Millisecond), Source: "am",
					Fingerprint: fmt.Sprintf("fp%03d", i), Status: incident.StatusFiring,
					Labels: map[string]string{"i": fmt.Sprint(i)}, Receiver: fmt.Sprint("rcv", r%2),
					GeneratorURL: fmt.Sprint("url", i%3), StartsAt: noT0.Add(-time.Duration(i) * time.Second),
					Transition: incident.TransitionNew, Rule: fmt.Sprint("rule", r%3), Key: fmt.Sprint("key", r%2)}
				if r%2 == 0 {
					ev.GroupLabels, ev.IncidentID = map[string]string{"g": fmt.Sprint(r)}, id
				}
				if n == 70 && (j == 30 || j == 31) {
					ev.Status, ev.EndsAt, ev.Transition = incident.StatusResolved, noT0, incident.TransitionResolved
				}
				if err := tx.AddEvent(ctx, ev); err != nil {
					return err
				}
				group := "-"
				if ev.GroupLabels != nil {
					group = fmt.Sprintf(`{"g":"%d"}`, r)
				}
				want = append(want, fmt.Sprintf(`%d|am|%s|%s|{"i":"%d"}|%s|%s|%s|%d|%d|%s|%s|%s|%d`,
					ev.ReceivedAt.UnixNano(), ev.Fingerprint, ev.Status, i, group, ev.Receiver, ev.GeneratorURL,
					ev.StartsAt.UnixNano(), nanosOr0(ev.EndsAt), ev.Transition, ev.Rule, ev.Key, ev.IncidentID))
				i++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := readRows(t, st.r, `SELECT received_at || '|' || source || '|' || fingerprint || '|' || status || '|' || labels
		|| '|' || COALESCE(group_labels, '-') || '|' || receiver || '|' || generator_url || '|' || starts_at
		|| '|' || COALESCE(ends_at, 0) || '|' || transition || '|' || rule || '|' || correlation_key
		|| '|' || COALESCE(incident_id, 0) FROM events ORDER BY id`)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events stored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// 4, 5, 30 and 38 of the 70, 67 and 16 rows: the rest one by one.
	if n := sharedRowsWritten[deferEvents].Load() - before; n != 4+5+30+38+67+16 {
		t.Errorf("%d events written with shared values bound once, want %d", n, 4+5+30+38+67+16)
	}
}

func nanosOr0(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// TestSharedRunUpsertsInOrder: in a run written with its shared values
// bound once, an alert put twice keeps its second row, as one statement
// per row would.
func TestSharedRunUpsertsInOrder(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	id := mustCreate(t, st, "k", time.Time{})
	before := sharedRowsWritten[deferAlerts].Load()
	err := st.Update(ctx, func(tx incident.Tx) error {
		// The first four in one statement, a twice among them.
		for i, fp := range []string{"a", "b", "c", "a", "d"} {
			a := incident.Alert{IncidentID: id, Source: "am", Fingerprint: fp, Status: incident.StatusFiring,
				Labels: map[string]string{"put": fmt.Sprint(i)}, StartsAt: noT0, FirstSeenAt: noT0, LastSeenAt: noT0, Count: 1}
			if err := tx.PutAlert(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := sharedRowsWritten[deferAlerts].Load() - before; n != 5 {
		t.Fatalf("%d alert rows written with shared values bound once, want all 5", n)
	}
	got := readRows(t, st.r, `SELECT fingerprint || '|' || labels FROM alerts WHERE incident_id = ? ORDER BY fingerprint`, id)
	want := []string{`a|{"put":"3"}`, `b|{"put":"1"}`, `c|{"put":"2"}`, `d|{"put":"4"}`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("alerts %v, want %v", got, want)
	}
}
