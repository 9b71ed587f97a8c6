package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/api"
)

// stepTimeout bounds each step's wait for Alertmanager and alertbridge to
// converge; a step normally takes a few group_intervals (1s each).
const stepTimeout = 30 * time.Second

// TestAlertmanagerWebhooks drives alertbridge with a real Alertmanager: the
// first notification of a group opens one incident, repeats change nothing,
// another group opens another incident, resolving every alert resolves the
// incident, and a refire within the reopen window reopens the same one.
func TestAlertmanagerWebhooks(t *testing.T) {
	t.Parallel()
	amBin := mustFindAlertmanager(t)
	a, c := mustStartApp(t)
	am := mustStartAlertmanager(t, amBin, "http://"+a.Addr()+"/ingest/alertmanager")
	ctx := context.Background()

	const alertname = "E2EHighLatency"
	group := func(cluster, severity string, n int) []postableAlert {
		alerts := make([]postableAlert, n)
		for i := range alerts {
			alerts[i] = postableAlert{
				Labels: map[string]string{
					"alertname": alertname, "cluster": cluster, "severity": severity,
					"instance": fmt.Sprintf("web-%d:8080", i+1), "job": "api-server",
				},
				Annotations: map[string]string{"summary": "p99 latency above 500ms"},
			}
		}
		return alerts
	}
	key1, key2 := groupKey(alertname, "c1"), groupKey(alertname, "c2")
	group1 := group("c1", "warning", 3)

	// incidentsFor returns the incidents of key, and all incidents.
	incidentsFor := func(key string) ([]api.Incident, []api.Incident, error) {
		all, err := listAll(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		return byKey(all)[key], all, nil
	}

	var first api.Incident // group 1's incident as the first notification left it

	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow() // each step builds on the one before
		}
	}

	step("FirstNotificationOpensOneIncident", func(t *testing.T) {
		mustPostAlerts(t, am, group1)
		eventually(t, stepTimeout, func() error {
			incs, all, err := incidentsFor(key1)
			switch {
			case err != nil:
				return err
			case len(all) != 1 || len(incs) != 1:
				return fmt.Errorf("want exactly 1 incident with key %s, have %d incidents: %+v", key1, len(all), all)
			case incs[0].AlertCount != 3:
				return fmt.Errorf("incident %d: alert_count %d, want 3", incs[0].ID, incs[0].AlertCount)
			}
			return nil
		})
		incs, _, err := incidentsFor(key1)
		if err != nil {
			t.Fatal(err)
		}
		first, err = c.Incident(ctx, incs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if first.State != "open" || first.Priority != "P3" || first.FiringCount != 3 || len(first.Alerts) != 3 {
			t.Fatalf("incident %d: state %q priority %q firing_count %d alerts %d; want open, P3 (severity warning), 3, 3",
				first.ID, first.State, first.Priority, first.FiringCount, len(first.Alerts))
		}
	})

	step("RepeatsChangeNothing", func(t *testing.T) {
		repeats := func() float64 {
			return counterValue(t, a.Registry(), "alertbridge_dedupe_decisions_total", map[string]string{"transition": "repeat"})
		}
		before := repeats()
		// repeat_interval is 2s: Alertmanager re-sends the whole group.
		eventually(t, stepTimeout, func() error {
			if got := repeats(); got < before+3 {
				return fmt.Errorf("dedupe repeat decisions %v, want at least %v: Alertmanager has not re-sent the group", got, before+3)
			}
			return nil
		})
		countBefore := make(map[string]int64)
		for _, al := range first.Alerts {
			countBefore[al.Fingerprint] = al.Count
		}
		var now api.Incident
		eventually(t, stepTimeout, func() error {
			var err error
			if now, err = c.Incident(ctx, first.ID); err != nil {
				return err
			}
			for _, al := range now.Alerts {
				if al.Count <= countBefore[al.Fingerprint] {
					return fmt.Errorf("alert %s: count %d, want more than %d after a repeat", al.Fingerprint, al.Count, countBefore[al.Fingerprint])
				}
			}
			return nil
		})
		if now.State != first.State || now.AlertCount != first.AlertCount || now.FiringCount != first.FiringCount ||
			len(now.Timeline) != len(first.Timeline) {
			t.Errorf("after repeats: state %q alert_count %d firing_count %d timeline %v; want %q %d %d %v",
				now.State, now.AlertCount, now.FiringCount, timelineKinds(now),
				first.State, first.AlertCount, first.FiringCount, timelineKinds(first))
		}
		if all, err := listAll(ctx, c); err != nil || len(all) != 1 {
			t.Errorf("after repeats: %d incidents (err %v), want 1", len(all), err)
		}
	})

	step("SecondGroupOpensSecondIncident", func(t *testing.T) {
		mustPostAlerts(t, am, group("c2", "critical", 2))
		eventually(t, stepTimeout, func() error {
			incs, all, err := incidentsFor(key2)
			switch {
			case err != nil:
				return err
			case len(all) != 2 || len(incs) != 1:
				return fmt.Errorf("want 2 incidents, one with key %s; have %+v", key2, all)
			case incs[0].AlertCount != 2:
				return fmt.Errorf("incident %d: alert_count %d, want 2", incs[0].ID, incs[0].AlertCount)
			}
			return nil
		})
		incs, _, err := incidentsFor(key2)
		if err != nil {
			t.Fatal(err)
		}
		if inc := incs[0]; inc.ID == first.ID || inc.State != "open" || inc.Priority != "P1" {
			t.Errorf("second incident %d: state %q priority %q; want a new id (not %d), open, P1 (severity critical)",
				inc.ID, inc.State, inc.Priority, first.ID)
		}
	})

	step("ResolvingAllAlertsResolvesIncident", func(t *testing.T) {
		now := time.Now()
		resolved := slices.Clone(group1)
		for i := range resolved {
			resolved[i].EndsAt = &now
		}
		mustPostAlerts(t, am, resolved)
		var inc api.Incident
		eventually(t, stepTimeout, func() error {
			var err error
			if inc, err = c.Incident(ctx, first.ID); err != nil {
				return err
			}
			if inc.State != "resolved" {
				return fmt.Errorf("incident %d: state %q (firing_count %d), want resolved", inc.ID, inc.State, inc.FiringCount)
			}
			return nil
		})
		if inc.ResolvedAt == nil || inc.FiringCount != 0 {
			t.Errorf("resolved incident %d: resolved_at %v firing_count %d; want set, 0", inc.ID, inc.ResolvedAt, inc.FiringCount)
		}
		for _, al := range inc.Alerts {
			if al.Status != "resolved" || al.EndsAt == nil {
				t.Errorf("alert %s: status %q ends_at %v; want resolved with ends_at", al.Fingerprint, al.Status, al.EndsAt)
			}
		}
		if !slices.Contains(timelineKinds(inc), "resolved") {
			t.Errorf("timeline %v has no resolved entry", timelineKinds(inc))
		}
		incs, _, err := incidentsFor(key2)
		if err != nil {
			t.Fatal(err)
		}
		if len(incs) != 1 || incs[0].State != "open" {
			t.Errorf("group 2: %+v; want its one incident still open", incs)
		}
	})

	step("RefireWithinWindowReopensSameIncident", func(t *testing.T) {
		// No times: Alertmanager gives each alert a new startsAt, after the
		// endsAt it knows, so this is a new episode and not a late duplicate.
		mustPostAlerts(t, am, group1)
		var inc api.Incident
		eventually(t, stepTimeout, func() error {
			var err error
			if inc, err = c.Incident(ctx, first.ID); err != nil {
				return err
			}
			if inc.State != "open" || inc.FiringCount != 3 {
				return fmt.Errorf("incident %d: state %q firing_count %d, want open with 3 firing", inc.ID, inc.State, inc.FiringCount)
			}
			return nil
		})
		if inc.ResolvedAt != nil || inc.AlertCount != 3 {
			t.Errorf("reopened incident %d: resolved_at %v alert_count %d; want unset, 3", inc.ID, inc.ResolvedAt, inc.AlertCount)
		}
		if !slices.Contains(timelineKinds(inc), "reopened") {
			t.Errorf("timeline %v has no reopened entry", timelineKinds(inc))
		}
		incs, all, err := incidentsFor(key1)
		if err != nil {
			t.Fatal(err)
		}
		if len(incs) != 1 || len(all) != 2 {
			t.Errorf("key %s has %d incidents (of %d in all), want the 1 reopened one (of 2): %+v", key1, len(incs), len(all), incs)
		}
	})
}
