package antientropy_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/antientropy"
	"github.com/alertbridge/alertbridge/incident"
)

func TestPollRepairsLostFiring(t *testing.T) {
	const fp = "a0bc776337276a7c"
	starts := t0.Add(-10 * time.Minute)
	alert := active(fp, starts, "alertname", "HighLatency", "cluster", "c1", "severity", "critical")
	suppressed, unprocessed, otherReceiver, noStart, noFP := alert, alert, alert, alert, alert
	suppressed.Status = amStatus{State: "suppressed", SilencedBy: []string{"b7c0"}, InhibitedBy: []string{}}
	unprocessed.Status.State = "unprocessed"
	otherReceiver.Receivers = []amReceiver{{Name: "slack"}}
	noStart.StartsAt = time.Time{}
	noFP.Fingerprint = ""
	tests := []struct {
		name      string
		alert     amAlert
		receivers []string
		groupBy   []string
		wantKey   string // "" for no incident
	}{
		{name: "ActiveOpensIncidentOfItsOwn", alert: alert, wantKey: "alert/alertmanager/" + fp},
		{name: "GroupByGivesGroupKey", alert: alert, groupBy: []string{"alertname", "cluster", "missing"},
			wantKey: `group{alertname="HighLatency", cluster="c1"}`},
		{name: "GroupByEllipsisGivesAllLabels", alert: alert, groupBy: []string{"..."},
			wantKey: `group{alertname="HighLatency", cluster="c1", severity="critical"}`},
		{name: "NoFingerprintUsesLabelFingerprint", alert: noFP, wantKey: "alert/alertmanager/" + incident.LabelFingerprint(alert.Labels)},
		{name: "RoutedToReceiverOpensIncident", alert: alert, receivers: []string{"pager", "alertbridge"}, wantKey: "alert/alertmanager/" + fp},
		{name: "RoutedElsewhereIgnored", alert: otherReceiver, receivers: []string{"alertbridge"}},
		{name: "SuppressedIgnored", alert: suppressed},
		{name: "UnprocessedIgnored", alert: unprocessed},
		{name: "InvalidIgnored", alert: noStart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			am := newFakeAM(t)
			am.set(tt.alert)
			p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL}, Receivers: tt.receivers, GroupBy: tt.groupBy})
			e.pollAt(t, p, t0)
			e.pollAt(t, p, t0.Add(grace))
			incs := e.incidents(t)
			if tt.wantKey == "" {
				if len(incs) != 0 || repaired(t, e, "firing") != 0 {
					t.Fatalf("incidents %+v, repaired %v; want none", incs, repaired(t, e, "firing"))
				}
				return
			}
			if len(incs) != 1 || incs[0].CorrelationKey != tt.wantKey || incs[0].State != incident.StateOpen {
				t.Fatalf("incidents %+v; want one open with key %s", incs, tt.wantKey)
			}
		})
	}
}

func TestPollRepairsLostFiringAfterGraceOnce(t *testing.T) {
	e := newEnv(t)
	am := newFakeAM(t)
	starts := t0.Add(-10 * time.Minute)
	alert := active("a0bc776337276a7c", starts, "alertname", "HighLatency", "cluster", "c1")
	am.set(alert)
	p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL}, GroupBy: []string{"alertname"}})

	e.pollAt(t, p, t0)
	e.pollAt(t, p, t0.Add(grace-time.Second))
	if incs := e.incidents(t); len(incs) != 0 {
		t.Fatalf("within grace: incidents %+v, want none (the webhook may still come)", incs)
	}
	e.pollAt(t, p, t0.Add(grace))
	inc := e.only(t)
	if inc.State != incident.StateOpen || inc.Source != source || !inc.OpenedAt.Equal(t0.Add(grace)) {
		t.Errorf("incident: state %s source %q opened_at %s; want open, %q, %s", inc.State, inc.Source, inc.OpenedAt, source, t0.Add(grace))
	}
	got := e.lastEvent(t, alert.Fingerprint)
	want := incident.EventRecord{
		ReceivedAt: t0.Add(grace), Source: source, Fingerprint: alert.Fingerprint, Status: incident.StatusFiring,
		Labels: alert.Labels, Annotations: alert.Annotations, GroupLabels: map[string]string{"alertname": "HighLatency"},
		Receiver: "alertbridge", GeneratorURL: alert.GeneratorURL, StartsAt: starts,
		Transition: incident.TransitionNew, Key: `group{alertname="HighLatency"}`, IncidentID: inc.ID,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded event (-want +got):\n%s", diff)
	}
	if n := repaired(t, e, "firing"); n != 1 {
		t.Errorf("repaired firing = %v, want 1", n)
	}
	// Known now: later polls submit nothing.
	e.pollAt(t, p, t0.Add(grace+interval))
	e.pollAt(t, p, t0.Add(grace+2*interval))
	if n := repaired(t, e, "firing"); n != 1 {
		t.Errorf("after more polls repaired firing = %v, want still 1", n)
	}
}

