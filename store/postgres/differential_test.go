package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// TestSameAsSQLite writes one history to a SQLite and a PostgreSQL store
// and compares every read the contract suite does not yet cover (stats,
// backlog, events, the outbox, tickets, episodes, alert history): the
// backends must answer alike, down to order, IDs and NULLs.
func TestSameAsSQLite(t *testing.T) {
	t.Parallel()
	dsn, _ := mustSchema(t)
	pg := mustOpen(t, dsn)
	lite, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	want, got := history(t, lite), history(t, pg)
	for _, k := range sortedKeys(want) {
		if diff := cmp.Diff(want[k], got[k]); diff != "" {
			t.Errorf("%s (-sqlite +postgres):\n%s", k, diff)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// history writes the same records to s and returns what each read says.
func history(t *testing.T, s storetest.Store) map[string]any {
	ctx := context.Background()
	out := map[string]any{}
	put := func(name string, v any, err error) {
		if err != nil {
			out[name] = "error: " + err.Error()
			t.Errorf("%s: %v", name, err)
			return
		}
		out[name] = v
	}
	now := t0.Add(48 * time.Hour)
	mustUpdateT := func(fn func(tx incident.Tx) error) {
		t.Helper()
		if err := s.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int64
	mustUpdateT(func(tx incident.Tx) error {
		for i, spec := range []struct {
			key     string
			state   incident.State
			service string
			p       incident.Priority
		}{{"a", incident.StateOpen, "checkout", 1}, {"b", incident.StateResolved, "checkout", 2},
			{"c", incident.StateAcknowledged, "search", 1}, {"d", incident.StatePending, "search", 3}} {
			inc := newIncident(spec.key)
			inc.State, inc.Service, inc.Priority, inc.Rule = spec.state, spec.service, spec.p, "rule-"+spec.key
			inc.OpenedAt = t0.Add(time.Duration(i) * time.Hour)
			inc.ImpactStartedAt = inc.OpenedAt.Add(-time.Minute)
			inc.RespondBy, inc.ResolveBy = inc.OpenedAt.Add(15*time.Minute), inc.OpenedAt.Add(4*time.Hour)
			switch spec.state {
			case incident.StateResolved:
				inc.AcknowledgedAt, inc.ResolvedAt = inc.OpenedAt.Add(5*time.Minute), inc.OpenedAt.Add(5*time.Hour)
				inc.ResolveBreachedAt = inc.ResolveBy
			case incident.StateAcknowledged:
				inc.AcknowledgedAt, inc.RespondBreachedAt = inc.OpenedAt.Add(20*time.Minute), inc.RespondBy
			case incident.StatePending:
				inc.OpenedAt, inc.RespondBy, inc.ResolveBy = time.Time{}, time.Time{}, time.Time{}
			}
			if err := tx.CreateIncident(ctx, &inc); err != nil {
				return err
			}
			ids = append(ids, inc.ID)
			for j, src := range []string{"am", "pd"} {
				a := incident.Alert{IncidentID: inc.ID, Source: src, Fingerprint: "fp-" + spec.key, Status: incident.StatusFiring,
					Labels: map[string]string{"alertname": "X"}, Annotations: map[string]string{}, StartsAt: inc.ImpactStartedAt,
					FirstSeenAt: t0.Add(time.Duration(j) * time.Second), LastSeenAt: t0, Count: 1}
				if err := tx.PutAlert(ctx, a); err != nil {
					return err
				}
				for k := range 3 {
					e := incident.Episode{Source: src, Fingerprint: "fp-" + spec.key, StartsAt: t0.Add(time.Duration(k) * time.Hour),
						IncidentID: inc.ID, Key: spec.key}
					if k < 2 {
						e.EndsAt = e.StartsAt.Add(30 * time.Minute)
					}
					if err := tx.PutEpisode(ctx, &e); err != nil {
						return err
					}
				}
				if err := tx.AddEvent(ctx, incident.EventRecord{ReceivedAt: t0.Add(time.Duration(i*2+j) * time.Minute), Source: src,
					Fingerprint: "fp-" + spec.key, Status: incident.StatusFiring, Labels: map[string]string{"a": "b"},
					GroupLabels: map[string]string{"g": spec.key}, Transition: incident.TransitionNew, Rule: inc.Rule,
					Key: spec.key, IncidentID: inc.ID, StartsAt: inc.ImpactStartedAt}); err != nil {
					return err
				}
			}
			e := incident.TimelineEntry{IncidentID: inc.ID, At: t0, Kind: incident.TimelineOpened, Actor: "system"}
			if err := tx.AddTimeline(ctx, &e); err != nil {
				return err
			}
			for k, st := range []incident.OutboxState{incident.OutboxPending, incident.OutboxPending, incident.OutboxHeld, incident.OutboxDead} {
				r := incident.OutboxRow{Sink: []string{"slack", "jira"}[k%2], IncidentID: inc.ID, Kind: incident.NotifyOpened,
					TimelineID: e.ID, State: st, CreatedAt: t0.Add(time.Duration(i*4+k) * time.Second), NextAttemptAt: t0.Add(time.Duration(k) * time.Minute)}
				if err := tx.AddOutbox(ctx, &r); err != nil {
					return err
				}
			}
			if err := tx.PutTicket(ctx, incident.Ticket{IncidentID: inc.ID, Sink: "jira", ExternalID: "OPS-" + spec.key,
				URL: "https://jira/OPS-" + spec.key, Data: map[string]string{"k": "v"}, UpdatedAt: t0}); err != nil {
				return err
			}
		}
		p := incident.Problem{Name: "disk", Signature: "sig", State: incident.ProblemOpen, FirstSeenAt: t0, LastSeenAt: t0,
			OpenedAt: t0, UpdatedAt: t0}
		if err := tx.CreateProblem(ctx, &p); err != nil {
			return err
		}
		for _, id := range ids[:3] {
			if err := tx.SetIncidentProblem(ctx, id, p.ID); err != nil {
				return err
			}
		}
		return tx.AddProblemEntry(ctx, &incident.ProblemEntry{ProblemID: p.ID, At: t0, Kind: "opened", Actor: "system"})
	})

	f := incident.StatsFilter{Since: t0.Add(-time.Hour), Until: now}
	st, err := s.Stats(ctx, f, now)
	put("Stats", st, err)
	st, err = s.Stats(ctx, incident.StatsFilter{Since: f.Since, Until: f.Until, Service: "checkout", Priority: 1}, now)
	put("Stats/filtered", st, err)
	bl, err := s.Backlog(ctx, incident.StatsFilter{}, now)
	put("Backlog", bl, err)
	br, err := s.SLABreaches(ctx)
	put("SLABreaches", br, err)
	n, err := s.CountEvents(ctx, t0.Add(time.Minute), t0.Add(5*time.Minute))
	put("CountEvents", n, err)
	var events []incident.EventRecord
	err = s.Events(ctx, time.Time{}, time.Time{}, func(e incident.EventRecord) error { events = append(events, e); return nil })
	put("Events", events, err)
	for _, sink := range []string{"slack", "jira"} {
		due, err := s.DueOutbox(ctx, sink, t0.Add(time.Minute), 10)
		put("DueOutbox/"+sink, due, err)
		after, err := s.OutboxAfter(ctx, sink, ids[0], 0)
		put("OutboxAfter/"+sink, after, err)
	}
	rows, err := s.OutboxRows(ctx, "", 0, 100)
	put("OutboxRows", rows, err)
	rows, err = s.OutboxRows(ctx, incident.OutboxDead, 0, 100)
	put("OutboxRows/dead", rows, err)
	os, err := s.OutboxStats(ctx)
	put("OutboxStats", os, err)
	tks, err := s.Tickets(ctx, ids[0])
	put("Tickets", tks, err)
	tk, err := s.TicketByExternalID(ctx, "jira", "OPS-b")
	put("TicketByExternalID", tk, err)
	hist, err := s.AlertHistory(ctx, ids[0], 2)
	put("AlertHistory", hist, err)
	pt, err := s.ProblemTimeline(ctx, 1)
	put("ProblemTimeline", pt, err)
	counts, err := s.IncidentCounts(ctx, incident.IncidentFilter{})
	put("IncidentCounts", counts, err)
	active, err := s.ActiveIncidentsFor(ctx, []string{"checkout", "search"})
	put("ActiveIncidentsFor", active, err)
	pf, err := s.ProblemFigures(ctx, []int64{1}, t0.Add(48*time.Hour))
	put("ProblemFigures", pf, err)

	mustUpdateT(func(tx incident.Tx) error {
		v, err := tx.PendingOutbox(ctx, "slack")
		put("PendingOutbox", v, err)
		has, err := tx.HasPendingOutbox(ctx, "jira", ids[1])
		put("HasPendingOutbox", has, err)
		held, err := tx.HeldIncidents(ctx)
		put("HeldIncidents", held, err)
		near, err := tx.EpisodeNear(ctx, "am", "fp-a", t0.Add(70*time.Minute), time.Hour)
		put("EpisodeNear", near, err)
		next, err := tx.NextEpisodes(ctx, []incident.Episode{{Source: "pd", Fingerprint: "fp-b", StartsAt: t0}})
		put("NextEpisodes", next, err)
		eps, err := tx.Episodes(ctx, ids[:2])
		put("Episodes", eps, err)
		keyed, err := tx.KeyIncidents(ctx, "b", t0, now)
		put("KeyIncidents", keyed, err)
		start, end, err := tx.AlertSpan(ctx, ids[0])
		put("AlertSpan", [2]time.Time{start, end}, err)
		api, err := tx.ActiveProblemIncidents(ctx, 1)
		put("ActiveProblemIncidents", api, err)
		released, err := tx.ReleaseHeld(ctx, ids[0], incident.NotifyResolved, now)
		put("ReleaseHeld", released, err)
		replayed, err := tx.ReplayOutbox(ctx, 4, now)
		put("ReplayOutbox", replayed, err)
		_, err = tx.ReplayOutbox(ctx, 1, now)
		put("ReplayOutbox/notDead", fmt.Sprint(err), nil)
		purged, err := tx.PurgeDeadOutbox(ctx, now, 1)
		put("PurgeDeadOutbox", purged, err)
		put("RescheduleOutbox", nil, tx.RescheduleOutbox(ctx, 2, 3, now, "boom", true))
		put("DeleteOutbox", nil, tx.DeleteOutbox(ctx, []int64{3}))
		put("DeleteAlert", nil, tx.DeleteAlert(ctx, ids[0], "pd", "fp-a"))
		return nil
	})
	rows, err = s.OutboxRows(ctx, "", 0, 100)
	put("OutboxRows/after", rows, err)
	alerts, err := s.IncidentAlerts(ctx, ids[0])
	put("IncidentAlerts/after", alerts, err)
	return out
}
