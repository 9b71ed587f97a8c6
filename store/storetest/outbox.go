package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func rowIDs(rows []incident.OutboxRow) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

// addRows writes rows in order and returns them with their IDs.
func addRows(t *testing.T, s Store, rows ...incident.OutboxRow) []incident.OutboxRow {
	t.Helper()
	mustUpdate(t, s, func(tx incident.Tx) error {
		for i := range rows {
			if err := tx.AddOutbox(context.Background(), &rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return rows
}

func row(sink string, incidentID int64, state incident.OutboxState, next time.Time) incident.OutboxRow {
	return incident.OutboxRow{Sink: sink, IncidentID: incidentID, Kind: incident.NotifyComment, State: state,
		CreatedAt: t0, NextAttemptAt: next}
}

// testDueOutbox: DueOutbox is, for one sink, the head (oldest pending row,
// by ID) of each incident's queue when it is due at now (NextAttemptAt at
// or before now), soonest first, then by ID, at most limit; OutboxAfter is
// what follows a head. The dispatcher relies on both for in-order delivery
// per incident and sink.
func testDueOutbox(t *testing.T, s Store) {
	ctx := context.Background()
	a, b, c, d := create(t, s, newIncident("a", 3)), create(t, s, newIncident("b", 3)), create(t, s, newIncident("c", 3)),
		create(t, s, newIncident("d", 3))
	now := t0.Add(time.Hour)
	const ns = time.Nanosecond
	r := addRows(t, s,
		row("jira", a.ID, incident.OutboxPending, now.Add(-time.Minute)), // 0: a's head, due
		row("jira", a.ID, incident.OutboxPending, now.Add(-time.Hour)),   // 1: due earlier, but behind a's head
		row("jira", b.ID, incident.OutboxPending, now),                   // 2: b's head, due exactly now
		row("jira", c.ID, incident.OutboxPending, now.Add(ns)),           // 3: c's head, not due yet
		row("jira", c.ID, incident.OutboxPending, now.Add(-time.Hour)),   // 4: due, but behind c's head
		row("jira", d.ID, incident.OutboxDead, now.Add(-time.Hour)),      // 5: dead: no head
		row("jira", d.ID, incident.OutboxHeld, now.Add(-time.Hour)),      // 6: held: no head
		row("jira", d.ID, incident.OutboxPending, now.Add(-time.Minute)), // 7: d's head, due as soon as a's
		row("slack", b.ID, incident.OutboxPending, now.Add(-time.Hour)),  // 8: another sink's
		row("jira", a.ID, incident.OutboxHeld, now.Add(-time.Hour)),      // 9: a's held row
		row("jira", a.ID, incident.OutboxPending, now.Add(-time.Hour)),   // 10
	)
	tests := []struct {
		name  string
		sink  string
		limit int
		want  []int64
	}{
		{"Heads", "jira", 10, []int64{r[0].ID, r[7].ID, r[2].ID}},
		{"Limit", "jira", 2, []int64{r[0].ID, r[7].ID}},
		{"OtherSink", "slack", 10, []int64{r[8].ID}},
		{"UnknownSink", "pagerduty", 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DueOutbox(ctx, tt.sink, now, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rowIDs(got)); diff != "" {
				t.Errorf("DueOutbox (-want +got):\n%s", diff)
			}
		})
	}
	after := []struct {
		name     string
		incident int64
		after    int64
		want     []int64
	}{
		{"AfterTheHead", a.ID, r[0].ID, []int64{r[1].ID, r[10].ID}},
		{"FromTheStart", a.ID, 0, []int64{r[0].ID, r[1].ID, r[10].ID}},
		{"AfterAFollower", a.ID, r[1].ID, []int64{r[10].ID}},
		{"PendingOnly", d.ID, 0, []int64{r[7].ID}},
		{"Nothing", b.ID, r[2].ID, nil},
	}
	for _, tt := range after {
		t.Run("OutboxAfter/"+tt.name, func(t *testing.T) {
			got, err := s.OutboxAfter(ctx, "jira", tt.incident, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rowIDs(got)); diff != "" {
				t.Errorf("OutboxAfter (-want +got):\n%s", diff)
			}
		})
	}

	// Once a's head is delivered, the row behind it is the head.
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.DeleteOutbox(ctx, []int64{r[0].ID}) })
	got, err := s.DueOutbox(ctx, "jira", now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{r[1].ID, r[7].ID, r[2].ID}, rowIDs(got)); diff != "" {
		t.Errorf("DueOutbox after delivering a's head (-want +got):\n%s", diff)
	}
}

// testOutboxWrites covers the outbox's writes and the counts the
// dispatcher, Enqueue and the metrics read.
func testOutboxWrites(t *testing.T, s Store) {
	ctx := context.Background()
	a, b := create(t, s, newIncident("a", 3)), create(t, s, newIncident("b", 3))
	older := row("jira", b.ID, incident.OutboxPending, t0)
	older.CreatedAt = t0.Add(-time.Minute)
	r := addRows(t, s,
		row("jira", a.ID, incident.OutboxPending, t0),    // 0
		row("jira", a.ID, incident.OutboxHeld, t0),       // 1
		row("slack", a.ID, incident.OutboxHeld, t0),      // 2
		row("slack", a.ID, incident.OutboxHeld, t0),      // 3
		row("jira", b.ID, incident.OutboxHeld, t0),       // 4
		row("jira", b.ID, incident.OutboxDead, t0),       // 5
		row("webhook", b.ID, incident.OutboxDead, t0),    // 6
		row("webhook", a.ID, incident.OutboxPending, t0), // 7
		older, // 8
	)
	mustUpdate(t, s, func(tx incident.Tx) error {
		// PendingOutbox counts pending and held rows; dead ones wait for
		// nobody.
		for _, tt := range []struct {
			sink string
			want int
		}{{"jira", 4}, {"slack", 2}, {"webhook", 1}, {"none", 0}} {
			if n, err := tx.PendingOutbox(ctx, tt.sink); err != nil || n != tt.want {
				t.Errorf("PendingOutbox(%s) = %d, %v; want %d", tt.sink, n, err, tt.want)
			}
		}
		for _, tt := range []struct {
			sink     string
			incident int64
			want     bool
		}{{"jira", a.ID, true}, {"slack", a.ID, true}, {"jira", b.ID, true}, {"webhook", b.ID, false}, {"slack", b.ID, false}} {
			if got, err := tx.HasPendingOutbox(ctx, tt.sink, tt.incident); err != nil || got != tt.want {
				t.Errorf("HasPendingOutbox(%s, %d) = %v, %v; want %v", tt.sink, tt.incident, got, err, tt.want)
			}
		}
		held, err := tx.HeldIncidents(ctx)
		if err != nil {
			return err
		}
		slices.Sort(held)
		if diff := cmp.Diff([]int64{a.ID, b.ID}, held); diff != "" {
			t.Errorf("HeldIncidents (-want +got):\n%s", diff)
		}
		return nil
	})

	stats, err := s.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Oldest is the oldest pending row's creation; held rows wait for their
	// hold, not for the sink.
	wantStats := map[string]incident.OutboxStats{
		"jira":    {Pending: 2, Held: 2, Dead: 1, Oldest: t0.Add(-time.Minute)},
		"slack":   {Held: 2},
		"webhook": {Pending: 1, Dead: 1, Oldest: t0},
	}
	if diff := cmp.Diff(wantStats, stats); diff != "" {
		t.Errorf("OutboxStats (-want +got):\n%s", diff)
	}

	// ReleaseHeld: a's held rows become one pending row of kind per sink
	// that held any, due now, behind what was pending; b's stay held.
	now := t0.Add(time.Hour)
	mustUpdate(t, s, func(tx incident.Tx) error {
		n, err := tx.ReleaseHeld(ctx, a.ID, incident.NotifyReleased, now)
		if err != nil || n != 2 {
			t.Errorf("ReleaseHeld(a) = %d, %v; want 2 sinks", n, err)
		}
		if n, err := tx.ReleaseHeld(ctx, a.ID, incident.NotifyReleased, now); err != nil || n != 0 {
			t.Errorf("ReleaseHeld(a) again = %d, %v; want 0", n, err)
		}
		held, err := tx.HeldIncidents(ctx)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]int64{b.ID}, held); diff != "" {
			t.Errorf("HeldIncidents after releasing a (-want +got):\n%s", diff)
		}
		return nil
	})
	for _, sink := range []string{"jira", "slack"} {
		got, err := s.OutboxAfter(ctx, sink, a.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Errorf("%s: no pending row after the release", sink)
			continue
		}
		rel := got[len(got)-1]
		want := incident.OutboxRow{ID: rel.ID, Sink: sink, IncidentID: a.ID, Kind: incident.NotifyReleased,
			State: incident.OutboxPending, CreatedAt: now, NextAttemptAt: now}
		if diff := cmp.Diff(want, rel); diff != "" {
			t.Errorf("%s's release (-want +got):\n%s", sink, diff)
		}
		if sink == "jira" && (len(got) != 2 || got[0].ID != r[0].ID) {
			t.Errorf("jira's rows of a = %v, want the pending %d, then the release", rowIDs(got), r[0].ID)
		}
	}

	// RescheduleOutbox records a failed attempt, or a death.
	mustUpdate(t, s, func(tx incident.Tx) error {
		if err := tx.RescheduleOutbox(ctx, r[0].ID, 3, now.Add(time.Minute), "503", false); err != nil {
			return err
		}
		if err := tx.RescheduleOutbox(ctx, r[7].ID, 9, now.Add(2*time.Minute), "gone", true); err != nil {
			return err
		}
		if err := tx.RescheduleOutbox(ctx, r[7].ID+1000, 1, now, "x", false); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("RescheduleOutbox(unknown) = %v, want ErrNotFound", err)
		}
		return nil
	})
	rows, err := s.OutboxRows(ctx, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]incident.OutboxRow{}
	for _, x := range rows {
		byID[x.ID] = x
	}
	wantRetry := r[0]
	wantRetry.Attempts, wantRetry.NextAttemptAt, wantRetry.LastError = 3, now.Add(time.Minute), "503"
	if diff := cmp.Diff(wantRetry, byID[r[0].ID]); diff != "" {
		t.Errorf("rescheduled row (-want +got):\n%s", diff)
	}
	wantDead := r[7]
	wantDead.Attempts, wantDead.NextAttemptAt, wantDead.LastError, wantDead.State = 9, now.Add(2*time.Minute), "gone", incident.OutboxDead
	if diff := cmp.Diff(wantDead, byID[r[7].ID]); diff != "" {
		t.Errorf("dead row (-want +got):\n%s", diff)
	}

	// ReplayOutbox puts a dead letter back in line, due now, its attempts
	// reset; its last error is kept for the operator to see.
	replayAt := now.Add(time.Hour)
	mustUpdate(t, s, func(tx incident.Tx) error {
		got, err := tx.ReplayOutbox(ctx, r[7].ID, replayAt)
		want := wantDead
		want.State, want.Attempts, want.NextAttemptAt, want.CreatedAt = incident.OutboxPending, 0, replayAt, replayAt
		mustRead(t, "ReplayOutbox", want, got, err)
		if _, err := tx.ReplayOutbox(ctx, r[7].ID, replayAt); !errors.Is(err, incident.ErrConflict) {
			t.Errorf("ReplayOutbox(pending) = %v, want ErrConflict", err)
		}
		if _, err := tx.ReplayOutbox(ctx, r[7].ID+1000, replayAt); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("ReplayOutbox(unknown) = %v, want ErrNotFound", err)
		}
		return nil
	})
	got, err := s.OutboxAfter(ctx, "webhook", a.ID, 0)
	if err != nil || len(got) != 1 || got[0].State != incident.OutboxPending || !got[0].CreatedAt.Equal(replayAt) {
		t.Errorf("replayed row as read = %+v, %v", got, err)
	}

	// DeleteOutbox removes exactly the rows named; none is no error.
	mustUpdate(t, s, func(tx incident.Tx) error {
		if err := tx.DeleteOutbox(ctx, nil); err != nil {
			return err
		}
		return tx.DeleteOutbox(ctx, []int64{r[4].ID, r[5].ID, r[5].ID + 1000})
	})
	rest, err := s.OutboxRows(ctx, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(rowIDs(rest), r[4].ID) || slices.Contains(rowIDs(rest), r[5].ID) || len(rest) != len(rows)-2 {
		t.Errorf("after deleting %d and %d: rows %v (before %v)", r[4].ID, r[5].ID, rowIDs(rest), rowIDs(rows))
	}
}

