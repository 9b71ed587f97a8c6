package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// TestScrapeQueriesReadIndexesOnly checks that the backlog of a priority
// (the stats') reads an index and never the rows (migration 0016): at
// 100k incidents, looking up each active incident's row for its priority
// took most of a 12-20 ms scrape, and it pays that again whenever ingest
// has written since the last read (a read after a write starts with an
// empty page cache). The unfiltered backlog, the scrape's, reads the hours
// kept since migration 0031: TestKeptBacklogReadsHoursNotEveryIncident.
func TestScrapeQueriesReadIndexesOnly(t *testing.T) {
	st := mustOpenStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	byPriority, pargs := backlogQuery(incident.StatsFilter{Priority: incident.Priority(1)}, now)
	for _, tt := range []struct {
		name, query string
		indexes     []string
		args        []any
	}{
		{"backlog of a priority", byPriority, []string{"incidents_state_priority"}, pargs},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan := explain(ctx, t, st, tt.query, tt.args...)
			for _, index := range tt.indexes {
				if !strings.Contains(plan, "USING COVERING INDEX "+index) {
					t.Errorf("plan:\n%swant it to read only the covering index %s", plan, index)
				}
			}
			// A count that sorts its rows first costs the scrape a
			// temporary b-tree of every active incident.
			if strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("plan:\n%swant the counts in the index's order, with no temporary b-tree", plan)
			}
		})
	}
}

// explain returns the query plan of q, one step per line.
func explain(ctx context.Context, t *testing.T, st *Store, q string, args ...any) string {
	t.Helper()
	rows, err := st.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// TestDuePlanReadsNoTable: the sweep's query of the incidents due runs
// every few seconds in the writer's transaction; each way to come due is
// a range of its own partial index (migration 0017), and no branch reads
// the whole table, as the ORed conditions did (100-150 ms at 100k
// incidents).
func TestDuePlanReadsNoTable(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	n := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).UnixNano()
	plan := explain(ctx, t, st, qDueIncidents, n, n, n, n, n, 256)
	for _, line := range strings.Split(plan, "\n") {
		if strings.TrimSpace(line) == "SCAN incidents" {
			t.Errorf("the due incidents' plan reads the whole table:\n%s", plan)
		}
	}
	for _, index := range []string{"incidents_resolve_due", "incidents_pending", "incidents_respond_due",
		"incidents_resolve_target_due", "incidents_flapping"} {
		if !strings.Contains(plan, index) {
			t.Errorf("the due incidents' plan does not use %s:\n%s", index, plan)
		}
	}
}

// TestResolvePathPlans: the statements the sweep's closes and every
// resolve run read their indexes in order: the closable incidents from
// incidents_to_close (the planner otherwise read every resolved incident
// and sorted them), the incident's first episode and its open episodes
// (migration 0018).
func TestResolvePathPlans(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	n := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).UnixNano()
	for _, tt := range []struct {
		name, query string
		args        []any
		want        []string
	}{
		{"closable", qClosable, []any{n, 32}, []string{"USING INDEX incidents_to_close"}},
		{"holding episode", qHoldingEpisode, []any{1, 1, n, 2},
			[]string{"USING COVERING INDEX alert_episodes_incident", "USING INDEX alert_episodes_open"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan := explain(ctx, t, st, tt.query, tt.args...)
			for _, want := range tt.want {
				if !strings.Contains(plan, want) {
					t.Errorf("plan:\n%swant %s", plan, want)
				}
			}
			for _, line := range strings.Split(plan, "\n") {
				line = strings.TrimSpace(line)
				if strings.Contains(line, "TEMP B-TREE") || (strings.HasPrefix(line, "SCAN ") && line != "SCAN CONSTANT ROW") {
					t.Errorf("plan:\n%swant no scan of a table and no sort", plan)
				}
			}
		})
	}
}

// TestKeyQueriesSearchByKey: the writer's queries of a correlation key's
// incidents search an index led by the key, so that dropping
// incidents_key_id, which none of them read (migration 0025), left no
// query reading the whole table.
func TestKeyQueriesSearchByKey(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	n := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC).UnixNano()
	for _, tt := range []struct {
		name, query, index string
		args               []any
	}{
		{"active incident of a key", qIncidentByKeyActive, "incidents_active_key", []any{"k"}},
		{"last incident of a key", qIncidentByKeyLast, "incidents_key_resolved", []any{"k"}},
		{"incidents of a key in a window", qKeyIncidents, "incidents_key_resolved", []any{"k", n, n}},
		{"another incident of a key", qOtherKeyIncident, "incidents_key_resolved", []any{"k", n, n, 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan := explain(ctx, t, st, tt.query, tt.args...)
			if !strings.Contains(plan, "SEARCH incidents USING INDEX "+tt.index+" (correlation_key=?") {
				t.Errorf("plan:\n%swant a search of %s by the key", plan, tt.index)
			}
		})
	}
	if got := readRows(t, st.r, `SELECT name FROM sqlite_master WHERE name = 'incidents_key_id'`); len(got) != 0 {
		t.Errorf("incidents_key_id is still there: %v", got)
	}
}

// TestTimelineCountsReadTheCountedKinds checks that CountTimeline's kinds
// are what the partial index timeline_counted holds, and that counting one
// of them searches it (migration 0028): an index of every entry cost each
// new alert's alert_firing entry a b-tree insert that nothing read.
func TestTimelineCountsReadTheCountedKinds(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	got := readRows(t, st.r, `SELECT sql FROM sqlite_master WHERE name = 'timeline_counted'`)
	if len(got) != 1 {
		t.Fatalf("timeline_counted: %v; want one index", got)
	}
	for kind := range countedKinds {
		if !strings.Contains(got[0], "'"+string(kind)+"'") {
			t.Errorf("timeline_counted is %s; want it to hold %s", got[0], kind)
		}
		if plan := explain(ctx, t, st, qCountTimeline, 1, kind, 0); !strings.Contains(plan, "USING COVERING INDEX timeline_counted (incident_id=? AND kind=? AND at>?)") {
			t.Errorf("count of %s, plan:\n%swant a search of timeline_counted", kind, plan)
		}
	}
	if strings.Count(got[0], "'") != 2*len(countedKinds) {
		t.Errorf("timeline_counted is %s; want exactly the kinds %v", got[0], countedKinds)
	}
	if plan := explain(ctx, t, st, qCountTimelineAny, 1, incident.TimelineComment, 0); !strings.Contains(plan, "SEARCH timeline USING INDEX timeline_incident (incident_id=?)") {
		t.Errorf("count of another kind, plan:\n%swant a search of the incident's entries", plan)
	}
	if old := readRows(t, st.r, `SELECT name FROM sqlite_master WHERE name = 'timeline_incident_kind'`); len(old) != 0 {
		t.Errorf("timeline_incident_kind is still there: %v", old)
	}
}
