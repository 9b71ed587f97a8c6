package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

const heartbeatRules = `services:
  - name: monitoring
heartbeats:
  - name: watchdog
    matchers: ['alertname="Watchdog"']
    by: [cluster]
    interval: 1m
    grace: 5m
    impact: high
    urgency: high
    service: monitoring
    title: 'no Watchdog from cluster {{ .Labels.cluster }} for {{ .Annotations.overdue }}'
  - name: nightly-backup
    interval: 1d
    grace: 1h
`

func TestParseHeartbeats(t *testing.T) {
	s, err := Parse("rules.yml", []byte(heartbeatRules))
	if err != nil {
		t.Fatal(err)
	}
	hbs := s.Heartbeats()
	if len(hbs) != 2 {
		t.Fatalf("%d heartbeats, want 2", len(hbs))
	}
	w := s.Heartbeat("watchdog")
	if w == nil || w.Interval != time.Minute || w.Grace != 5*time.Minute || w.Service != "monitoring" || len(w.By) != 1 {
		t.Fatalf("watchdog = %+v", w)
	}
	key, by := w.Instance(map[string]string{"alertname": "Watchdog", "cluster": "eu-1", "prometheus": "p1"})
	if key != `watchdog{cluster="eu-1"}` || len(by) != 1 || by["cluster"] != "eu-1" {
		t.Errorf("Instance = %q, %v", key, by)
	}
	title, err := w.Title(by, 6*time.Minute)
	if err != nil || title != "no Watchdog from cluster eu-1 for 6m" {
		t.Errorf("Title = %q, %v", title, err)
	}
	if i, u := w.Levels(by); i != incident.LevelHigh || u != incident.LevelHigh {
		t.Errorf("Levels = %s, %s", i, u)
	}
	b := s.Heartbeat("nightly-backup")
	if b.Grace != time.Hour || b.Interval != 24*time.Hour {
		t.Errorf("nightly-backup = %+v", b)
	}
	if title, _ := b.Title(nil, time.Hour); title != "no heartbeat from nightly-backup{} for 1h" {
		t.Errorf("default title = %q", title)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"Watchdog", map[string]string{"alertname": "Watchdog", "cluster": "eu-1"}, "watchdog"},
		{"OtherAlert", map[string]string{"alertname": "DiskFull"}, ""},
		// A heartbeat without matchers is beaten only through its endpoint.
		{"NoLabels", map[string]string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if h := s.BeatOf(tt.labels); h != nil {
				got = h.Name
			}
			if got != tt.want {
				t.Errorf("BeatOf = %q, want %q", got, tt.want)
			}
		})
	}
	var none *Set
	if none.Heartbeats() != nil || none.Heartbeat("x") != nil || none.BeatOf(nil) != nil {
		t.Error("nil Set has heartbeats")
	}
}

func TestHeartbeatErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"ErrNameRequired", "heartbeats:\n  - interval: 1m\n", `rules.yml:2:5: heartbeat #1: name: required`},
		{"ErrBadName", "heartbeats:\n  - name: a b\n    interval: 1m\n", `rules.yml:2:11: heartbeat "a b": name: must consist of letters, digits, '_' and '-'`},
		{"ErrIntervalRequired", "heartbeats:\n  - name: a\n", `rules.yml:2:5: heartbeat "a": interval: required`},
		{"ErrIntervalTooShort", "heartbeats:\n  - name: a\n    interval: 500ms\n", `rules.yml:3:15: heartbeat "a": interval: must be at least 1s`},
		{"ErrBadGrace", "heartbeats:\n  - name: a\n    interval: 1m\n    grace: soon\n", `rules.yml:4:12: heartbeat "a": grace: not a valid duration string: "soon"`},
		{"ErrDuplicate", "heartbeats:\n  - name: a\n    interval: 1m\n  - name: a\n    interval: 1m\n", `rules.yml:4:11: heartbeat "a": name: duplicate name, first defined at rules.yml:2:11`},
		{"ErrBadMatcher", "heartbeats:\n  - name: a\n    interval: 1m\n    matchers: ['alertname=~\"(\"']\n", `rules.yml:4:16: heartbeat "a": matchers:`},
		{"ErrMatchesEverything", "heartbeats:\n  - name: a\n    interval: 1m\n    matchers: ['alertname!=\"x\"']\n", `rules.yml:4:16: heartbeat "a": matchers: match an alert without labels`},
		{"ErrDuplicateBy", "heartbeats:\n  - name: a\n    interval: 1m\n    by: [cluster, cluster]\n", `rules.yml:4:19: heartbeat "a": by: duplicate label "cluster"`},
		{"ErrUnknownService", "heartbeats:\n  - name: a\n    interval: 1m\n    service: db\n", `rules.yml:4:14: heartbeat "a": service: unknown service "db"`},
		{"ErrBadLevel", "heartbeats:\n  - name: a\n    interval: 1m\n    impact: huge\n", `rules.yml:4:13: heartbeat "a": impact:`},
		{"ErrBadTitle", "heartbeats:\n  - name: a\n    interval: 1m\n    title: '{{ .Nope'\n", `rules.yml:4:12: heartbeat "a": title:`},
		{"ErrUnknownField", "heartbeats:\n  - name: a\n    interval: 1m\n    window: 5m\n", `rules.yml:4:5: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("rules.yml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestResolveTimeout(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		timeout time.Duration
		has     bool
		wantErr string
	}{
		{"Unset", "correlations:\n  - name: a\n", 0, false, ""},
		{"OK", "correlations:\n  - name: a\n    resolve_timeout: 4h\n", 4 * time.Hour, true, ""},
		{"OffForTheRule", "correlations:\n  - name: a\n    resolve_timeout: 0s\n", 0, true, ""},
		{"ErrBadDuration", "correlations:\n  - name: a\n    resolve_timeout: 4 hours\n", 0, false,
			`rules.yml:3:22: rule "a": resolve_timeout: unknown unit " hours" in duration "4 hours"`},
		{"ErrDrop", "correlations:\n  - name: a\n    action: drop\n    resolve_timeout: 1h\n", 0, false,
			`rules.yml:4:22: rule "a": resolve_timeout: has no effect with action "drop"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("rules.yml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := s.Rule("a")
			if r.ResolveTimeout != tt.timeout || r.HasResolveTimeout != tt.has {
				t.Errorf("resolve_timeout = %s, %v; want %s, %v", r.ResolveTimeout, r.HasResolveTimeout, tt.timeout, tt.has)
			}
		})
	}
	if (*Set)(nil).Rule("a") != nil {
		t.Error("nil Set has a rule")
	}
}
