package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// TestBackupWhileWriting copies the database while a writer keeps
// committing: the copy opens with the current schema, passes the integrity
// check, and holds every incident committed before the backup began.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	create := func(i int) error {
		return st.Update(ctx, func(tx incident.Tx) error {
			now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
			inc := incident.Incident{State: incident.StateOpen, Priority: 3, Title: fmt.Sprintf("incident %d", i),
				CorrelationKey: fmt.Sprintf("k/%d", i), OpenedAt: now, UpdatedAt: now, LastEventAt: now, RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1}}
			return tx.CreateIncident(ctx, &inc)
		})
	}
	for i := 0; i < 200; i++ {
		if err := create(i); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // keep writing during the backup
		defer wg.Done()
		for i := 200; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := create(i); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dest := filepath.Join(t.TempDir(), "backup.db")
	err = sqlite.Backup(ctx, st.Path(), dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := sqlite.OpenReadOnly(ctx, dest)
	if err != nil {
		t.Fatalf("the copy does not open: %v", err)
	}
	defer cp.Close()
	list, err := cp.Incidents(ctx, incident.IncidentFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 200 {
		t.Errorf("the copy has %d incidents, want at least the 200 committed before it", len(list))
	}
	if err := sqlite.Backup(ctx, st.Path(), dest); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a backup over an existing file: %v, want ErrExist", err)
	}
}