// testPurgeDeadOutbox: dead letters that died (NextAttemptAt) before
// before, strictly, at most limit; other rows stay.
func testPurgeDeadOutbox(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s, newIncident("a", 3))
	before := t0.Add(time.Hour)
	r := addRows(t, s,
		row("jira", a.ID, incident.OutboxDead, before.Add(-time.Hour)),       // 0: purged
		row("jira", a.ID, incident.OutboxDead, before.Add(-time.Nanosecond)), // 1: purged
		row("jira", a.ID, incident.OutboxDead, before),                       // 2: died at before: kept
		row("jira", a.ID, incident.OutboxPending, before.Add(-time.Hour)),    // 3: not dead
		row("jira", a.ID, incident.OutboxHeld, before.Add(-time.Hour)),       // 4: not dead
	)
	purge := func(limit int) int {
		t.Helper()
		var n int
		mustUpdate(t, s, func(tx incident.Tx) error {
			var err error
			n, err = tx.PurgeDeadOutbox(ctx, before, limit)
			return err
		})
		return n
	}
	if n := purge(1); n != 1 {
		t.Errorf("PurgeDeadOutbox(limit 1) = %d, want 1", n)
	}
	if n := purge(10); n != 1 {
		t.Errorf("PurgeDeadOutbox(the rest) = %d, want 1", n)
	}
	if n := purge(10); n != 0 {
		t.Errorf("PurgeDeadOutbox(none left) = %d, want 0", n)
	}
	rest, err := s.OutboxRows(ctx, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{r[4].ID, r[3].ID, r[2].ID}, rowIDs(rest)); diff != "" {
		t.Errorf("rows left (-want +got):\n%s", diff)
	}
}
