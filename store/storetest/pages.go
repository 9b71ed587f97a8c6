package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

// testDetailPages: AlertsPage and TimelinePage, followed page after page
// at any size, list exactly what Alerts and Timeline list, in their order
// (no row skipped or repeated), also where alerts share their first-seen
// time or their fingerprint, and never another incident's rows.
func testDetailPages(t *testing.T, s Store) {
	ctx := context.Background()
	a, other := create(t, s, newIncident("a", 3)), create(t, s, newIncident("other", 3))
	mustUpdate(t, s, func(tx incident.Tx) error {
		for i := range 23 {
			for _, inc := range []incident.Incident{a, other} {
				for _, src := range []string{"am", "grafana"} {
					if src == "grafana" && i%4 != 0 {
						continue
					}
					al := incident.Alert{IncidentID: inc.ID, Source: src, Fingerprint: fmt.Sprintf("fp-%02d", (i*7)%23),
						Status: incident.StatusFiring, Labels: map[string]string{"i": fmt.Sprint(i)},
						// Ties: three alerts at a time.
						FirstSeenAt: t0.Add(time.Duration(i/3) * time.Second), LastSeenAt: t0.Add(time.Hour), Count: 1}
					if err := tx.PutAlert(ctx, al); err != nil {
						return err
					}
				}
				e := incident.TimelineEntry{IncidentID: inc.ID, At: t0, Kind: incident.TimelineComment, Actor: "alice",
					Message: fmt.Sprint(i)}
				if err := tx.AddTimeline(ctx, &e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	wantAlerts, err := s.Alerts(ctx, a.ID)
	if err != nil || len(wantAlerts) != 29 {
		t.Fatalf("Alerts = %d alerts, %v; want 29", len(wantAlerts), err)
	}
	wantTimeline, err := s.Timeline(ctx, a.ID)
	if err != nil || len(wantTimeline) != 23 {
		t.Fatalf("Timeline = %d entries, %v; want 23", len(wantTimeline), err)
	}
	for _, limit := range []int{1, 2, 3, 7, 29, 30, 500} {
		t.Run(fmt.Sprintf("Limit%d", limit), func(t *testing.T) {
			var alerts []incident.Alert
			var after incident.AlertCursor
			for pages := 0; ; pages++ {
				page, err := s.AlertsPage(ctx, a.ID, after, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit || pages > len(wantAlerts) {
					t.Fatalf("page %d: %d alerts, limit %d", pages, len(page), limit)
				}
				alerts = append(alerts, page...)
				if len(page) < limit {
					break
				}
				after = page[len(page)-1].Cursor()
			}
			if diff := cmp.Diff(wantAlerts, alerts); diff != "" {
				t.Errorf("alerts page by page differ from Alerts (-want +got):\n%s", diff)
			}
			var timeline []incident.TimelineEntry
			var afterID int64
			for pages := 0; ; pages++ {
				page, err := s.TimelinePage(ctx, a.ID, afterID, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit || pages > len(wantTimeline) {
					t.Fatalf("page %d: %d entries, limit %d", pages, len(page), limit)
				}
				timeline = append(timeline, page...)
				if len(page) < limit {
					break
				}
				afterID = page[len(page)-1].ID
			}
			if diff := cmp.Diff(wantTimeline, timeline); diff != "" {
				t.Errorf("timeline page by page differs from Timeline (-want +got):\n%s", diff)
			}
		})
	}
	if page, err := s.AlertsPage(ctx, a.ID, wantAlerts[len(wantAlerts)-1].Cursor(), 10); err != nil || len(page) != 0 {
		t.Errorf("AlertsPage after the last = %d alerts, %v; want none", len(page), err)
	}
	if page, err := s.AlertsPage(ctx, 1<<40, incident.AlertCursor{}, 10); err != nil || len(page) != 0 {
		t.Errorf("AlertsPage of an unknown incident = %d alerts, %v; want none", len(page), err)
	}
}
