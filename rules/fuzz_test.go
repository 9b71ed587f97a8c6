package rules

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// FuzzParse checks that Parse never panics, that an error is always a
// non-empty positioned list, and that a nil error gives a usable Set.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.yml")
	more, _ := filepath.Glob("testdata/*/*.yml")
	for _, p := range append(paths, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("correlations: [{name: a, matchers: ['x=~\"a|b\"'], by: [x], title: '{{ .Labels.x }}'}]"))
	f.Add([]byte("correlations:\n  - &a {name: a}\n  - <<: *a\n    name: b\n"))
	f.Add([]byte("defaults: {window: 1h, resolve: any, resolve_after: 1m, min_alerts: 2, summary: '{{ .Status }}'}\n" +
		"services: [{name: a, matchers: [x=a], depends_on: [b]}, {name: b, impact: high, labels: {k: v}}]\n" +
		"correlations: [{name: r, by: [service, x], impact: {label: severity, map: {critical: high}, default: low}, urgency: medium}]\n"))
	f.Add([]byte("services: [{name: a, depends_on: [b]}, {name: b, depends_on: [c]}, {name: c, depends_on: [a]}]\n"))
	f.Add([]byte(heartbeatRules))
	f.Add([]byte("correlations: [{name: a, resolve_timeout: 0s}, {name: b, resolve_timeout: 1h}]\n" +
		"heartbeats: [{name: h, matchers: ['x!=y'], by: [x, x], interval: 1ms, grace: -1s, impact: {label: x, map: {a: high}}}]\n"))
	f.Add([]byte("sla:\n  calendars: {office: {time_zone: Europe/Berlin, days: [mon, fri], hours: '08:30-24:00', holidays: ['2026-12-25']}}\n" +
		"  policies: [{priority: P1, respond: 15m, resolve: 4h}, {priority: P3, service: checkout, respond: 4h, resolve: 3d, calendar: office}]\n"))

	ev := incident.Event{
		Fingerprint: "f",
		Status:      incident.StatusFiring,
		Labels:      map[string]string{"alertname": "A", "severity": "critical", "team": "ops", "x": "a"},
		Annotations: map[string]string{"summary": "s"},
		StartsAt:    time.Unix(0, 0),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yml", data)
		if err != nil {
			var list yamlfile.Errors
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T %q is not a non-empty yamlfile.Errors", err, err)
			}
			if s != nil {
				t.Fatal("got a Set with the error")
			}
			return
		}
		if s == nil {
			t.Fatal("nil Set without an error")
		}
		if len(s.Hash()) != 64 {
			t.Fatalf("Hash() = %q", s.Hash())
		}
		if len(s.Rules()) != s.Len() {
			t.Fatalf("Len() = %d, Rules() has %d", s.Len(), len(s.Rules()))
		}
		d := s.Defaults()
		if d == nil || d.Name != "" || d.Version != "" {
			t.Fatalf("Defaults() = %+v", d)
		}
		for _, r := range append(s.Rules(), d) {
			if r != d && (r.Name == "" || len(r.Version) != 8) {
				t.Fatalf("rule %+v: empty name or bad version", r)
			}
			if r.ReopenWithin <= 0 || r.Window < 0 || r.ResolveAfter < 0 || r.MinAlerts < 1 {
				t.Fatalf("rule %+v: bad durations or min_alerts", r)
			}
			switch r.Resolve {
			case ResolveAll, ResolveAny:
			case ResolveManual:
				if r.ResolveAfter != 0 {
					t.Fatalf("rule %+v: resolve_after with manual", r)
				}
			default:
				t.Fatalf("rule %+v: resolve %q", r, r.Resolve)
			}
			r.Matches(ev.Labels)
			r.Key(ev, "svc")
			r.Levels(ev.Labels)
			r.Levels(nil)
			_, _ = r.Title(ev) // may fail on data; must not panic
			_, _ = r.Summary(ev)
		}
		for _, svc := range s.Services() {
			if s.ServiceByName(svc.Name) != svc {
				t.Fatalf("ServiceByName(%q) is not the listed service", svc.Name)
			}
			for _, dep := range svc.DependsOn {
				if s.ServiceByName(dep) == nil || dep == svc.Name {
					t.Fatalf("service %q: bad dependency %q", svc.Name, dep)
				}
			}
		}
		for i, p := range s.SLAPolicies() {
			if p.Priority < 1 || p.Priority > 5 || p.Respond <= 0 || p.Respond > p.Resolve {
				t.Fatalf("SLA policy %+v: bad priority or targets", p)
			}
			if (p.CalendarName == "") != (p.Calendar == nil) || p.Calendar != nil && p.Calendar.Validate() != nil {
				t.Fatalf("SLA policy %+v: bad calendar", p)
			}
			if got := s.SLA(p.Priority, p.Service); got == nil || got.Pos.Compare(p.Pos) > 0 {
				t.Fatalf("SLA(%s, %q) = %+v, want policy #%d or an earlier one", p.Priority, p.Service, got, i+1)
			}
			if due := p.ResolveBy(ev.StartsAt); due.Before(p.RespondBy(ev.StartsAt)) {
				t.Fatalf("SLA policy %+v: resolve due %s before respond due", p, due)
			}
		}
		s.Service(ev.Labels)
		s.Match(ev.Labels)
		s.Match(nil)
	})
}
