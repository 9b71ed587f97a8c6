package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

const day = 24 * time.Hour

// quietRules opens problem #1 on three disk incidents within an hour and
// lets it resolve after 14 days of quiet and close 30 days after that.
func quietRules(extra string) string {
	return diskRule + `problems:
  - name: disk-recurring
    signature:
      rule: disk
    threshold: 3
    window: 1h
    reopen_within: 1d
    resolve_when_quiet: 14d
    close_after: 30d
` + extra
}

// quietProblem opens problem #1 with incidents on clusters a, b and c at 0,
// 1m and 2m, and resolves their alerts at 1h, so that from then on only
// the clock moves it.
func quietProblem(t *testing.T, extra string) *replay {
	t.Helper()
	p := newReplay(t, quietRules(extra))
	var clears []incident.Event
	for i, c := range []string{"a", "b", "c"} {
		at := time.Duration(i) * time.Minute
		p.at(at, disk(at, c))
		clears = append(clears, clear(at, time.Hour, lab("alertname", "DiskFull", "cluster", c)))
	}
	p.at(time.Hour, clears...)
	check(t, "incidents resolved", []string{"resolved", "resolved", "resolved"}, p.states())
	return p
}

// problemEntries lists "kind actor: message" of problem #id's timeline
// entries of the given kinds.
func (p *replay) problemEntries(id int64, kinds ...incident.ProblemEntryKind) []string {
	p.t.Helper()
	tl, err := p.st.ProblemTimeline(context.Background(), id)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for _, e := range tl {
		for _, k := range kinds {
			if e.Kind == k {
				out = append(out, string(e.Kind)+" "+e.Actor+": "+e.Message)
			}
		}
	}
	return out
}

func TestProblemResolvesWhenQuiet(t *testing.T) {
	p := quietProblem(t, "")
	// Quiet counts from the end of the last incident (1h), not from its
	// opening (2m): the problem was not quiet while an incident was open.
	p.advance(time.Hour + 14*day - time.Second)
	check(t, "a second short of 14d of quiet", []string{"#1 open 3 0s..2m0s"}, p.problems())
	p.advance(time.Hour + 14*day)
	check(t, "after 14d of quiet", []string{"#1 resolved 3 0s..2m0s"}, p.problems())
	check(t, "why", []string{"resolved system: resolved: quiet for resolve_when_quiet 14d " +
		"(last incident opened " + t0.Add(2*time.Minute).Format(time.RFC3339) + ", none active since)"}, p.problemEntries(1, incident.ProblemEntryResolved))
	pr, err := p.st.Problem(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "resolved at", t0.Add(time.Hour+14*day), pr.ResolvedAt)

	// close_after 30d counts from the resolve.
	p.advance(time.Hour + 44*day - time.Second)
	check(t, "a second short of close_after", []string{"#1 resolved 3 0s..2m0s"}, p.problems())
	p.advance(time.Hour + 44*day)
	check(t, "closed", []string{"#1 closed 3 0s..2m0s"}, p.problems())
	check(t, "why", []string{"closed system: closed: resolved 30d ago, close_after 30d"},
		p.problemEntries(1, incident.ProblemEntryClosed))
}

func TestProblemNotQuiet(t *testing.T) {
	tests := []struct {
		name string
		// act runs between the problem's opening and day 20.
		act  func(p *replay)
		want []string
	}{
		{"OpenIncidentKeepsItOpen", func(p *replay) {
			p.at(2*day, disk(2*day, "d")) // never resolves
		}, []string{"#1 open 4 0s..48h0m0s"}},
		{"NewIncidentRestartsTheQuiet", func(p *replay) {
			p.at(10*day, disk(10*day, "d"))
			p.at(10*day+time.Hour, clear(10*day, 10*day+time.Hour, lab("alertname", "DiskFull", "cluster", "d")))
		}, []string{"#1 open 4 0s..240h0m0s"}},
		{"KnownErrorStays", func(p *replay) {
			p.mustProblemCmd(2*day, incident.ProblemCommand{ProblemID: 1, Action: incident.ProblemActionKnownError,
				Workaround: "restart vector"})
		}, []string{"#1 known_error 3 0s..2m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := quietProblem(t, "")
			tt.act(p)
			p.advance(20 * day)
			check(t, "at day 20", tt.want, p.problems())
			check(t, "no resolve entry", nil, p.problemEntries(1, incident.ProblemEntryResolved))
		})
	}
}

func TestProblemKnownErrorResolvesWhenRuleSays(t *testing.T) {
	p := quietProblem(t, "    resolve_known_errors: true\n")
	p.mustProblemCmd(2*day, incident.ProblemCommand{ProblemID: 1, Action: incident.ProblemActionKnownError,
		Workaround: "restart vector"})
	p.advance(20 * day)
	check(t, "resolved", []string{"#1 resolved 3 0s..2m0s"}, p.problems())
	check(t, "why", []string{"resolved system: resolved: quiet for resolve_when_quiet 14d " +
		"(last incident opened " + t0.Add(2*time.Minute).Format(time.RFC3339) + ", none active since); a known error, resolved because of resolve_known_errors"},
		p.problemEntries(1, incident.ProblemEntryResolved))
	pr, err := p.st.Problem(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "the workaround is kept", "restart vector", pr.Workaround)
}

func TestProblemCloseAfterManualResolve(t *testing.T) {
	// close_after closes a problem resolved by hand too; without
	// resolve_when_quiet nothing resolves by itself.
	p := newReplay(t, diskRule+`problems:
  - name: disk-recurring
    signature: {rule: disk}
    threshold: 3
    window: 1h
    close_after: 30d
`)
	for i, c := range []string{"a", "b", "c"} {
		at := time.Duration(i) * time.Minute
		p.at(at, disk(at, c))
		p.at(at+time.Second, clear(at, at+time.Second, lab("alertname", "DiskFull", "cluster", c)))
	}
	p.advance(100 * day)
	check(t, "no resolve_when_quiet: stays open", []string{"#1 open 3 0s..2m0s"}, p.problems())
	p.mustProblemCmd(100*day, incident.ProblemCommand{ProblemID: 1, Action: incident.ProblemActionResolve, Actor: "bob"})
	p.advance(130*day - time.Second)
	check(t, "before close_after", []string{"#1 resolved 3 0s..2m0s"}, p.problems())
	p.advance(130 * day)
	check(t, "after close_after", []string{"#1 closed 3 0s..2m0s"}, p.problems())
}

func TestProblemQuietResolveReopens(t *testing.T) {
	// A problem resolved by quiet is resolved like any other: a matching
	// incident within reopen_within (1d) reopens it.
	p := quietProblem(t, "")
	p.advance(15 * day)
	check(t, "resolved", []string{"#1 resolved 3 0s..2m0s"}, p.problems())
	p.at(15*day+time.Hour, disk(15*day+time.Hour, "d"))
	check(t, "reopened", []string{"#1 open 4 0s..361h0m0s"}, p.problems())
}