func TestPollRepairsLostRefire(t *testing.T) {
	e := newEnv(t)
	am := newFakeAM(t)
	old := active("a0bc776337276a7c", t0.Add(-time.Hour), "alertname", "HighLatency")
	e.webhook(t, firing(old))
	resolved := firing(old)
	resolved.Status, resolved.EndsAt = incident.StatusResolved, t0.Add(-50*time.Minute)
	e.webhook(t, resolved)
	// It fired again; that webhook was lost.
	am.set(active(old.Fingerprint, t0.Add(-5*time.Minute), "alertname", "HighLatency"))
	p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL}})
	e.pollAt(t, p, t0)
	e.pollAt(t, p, t0.Add(grace))
	// The refire came 45 minutes after the alert ended (alert time), past
	// reopen_within (30m): a new incident, the old one stays resolved.
	incs := e.incidents(t)
	if len(incs) != 2 {
		t.Fatalf("%d incidents, want 2: the resolved one and the repaired refire's", len(incs))
	}
	if inc := incs[1]; inc.State != incident.StateOpen || inc.FiringCount != 1 || !inc.ImpactStartedAt.Equal(t0.Add(-5*time.Minute)) {
		t.Errorf("newest incident: state %s firing_count %d impact %s; want open with 1 firing since the refire",
			inc.State, inc.FiringCount, inc.ImpactStartedAt)
	}
	if inc := incs[0]; inc.State != incident.StateResolved || !inc.ResolvedAt.Equal(t0.Add(-50*time.Minute)) {
		t.Errorf("first incident: state %s resolved_at %s; want resolved when the alert ended", inc.State, inc.ResolvedAt)
	}
	if got := e.lastEvent(t, old.Fingerprint).Transition; got != incident.TransitionRefired {
		t.Errorf("transition %s, want refired", got)
	}
}

func TestPollDoesNotRepeatFiringThatDoesNotTake(t *testing.T) {
	e := newEnv(t)
	am := newFakeAM(t)
	var logs bytes.Buffer
	alert := active("a0bc776337276a7c", t0.Add(-time.Hour), "alertname", "HighLatency")
	e.webhook(t, firing(alert))
	resolved := firing(alert)
	resolved.Status, resolved.EndsAt = incident.StatusResolved, t0.Add(-time.Minute)
	e.webhook(t, resolved)
	// Alertmanager lists the episode alertbridge resolved (here: because
	// the test says so; in life: a resolve by the poller while the alert
	// came back). The repair is stale, and tried once only.
	am.set(alert)
	p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	e.pollAt(t, p, t0)
	for i := range 5 {
		e.pollAt(t, p, t0.Add(grace+time.Duration(i)*interval))
	}
	if n := repaired(t, e, "firing"); n != 1 {
		t.Errorf("repaired firing = %v, want 1", n)
	}
	if inc := e.only(t); inc.State != incident.StateResolved {
		t.Errorf("incident state %s, want resolved", inc.State)
	}
	if n := strings.Count(logs.String(), "stays resolved"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, logs.String())
	}
}

