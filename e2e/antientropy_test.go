package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertbridge/alertbridge/antientropy"
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// TestAntiEntropyRepairsLostWebhooks runs a real Alertmanager whose every
// webhook is lost (answered 400, which Alertmanager never retries). The
// anti-entropy poller alone brings the alerts to alertbridge, grouped as the
// route groups them, and resolves the incident once Alertmanager no longer
// lists them: a lost resolve no longer leaves an incident open forever.
func TestAntiEntropyRepairsLostWebhooks(t *testing.T) {
	t.Parallel()
	amBin := mustFindAlertmanager(t)

	var dropped atomic.Int64
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dropped.Add(1)
		http.Error(w, `{"error":"lost"}`, http.StatusBadRequest)
	}))
	t.Cleanup(drop.Close)
	am := mustStartAlertmanager(t, amBin, drop.URL)

	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	pipe, err := pipeline.New(pipeline.Options{Store: st, Logger: log, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	pipe.Start()
	poller, err := antientropy.New(antientropy.Options{
		Source: "alertmanager", URLs: []string{am},
		Interval: 500 * time.Millisecond, Grace: 2 * time.Second,
		// Mirror alertmanagerConfig's route, so the incident's key is the
		// one the webhook would have given.
		Receivers: []string{"alertbridge"}, GroupBy: []string{"alertname", "cluster"},
		Firing: st, Sink: pipe, Logger: log, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		poller.Run(runCtx)
		close(stopped)
	}()
	t.Cleanup(func() {
		stop()
		<-stopped
		if err := pipe.Stop(context.Background()); err != nil {
			t.Errorf("pipeline stop: %v", err)
		}
		st.Close()
		if t.Failed() {
			t.Logf("alertbridge log:\n%s", logs)
		}
	})

	const alertname = "E2ELostWebhook"
	key := groupKey(alertname, "c1")
	alerts := make([]postableAlert, 2)
	for i := range alerts {
		alerts[i] = postableAlert{
			Labels: map[string]string{
				"alertname": alertname, "cluster": "c1", "severity": "critical",
				"instance": fmt.Sprintf("web-%d:8080", i+1), "job": "api-server",
			},
			Annotations: map[string]string{"summary": "nobody hears this webhook"},
		}
	}
	// incidentOf returns the one incident of key.
	incidentOf := func() (incident.Incident, error) {
		incs, err := st.Incidents(ctx, incident.IncidentFilter{Limit: 100})
		if err != nil {
			return incident.Incident{}, err
		}
		if len(incs) != 1 || incs[0].CorrelationKey != key {
			return incident.Incident{}, fmt.Errorf("want exactly 1 incident with key %s, have %+v", key, incs)
		}
		return incs[0], nil
	}
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow() // each step builds on the one before
		}
	}

	var opened incident.Incident
	step("LostFiringOpensIncident", func(t *testing.T) {
		mustPostAlerts(t, am, alerts)
		eventually(t, stepTimeout, func() error {
			var err error
			if opened, err = incidentOf(); err != nil {
				return err
			}
			if opened.State != incident.StateOpen || opened.FiringCount != 2 || opened.Source != "alertmanager" {
				return fmt.Errorf("incident %d: state %s firing_count %d source %q; want open, 2, alertmanager",
					opened.ID, opened.State, opened.FiringCount, opened.Source)
			}
			return nil
		})
		// Alertmanager did send, and the webhook was lost: the poller, not
		// a webhook, opened the incident.
		eventually(t, stepTimeout, func() error {
			if dropped.Load() == 0 {
				return fmt.Errorf("alertmanager has not tried the webhook yet")
			}
			return nil
		})
		// The poller counts a repair once its commit has returned, a moment
		// after the records the test has just read are visible.
		eventually(t, stepTimeout, func() error {
			if n := counterValue(t, reg, "alertbridge_antientropy_repaired_total", map[string]string{"kind": "firing"}); n != 2 {
				return fmt.Errorf("repaired firing = %v, want 2", n)
			}
			return nil
		})
	})

	step("LostResolveResolvesIncident", func(t *testing.T) {
		now := time.Now()
		resolved := slices.Clone(alerts)
		for i := range resolved {
			resolved[i].EndsAt = &now
		}
		mustPostAlerts(t, am, resolved)
		var inc incident.Incident
		eventually(t, stepTimeout, func() error {
			var err error
			if inc, err = incidentOf(); err != nil {
				return err
			}
			if inc.State != incident.StateResolved {
				return fmt.Errorf("incident %d: state %s (firing_count %d), want resolved", inc.ID, inc.State, inc.FiringCount)
			}
			return nil
		})
		if inc.ID != opened.ID || inc.ResolvedAt.IsZero() || inc.FiringCount != 0 {
			t.Errorf("incident %d: resolved_at %s firing_count %d; want incident %d resolved with 0 firing",
				inc.ID, inc.ResolvedAt, inc.FiringCount, opened.ID)
		}
		got, err := st.Alerts(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range got {
			if a.Status != incident.StatusResolved || a.EndsAt.IsZero() || a.Annotations["summary"] == "" {
				t.Errorf("alert %s: status %s ends_at %s annotations %v; want resolved, with ends_at and its annotations",
					a.Fingerprint, a.Status, a.EndsAt, a.Annotations)
			}
		}
		tl, err := st.Timeline(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		kinds := make([]incident.TimelineKind, 0, len(tl))
		for _, e := range tl {
			kinds = append(kinds, e.Kind)
		}
		if !slices.Contains(kinds, incident.TimelineResolved) {
			t.Errorf("timeline %v has no resolved entry", kinds)
		}
		// The poller counts a repair once its commit has returned, a moment
		// after the records the test has just read are visible.
		eventually(t, stepTimeout, func() error {
			if n := counterValue(t, reg, "alertbridge_antientropy_repaired_total", map[string]string{"kind": "resolved"}); n != 2 {
				return fmt.Errorf("repaired resolved = %v, want 2", n)
			}
			return nil
		})
		if n := counterValue(t, reg, "alertbridge_antientropy_polls_total", map[string]string{"result": "error"}); n != 0 {
			t.Errorf("failed polls = %v, want 0", n)
		}
	})
}
