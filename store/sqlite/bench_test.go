package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/readbench"
)

// The read benchmarks run on a store at the size issue 13 sets: 100k
// incidents, about 1M alerts (each with its state and one episode) and 1.2M
// events, spread evenly over the 90 days
// before benchNow (a 90-day retention), so that a 30-day stats window holds
// a third of them. One incident (benchBigIncident) holds 10,000 alerts and
// as many timeline entries. The store is seeded once per test binary run
// into a temporary directory, outside any timed loop, and shared by every
// benchmark; -short skips them all.
const (
	benchIncidents     = 100_000
	benchAlertsPer     = 10     // alerts of every other incident
	benchBigAlerts     = 10_000 // alerts (and timeline entries) of the big one
	benchSpan          = 90 * 24 * time.Hour
	benchResolveEveryN = 5 // every Nth alert also has a resolved event
	benchBatch         = 20_000
)

// benchNow is the benchmarks' now: the end of the seeded history.
var benchNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// benchBigIncident is the ID of the incident with benchBigAlerts alerts.
const benchBigIncident = 1

var bench struct {
	once sync.Once
	dir  string
	keep bool // the directory is ALERTBRIDGE_BENCH_DIR's: kept
	st   *Store
	err  error
}

// TestMain removes the benchmarks' seeded store, if any was made.
func TestMain(m *testing.M) {
	code := m.Run()
	if bench.st != nil {
		bench.st.Close()
	}
	if bench.dir != "" && !bench.keep {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// mustBenchStore returns the seeded store, seeding it on first use. With
// ALERTBRIDGE_BENCH_DIR set, the store is seeded into that directory and
// kept, and a store already there is used as it is (migrated if older):
// what comparing before and after a schema change needs.
func mustBenchStore(b *testing.B) *Store {
	b.Helper()
	if testing.Short() {
		b.Skip("seeds 1M alerts; not under -short")
	}
	bench.once.Do(func() {
		bench.dir, bench.keep = os.Getenv("ALERTBRIDGE_BENCH_DIR"), true
		if bench.dir == "" {
			bench.dir, bench.keep = "", false
			if bench.dir, bench.err = os.MkdirTemp("", "alertbridge-bench-"); bench.err != nil {
				return
			}
		}
		if _, err := os.Stat(filepath.Join(bench.dir, FileName)); err != nil {
			start := time.Now()
			if bench.err = seedBench(context.Background(), bench.dir); bench.err != nil {
				return
			}
			b.Logf("seeded %s in %s", bench.dir, time.Since(start).Round(time.Second))
		}
		// Reopened as the daemon opens it (full fsync; migrations run).
		bench.st, bench.err = OpenFile(context.Background(), filepath.Join(bench.dir, FileName))
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.st
}

// seedBench writes the benchmarks' data into a scratch store in dir (no
// fsync) and closes it.
func seedBench(ctx context.Context, dir string) error {
	st, err := OpenScratch(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	step := benchSpan / benchIncidents
	start := benchNow.Add(-benchSpan)
	labels := func(i, j int) map[string]string {
		return map[string]string{"alertname": fmt.Sprintf("Alert%d", i%200), "instance": fmt.Sprintf("host-%d:9100", j),
			"job": "node", "severity": "critical"}
	}
	ann := map[string]string{"summary": "something is wrong on the host"}
	alertN := 0 // every alert's ordinal: events alternate on it
	for lo := 1; lo <= benchIncidents; {
		err := st.Update(ctx, func(t incident.Tx) error {
			ops := 0
			for ; lo <= benchIncidents && ops < benchBatch; lo++ {
				i := lo
				opened := start.Add(time.Duration(i) * step)
				inc := incident.Incident{
					State: incident.StateResolved, Priority: incident.Priority(1 + i%5),
					Impact: incident.LevelHigh, Urgency: incident.LevelMedium,
					Title: fmt.Sprintf("Alert%d on host-%d", i%200, i), Service: fmt.Sprintf("svc-%d", i%50),
					CorrelationKey: fmt.Sprintf("key-%d", i), Rule: fmt.Sprintf("rule-%d", i%20), Source: "am",
					OpenedAt: opened, ImpactStartedAt: opened.Add(-time.Minute),
					AcknowledgedAt: opened.Add(5*time.Minute + time.Duration(i%600)*time.Second),
					ResolvedAt:     opened.Add(time.Hour + time.Duration(i%3600)*time.Second),
					UpdatedAt:      opened, LastEventAt: opened, Labels: labels(i, i),
				}
				if i%10 == 0 { // an SLA, met or missed
					inc.RespondBy = opened.Add(15 * time.Minute)
					if i%20 == 0 {
						inc.RespondBreachedAt = inc.RespondBy
					}
				}
				if opened.After(benchNow.Add(-3 * 24 * time.Hour)) { // the recent ones are active
					inc.State, inc.ResolvedAt = incident.StateOpen, time.Time{}
					if i%2 == 0 {
						inc.State, inc.AcknowledgedAt = incident.StateAcknowledged, opened.Add(10*time.Minute)
					} else {
						inc.AcknowledgedAt = time.Time{}
					}
				}
				n := benchAlertsPer
				if i == benchBigIncident {
					n = benchBigAlerts
				}
				inc.AlertCount = n
				if err := t.CreateIncident(ctx, &inc); err != nil {
					return err
				}
				for j := range n {
					fp := fmt.Sprintf("%016x", uint64(i)<<20|uint64(j))
					seen := opened.Add(time.Duration(j) * time.Millisecond)
					a := incident.Alert{IncidentID: inc.ID, Source: "am", Fingerprint: fp, Status: incident.StatusResolved,
						Labels: labels(i, j), Annotations: ann, StartsAt: seen, EndsAt: seen.Add(time.Hour),
						FirstSeenAt: seen, LastSeenAt: seen.Add(time.Hour), Count: 3}
					if err := t.PutAlert(ctx, a); err != nil {
						return err
					}
					// Its firing and its state, as the daemon keeps them: a
					// store of 1M alerts holds 1M of each.
					ep := incident.Episode{Source: "am", Fingerprint: fp, StartsAt: seen, EndsAt: a.EndsAt,
						IncidentID: inc.ID, Key: inc.CorrelationKey}
					if err := t.PutEpisode(ctx, &ep); err != nil {
						return err
					}
					if err := t.PutAlertState(ctx, incident.AlertState{Source: "am", Fingerprint: fp,
						Status: incident.StatusResolved, StartsAt: seen, EndsAt: a.EndsAt, IncidentID: inc.ID,
						LastSeenAt: a.LastSeenAt}); err != nil {
						return err
					}
					ev := incident.EventRecord{ReceivedAt: seen, Source: "am", Fingerprint: fp, Status: incident.StatusFiring,
						Labels: a.Labels, Annotations: ann, StartsAt: seen, Transition: incident.TransitionNew,
						Rule: inc.Rule, Key: inc.CorrelationKey, IncidentID: inc.ID}
					if err := t.AddEvent(ctx, ev); err != nil {
						return err
					}
					ops += 4
					if alertN%benchResolveEveryN == 0 {
						ev.ReceivedAt, ev.Status, ev.Transition = seen.Add(time.Hour), incident.StatusResolved, incident.TransitionResolved
						if err := t.AddEvent(ctx, ev); err != nil {
							return err
						}
						ops++
					}
					if i == benchBigIncident {
						e := incident.TimelineEntry{IncidentID: inc.ID, At: seen, Kind: incident.TimelineKind("alert_firing"),
							Actor: "am", Fingerprint: fp, Message: "alert joined"}
						if err := t.AddTimeline(ctx, &e); err != nil {
							return err
						}
						ops++
					}
					alertN++
				}
				for _, e := range []incident.TimelineEntry{
					{At: opened, Kind: incident.TimelineOpened, Actor: "am", Message: "opened"},
					{At: inc.AcknowledgedAt, Kind: incident.TimelineAcknowledged, Actor: "alice"},
					{At: inc.ResolvedAt, Kind: incident.TimelineResolved, Actor: "am"},
				} {
					if e.At.IsZero() {
						continue
					}
					e.IncidentID = inc.ID
					if err := t.AddTimeline(ctx, &e); err != nil {
						return err
					}
					ops++
				}
				if i%50 == 0 { // some notifications still waiting, some dead
					for k, sink := range []string{"slack", "jira"} {
						r := incident.OutboxRow{Sink: sink, IncidentID: inc.ID, Kind: incident.NotifyOpened,
							State: incident.OutboxPending, CreatedAt: opened, NextAttemptAt: opened}
						if (i/50+k)%10 == 0 {
							r.State = incident.OutboxDead
						}
						if err := t.AddOutbox(ctx, &r); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkStats is GET /api/v1/stats: Stats over the API's default window
// (7 days), over 30 days (whole and by service or priority) and over all 90.
func BenchmarkStats(b *testing.B) {
	st := mustBenchStore(b)
	ctx := context.Background()
	// A dashboard asks at now, after every event received; the seeded
	// events run an hour past benchNow.
	now := benchNow.Add(2 * time.Hour)
	for _, bc := range []struct {
		name string
		f    incident.StatsFilter
	}{
		{"7d_default", incident.StatsFilter{Since: now.Add(-incident.DefaultStatsWindow)}},
		{"30d", incident.StatsFilter{}},
		{"30d_service", incident.StatsFilter{Service: "svc-7"}},
		{"30d_priority", incident.StatsFilter{Priority: 1}},
		{"90d", incident.StatsFilter{Since: now.Add(-90 * 24 * time.Hour)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := bc.f
			f.Until = now
			if f.Since.IsZero() {
				f.Since = now.Add(-30 * 24 * time.Hour)
			}
			readbench.Timed(b, func() error {
				_, err := st.Stats(ctx, f, now)
				return err
			})
		})
	}
}

// BenchmarkIncidentList is GET /api/v1/incidents's page of 50 (and one
// more to know of a next page), unfiltered and filtered, and the list's
// counts by state.
func BenchmarkIncidentList(b *testing.B) {
	st := mustBenchStore(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		f    incident.IncidentFilter
	}{
		{"all", incident.IncidentFilter{}},
		{"open", incident.IncidentFilter{States: []incident.State{incident.StateOpen, incident.StateAcknowledged}}},
		{"service", incident.IncidentFilter{Service: "svc-7"}},
		{"priority_resolved", incident.IncidentFilter{Priority: 1, States: []incident.State{incident.StateResolved}}},
		{"query", incident.IncidentFilter{Query: "host-4242"}},
		// A query most incidents match: the page fills at once.
		{"query_common", incident.IncidentFilter{Query: "host-"}},
		{"page_1000", incident.IncidentFilter{AfterID: benchIncidents - 50_000}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := bc.f
			f.Limit = 51
			readbench.Timed(b, func() error {
				_, err := st.Incidents(ctx, f)
				return err
			})
		})
	}
	for _, bc := range []struct {
		name string
		f    incident.IncidentFilter
	}{
		{"counts", incident.IncidentFilter{}},
		{"counts_query", incident.IncidentFilter{Query: "host-4242"}},
		{"counts_query_common", incident.IncidentFilter{Query: "host-"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			readbench.Timed(b, func() error {
				_, err := st.IncidentCounts(ctx, bc.f)
				return err
			})
		})
	}
}

// BenchmarkIncidentDetail reads what GET /api/v1/incidents/{id} shows of
// the incident with 10,000 alerts: "whole" as it did before paging (every
// alert and timeline entry), "first_page" and "last_page" its pages of
// api.DefaultDetailLimit (500) alerts and entries.
func BenchmarkIncidentDetail(b *testing.B) {
	st := mustBenchStore(b)
	ctx := context.Background()
	rest := func() error {
		if _, err := st.Incident(ctx, benchBigIncident); err != nil {
			return err
		}
		if _, err := st.IncidentChanges(ctx, benchBigIncident); err != nil {
			return err
		}
		_, err := st.Tickets(ctx, benchBigIncident)
		return err
	}
	b.Run("whole", func(b *testing.B) {
		readbench.Timed(b, func() error {
			if _, err := st.Alerts(ctx, benchBigIncident); err != nil {
				return err
			}
			if _, err := st.Timeline(ctx, benchBigIncident); err != nil {
				return err
			}
			return rest()
		})
	})
	all, err := st.Alerts(ctx, benchBigIncident)
	if err != nil {
		b.Fatal(err)
	}
	tl, err := st.Timeline(ctx, benchBigIncident)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		after   incident.AlertCursor
		afterID int64
	}{
		{"first_page", incident.AlertCursor{}, 0},
		{"last_page", all[len(all)-501].Cursor(), tl[len(tl)-501].ID},
	} {
		b.Run(bc.name, func(b *testing.B) {
			readbench.Timed(b, func() error {
				if _, err := st.AlertsPage(ctx, benchBigIncident, bc.after, 501); err != nil {
					return err
				}
				if _, err := st.TimelinePage(ctx, benchBigIncident, bc.afterID, 501); err != nil {
					return err
				}
				return rest()
			})
		})
	}
}

// BenchmarkMetrics runs the store's queries of one /metrics scrape (the
// app's store, backlog, outbox and problem collectors), together and one
// by one.
func BenchmarkMetrics(b *testing.B) {
	st := mustBenchStore(b)
	ctx := context.Background()
	queries := []struct {
		name string
		fn   func() error
	}{
		{"active_by_priority", func() error { _, err := st.ActiveByPriority(ctx); return err }},
		{"sla_breaches", func() error { _, err := st.SLABreaches(ctx); return err }},
		{"backlog", func() error { _, err := st.Backlog(ctx, incident.StatsFilter{}, benchNow); return err }},
		{"outbox_stats", func() error { _, err := st.OutboxStats(ctx); return err }},
		{"problem_counts", func() error { _, err := st.ProblemCounts(ctx); return err }},
	}
	b.Run("scrape", func(b *testing.B) {
		readbench.Timed(b, func() error {
			for _, q := range queries {
				if err := q.fn(); err != nil {
					return err
				}
			}
			return nil
		})
	})
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) { readbench.Timed(b, q.fn) })
	}
}
