package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alertbridge/alertbridge/api"
)

// postgresEnv names the server the PostgreSQL tests use; requirePostgresEnv
// makes an unreachable server fail them instead of skipping (CI sets it).
const (
	postgresEnv        = "ALERTBRIDGE_TEST_POSTGRES_DSN"
	requirePostgresEnv = "ALERTBRIDGE_REQUIRE_PG"
	defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
)

// mustPostgresDatabase creates a fresh database on the test server, dropped
// in Cleanup, and returns its DSN.
func mustPostgresDatabase(t *testing.T) string {
	t.Helper()
	admin := os.Getenv(postgresEnv)
	if admin == "" {
		admin = defaultPostgresDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if os.Getenv(requirePostgresEnv) == "1" {
			t.Fatalf("PostgreSQL at %s: %v (%s=1 makes this a failure)", admin, err, requirePostgresEnv)
		}
		t.Skipf("no PostgreSQL at %s (%v); set %s, or %s=1 to fail instead", admin, err, postgresEnv, requirePostgresEnv)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "ab_e2e_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}

// replica is one daemon of an HA set.
type replica struct {
	p    *proc
	base string
}

func mustStartReplica(t *testing.T, bin, dsn string) replica {
	t.Helper()
	addr := mustFreeAddr(t)
	p := mustStart(t, "alertbridge "+addr, bin, "serve", "--web.listen-address="+addr, "--storage.dsn="+dsn,
		"--storage.path="+filepath.Join(t.TempDir(), "unused"), "--log.level=debug")
	base := "http://" + addr
	mustWaitReady(t, p, base+"/-/ready")
	return replica{p: p, base: base}
}

// leasesHeld sums alertbridge_lease_held{lease} over the replicas still
// running.
func leasesHeld(t *testing.T, lease string, rs ...replica) (int, []string) {
	t.Helper()
	n := 0
	var holders []string
	for _, r := range rs {
		if r.p.exited() {
			continue
		}
		resp, err := http.Get(r.base + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), `alertbridge_lease_held{lease="`+lease+`"} 1`) {
			n++
			holders = append(holders, r.base)
		}
	}
	return n, holders
}

// mustStartAlertmanagerPair runs two clustered Alertmanagers (gossip on
// 127.0.0.1), each sending to its own webhook URL, and returns their URLs.
func mustStartAlertmanagerPair(t *testing.T, bin string, webhooks [2]string) [2]string {
	t.Helper()
	gossip := [2]string{mustFreeAddr(t), mustFreeAddr(t)}
	var out [2]string
	for i := range 2 {
		dir := t.TempDir()
		cfg := mustWriteFile(t, dir, "alertmanager.yml", fmt.Sprintf(alertmanagerConfig, webhooks[i]))
		addr := mustFreeAddr(t)
		p := mustStart(t, fmt.Sprintf("alertmanager-%d", i), bin,
			"--config.file="+cfg,
			"--storage.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+addr,
			"--cluster.listen-address="+gossip[i],
			"--cluster.peer="+gossip[1-i],
			"--cluster.settle-timeout=2s",
			"--cluster.gossip-interval=100ms",
			"--cluster.pushpull-interval=1s",
			"--log.level=debug",
		)
		out[i] = "http://" + addr
		mustWaitReady(t, p, out[i]+"/-/ready")
	}
	return out
}

// TestHAReplicasOnOnePostgres: three daemons on one PostgreSQL database.
// A real Alertmanager HA pair sends to two different replicas and the
// third serves what they made; the captured payloads replayed to all three
// at once make one incident per key; the replica holding the background
// work is SIGKILLed mid-load and nothing acknowledged is lost, and another
// replica takes the work over.
func TestHAReplicasOnOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := mustPostgresDatabase(t)
	bin := mustBuildDaemon(t)
	am := mustFindAlertmanager(t)
	rs := []replica{mustStartReplica(t, bin, dsn), mustStartReplica(t, bin, dsn), mustStartReplica(t, bin, dsn)}
	ctx := context.Background()
	client := func(r replica) *api.Client {
		return &api.Client{BaseURL: r.base, HTTP: &http.Client{Timeout: 30 * time.Second}}
	}

	// Background work runs once: exactly one replica holds each lease.
	eventually(t, 30*time.Second, func() error {
		for _, lease := range []string{"sweep", "outbox"} {
			if n, holders := leasesHeld(t, lease, rs...); n != 1 {
				return fmt.Errorf("lease %s held by %d replicas %v, want 1", lease, n, holders)
			}
		}
		return nil
	})

	// The HA pair: both get every alert, as from Prometheus; each sends to
	// its own replica; the third replica sees the result.
	ams := mustStartAlertmanagerPair(t, am, [2]string{rs[0].base + "/ingest/alertmanager", rs[1].base + "/ingest/alertmanager"})
	alerts := []postableAlert{
		{Labels: map[string]string{"alertname": "DiskFull", "cluster": "ha-1", "instance": "db-1", "severity": "critical"}},
		{Labels: map[string]string{"alertname": "DiskFull", "cluster": "ha-1", "instance": "db-2", "severity": "critical"}},
		{Labels: map[string]string{"alertname": "HighLatency", "cluster": "ha-1", "instance": "api-1", "severity": "warning"}},
	}
	for _, u := range ams {
		mustPostAlerts(t, u, alerts)
	}
	eventually(t, 60*time.Second, func() error {
		all, err := listAll(ctx, client(rs[2]))
		if err != nil {
			return err
		}
		keys := byKey(all)
		if len(all) != 2 || len(keys) != 2 {
			return fmt.Errorf("%d incidents for %d keys on the third replica, want 2 and 2", len(all), len(keys))
		}
		for _, inc := range all {
			if inc.AlertCount != map[bool]int{true: 2, false: 1}[strings.Contains(inc.CorrelationKey, "DiskFull")] {
				return fmt.Errorf("incident %d (%s) has %d alerts", inc.ID, inc.CorrelationKey, inc.AlertCount)
			}
		}
		return nil
	})

	// The captured payloads, each posted to all three replicas at once.
	files, err := filepath.Glob("../ingest/testdata/alertmanager/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("captured payloads: %v %v", files, err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Go(func() {
				resp, err := http.Post(r.base+"/ingest/alertmanager", "application/json", bytes.NewReader(body))
				if err != nil {
					t.Errorf("%s to %s: %v", filepath.Base(f), r.base, err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusBadRequest {
					t.Errorf("%s to %s: %s", filepath.Base(f), r.base, resp.Status)
				}
			})
		}
		wg.Wait()
	}
	all, err := listAll(ctx, client(rs[2]))
	if err != nil {
		t.Fatal(err)
	}
	for key, incs := range byKey(all) {
		active := 0
		for _, inc := range incs {
			if inc.State == "open" || inc.State == "acknowledged" {
				active++
			}
		}
		if active > 1 {
			t.Errorf("key %s has %d active incidents after parallel replays: %s", key, active, brief(incs))
		}
	}

	// Kill the replica that runs the sweep while it takes load; the others
	// answer for everything it acknowledged and one takes its work over.
	_, holders := leasesHeld(t, "sweep", rs...)
	victim, survivor := 0, 1
	for i, r := range rs {
		if len(holders) == 1 && r.base == holders[0] {
			victim, survivor = i, (i+1)%3
		}
	}
	load := newCrashLoad(rs[victim].base, uint64(time.Now().UnixNano()))
	load.start(t)
	eventually(t, 60*time.Second, func() error {
		if n := load.acks.Load(); n < killAfterAcks {
			return fmt.Errorf("%d payloads acknowledged, waiting for %d", n, killAfterAcks)
		}
		return nil
	})
	if err := rs[victim].p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-rs[victim].p.done
	load.wait()
	t.Logf("SIGKILL of %s after %d acknowledged payloads", rs[victim].base, load.acks.Load())
	mustCheckCrashState(t, ctx, client(rs[survivor]), load)
	eventually(t, 30*time.Second, func() error {
		for _, lease := range []string{"sweep", "outbox"} {
			if n, holders := leasesHeld(t, lease, rs...); n != 1 {
				return fmt.Errorf("after the kill, lease %s held by %d replicas %v, want 1", lease, n, holders)
			}
		}
		return nil
	})
	load.redeliver(t, rs[survivor].base)
	mustCheckCrashState(t, ctx, client(rs[3-victim-survivor]), load)
}
