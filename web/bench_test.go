package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/access"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/sqlite"
	"github.com/alertbridge/alertbridge/web"
)

// seedIncidents writes n incidents straight to the store, a tenth of them
// active, spread over the last 30 days, in batches.
func seedIncidents(b *testing.B, st *sqlite.Store, n int) {
	b.Helper()
	ctx := context.Background()
	services := []string{"checkout", "api", "db", "search", "edge"}
	for start := 0; start < n; start += 1000 {
		err := st.Update(ctx, func(tx incident.Tx) error {
			for i := start; i < start+1000 && i < n; i++ {
				opened := t0.Add(-time.Duration(n-i) * 4 * time.Minute)
				inc := incident.Incident{State: incident.StateResolved, Priority: incident.Priority(1 + i%5),
					Impact: incident.LevelMedium, Urgency: incident.LevelMedium, Title: fmt.Sprintf("Incident %d: disk full", i),
					Service: services[i%len(services)], CorrelationKey: fmt.Sprintf("bench/%d", i), Source: "alertmanager",
					OpenedAt: opened, UpdatedAt: opened, LastEventAt: opened, ImpactStartedAt: opened,
					AcknowledgedAt: opened.Add(5 * time.Minute), ResolvedAt: opened.Add(40 * time.Minute), RuleSnapshot: incident.RuleSnapshot{ResolveMode: incident.ResolveAll, MinAlerts: 1}, AlertCount: 3, FiringCount: 0, SLA: incident.SLA{RespondBy: opened.Add(15 * time.Minute), ResolveBy: opened.Add(4 * time.Hour)}}
				if i%10 == 0 {
					inc.State, inc.ResolvedAt, inc.FiringCount = incident.StateOpen, time.Time{}, 3
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
}

// benchUI is the UI over a store with n incidents, without identities
// (reads open), and a GET of path against it.
func benchUI(b *testing.B, n int) (*sqlite.Store, func(path string)) {
	b.Helper()
	st, err := sqlite.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	seedIncidents(b, st, n)
	g, err := access.New(access.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ui, err := web.New(web.Options{Reader: st, Guard: g, Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	return st, func(path string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
}

// BenchmarkIncidentList renders the incident list, as a browser asks for
// it, with 10,000 incidents in the store (issue #11: under 100 ms).
func BenchmarkIncidentList(b *testing.B) {
	_, get := benchUI(b, 10000)
	for _, path := range []string{"/incidents", "/incidents?state=all", "/incidents?state=resolved&priority=P2&q=disk"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				get(path)
			}
		})
	}
}

// BenchmarkIncidentDetail renders an incident page with 300 alerts, each
// with a firing history of two firings, and its timeline, with 10,000
// other incidents in the store.
func BenchmarkIncidentDetail(b *testing.B) {
	st, get := benchUI(b, 10000)
	ctx := context.Background()
	now := t0
	p, err := pipeline.New(pipeline.Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	p.Start()
	defer func() { _ = p.Stop(ctx) }()
	events := func(status incident.Status, startsAt time.Time) []incident.Event {
		evs := make([]incident.Event, 300)
		for i := range evs {
			l := map[string]string{"alertname": "NodeDown", "instance": fmt.Sprintf("node-%03d", i), "cluster": "eu-1", "severity": "critical"}
			evs[i] = incident.Event{Source: "alertmanager", Fingerprint: incident.LabelFingerprint(l), Status: status,
				Labels: l, Annotations: map[string]string{"summary": "node down"}, StartsAt: startsAt,
				GroupLabels: map[string]string{"alertname": "NodeDown"}}
			if status == incident.StatusResolved {
				evs[i].EndsAt = now
			}
		}
		return evs
	}
	first := now
	for _, step := range []struct {
		status incident.Status
		starts time.Time
	}{{incident.StatusFiring, first}, {incident.StatusResolved, first}, {incident.StatusFiring, first.Add(20 * time.Minute)}} {
		now = step.starts.Add(10 * time.Minute)
		if err := p.Submit(ctx, events(step.status, step.starts)); err != nil {
			b.Fatal(err)
		}
	}
	list, err := st.Incidents(ctx, incident.IncidentFilter{Limit: 1})
	if err != nil || len(list) == 0 || list[0].AlertCount != 300 {
		b.Fatalf("the big incident: %+v %v", list, err)
	}
	path := fmt.Sprintf("/incidents/%d", list[0].ID)
	for b.Loop() {
		get(path)
	}
}
