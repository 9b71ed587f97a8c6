package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/migrate"
	"github.com/alertbridge/alertbridge/store/postgres"
	"github.com/alertbridge/alertbridge/store/storetest"
)

var t0 = time.Date(2026, 11, 28, 20, 13, 5, 82885710, time.UTC)

// baseDSN is the server the tests use: a PostgreSQL at 127.0.0.1:5432 that
// trusts user postgres, unless ALERTBRIDGE_TEST_POSTGRES_DSN names another.
func baseDSN() string {
	if dsn := os.Getenv("ALERTBRIDGE_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// mustAdmin connects to the test server for setting up and looking
// around. Without a server the test is skipped, saying so, unless
// ALERTBRIDGE_REQUIRE_PG=1 (CI), when it fails.
func mustAdmin(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", baseDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("ALERTBRIDGE_REQUIRE_PG") == "1" {
			t.Fatalf("PostgreSQL unreachable, and ALERTBRIDGE_REQUIRE_PG=1: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (set ALERTBRIDGE_TEST_POSTGRES_DSN, or ALERTBRIDGE_REQUIRE_PG=1 to fail): %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// mustSchema creates a fresh schema, dropped when the test ends, and
// returns it with a DSN whose search path is it: every test gets a
// database of its own, so tests run in parallel and leave nothing behind.
func mustSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	admin := mustAdmin(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails
	schema = "ab_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schemaDSN(t, schema), schema
}

// schemaDSN is the test server's DSN with schema as its search path.
func schemaDSN(t testing.TB, schema string) string {
	t.Helper()
	u, err := url.Parse(baseDSN())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// mustOpen opens a store on dsn, closed when the test ends (before its
// schema is dropped).
func mustOpen(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	mustAdmin(t) // skip once, not in every case, without a server
	storetest.Run(t, func(t *testing.T) storetest.Store {
		dsn, _ := mustSchema(t)
		return mustOpen(t, dsn)
	})
}

func newIncident(key string) incident.Incident {
	return incident.Incident{State: incident.StateOpen, Priority: 3, Impact: incident.LevelMedium,
		Urgency: incident.LevelMedium, Title: "Disk full", CorrelationKey: key, OpenedAt: t0, UpdatedAt: t0,
		LastEventAt: t0, RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1}}
}

// TestRaceOneActivePerKey: replicas (two stores, two pools) creating the
// incident of one key at once end with one active incident; every loser
// gets incident.ErrConflict, as from SQLite, and nothing else.
func TestRaceOneActivePerKey(t *testing.T) {
	t.Parallel()
	dsn, _ := mustSchema(t)
	stores := []*postgres.Store{mustOpen(t, dsn), mustOpen(t, dsn)}
	ctx := context.Background()
	for round := range 10 {
		key := "race-" + string(rune('a'+round))
		start := make(chan struct{})
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				<-start
				errs[i] = stores[i%2].Update(ctx, func(tx incident.Tx) error {
					inc := newIncident(key)
					return tx.CreateIncident(ctx, &inc)
				})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, incident.ErrConflict):
				t.Errorf("round %d: loser's err = %v, want ErrConflict", round, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d creations committed, want 1", round, won)
		}
		counts, err := stores[0].IncidentCounts(ctx, incident.IncidentFilter{Query: key})
		if err != nil {
			t.Fatal(err)
		}
		if counts[incident.StateOpen] != 1 {
			t.Errorf("round %d: %d open incidents of the key, want 1", round, counts[incident.StateOpen])
		}
	}
}

// TestRaceLoserJoinsWinner: replicas placing an alert of one key at once,
// each reading the key's owner first and creating it when there is none,
// end with one incident that both joined: the loser's serialization
// failure is retried, and the retry finds the winner's incident.
func TestRaceLoserJoinsWinner(t *testing.T) {
	t.Parallel()
	dsn, _ := mustSchema(t)
	stores := []*postgres.Store{mustOpen(t, dsn), mustOpen(t, dsn)}
	ctx := context.Background()
	start := make(chan struct{})
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-start
			errs[i] = stores[i%2].Update(ctx, func(tx incident.Tx) error {
				inc, err := tx.IncidentByKey(ctx, "k")
				switch {
				case errors.Is(err, incident.ErrNotFound):
					inc = newIncident("k")
					if err := tx.CreateIncident(ctx, &inc); err != nil {
						return err
					}
				case err != nil:
					return err
				}
				inc.AlertCount++
				return tx.UpdateIncident(ctx, inc)
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("placement %d: %v", i, err)
		}
	}
	list, err := stores[0].Incidents(ctx, incident.IncidentFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].AlertCount != len(errs) {
		t.Errorf("incidents = %+v, want one with %d alerts", list, len(errs))
	}
}

// TestMigrationLock: replicas starting together on a fresh schema both
// open it, and the migrations ran once.
func TestMigrationLock(t *testing.T) {
	t.Parallel()
	dsn, schema := mustSchema(t)
	ctx := context.Background()
	stores := make([]*postgres.Store, 3)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(ctx, dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		stores[i].Close()
	}
	var n, distinct int
	err := mustAdmin(t).QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT version) FROM `+schema+`.schema_migrations`).
		Scan(&n, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Errorf("schema_migrations has %d rows of %d versions, want each version once", n, distinct)
	}
}

// TestRefusesNewerSchema: a binary never writes to a schema a newer one
// migrated.
func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dsn, schema := mustSchema(t)
	mustOpen(t, dsn)
	ctx := context.Background()
	_, err := mustAdmin(t).ExecContext(ctx, `INSERT INTO `+schema+`.schema_migrations (version, name, applied_at)
		VALUES (9999, '9999_future.sql', 0)`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, dsn)
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !errors.Is(err, migrate.ErrSchemaTooNew) || !strings.Contains(err.Error(), "9999") {
		t.Errorf("err = %v, want ErrSchemaTooNew naming version 9999", err)
	}
}

// TestLocationHidesPassword: the DSN's password is never in what the store
// says about where it is.
func TestLocationHidesPassword(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"URL", "postgres://ab:s3cret@127.0.0.1:1/alerts?sslmode=disable&search_path=ab",
			"postgres://ab@127.0.0.1:1/alerts?search_path=ab"},
		{"URLPasswordParameter", "postgres://ab@127.0.0.1:1/alerts?password=s3cret&sslmode=disable", "postgres://ab@127.0.0.1:1/alerts"},
		{"KeywordValue", "host=127.0.0.1 port=1 user=ab password='s3cret' dbname=alerts sslmode=disable",
			"postgres://ab@127.0.0.1:1/alerts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// Nothing listens on port 1: what Open says on failing must
			// hide the password too.
			_, err := postgres.Open(ctx, tt.dsn)
			if err == nil {
				t.Fatal("Open of an unreachable server succeeded")
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to name %s", err, tt.want)
			}
		})
	}
	t.Run("Location", func(t *testing.T) {
		dsn, schema := mustSchema(t)
		u, _ := url.Parse(dsn)
		u.User = url.UserPassword(u.User.Username(), "s3cret") // trust auth ignores it
		s := mustOpen(t, u.String())
		if loc := s.Location(); strings.Contains(loc, "s3cret") || !strings.Contains(loc, "search_path="+schema) {
			t.Errorf("Location() = %q, want the schema and no password", loc)
		}
	})
}

// TestLeaseTakeover: a lease held by one replica is refused to another,
// and handed over within seconds when the holder's connection dies: the
// other takes it, and the holder's Lost closes.
func TestLeaseTakeover(t *testing.T) {
	t.Parallel()
	dsn, _ := mustSchema(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	ctx := context.Background()
	held, ok, err := a.AcquireLease(ctx, "sweep")
	if err != nil || !ok {
		t.Fatalf("AcquireLease on a: ok %v, err %v", ok, err)
	}
	if _, ok, err := b.AcquireLease(ctx, "sweep"); err != nil || ok {
		t.Fatalf("AcquireLease on b while a holds it: ok %v, err %v; want refused", ok, err)
	}
	// Another deployment, in another schema of the same database, has
	// leases of its own.
	otherDSN, _ := mustSchema(t)
	other, ok, err := mustOpen(t, otherDSN).AcquireLease(ctx, "sweep")
	if err != nil || !ok {
		t.Fatalf("AcquireLease in another schema: ok %v, err %v", ok, err)
	}
	defer other.Release() //nolint:errcheck // the test is about a's and b's

	// Kill the holder's session, as a dead replica's ends. A bigint
	// advisory key is in pg_locks as classid (high half) and objid (low
	// half), objsubid 1.
	key := uint64(postgres.LeaseKey(a, "sweep"))
	admin := mustAdmin(t)
	var killed bool
	err = admin.QueryRowContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid::bigint = $1 AND objid::bigint = $2
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		int64(key>>32), int64(key&0xffffffff)).Scan(&killed)
	if err != nil || !killed {
		t.Fatalf("terminate the holder's backend: %v, %v", killed, err)
	}

	deadline := time.Now().Add(10 * time.Second)
	var taken interface{ Release() error }
	for taken == nil {
		l, ok, err := b.AcquireLease(ctx, "sweep")
		switch {
		case err != nil:
			t.Fatalf("AcquireLease on b after the kill: %v", err)
		case ok:
			taken = l
		case time.Now().After(deadline):
			t.Fatal("b did not get the lease within 10s of the holder's death")
		default:
			time.Sleep(100 * time.Millisecond)
		}
	}
	select {
	case <-held.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("a's Lost did not close within 10s of its connection's death")
	}
	if err := held.Release(); err != nil {
		t.Errorf("Release of a lost lease: %v", err)
	}
	if _, ok, err := a.AcquireLease(ctx, "sweep"); err != nil || ok {
		t.Errorf("AcquireLease on a while b holds it: ok %v, err %v; want refused", ok, err)
	}
	if err := taken.Release(); err != nil {
		t.Fatal(err)
	}
	if l, ok, err := a.AcquireLease(ctx, "sweep"); err != nil || !ok {
		t.Errorf("AcquireLease on a after b released: ok %v, err %v", ok, err)
	} else {
		_ = l.Release()
	}
}

// TestIncidentsVersionSeesEveryChange: the version changes on every
// committed creation and change of an incident, by either replica, even
// one that leaves updated_at as it was (a replica whose clock is behind).
func TestIncidentsVersionSeesEveryChange(t *testing.T) {
	t.Parallel()
	dsn, _ := mustSchema(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	ctx := context.Background()
	seen := map[string]string{}
	check := func(step string) {
		t.Helper()
		v, err := a.IncidentsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := seen[v]; ok {
			t.Errorf("%s: version %s unchanged since %s", step, v, prev)
		}
		seen[v] = step
	}
	check("empty")
	inc := newIncident("k")
	if err := b.Update(ctx, func(tx incident.Tx) error { return tx.CreateIncident(ctx, &inc) }); err != nil {
		t.Fatal(err)
	}
	check("created on b")
	inc.Title = "Disk full again" // updated_at stays t0
	if err := b.Update(ctx, func(tx incident.Tx) error { return tx.UpdateIncident(ctx, inc) }); err != nil {
		t.Fatal(err)
	}
	check("retitled on b, same updated_at")
	if err := a.Update(ctx, func(tx incident.Tx) error { return tx.SetIncidentProblem(ctx, inc.ID, 7) }); err != nil {
		t.Fatal(err)
	}
	check("linked to a problem on a")
}

// TestSharedTokenBucket: replicas (two stores) take from one bucket: the
// burst is shared, it refills at the rate, a refused take says how long to
// wait, and other keys are apart.
func TestSharedTokenBucket(t *testing.T) {
	dsn, _ := mustSchema(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	ctx := context.Background()
	take := func(s *postgres.Store, key string, at time.Duration) time.Duration {
		t.Helper()
		wait, err := s.TakeToken(ctx, key, 2, 3, t0.Add(at)) // 2/s, burst 3
		if err != nil {
			t.Fatal(err)
		}
		return wait
	}
	for i, s := range []*postgres.Store{a, b, a} {
		if w := take(s, "am", 0); w != 0 {
			t.Fatalf("take %d of the burst: wait %s", i+1, w)
		}
	}
	if w := take(b, "am", 0); w != 500*time.Millisecond {
		t.Errorf("over the shared burst: wait %s, want 500ms", w)
	}
	if w := take(a, "other", 0); w != 0 {
		t.Errorf("another key: wait %s", w)
	}
	if w := take(a, "am", 250*time.Millisecond); w != 250*time.Millisecond {
		t.Errorf("half a token later: wait %s, want 250ms", w)
	}
	if w := take(b, "am", 500*time.Millisecond); w != 0 {
		t.Errorf("a token later: wait %s, want 0", w)
	}
	if w := take(a, "am", 500*time.Millisecond); w == 0 {
		t.Error("the refilled token was taken twice")
	}
	if w := take(a, "am", time.Hour); w != 0 {
		t.Errorf("an hour later: wait %s", w)
	}
	for i := 0; i < 2; i++ { // refilled to the burst, not beyond
		if w := take(b, "am", time.Hour); w != 0 {
			t.Errorf("burst after an hour, take %d: wait %s", i+2, w)
		}
	}
	if w := take(b, "am", time.Hour); w == 0 {
		t.Error("the bucket refilled beyond its burst")
	}
}
