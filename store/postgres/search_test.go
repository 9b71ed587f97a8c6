package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/postgres"
)

// TestSearchIndexed: migration 0005 builds both trigram indexes in the
// store's schema, and puts pg_trgm somewhere that outlives it (public):
// dropping one deployment's or test's schema must not drop the extension,
// and every other schema's indexes with it.
func TestSearchIndexed(t *testing.T) {
	t.Parallel()
	dsn, schema := mustSchema(t)
	s := mustOpen(t, dsn)
	ctx := context.Background()
	reason, err := s.SearchUnindexed(ctx)
	if err != nil || reason != "" {
		t.Fatalf("SearchUnindexed = %q, %v; want the indexes", reason, err)
	}
	admin := mustAdmin(t)
	var n int
	if err := admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = $1
		AND indexname IN ('incidents_title_trgm', 'incidents_key_trgm')`, schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d trigram indexes in %s, want 2", n, schema)
	}
	var ext string
	if err := admin.QueryRowContext(ctx, `SELECT extnamespace::regnamespace::text FROM pg_extension
		WHERE extname = 'pg_trgm'`).Scan(&ext); err != nil {
		t.Fatal(err)
	}
	if ext == schema {
		t.Errorf("pg_trgm is in the store's schema %s, which a DROP SCHEMA … CASCADE takes with it", ext)
	}
}

// TestSearchWithoutTrgm: a user that may not create pg_trgm, on a database
// that does not have it, still migrates and opens the store (migration
// 0005 skips the indexes), is told why the search scans, and searches
// right. The database is a fresh one, from template0, as pg_trgm is one
// per database and the other tests install it into theirs; template0
// takes no connections, so nothing else can hold it while it is copied.
func TestSearchWithoutTrgm(t *testing.T) {
	t.Parallel()
	admin := mustAdmin(t)
	ctx := context.Background()
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails
	name := "ab_notrgm_" + hex.EncodeToString(b)
	for _, q := range []string{
		"CREATE ROLE " + name + " LOGIN",
		"CREATE DATABASE " + name + " TEMPLATE template0",
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, q := range []string{"DROP DATABASE " + name + " WITH (FORCE)", "DROP ROLE " + name} {
			if _, err := admin.ExecContext(context.Background(), q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	u, err := url.Parse(baseDSN())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	owner := mustDB(t, u.String())
	// The role owns its schema, but has no CREATE on the database (only
	// its owner has), so it may not create even a trusted extension, nor
	// anything in public (PostgreSQL 15).
	if _, err := owner.ExecContext(ctx, "CREATE SCHEMA alertbridge AUTHORIZATION "+name); err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "alertbridge")
	u.RawQuery = q.Encode()
	u.User = url.User(name)
	s := mustOpen(t, u.String())

	reason, err := s.SearchUnindexed(ctx)
	if err != nil || reason == "" {
		t.Errorf("SearchUnindexed = %q, %v; want why the search scans", reason, err)
	}
	var installed bool
	if err := owner.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')`).
		Scan(&installed); err != nil {
		t.Fatal(err)
	}
	if installed {
		t.Fatal("pg_trgm got installed; the test no longer tests a user who may not")
	}
	var ids []int64
	for _, title := range []string{"Disk full on db-1", "CPU 100% busy"} {
		inc := newIncident("key/" + title)
		inc.Title = title
		if err := s.Update(ctx, func(tx incident.Tx) error { return tx.CreateIncident(ctx, &inc) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inc.ID)
	}
	list, err := s.Incidents(ctx, incident.IncidentFilter{Query: "DISK FULL", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != ids[0] {
		t.Errorf("search %q found %v, want incident %d only", "DISK FULL", list, ids[0])
	}
}

// mustDB connects to dsn, closed when the test ends.
// mustExplain returns the plan of q (numbered placeholders) with args.
func mustExplain(t *testing.T, db *sql.DB, q string, args []any) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

func mustDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSearchPlans: on 50k incidents with fresh statistics, PostgreSQL
// answers a rare query from the trigram indexes, for the page and the
// counts, and one that matches every incident without them (the page
// walks the newest; the counts scan). It EXPLAINs the store's own
// statements with their arguments, which run unprepared, so the plans
// are those the store gets. Plans are the planner's cost model on the
// statistics, not timings: the machine's load does not change them.
func TestSearchPlans(t *testing.T) {
	t.Parallel()
	dsn, schema := mustSchema(t)
	mustOpen(t, dsn) // migrates
	db := mustDB(t, dsn)
	ctx := context.Background()
	// Titles and keys shaped as the benchmark's. The rare query matches
	// one title. The planner estimates a pattern by the titles of the
	// column's histogram, about a hundred from ANALYZE's random sample:
	// "host-4242", in 11 titles, is among them by chance about once in
	// 45 runs, and once (under a full `go test ./...`) the estimate was
	// 2% and the plan walked the newest incidents instead.
	if _, err := db.ExecContext(ctx, `INSERT INTO incidents (state, priority, impact, urgency, title,
		correlation_key, updated_at, last_event_at)
		SELECT 'resolved', 3, 'high', 'medium', 'Alert' || (i % 200) || ' on host-' || i, 'key-' || i, 0, 0
		FROM generate_series(1, 50000) AS i`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM ANALYZE `+pgx.Identifier{schema, "incidents"}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	rare := incident.IncidentFilter{Query: "HOST-42421", Limit: 51}
	common := incident.IncidentFilter{Query: "host-", Limit: 51}
	tests := []struct {
		name      string
		query     func(incident.IncidentFilter) (string, []any)
		f         incident.IncidentFilter
		wantIndex bool
	}{
		{"PageRareFromIndex", postgres.IncidentsQuery, rare, true},
		{"CountsRareFromIndex", postgres.IncidentCountsQuery, rare, true},
		{"PageCommonWithout", postgres.IncidentsQuery, common, false},
		{"CountsCommonWithout", postgres.IncidentCountsQuery, common, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, args := tt.query(tt.f)
			plan := mustExplain(t, db, q, args)
			indexed := strings.Contains(plan, "incidents_title_trgm")
			if indexed != tt.wantIndex {
				t.Errorf("trigram index used: %v, want %v; plan:\n%s", indexed, tt.wantIndex, plan)
			}
		})
	}
}
