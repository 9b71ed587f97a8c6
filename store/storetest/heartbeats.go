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