func TestPollRepairsLostResolve(t *testing.T) {
	e := newEnv(t)
	am := newFakeAM(t)
	starts := t0.Add(-time.Hour)
	alert := active("a0bc776337276a7c", starts, "alertname", "HighLatency", "severity", "warning")
	e.webhook(t, firing(alert))
	am.set(alert)
	p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL}})
	e.pollAt(t, p, t0)

	// Resolved in Alertmanager; the resolve webhook was lost.
	am.set()
	gone := t0.Add(interval)
	e.pollAt(t, p, gone)
	e.pollAt(t, p, gone.Add(grace-time.Second))
	if inc := e.only(t); inc.State != incident.StateOpen {
		t.Fatalf("within grace: incident %s, want open (the resolve webhook may still come)", inc.State)
	}
	e.pollAt(t, p, gone.Add(grace))
	inc := e.only(t)
	if inc.State != incident.StateResolved || !inc.ResolvedAt.Equal(gone) || inc.FiringCount != 0 {
		t.Fatalf("incident: state %s resolved_at %s firing_count %d; want resolved at %s (first seen missing), 0",
			inc.State, inc.ResolvedAt, inc.FiringCount, gone)
	}
	wantKinds := []incident.TimelineKind{incident.TimelineOpened, incident.TimelineAlertFiring,
		incident.TimelineAlertResolved, incident.TimelineResolved}
	if diff := cmp.Diff(wantKinds, e.timelineKinds(t, inc.ID)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	alerts, err := e.store.Alerts(context.Background(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Status != incident.StatusResolved || !alerts[0].EndsAt.Equal(gone) ||
		!cmp.Equal(alerts[0].Annotations, alert.Annotations) {
		t.Errorf("alerts %+v; want the one resolved at %s with its annotations kept", alerts, gone)
	}
	got := e.lastEvent(t, alert.Fingerprint)
	if got.Source != source || got.Transition != incident.TransitionResolved || !cmp.Equal(got.Labels, alert.Labels) {
		t.Errorf("recorded event %+v; want a resolved transition from %s with the alert's labels", got, source)
	}
	if n := repaired(t, e, "resolved"); n != 1 {
		t.Errorf("repaired resolved = %v, want 1", n)
	}
	e.pollAt(t, p, gone.Add(grace+interval))
	if n := repaired(t, e, "resolved"); n != 1 {
		t.Errorf("after another poll repaired resolved = %v, want still 1", n)
	}
}

func TestPollLetsResolveWebhookInFlightWin(t *testing.T) {
	e := newEnv(t)
	am := newFakeAM(t)
	alert := active("a0bc776337276a7c", t0.Add(-time.Hour), "alertname", "HighLatency")
	e.webhook(t, firing(alert))
	p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL}})
	e.pollAt(t, p, t0) // missing already
	e.clock.set(t0.Add(time.Minute))
	resolved := firing(alert)
	resolved.Status, resolved.EndsAt = incident.StatusResolved, t0.Add(30*time.Second)
	e.webhook(t, resolved)
	e.pollAt(t, p, t0.Add(grace))
	e.pollAt(t, p, t0.Add(2*grace))
	inc := e.only(t)
	if inc.State != incident.StateResolved || !inc.ResolvedAt.Equal(resolved.EndsAt) {
		t.Errorf("incident: state %s resolved_at %s; want resolved at the webhook's endsAt %s", inc.State, inc.ResolvedAt, resolved.EndsAt)
	}
	if n := repaired(t, e, "resolved"); n != 0 {
		t.Errorf("repaired resolved = %v, want 0", n)
	}
}

