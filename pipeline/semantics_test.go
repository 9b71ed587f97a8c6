package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// replay is a Replayer over a fresh SQLite store with the given rules.
type replay struct {
	t  *testing.T
	r  *pipeline.Replayer
	st store.Store
}

func newReplay(t *testing.T, rulesYAML string) *replay {
	t.Helper()
	st := storetest.MustOpen(t)
	var set *rules.Set
	var err error
	if rulesYAML != "" {
		if set, err = rules.Parse("rules.yml", []byte(rulesYAML)); err != nil {
			t.Fatalf("rules: %v", err)
		}
	}
	r, err := pipeline.NewReplayer(st, set, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &replay{t: t, r: r, st: st}
}

func (p *replay) at(d time.Duration, evs ...incident.Event) {
	p.t.Helper()
	if err := p.r.Submit(context.Background(), t0.Add(d), evs); err != nil {
		p.t.Fatalf("Submit at %s: %v", d, err)
	}
}

func (p *replay) advance(d time.Duration) {
	p.t.Helper()
	if err := p.r.Advance(context.Background(), t0.Add(d)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *replay) incidents() []incident.Incident {
	p.t.Helper()
	list, err := p.st.Incidents(context.Background(), incident.IncidentFilter{Limit: 100})
	if err != nil {
		p.t.Fatal(err)
	}
	return list
}

// states lists "state firing/alerts" per incident, oldest first.
func (p *replay) states() []string {
	p.t.Helper()
	var out []string
	list := p.incidents()
	for i := len(list) - 1; i >= 0; i-- {
		inc := list[i]
		s := string(inc.State)
		if !inc.SealedAt.IsZero() {
			s += "(sealed)"
		}
		out = append(out, s)
	}
	return out
}

func lab(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func fire(at time.Duration, labels map[string]string) incident.Event {
	return incident.Event{Source: "test", Fingerprint: incident.LabelFingerprint(labels), Status: incident.StatusFiring,
		Labels: labels, StartsAt: t0.Add(at)}
}

func clear(startedAt, at time.Duration, labels map[string]string) incident.Event {
	e := fire(startedAt, labels)
	e.Status, e.EndsAt = incident.StatusResolved, t0.Add(at)
	return e
}

const diskRule = `correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
    by: [cluster]
`

func TestMinAlerts(t *testing.T) {
	rulesYAML := diskRule + `    min_alerts: 3
    window: 10m
`
	a, b, c := lab("alertname", "DiskFull", "cluster", "x", "node", "a"), lab("alertname", "DiskFull", "cluster", "x", "node", "b"),
		lab("alertname", "DiskFull", "cluster", "x", "node", "c")
	t.Run("OpensAtThreshold", func(t *testing.T) {
		p := newReplay(t, rulesYAML)
		p.at(0, fire(0, a))
		p.at(time.Minute, fire(time.Minute, b))
		if diff := cmp.Diff([]string{"pending"}, p.states()); diff != "" {
			t.Fatalf("after 2 alerts (-want +got):\n%s", diff)
		}
		p.at(2*time.Minute, fire(2*time.Minute, c))
		inc := p.incidents()[0]
		if inc.State != incident.StateOpen || inc.AlertCount != 3 || !inc.OpenedAt.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("after 3rd alert: %+v, want open at t0+2m with 3 alerts", inc)
		}
	})
	t.Run("ResolvedBeforeThresholdIsDiscarded", func(t *testing.T) {
		p := newReplay(t, rulesYAML)
		p.at(0, fire(0, a))
		p.at(time.Minute, clear(0, time.Minute, a))
		if diff := cmp.Diff([]string{"resolved"}, p.states()); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
		if !p.incidents()[0].OpenedAt.IsZero() {
			t.Error("a discarded pending incident has an opened_at")
		}
	})
	t.Run("QuietPendingIsDiscardedWhenWindowPasses", func(t *testing.T) {
		p := newReplay(t, rulesYAML)
		p.at(0, fire(0, a))
		p.advance(10 * time.Minute) // exactly the window: not passed yet
		if diff := cmp.Diff([]string{"pending"}, p.states()); diff != "" {
			t.Fatalf("at the window (-want +got):\n%s", diff)
		}
		p.advance(11 * time.Minute) // no further alert: the sweep discards it
		if diff := cmp.Diff([]string{"resolved(sealed)"}, p.states()); diff != "" {
			t.Fatalf("after the window (-want +got):\n%s", diff)
		}
		p.at(12*time.Minute, fire(12*time.Minute, b)) // counting starts anew
		if diff := cmp.Diff([]string{"resolved(sealed)", "pending"}, p.states()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("ThresholdMustBeReachedWithinWindow", func(t *testing.T) {
		p := newReplay(t, rulesYAML)
		p.at(0, fire(0, a))
		p.at(5*time.Minute, fire(5*time.Minute, b))
		// 20m later: the first pending incident is discarded, counting starts anew.
		p.at(25*time.Minute, fire(25*time.Minute, c))
		if diff := cmp.Diff([]string{"resolved(sealed)", "pending"}, p.states()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestWindow(t *testing.T) {
	p := newReplay(t, diskRule+"    window: 15m\n    resolve: manual\n")
	x1, x2, x3 := lab("alertname", "DiskFull", "cluster", "x", "node", "1"), lab("alertname", "DiskFull", "cluster", "x", "node", "2"),
		lab("alertname", "DiskFull", "cluster", "x", "node", "3")
	p.at(0, fire(0, x1))
	p.at(10*time.Minute, fire(10*time.Minute, x2)) // within 15m of the last event: joins
	if diff := cmp.Diff([]string{"open"}, p.states()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	p.at(40*time.Minute, fire(40*time.Minute, x3)) // 30m after the last event: a new incident
	if diff := cmp.Diff([]string{"open(sealed)", "open"}, p.states()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	list := p.incidents()
	if list[0].AlertCount != 1 || list[1].AlertCount != 2 || list[0].CorrelationKey != list[1].CorrelationKey {
		t.Errorf("incidents = %+v", list)
	}
	// The sealed incident's alerts still resolve on it.
	p.at(50*time.Minute, clear(0, 50*time.Minute, x1))
	if got := p.incidents()[1].FiringCount; got != 1 {
		t.Errorf("sealed incident firing = %d, want 1", got)
	}
}

func TestResolveModes(t *testing.T) {
	a, b := lab("alertname", "DiskFull", "cluster", "x", "node", "a"), lab("alertname", "DiskFull", "cluster", "x", "node", "b")
	tests := []struct {
		name  string
		extra string
		steps func(p *replay)
		want  []string
	}{
		{"AllWaitsForEveryAlert", "", func(p *replay) {
			p.at(0, fire(0, a), fire(0, b))
			p.at(time.Minute, clear(0, time.Minute, a))
		}, []string{"open"}},
		{"AnyResolvesOnFirst", "    resolve: any\n", func(p *replay) {
			p.at(0, fire(0, a), fire(0, b))
			p.at(time.Minute, clear(0, time.Minute, a))
		}, []string{"resolved"}},
		{"ManualNeverResolvesByItself", "    resolve: manual\n", func(p *replay) {
			p.at(0, fire(0, a), fire(0, b))
			p.at(time.Minute, clear(0, time.Minute, a), clear(0, time.Minute, b))
		}, []string{"open"}},
		{"GraceResolvesAfterQuietPeriod", "    resolve_after: 5m\n", func(p *replay) {
			p.at(0, fire(0, a))
			p.at(time.Minute, clear(0, time.Minute, a))
			p.advance(5 * time.Minute) // due at 6m: not yet
			p.advance(6 * time.Minute)
		}, []string{"resolved"}},
		{"GraceNotYetDue", "    resolve_after: 5m\n", func(p *replay) {
			p.at(0, fire(0, a))
			p.at(time.Minute, clear(0, time.Minute, a))
			p.advance(5 * time.Minute)
		}, []string{"open"}},
		{"RefireWithinGraceCancels", "    resolve_after: 5m\n", func(p *replay) {
			p.at(0, fire(0, a))
			p.at(time.Minute, clear(0, time.Minute, a))
			p.at(3*time.Minute, fire(3*time.Minute, a))
			p.advance(time.Hour)
		}, []string{"open"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newReplay(t, diskRule+tt.extra)
			tt.steps(p)
			if diff := cmp.Diff(tt.want, p.states()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestGraceResolveTimeIsWhenAlertsEnded(t *testing.T) {
	p := newReplay(t, diskRule+"    resolve_after: 5m\n")
	a := lab("alertname", "DiskFull", "cluster", "x")
	p.at(0, fire(0, a))
	p.at(2*time.Minute, clear(0, time.Minute, a))
	p.advance(10 * time.Minute)
	inc := p.incidents()[0]
	if inc.State != incident.StateResolved || !inc.ResolvedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("incident = %s resolved_at %s, want resolved at the alert's end t0+1m", inc.State, inc.ResolvedAt)
	}
}

func TestServicesAndDefaults(t *testing.T) {
	p := newReplay(t, `defaults:
  reopen_within: 1h
  urgency: {label: severity, map: {page: high, ticket: low}, default: medium}
  summary: '{{ .Annotations.description }} ({{ .Labels.instance }})'
services:
  - name: checkout
    matchers: ['job="checkout"']
    owner: payments-team
    impact: high
correlations:
  - name: per-service
    matchers: ['team="payments"']
    by: [service]
`)
	ev := fire(0, lab("alertname", "Latency", "job", "checkout", "team", "payments", "severity", "page", "instance", "c1"))
	ev.Annotations = map[string]string{"description": "p99 over 1s"}
	p.at(0, ev)
	inc := p.incidents()[0]
	want := struct{ Service, Owner, Summary, Rule string }{"checkout", "payments-team", "p99 over 1s (c1)", "per-service"}
	got := struct{ Service, Owner, Summary, Rule string }{inc.Service, inc.Owner, inc.Summary, inc.Rule}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// impact high from the service, urgency high from the mapped severity: P1.
	if inc.Priority != 1 {
		t.Errorf("priority %s, want P1 (service impact high, urgency page→high)", inc.Priority)
	}
	if !strings.HasPrefix(inc.CorrelationKey, "rule/per-service@") || !strings.HasSuffix(inc.CorrelationKey, `{service="checkout"}`) {
		t.Errorf("key %q, want rule/per-service@VERSION{service=\"checkout\"}", inc.CorrelationKey)
	}
	// Defaults apply to alerts no rule matches, too: reopen_within 1h.
	other := lab("alertname", "Other", "severity", "ticket")
	p.at(time.Minute, fire(time.Minute, other))
	p.at(2*time.Minute, clear(time.Minute, 2*time.Minute, other))
	p.at(50*time.Minute, fire(50*time.Minute, other))
	list := p.incidents()
	if len(list) != 2 || list[0].State != incident.StateOpen || list[0].Rule != "" {
		t.Errorf("unmatched alert refired after 48m with defaults reopen_within 1h: %+v", list)
	}
}

// TestEditingOneRuleKeepsOthersIncidents: a changed rule gets a new version
// in its key; the other rules' keys, and so their open incidents, stay.
func TestEditingOneRuleKeepsOthersIncidents(t *testing.T) {
	before, err := rules.Parse("r.yml", []byte(diskRule+`  - name: cpu
    matchers: ['alertname="CPU"']
    by: [cluster]
`))
	if err != nil {
		t.Fatal(err)
	}
	after, err := rules.Parse("r.yml", []byte(`correlations:
  - name: disk
    matchers: ['alertname="DiskFull"']
    by: [cluster, node]
  - name: cpu
    matchers: ['alertname="CPU"']
    by: [cluster]
    title: 'CPU hot in {{ .Labels.cluster }}'
`))
	if err != nil {
		t.Fatal(err)
	}
	cpu := lab("alertname", "CPU", "cluster", "x")
	disk := lab("alertname", "DiskFull", "cluster", "x", "node", "n")
	ev := func(l map[string]string) incident.Event { return fire(0, l) }
	if before.Match(cpu).Key(ev(cpu), "") != after.Match(cpu).Key(ev(cpu), "") {
		t.Error("editing the cpu rule's title changed its key")
	}
	if before.Match(disk).Key(ev(disk), "") == after.Match(disk).Key(ev(disk), "") {
		t.Error("changing the disk rule's by did not change its key")
	}
}
