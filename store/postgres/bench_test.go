package postgres_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/readbench"
	"github.com/alertbridge/alertbridge/store/postgres"
)

// The search benchmarks run on benchIncidents incidents shaped as
// store/sqlite's read benchmarks shape theirs (titles "Alert<n> on
// host-<i>", keys "key-<i>"), so that the two backends' figures compare:
// "host-4242" matches 11 incidents, "host-" every one. Only incidents:
// the search reads nothing else.
const (
	benchIncidents = 100_000
	benchBatch     = 2_000
)

var benchNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// mustBenchStore opens a store seeded with benchIncidents incidents,
// seeding it first when it has none. With ALERTBRIDGE_BENCH_PG_SCHEMA
// set, that schema is used (created when missing) and kept, so that runs
// before and after a change (dropping an index, say) read the same data;
// otherwise a fresh schema, dropped at the end. Skipped under -short, and
// without a server unless ALERTBRIDGE_REQUIRE_PG=1.
func mustBenchStore(b *testing.B) *postgres.Store {
	b.Helper()
	if testing.Short() {
		b.Skip("seeds 100k incidents; not under -short")
	}
	admin := mustAdmin(b)
	ctx := context.Background()
	schema := os.Getenv("ALERTBRIDGE_BENCH_PG_SCHEMA")
	var dsn string
	if schema == "" {
		dsn, schema = mustSchema(b)
	} else {
		if _, err := admin.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
			b.Fatal(err)
		}
		dsn = schemaDSN(b, schema)
	}
	s := mustOpen(b, dsn)
	if counts, err := s.IncidentCounts(ctx, incident.IncidentFilter{}); err != nil {
		b.Fatal(err)
	} else if len(counts) > 0 {
		return s // seeded by an earlier run
	}
	start := time.Now()
	step := 90 * 24 * time.Hour / benchIncidents
	for lo := 1; lo <= benchIncidents; lo += benchBatch {
		err := s.Update(ctx, func(tx incident.Tx) error {
			for i := lo; i < lo+benchBatch && i <= benchIncidents; i++ {
				opened := benchNow.Add(-90 * 24 * time.Hour).Add(time.Duration(i) * step)
				inc := incident.Incident{
					State: incident.StateResolved, Priority: incident.Priority(1 + i%5),
					Impact: incident.LevelHigh, Urgency: incident.LevelMedium,
					Title: fmt.Sprintf("Alert%d on host-%d", i%200, i), Service: fmt.Sprintf("svc-%d", i%50),
					CorrelationKey: fmt.Sprintf("key-%d", i), Rule: fmt.Sprintf("rule-%d", i%20), Source: "am",
					OpenedAt: opened, AcknowledgedAt: opened.Add(5 * time.Minute), ResolvedAt: opened.Add(time.Hour),
					UpdatedAt: opened, LastEventAt: opened, AlertCount: 10,
					RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1},
				}
				if opened.After(benchNow.Add(-3 * 24 * time.Hour)) { // the recent ones are open
					inc.State, inc.ResolvedAt = incident.StateOpen, time.Time{}
				}
				if err := tx.CreateIncident(ctx, &inc); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// What autovacuum would do a while after such a load: gather the
	// statistics the planner weighs the indexes by, and move the GIN
	// indexes' pending entries (fastupdate) into the index proper; a
	// search reads the pending list through, 4 ms of the 8 of a rare
	// query right after the load.
	if _, err := admin.ExecContext(ctx, `VACUUM ANALYZE `+pgx.Identifier{schema, "incidents"}.Sanitize()); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d incidents into %s in %s", benchIncidents, schema, time.Since(start).Round(time.Second))
	return s
}

// BenchmarkIncidentSearch is GET /api/v1/incidents?q=…: the page of 50
// (and one more to know of a next page) and the counts by state, for a
// query that matches few incidents, one that matches all, and one too
// short to have a trigram. "mixed" alternates the rare and the common
// query on the one statement, as the API does: pgx prepares and caches it
// per connection, and PostgreSQL may then plan it once for any pattern
// (a generic plan), which must not leave the rare query scanning.
func BenchmarkIncidentSearch(b *testing.B) {
	st := mustBenchStore(b)
	ctx := context.Background()
	queries := []struct{ name, q string }{
		{"rare", "host-4242"},
		{"common", "host-"},
		{"short", "42"},
	}
	for _, bc := range queries {
		b.Run("list_"+bc.name, func(b *testing.B) {
			readbench.Timed(b, func() error {
				_, err := st.Incidents(ctx, incident.IncidentFilter{Query: bc.q, Limit: 51})
				return err
			})
		})
		b.Run("counts_"+bc.name, func(b *testing.B) {
			readbench.Timed(b, func() error {
				_, err := st.IncidentCounts(ctx, incident.IncidentFilter{Query: bc.q})
				return err
			})
		})
	}
	b.Run("list_mixed", func(b *testing.B) {
		i := 0
		readbench.Timed(b, func() error {
			i++
			_, err := st.Incidents(ctx, incident.IncidentFilter{Query: queries[i%2].q, Limit: 51})
			return err
		})
	})
	b.Run("counts_mixed", func(b *testing.B) {
		i := 0
		readbench.Timed(b, func() error {
			i++
			_, err := st.IncidentCounts(ctx, incident.IncidentFilter{Query: queries[i%2].q})
			return err
		})
	})
}

// BenchmarkStats is GET /api/v1/stats over the seeded incidents (no
// events: the noise figures read none), computed from the rows.
func BenchmarkStats(b *testing.B) {
	st := mustBenchStore(b)
	ctx := context.Background()
	for _, days := range []int{7, 30, 90} {
		b.Run(fmt.Sprintf("%dd", days), func(b *testing.B) {
			f := incident.StatsFilter{Since: benchNow.Add(-time.Duration(days) * 24 * time.Hour), Until: benchNow}
			readbench.Timed(b, func() error {
				_, err := st.Stats(ctx, f, benchNow)
				return err
			})
		})
	}
	b.Run("30d_P1", func(b *testing.B) {
		f := incident.StatsFilter{Since: benchNow.Add(-30 * 24 * time.Hour), Until: benchNow, Priority: incident.Priority(1)}
		readbench.Timed(b, func() error {
			_, err := st.Stats(ctx, f, benchNow)
			return err
		})
	})
}