func TestFailedPollResolvesNothing(t *testing.T) {
	tests := []struct {
		name       string
		fail       failure
		maxBytes   int64
		storeDown  bool
		wantErrSub string
	}{
		{name: "ErrStatus", fail: failure{status: http.StatusServiceUnavailable}, wantErrSub: "503"},
		{name: "ErrUnauthorized", fail: failure{status: http.StatusUnauthorized}, wantErrSub: "401"},
		{name: "ErrConnection", fail: failure{down: true}, wantErrSub: "EOF"},
		{name: "ErrInvalidJSON", fail: failure{body: `[{"fingerprint":`}, wantErrSub: "decode"},
		{name: "ErrNull", fail: failure{body: `null`}, wantErrSub: "null"},
		{name: "ErrNotArray", fail: failure{body: `{"alerts":[]}`}, wantErrSub: "decode"},
		{name: "ErrTrailingData", fail: failure{body: `[] []`}, wantErrSub: "decode"},
		{name: "ErrEmptyBody", fail: failure{body: ` `}, wantErrSub: "decode"},
		{name: "ErrUnidentifiableAlert", fail: failure{body: `[{"status":{"state":"active"}}]`}, wantErrSub: "neither fingerprint nor labels"},
		{name: "ErrBadTime", fail: failure{body: `[{"fingerprint":"a0bc776337276a7c","startsAt":"yesterday"}]`}, wantErrSub: "decode"},
		{name: "ErrTooLarge", fail: failure{body: "[" + strings.Repeat(" ", 100) + "]"}, maxBytes: 64, wantErrSub: "larger than 64 bytes"},
		{name: "ErrStore", storeDown: true, wantErrSub: "database is locked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			am := newFakeAM(t)
			alert := active("a0bc776337276a7c", t0.Add(-time.Hour), "alertname", "HighLatency")
			e.webhook(t, firing(alert))
			p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL}, MaxResponseBytes: tt.maxBytes})
			e.pollAt(t, p, t0) // missing from t0

			am.setFailure(tt.fail)
			e.firing.down.Store(tt.storeDown)
			e.clock.set(t0.Add(grace))
			err := p.Poll(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
				t.Fatalf("poll error %v, want one containing %q", err, tt.wantErrSub)
			}
			if inc := e.only(t); inc.State != incident.StateOpen {
				t.Fatalf("after a failed poll: incident %s, want open", inc.State)
			}
			if n := metric(t, e.reg, "alertbridge_antientropy_polls_total", map[string]string{"source": source, "result": "error"}); n != 1 {
				t.Errorf("polls error = %v, want 1", n)
			}

			// Healthy again, still without the alert: the grace count
			// restarted at the failure, so one more poll resolves nothing.
			am.setFailure(failure{})
			e.firing.down.Store(false)
			restart := t0.Add(grace + time.Second)
			e.pollAt(t, p, restart)
			e.pollAt(t, p, restart.Add(grace-time.Second))
			if inc := e.only(t); inc.State != incident.StateOpen {
				t.Fatalf("within grace after the failure: incident %s, want open", inc.State)
			}
			e.pollAt(t, p, restart.Add(grace))
			if inc := e.only(t); inc.State != incident.StateResolved || !inc.ResolvedAt.Equal(restart) {
				t.Fatalf("incident %s resolved_at %s, want resolved at %s", inc.State, inc.ResolvedAt, restart)
			}
		})
	}
}

func TestPollLeavesOtherSourcesAlone(t *testing.T) {
	e := newEnv(t)
	am := newFakeAM(t)
	ours := active("a0bc776337276a7c", t0.Add(-time.Hour), "alertname", "Ours")
	theirs := active("d2c2efc389db2050", t0.Add(-time.Hour), "alertname", "Theirs")
	evTheirs := firing(theirs)
	evTheirs.Source = "grafana"
	e.webhook(t, firing(ours), evTheirs)
	p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL}})
	for at := t0; !at.After(t0.Add(2 * grace)); at = at.Add(interval) {
		e.pollAt(t, p, at)
	}
	got := make(map[string]incident.State)
	for _, inc := range e.incidents(t) {
		got[inc.Title] = inc.State
	}
	want := map[string]incident.State{"Ours: it broke": incident.StateResolved, "Theirs: it broke": incident.StateOpen}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("incident states by title (-want +got):\n%s", diff)
	}
}

