package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

const catalog = `services:
  - name: checkout
    matchers: ['job="checkout"']
    depends_on: [api]
  - name: api
    matchers: ['job="api"']
    depends_on: [db]
  - name: db
    matchers: ['job="db"']
  - name: search
    matchers: ['job="search"']
`

func change(id, service, summary string, started time.Duration) incident.Change {
	return incident.Change{Source: "ci", ExternalID: id, Service: service, Summary: summary,
		StartedAt: t0.Add(started), FinishedAt: t0.Add(started + 2*time.Minute), ReceivedAt: t0.Add(started),
		Labels: map[string]string{}}
}

func TestChangesLinkedWhenIncidentOpens(t *testing.T) {
	p := newReplay(t, catalog)
	ctx := context.Background()
	st := p.st
	for _, c := range []incident.Change{
		change("1", "db", "migrate db schema 12", -50*time.Minute),
		change("2", "api", "deploy api v42", -6*time.Minute),
		change("3", "checkout", "deploy checkout v7", -30*time.Minute),
		change("4", "search", "deploy search v3", -5*time.Minute),   // unrelated service
		change("5", "checkout", "deploy checkout v6", -3*time.Hour), // beyond the 2h lookback
	} {
		if err := st.Update(ctx, func(tx incident.Tx) error { return tx.PutChange(ctx, &c) }); err != nil {
			t.Fatal(err)
		}
	}
	p.at(time.Minute, fire(0, lab("alertname", "Errors", "job", "checkout")))
	inc := p.incidents()[0]
	links, err := st.IncidentChanges(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Rank   int
		ID     string
		Reason string
	}
	var gotLinks []got
	for _, l := range links {
		gotLinks = append(gotLinks, got{l.Rank, l.Change.ExternalID, l.Reason})
	}
	want := []got{
		{1, "3", "deploy checkout v7 on checkout started 30m before the first alert"},
		{2, "2", "deploy api v42 on api started 6m before the first alert; checkout depends on api"},
		{3, "1", "migrate db schema 12 on db started 50m before the first alert; checkout depends on api, api depends on db"},
	}
	if diff := cmp.Diff(want, gotLinks); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	tl, _ := st.Timeline(ctx, inc.ID)
	if tl[len(tl)-1].Kind != incident.TimelineChangesLinked {
		t.Errorf("last timeline entry = %s, want changes_linked", tl[len(tl)-1].Kind)
	}
	// A later alert joining the open incident links nothing again.
	p.at(2*time.Minute, fire(time.Minute, lab("alertname", "Latency", "job", "checkout")))
	if again, _ := st.IncidentChanges(ctx, inc.ID); len(again) != 3 {
		t.Errorf("links after a join = %d, want 3", len(again))
	}
}

func TestMaintenanceLowersUrgencyAndNeverBlocksResolve(t *testing.T) {
	p := newReplay(t, catalog)
	ctx := context.Background()
	m := change("m1", "db", "db failover drill", -10*time.Minute)
	m.Maintenance, m.FinishedAt = true, t0.Add(30*time.Minute)
	if err := p.st.Update(ctx, func(tx incident.Tx) error { return tx.PutChange(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
	crit := lab("alertname", "DBDown", "job", "db", "severity", "critical")
	p.at(0, fire(0, crit))
	inc := p.incidents()[0]
	if !inc.DuringMaintenance || inc.Urgency != incident.LevelLow || inc.Priority != 3 {
		t.Errorf("incident in maintenance: maintenance=%v urgency=%s priority=%s, want true, low, P3 (high/low)",
			inc.DuringMaintenance, inc.Urgency, inc.Priority)
	}
	p.at(5*time.Minute, clear(0, 5*time.Minute, crit))
	if got := p.incidents()[0].State; got != incident.StateResolved {
		t.Errorf("resolve during maintenance: state %s, want resolved", got)
	}
	// After the window the same alert is urgent again.
	p.at(3*time.Hour, fire(3*time.Hour, crit))
	if got := p.incidents()[0]; got.DuringMaintenance || got.Priority != 1 {
		t.Errorf("after the window: maintenance=%v priority=%s, want false, P1", got.DuringMaintenance, got.Priority)
	}
}
