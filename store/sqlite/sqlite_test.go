package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"

	"github.com/alertbridge/alertbridge/store/migrate"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

func mustOpen(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.MigratedDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return mustOpen(t) })
}

// TestContractSearchIndexedEveryFewIncidents runs the contract with the
// search index written every third incident: at the default batch few
// contract tests make enough incidents to reach the index, so their
// searches would read only the incidents not indexed yet.
func TestContractSearchIndexedEveryFewIncidents(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s := mustOpen(t)
		sqlite.SetSearchBatch(s, 3)
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A second open finds the schema current and applies nothing again.
	s, err = sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s.Close()
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := sqlite.Open(ctx, dir); !errors.Is(err, migrate.ErrSchemaTooNew) {
		t.Fatalf("open newer schema: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestReadOnlyEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	want := []incident.EventRecord{
		{ReceivedAt: t0, Source: "alertmanager", Fingerprint: "a", Status: incident.StatusFiring,
			Labels: map[string]string{"alertname": "X"}, Annotations: map[string]string{"summary": "s"},
			GroupLabels: map[string]string{"alertname": "X"}, Receiver: "r", GeneratorURL: "http://g",
			StartsAt: t0, Transition: incident.TransitionNew, Rule: "x", Key: "rule/x@1{}"},
		{ReceivedAt: t0.Add(time.Minute), Source: "events", Fingerprint: "b", Status: incident.StatusResolved,
			Labels: map[string]string{}, Annotations: map[string]string{}, StartsAt: t0, EndsAt: t0.Add(time.Minute),
			Transition: incident.TransitionStale},
		{ReceivedAt: t0.Add(time.Hour), Source: "alertmanager", Fingerprint: "c", Status: incident.StatusFiring,
			Labels: map[string]string{}, Annotations: map[string]string{}, StartsAt: t0, Transition: incident.TransitionNew},
	}
	if err := s.Update(ctx, func(tx incident.Tx) error {
		for _, e := range want {
			if err := tx.AddEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := sqlite.OpenReadOnly(ctx, filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var got []incident.EventRecord
	err = ro.Events(ctx, t0.Add(time.Second), t0.Add(2*time.Hour), func(e incident.EventRecord) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[1:], got); diff != "" {
		t.Errorf("events since t0+1s (-want +got):\n%s", diff)
	}
	if err := ro.Update(ctx, func(incident.Tx) error { return nil }); !errors.Is(err, sqlite.ErrReadOnly) {
		t.Errorf("Update on read-only store: err = %v, want ErrReadOnly", err)
	}
	if _, err := sqlite.OpenReadOnly(ctx, filepath.Join(dir, "missing.db")); err == nil {
		t.Error("OpenReadOnly of a missing file succeeded")
	}
}