func TestPollWithSeveralAlertmanagers(t *testing.T) {
	e := newEnv(t)
	am1, am2 := newFakeAM(t), newFakeAM(t)
	known := active("a0bc776337276a7c", t0.Add(-time.Hour), "alertname", "Known")
	lost := active("d2c2efc389db2050", t0.Add(-time.Hour), "alertname", "Lost")
	e.webhook(t, firing(known))
	am2.set(known, lost) // am1 never heard of either
	p := e.mustPoller(t, antientropy.Options{URLs: []string{am1.srv.URL, am2.srv.URL}})
	for at := t0; !at.After(t0.Add(2 * grace)); at = at.Add(interval) {
		e.pollAt(t, p, at)
	}
	states := func() map[string]incident.State {
		got := make(map[string]incident.State)
		for _, inc := range e.incidents(t) {
			got[inc.Title] = inc.State
		}
		return got
	}
	want := map[string]incident.State{"Known: it broke": incident.StateOpen, "Lost: it broke": incident.StateOpen}
	if diff := cmp.Diff(want, states()); diff != "" {
		t.Fatalf("present in one of two: incident states (-want +got):\n%s", diff)
	}

	// Gone from am2 too, but am1 fails: nothing is resolved.
	am2.set(lost)
	am1.setFailure(failure{status: http.StatusBadGateway})
	start := t0.Add(3 * grace)
	for at := start; !at.After(start.Add(2 * grace)); at = at.Add(interval) {
		e.clock.set(at)
		if err := p.Poll(context.Background()); err == nil {
			t.Fatal("poll with one alertmanager failing: no error")
		}
	}
	if diff := cmp.Diff(want, states()); diff != "" {
		t.Fatalf("one alertmanager failing: incident states (-want +got):\n%s", diff)
	}

	am1.setFailure(failure{})
	start = t0.Add(6 * grace)
	for at := start; !at.After(start.Add(grace)); at = at.Add(interval) {
		e.pollAt(t, p, at)
	}
	want["Known: it broke"] = incident.StateResolved
	if diff := cmp.Diff(want, states()); diff != "" {
		t.Errorf("gone from both: incident states (-want +got):\n%s", diff)
	}
}

func TestPollAuthenticates(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("ab:"+secret))
	tests := []struct {
		name    string
		opts    antientropy.Options
		require string
		wantErr bool
	}{
		{name: "OKBearer", opts: antientropy.Options{BearerToken: secret}, require: "Bearer " + secret},
		{name: "OKBasic", opts: antientropy.Options{BasicUser: "ab", BasicPassword: secret}, require: basic},
		{name: "ErrWrongToken", opts: antientropy.Options{BearerToken: secret}, require: "Bearer other", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			am := newFakeAM(t)
			am.auth = tt.require
			am.set(active("a0bc776337276a7c", t0.Add(-time.Hour), "alertname", "HighLatency"))
			var logs bytes.Buffer
			o := tt.opts
			o.URLs = []string{am.srv.URL}
			o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			p := e.mustPoller(t, o)
			var err error
			for _, at := range []time.Time{t0, t0.Add(grace)} {
				e.clock.set(at)
				if err = p.Poll(context.Background()); err != nil {
					break
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("poll error %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && repaired(t, e, "firing") != 1 {
				t.Errorf("repaired firing = %v, want 1", repaired(t, e, "firing"))
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the secret: %v", err)
			}
			if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), basic[len("Basic "):]) {
				t.Errorf("log leaks the secret:\n%s", logs.String())
			}
		})
	}
}

