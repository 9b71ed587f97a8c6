package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

func TestMergeAndUnlink(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	a1 := fire(0, lab("alertname", "Errors", "svc", "a", "i", "1", "severity", "warning"))
	a1.GroupLabels = map[string]string{"alertname": "Errors"}
	b1 := fire(0, lab("alertname", "Latency", "svc", "a", "i", "1", "severity", "critical"))
	b1.GroupLabels = map[string]string{"alertname": "Latency"}
	e.submit(t0, a1)
	e.submit(t0.Add(time.Second), b1)
	list := e.incidents()
	errorsInc, latencyInc := list[1], list[0]

	e.clock.Set(t0.Add(time.Minute))
	dst, err := e.p.Execute(ctx, incident.Command{IncidentID: errorsInc.ID, Action: incident.ActionMerge, Into: latencyInc.ID, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if dst.ID != latencyInc.ID || dst.AlertCount != 2 || dst.FiringCount != 2 || dst.Priority != 1 {
		t.Errorf("merge target = %+v, want #%d with 2 alerts, P1", dst, latencyInc.ID)
	}
	src, _ := e.store.Incident(ctx, errorsInc.ID)
	if src.State != incident.StateResolved || src.MergedInto != latencyInc.ID || src.AlertCount != 0 {
		t.Errorf("merged source = %+v", src)
	}
	// The source's alerts now resolve on the target...
	e.submit(t0.Add(2*time.Minute), clear(0, 2*time.Minute, a1.Labels))
	if got, _ := e.store.Incident(ctx, latencyInc.ID); got.FiringCount != 1 {
		t.Errorf("target firing after the merged alert resolved = %d, want 1", got.FiringCount)
	}
	// ...and a new alert of the source's key joins the target, not the source.
	a2 := fire(3*time.Minute, lab("alertname", "Errors", "svc", "a", "i", "2"))
	a2.GroupLabels = map[string]string{"alertname": "Errors"}
	e.submit(t0.Add(3*time.Minute), a2)
	if got, _ := e.store.Incident(ctx, errorsInc.ID); got.State != incident.StateResolved {
		t.Errorf("merged source reopened: %s", got.State)
	}
	if got, _ := e.store.Incident(ctx, latencyInc.ID); got.AlertCount != 3 {
		t.Errorf("target alerts = %d, want 3", got.AlertCount)
	}

	// Unlink moves one alert out into its own incident.
	moved, err := e.p.Execute(ctx, incident.Command{IncidentID: latencyInc.ID, Action: incident.ActionUnlink,
		Fingerprint: a2.Fingerprint, Actor: "bob", Message: "not the same problem"})
	if err != nil {
		t.Fatal(err)
	}
	if moved.AlertCount != 1 || moved.FiringCount != 1 || moved.State != incident.StateOpen {
		t.Errorf("unlinked incident = %+v", moved)
	}
	// It is the alert's own incident now: its title, service, source and
	// priority are what the rules make of it alone, not its old group's
	// (Latency, P1).
	if moved.Title != "Errors" || moved.Service != "" || moved.Source != a2.Source || moved.Priority != 4 ||
		!moved.ImpactStartedAt.Equal(a2.StartsAt) {
		t.Errorf("unlinked incident: title %q service %q source %q %s impact %s; want Errors, no service, %s, P4, %s",
			moved.Title, moved.Service, moved.Source, moved.Priority, moved.ImpactStartedAt, a2.Source, a2.StartsAt)
	}
	e.submit(t0.Add(5*time.Minute), clear(3*time.Minute, 5*time.Minute, a2.Labels))
	if got, _ := e.store.Incident(ctx, moved.ID); got.State != incident.StateResolved {
		t.Errorf("the unlinked alert's resolve went elsewhere: %s", got.State)
	}
	want := []incident.TimelineKind{"opened", "alert_firing", "merged", "alert_resolved", "alert_firing", "unlinked"}
	if diff := cmp.Diff(want, e.timelineKinds(latencyInc.ID)); diff != "" {
		t.Errorf("target timeline (-want +got):\n%s", diff)
	}

	for _, c := range []struct {
		name string
		cmd  incident.Command
		want error
	}{
		{"ErrMergeIntoSelf", incident.Command{IncidentID: latencyInc.ID, Action: incident.ActionMerge, Into: latencyInc.ID}, incident.ErrInvalid},
		{"ErrMergeIntoResolved", incident.Command{IncidentID: latencyInc.ID, Action: incident.ActionMerge, Into: errorsInc.ID}, incident.ErrConflict},
		{"ErrUnlinkUnknownAlert", incident.Command{IncidentID: latencyInc.ID, Action: incident.ActionUnlink, Fingerprint: "nope"}, incident.ErrNotFound},
		{"ErrUnlinkOnlyAlert", incident.Command{IncidentID: moved.ID, Action: incident.ActionUnlink, Fingerprint: a2.Fingerprint}, incident.ErrConflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := e.p.Execute(ctx, c.cmd); !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}
