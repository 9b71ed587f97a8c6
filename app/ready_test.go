package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// These tests fill the store for real: a database capped at its size
// (PRAGMA max_page_count) fails with SQLITE_FULL, "database or disk is
// full", exactly as on a full disk. They are inside the package to reach
// the store that the daemon holds.

func mustStartedApp(t *testing.T, o Options) *App {
	t.Helper()
	o.ListenAddress, o.StoragePath = "127.0.0.1:0", storetest.SQLiteDir(t)
	a, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	t.Cleanup(func() {
		if err := a.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return a
}

func (a *App) mustGet(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + a.Addr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mustPostGroup posts an Alertmanager notification of a new group, one
// firing alert: a new incident, so new pages in the database.
func (a *App) mustPostGroup(t *testing.T, n int) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"version":"4","groupKey":"{}:{cluster=\"c%d\"}","status":"firing","receiver":"r",
		"groupLabels":{"cluster":"c%d"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am",
		"alerts":[{"status":"firing","labels":{"alertname":"DiskFull","cluster":"c%d"},"annotations":{},
		"startsAt":"2026-11-28T20:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"%016x"}]}`, n, n, n, n)
	resp, err := http.Post("http://"+a.Addr()+"/ingest/alertmanager", "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *App) lastCommitOK(t *testing.T) float64 {
	t.Helper()
	mfs, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "alertbridge_store_last_commit_successful" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no alertbridge_store_last_commit_successful")
	return 0
}

// eventually polls check until it returns nil, for at most 20s.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err = check(); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, err)
}

func (a *App) readyIs(t *testing.T, code int, says string) func() error {
	return func() error {
		got, body := a.mustGet(t, "/-/ready")
		if got != code || !strings.Contains(body, says) {
			return fmt.Errorf("/-/ready = %d %q, want %d and %q", got, body, code, says)
		}
		return nil
	}
}

// TestReadyWhileStoreCannotCommit fills the database with webhooks until a
// commit fails: /-/ready says so at once, and is ready again after the
// next commit once there is room. The sweep is kept out of it.
func TestReadyWhileStoreCannotCommit(t *testing.T) {
	a := mustStartedApp(t, Options{SweepInterval: time.Hour})
	ctx := context.Background()
	if err := a.readyIs(t, http.StatusOK, "is ready")(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.(*sqlite.Store).SetMaxPageCount(ctx, 1); err != nil { // never below its size
		t.Fatal(err)
	}
	n := 0
	for ; n < 10_000; n++ {
		code, body := a.mustPostGroup(t, n)
		if code == http.StatusServiceUnavailable {
			if !strings.Contains(body, "not committed") {
				t.Errorf("503 body %q, want not committed", body)
			}
			break
		}
		if code != http.StatusOK {
			t.Fatalf("webhook %d: %d %s", n, code, body)
		}
	}
	t.Logf("the database was full after %d webhooks", n)
	for _, says := range []string{"not ready: the store cannot commit", "database or disk is full"} {
		if err := a.readyIs(t, http.StatusServiceUnavailable, says)(); err != nil {
			t.Error(err)
		}
	}
	if got := a.lastCommitOK(t); got != 0 {
		t.Errorf("alertbridge_store_last_commit_successful = %v, want 0", got)
	}

	if _, err := a.store.(*sqlite.Store).SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	if code, body := a.mustPostGroup(t, n); code != http.StatusOK {
		t.Fatalf("webhook once there is room: %d %s", code, body)
	}
	if err := a.readyIs(t, http.StatusOK, "is ready")(); err != nil {
		t.Error(err)
	}
	if got := a.lastCommitOK(t); got != 1 {
		t.Errorf("alertbridge_store_last_commit_successful = %v, want 1", got)
	}
}

// TestReadyNoticesFullStoreWhenIdle caps the database while no request
// comes in: the sweep's heartbeat fails, /-/ready says why, and it is ready
// again once there is room, all without a single webhook.
func TestReadyNoticesFullStoreWhenIdle(t *testing.T) {
	a := mustStartedApp(t, Options{SweepInterval: 10 * time.Millisecond})
	ctx := context.Background()
	eventually(t, "ready at start", a.readyIs(t, http.StatusOK, "is ready"))
	if _, err := a.store.(*sqlite.Store).SetMaxPageCount(ctx, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "full while idle", a.readyIs(t, http.StatusServiceUnavailable, "database or disk is full"))
	if got := a.lastCommitOK(t); got != 0 {
		t.Errorf("alertbridge_store_last_commit_successful = %v, want 0", got)
	}
	if _, err := a.store.(*sqlite.Store).SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	eventually(t, "room again", a.readyIs(t, http.StatusOK, "is ready"))
	if got := a.lastCommitOK(t); got != 1 {
		t.Errorf("alertbridge_store_last_commit_successful = %v, want 1", got)
	}
}