func TestRunPollsUntilDone(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	e := newEnv(t)
	am := newFakeAM(t)
	am.auth = "Bearer other"
	var logs syncBuffer
	p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL}, BearerToken: secret, Interval: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		p.Run(ctx)
		close(done)
	}()
	deadline := time.Now().Add(30 * time.Second) // a deadlock guard, not a speed assertion
	for am.requests() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("Run made %d requests in 30s, want 3", am.requests())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	out := logs.String()
	if !strings.Contains(out, "poll failed") || !strings.Contains(out, "401") {
		t.Errorf("log has no failed poll:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("log leaks the secret:\n%s", out)
	}
}

func TestPollRequestsAlertListing(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		wantPath string
	}{
		{name: "OKBaseURL", path: "", wantPath: "/api/v2/alerts"},
		{name: "OKBaseURLSlash", path: "/", wantPath: "/api/v2/alerts"},
		{name: "OKRoutePrefix", path: "/alertmanager", wantPath: "/alertmanager/api/v2/alerts"},
		{name: "OKListingURL", path: "/am/api/v2/alerts", wantPath: "/am/api/v2/alerts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			am := newFakeAM(t)
			p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL + tt.path}})
			e.pollAt(t, p, t0)
			if diff := cmp.Diff([]string{tt.wantPath}, am.paths); diff != "" {
				t.Errorf("requested paths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPollMetrics(t *testing.T) {
	e := newEnv(t)
	am := newFakeAM(t)
	p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL}})
	// A second source on the same registry shares the collectors.
	e.mustPoller(t, antientropy.Options{Source: "am-eu", URLs: []string{am.srv.URL}})
	polls := func(result string) float64 {
		return metric(t, e.reg, "alertbridge_antientropy_polls_total", map[string]string{"source": source, "result": result})
	}
	last := func() float64 {
		return metric(t, e.reg, "alertbridge_antientropy_last_success_timestamp_seconds", map[string]string{"source": source})
	}
	e.pollAt(t, p, t0)
	e.pollAt(t, p, t0.Add(interval))
	am.setFailure(failure{status: http.StatusInternalServerError})
	e.clock.set(t0.Add(2 * interval))
	if err := p.Poll(context.Background()); err == nil {
		t.Fatal("poll of a failing alertmanager: no error")
	}
	got := []float64{polls("ok"), polls("error"), last()}
	want := []float64{2, 1, float64(t0.Add(interval).Unix())}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("polls ok, polls error, last success (-want +got):\n%s", diff)
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		if mf.GetName() == "alertbridge_antientropy_repaired_total" {
			series = len(mf.GetMetric())
		}
	}
	if series != 4 {
		t.Errorf("repaired_total has %d series, want 4 (two kinds of two sources, exported before any repair)", series)
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	valid := func() antientropy.Options {
		return antientropy.Options{Source: source, URLs: []string{"http://am:9093"}, Firing: &faultyFiring{}, Sink: nopSink{}}
	}
	tests := []struct {
		name    string
		edit    func(*antientropy.Options)
		wantSub string // "" for no error
	}{
		{name: "OK", edit: func(*antientropy.Options) {}},
		{name: "OKHTTPSWithPath", edit: func(o *antientropy.Options) { o.URLs = []string{"https://am.example.com/alertmanager/"} }},
		{name: "ErrNoSource", edit: func(o *antientropy.Options) { o.Source = "" }, wantSub: "no source"},
		{name: "ErrNoURL", edit: func(o *antientropy.Options) { o.URLs = nil }, wantSub: "no alertmanager url"},
		{name: "ErrScheme", edit: func(o *antientropy.Options) { o.URLs = []string{"ftp://am:9093"} }, wantSub: `urls[0]: scheme "ftp"`},
		{name: "ErrNoScheme", edit: func(o *antientropy.Options) { o.URLs = []string{"am:9093"} }, wantSub: "urls[0]"},
		{name: "ErrNoHost", edit: func(o *antientropy.Options) { o.URLs = []string{"http:///api"} }, wantSub: "urls[0]: no host"},
		{name: "ErrUnparsable", edit: func(o *antientropy.Options) { o.URLs = []string{"http://am:9093/\x7f"} }, wantSub: "urls[0]"},
		{name: "ErrCredentialsInURL", edit: func(o *antientropy.Options) { o.URLs = []string{"http://u:hunter2@am:9093"} }, wantSub: "urls[0]: credentials"},
		{name: "ErrQuery", edit: func(o *antientropy.Options) { o.URLs = []string{"http://am:9093/?token=x"} }, wantSub: "urls[0]: a query"},
		{name: "ErrDuplicateURL", edit: func(o *antientropy.Options) { o.URLs = []string{"http://am:9093", "http://am:9093/"} }, wantSub: "urls[1]: duplicate"},
		{name: "ErrNegativeGrace", edit: func(o *antientropy.Options) { o.Grace = -time.Second }, wantSub: "grace"},
		{name: "ErrNegativeInterval", edit: func(o *antientropy.Options) { o.Interval = -time.Second }, wantSub: "interval"},
		{name: "ErrBothAuth", edit: func(o *antientropy.Options) { o.BearerToken, o.BasicUser = "t", "u" }, wantSub: "choose one"},
		{name: "ErrPasswordWithoutUser", edit: func(o *antientropy.Options) { o.BasicPassword = "p" }, wantSub: "without a user"},
		{name: "ErrEmptyReceiver", edit: func(o *antientropy.Options) { o.Receivers = []string{""} }, wantSub: "receivers[0]"},
		{name: "ErrEmptyGroupBy", edit: func(o *antientropy.Options) { o.GroupBy = []string{"alertname", ""} }, wantSub: "group_by[1]"},
		{name: "ErrNoFiring", edit: func(o *antientropy.Options) { o.Firing = nil }, wantSub: "no firing-alert lookup"},
		{name: "ErrNoSink", edit: func(o *antientropy.Options) { o.Sink = nil }, wantSub: "no sink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid()
			tt.edit(&o)
			_, err := antientropy.New(o)
			switch {
			case tt.wantSub == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantSub != "" && (err == nil || !strings.Contains(err.Error(), tt.wantSub)):
				t.Fatalf("New error %v, want one containing %q", err, tt.wantSub)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

type nopSink struct{}

// syncBuffer is a bytes.Buffer safe for a logging goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (nopSink) Submit(context.Context, []incident.Event) error { return nil }

// TestPokeRepairsTruncatedAtOnce: a truncated notification (max_alerts)
// left three alerts of a group out. Poked with the group's labels, the
// next poll repairs them without waiting out the grace, which only guards
// against webhooks still on their way; others still wait for it.
func TestPokeRepairsTruncatedAtOnce(t *testing.T) {
	e := newEnv(t)
	am := newFakeAM(t)
	starts := t0.Add(-time.Minute)
	left := active("0000000000000001", starts, "alertname", "QueueBacklog", "instance", "worker-3")
	other := active("0000000000000002", starts, "alertname", "DiskFull", "instance", "db-1")
	am.set(left, other)
	p := e.mustPoller(t, antientropy.Options{URLs: []string{am.srv.URL}, GroupBy: []string{"alertname"}})
	p.Poke(map[string]string{"alertname": "QueueBacklog"})
	e.pollAt(t, p, t0)
	if n := repaired(t, e, "firing"); n != 1 {
		t.Fatalf("repaired firing = %v, want 1: the truncated group's alert at once", n)
	}
	if got := e.lastEvent(t, left.Fingerprint); got.Status != incident.StatusFiring {
		t.Errorf("worker-3: %+v, want its firing recorded", got)
	}
	// The poke is used up; the other alert waits for the grace as before.
	e.pollAt(t, p, t0.Add(interval))
	if n := repaired(t, e, "firing"); n != 1 {
		t.Errorf("repaired firing = %v, want still 1 within the grace", n)
	}
	e.pollAt(t, p, t0.Add(grace))
	if n := repaired(t, e, "firing"); n != 2 {
		t.Errorf("repaired firing = %v, want 2 after the grace", n)
	}
}
