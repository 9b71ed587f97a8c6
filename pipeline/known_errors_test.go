package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/pipeline"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store"
	"github.com/alertbridge/alertbridge/store/storetest"
)

// replayOn is newReplay on a store that may hold records already, as a
// daemon restarted with other rules finds it; stop ends it before the test
// does.
func replayOn(t *testing.T, st store.Store, rulesYAML string, start time.Time) (p *replay, stop func()) {
	t.Helper()
	set, err := rules.Parse("rules.yml", []byte(rulesYAML))
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	r, err := pipeline.NewReplayer(st, set, start, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			if err := r.Close(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)
	return &replay{t: t, r: r, st: st}, stop
}

const knownErrorRules = diskRule + `problems:
  - name: disk-recurring
    signature: {rule: disk}
    threshold: 3
    window: 1h
known_errors:
  - name: vector-log-rotation
    signature: 'disk-recurring{rule="disk"}'
    root_cause: vector does not rotate its logs
    workaround: systemctl restart vector
    runbook_url: https://runbooks.example.com/vector
  - name: eu1-small-disks
    matchers: ['cluster="eu1"']
    workaround: grow the volume with ./grow.sh
`

const vectorEntry = "systemctl restart vector (known error vector-log-rotation; root cause: vector does not rotate its logs; " +
	"runbook: https://runbooks.example.com/vector)"

func TestKnownErrorFromTheFirstOccurrence(t *testing.T) {
	p := newReplay(t, knownErrorRules)
	p.at(0, disk(0, "a"))
	first := p.incidents()[0]
	check(t, "the first incident carries it, long before a problem", []string{vectorEntry},
		p.entries(first.ID, incident.TimelineWorkaround))
	check(t, "no problem yet", nil, p.problems())

	// Matchers and signature both apply: each workaround once, in file order.
	p.at(time.Minute, disk(time.Minute, "eu1"))
	eu1 := p.incidents()[0]
	check(t, "both known errors", []string{vectorEntry, "grow the volume with ./grow.sh (known error eu1-small-disks)"},
		p.entries(eu1.ID, incident.TimelineWorkaround))

	// The third opens the problem, as a known error from the start.
	p.at(2*time.Minute, disk(2*time.Minute, "c"))
	check(t, "a known error from the start", []string{"#1 known_error 3 0s..2m0s"}, p.problems())
	pr, err := p.st.Problem(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "root cause", "vector does not rotate its logs", pr.RootCause)
	check(t, "workaround", "systemctl restart vector", pr.Workaround)
	check(t, "the problem's timeline says where the knowledge came from", []string{
		"known_error system: known error vector-log-rotation of the rule files: root cause: vector does not rotate its logs; " +
			"workaround: systemctl restart vector; runbook: https://runbooks.example.com/vector",
	}, p.problemEntries(1, incident.ProblemEntryKnownError))
	// Linking to the known error repeats no workaround: each incident has
	// had it since it opened.
	for _, inc := range p.incidents() {
		n := len(p.entries(inc.ID, incident.TimelineWorkaround))
		want := 1
		if inc.ID == eu1.ID {
			want = 2
		}
		check(t, "workaround entries of incident "+inc.Title, want, n)
	}

	// A later incident links to the known error and carries it once.
	p.at(3*time.Hour, disk(3*time.Hour, "d"))
	later := p.incidents()[0]
	check(t, "later incident", []string{vectorEntry}, p.entries(later.ID, incident.TimelineWorkaround))
	check(t, "linked", int64(1), later.ProblemID)
}

func TestKnownErrorMatchersOnly(t *testing.T) {
	// A known error keyed by matchers puts its workaround on incidents; it
	// makes no problem a known error, since it is no problem's signature.
	p := newReplay(t, diskRule+`problems:
  - name: disk-recurring
    signature: {rule: disk}
    threshold: 2
    window: 1h
known_errors:
  - name: eu1-small-disks
    matchers: ['cluster="eu1"']
    workaround: grow the volume
`)
	p.at(0, disk(0, "eu1"))
	p.at(time.Minute, disk(time.Minute, "eu2"))
	check(t, "an open problem", []string{"#1 open 2 0s..1m0s"}, p.problems())
	incs := p.incidents()
	check(t, "eu2 carries nothing", []string(nil), p.entries(incs[0].ID, incident.TimelineWorkaround))
	check(t, "eu1 carries it", []string{"grow the volume (known error eu1-small-disks)"}, p.entries(incs[1].ID, incident.TimelineWorkaround))
}

func TestKnownErrorResolvesWhenQuietOnlyIfRuleSays(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		want  []string
	}{
		{"StaysKnownError", "", []string{"#1 known_error 3 0s..2m0s"}},
		{"ResolveKnownErrors", "    resolve_known_errors: true\n", []string{"#1 resolved 3 0s..2m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := quietProblem(t, tt.extra+`known_errors:
  - name: vector
    signature: 'disk-recurring{rule="disk"}'
    workaround: systemctl restart vector
`)
			p.advance(20 * day)
			check(t, "at day 20", tt.want, p.problems())
		})
	}
}

func TestKnownErrorAddedToTheRulesLater(t *testing.T) {
	// A problem opened before the rule files knew its known error becomes
	// one with its next incident, and its incidents still open hear of it
	// then, as when a person records it.
	st := storetest.MustOpen(t)
	first, stop := replayOn(t, st, problemRules, t0)
	for i, c := range []string{"a", "b", "c"} {
		at := time.Duration(i) * time.Minute
		first.at(at, disk(at, c))
	}
	first.at(3*time.Minute, clear(0, 3*time.Minute, lab("alertname", "DiskFull", "cluster", "a")))
	stop()

	p, _ := replayOn(t, st, problemRules+`known_errors:
  - name: vector
    signature: 'disk-recurring{rule="disk"}'
    workaround: systemctl restart vector
`, t0.Add(time.Hour))
	p.at(time.Hour, disk(time.Hour, "d"))
	check(t, "a known error now", []string{"#1 known_error 4 0s..1h0m0s"}, p.problems())
	entry := "systemctl restart vector (known error vector)"
	incs := p.incidents() // newest first: d, c, b, a
	check(t, "the new incident carries it once", []string{entry}, p.entries(incs[0].ID, incident.TimelineWorkaround))
	check(t, "an incident still open hears of it", []string{entry}, p.entries(incs[1].ID, incident.TimelineWorkaround))
	check(t, "a resolved one does not", []string(nil), p.entries(incs[3].ID, incident.TimelineWorkaround))
}
