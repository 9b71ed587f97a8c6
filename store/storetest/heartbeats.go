package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func testHeartbeatRecords(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, newIncident("heartbeat/watchdog{cluster=\"eu-1\"}", 2))
	rule := incident.Heartbeat{Key: `watchdog{cluster="eu-1"}`, Kind: incident.HeartbeatRule, Name: "watchdog",
		Labels: map[string]string{"cluster": "eu-1"}, State: incident.HeartbeatUp, LastBeatAt: t0.Add(time.Second),
		ArmedAt: t0, ChangedAt: t0.Add(time.Second)}
	src := incident.Heartbeat{Key: "source:am", Kind: incident.HeartbeatSource, Name: "am", State: incident.HeartbeatWaiting,
		ArmedAt: t0, ChangedAt: t0}
	get := func(key string) (incident.Heartbeat, error) {
		var hb incident.Heartbeat
		err := s.Update(ctx, func(tx incident.Tx) error {
			var err error
			hb, err = tx.HeartbeatRecord(ctx, key)
			return err
		})
		return hb, err
	}
	if _, err := get(rule.Key); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("unknown key: err = %v, want ErrNotFound", err)
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		if err := tx.PutHeartbeatRecord(ctx, src); err != nil {
			return err
		}
		return tx.PutHeartbeatRecord(ctx, rule)
	})
	got, err := get(rule.Key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rule, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	// A miss: the same key again replaces the row.
	rule.State, rule.IncidentID, rule.ChangedAt = incident.HeartbeatMissing, inc.ID, t0.Add(time.Hour)
	mustUpdate(t, s, func(tx incident.Tx) error { return tx.PutHeartbeatRecord(ctx, rule) })
	all, err := s.HeartbeatRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]incident.Heartbeat{src, rule}, all); diff != "" {
		t.Errorf("HeartbeatRecords (-want +got):\n%s", diff)
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		txAll, err := tx.HeartbeatRecords(ctx)
		if diff := cmp.Diff(all, txAll); diff != "" {
			t.Errorf("Tx.HeartbeatRecords (-want +got):\n%s", diff)
		}
		return err
	})

	// A put in a transaction that rolls back was never made.
	errRollback := errors.New("rollback")
	err = s.Update(ctx, func(tx incident.Tx) error {
		other := src
		other.Key, other.Name = "source:pd", "pd"
		if err := tx.PutHeartbeatRecord(ctx, other); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update: %v", err)
	}
	if _, err := get("source:pd"); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("rolled-back put: err = %v, want ErrNotFound", err)
	}

	mustUpdate(t, s, func(tx incident.Tx) error {
		if err := tx.DeleteHeartbeatRecord(ctx, src.Key); err != nil {
			return err
		}
		return tx.DeleteHeartbeatRecord(ctx, "unknown") // not an error
	})
	all, err = s.HeartbeatRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]incident.Heartbeat{rule}, all); diff != "" {
		t.Errorf("after delete (-want +got):\n%s", diff)
	}
}

func testStaleAlerts(t *testing.T, s Store) {
	ctx := context.Background()
	disk := create(t, s, newIncident("k-disk", 3))
	cpu := newIncident("k-cpu", 3)
	cpu.Rule = "cpu"
	cpu = create(t, s, cpu)
	states := []incident.AlertState{
		{Source: "events", Fingerprint: "a", Status: incident.StatusFiring, StartsAt: t0, IncidentID: disk.ID, LastSeenAt: t0.Add(time.Minute)},
		{Source: "events", Fingerprint: "b", Status: incident.StatusFiring, StartsAt: t0, IncidentID: cpu.ID, LastSeenAt: t0},
		{Source: "pd", Fingerprint: "c", Status: incident.StatusFiring, StartsAt: t0, IncidentID: disk.ID, LastSeenAt: t0.Add(2 * time.Minute)},
		// Resolved, recent, or in no incident: never stale.
		{Source: "events", Fingerprint: "d", Status: incident.StatusResolved, StartsAt: t0, EndsAt: t0, IncidentID: disk.ID, LastSeenAt: t0},
		{Source: "events", Fingerprint: "e", Status: incident.StatusFiring, StartsAt: t0, IncidentID: disk.ID, LastSeenAt: t0.Add(time.Hour)},
		{Source: "events", Fingerprint: "f", Status: incident.StatusFiring, StartsAt: t0, LastSeenAt: t0},
	}
	mustUpdate(t, s, func(tx incident.Tx) error {
		for _, st := range states {
			if err := tx.PutAlertState(ctx, st); err != nil {
				return err
			}
		}
		return nil
	})
	before := t0.Add(30 * time.Minute)
	tests := []struct {
		name string
		q    incident.StaleQuery
		want []string
	}{
		{"AllOldestFirst", incident.StaleQuery{SeenBefore: before, Limit: 10}, []string{"events/b", "events/a", "pd/c"}},
		{"Limit", incident.StaleQuery{SeenBefore: before, Limit: 2}, []string{"events/b", "events/a"}},
		{"SeenBeforeIsInclusive", incident.StaleQuery{SeenBefore: t0.Add(time.Minute), Limit: 10}, []string{"events/b", "events/a"}},
		{"BeforeAll", incident.StaleQuery{SeenBefore: t0.Add(-time.Nanosecond), Limit: 10}, nil},
		{"Source", incident.StaleQuery{Source: "events", SeenBefore: before, Limit: 10}, []string{"events/b", "events/a"}},
		{"Rule", incident.StaleQuery{Rule: "disk", SeenBefore: before, Limit: 10}, []string{"events/a", "pd/c"}},
		{"ExceptRules", incident.StaleQuery{Source: "events", ExceptRules: []string{"cpu", "x"}, SeenBefore: before, Limit: 10}, []string{"events/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			mustUpdate(t, s, func(tx incident.Tx) error {
				list, err := tx.StaleAlerts(ctx, tt.q)
				for _, a := range list {
					got = append(got, a.Source+"/"+a.Fingerprint)
					if a.Fingerprint == "a" && (!a.LastSeenAt.Equal(t0.Add(time.Minute)) || a.IncidentID != disk.ID || !a.StartsAt.Equal(t0)) {
						t.Errorf("alert a = %+v", a)
					}
				}
				return err
			})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("StaleAlerts (-want +got):\n%s", diff)
			}
		})
	}
}
