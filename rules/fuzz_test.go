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
		for _, r := range s.Rules() {
			if r.Name == "" || r.ReopenWithin <= 0 {
				t.Fatalf("rule %+v: empty name or no reopen window", r)
			}
			r.Matches(ev.Labels)
			r.Key(ev)
			_, _ = r.Title(ev) // may fail on data; must not panic
		}
		s.Match(ev.Labels)
		s.Match(nil)
	})
}
