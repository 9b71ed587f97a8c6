package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
)

const problemRules = diskRule + `problems:
  - name: disk-recurring
    signature:
      rule: disk
    threshold: 3
    window: 1h
    reopen_within: 1d
`

// disk fires DiskFull on a cluster: a new incident per cluster.
func disk(at time.Duration, cluster string) incident.Event {
	return fire(at, lab("alertname", "DiskFull", "cluster", cluster))
}

// problems lists "#id state count first..last" per problem, oldest first,
// times as offsets from t0.
func (p *replay) problems() []string {
	p.t.Helper()
	list, err := p.st.Problems(context.Background(), incident.ProblemFilter{Limit: 100})
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		pr := list[i]
		out = append(out, fmt.Sprintf("#%d %s %d %s..%s", pr.ID, pr.State, pr.IncidentCount,
			pr.FirstSeenAt.Sub(t0), pr.LastSeenAt.Sub(t0)))
	}
	return out
}

// linked lists each incident's problem ID, oldest incident first.
func (p *replay) linked() []int64 {
	p.t.Helper()
	var out []int64
	list := p.incidents()
	for i := len(list) - 1; i >= 0; i-- {
		out = append(out, list[i].ProblemID)
	}
	return out
}

// kinds returns the timeline entries of the given kind on an incident.
func (p *replay) entries(id int64, kind incident.TimelineKind) []string {
	p.t.Helper()
	tl, err := p.st.Timeline(context.Background(), id)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for _, e := range tl {
		if e.Kind == kind {
			out = append(out, e.Message)
		}
	}
	return out
}

func (p *replay) problemCmd(at time.Duration, cmd incident.ProblemCommand) (incident.Problem, error) {
	p.t.Helper()
	return p.r.ExecuteProblem(context.Background(), t0.Add(at), cmd)
}

func (p *replay) mustProblemCmd(at time.Duration, cmd incident.ProblemCommand) incident.Problem {
	p.t.Helper()
	pr, err := p.problemCmd(at, cmd)
	if err != nil {
		p.t.Fatalf("ExecuteProblem %s: %v", cmd.Action, err)
	}
	return pr
}

func check[T any](t *testing.T, what string, want, got T) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func TestProblemThreshold(t *testing.T) {
	p := newReplay(t, problemRules)
	p.at(0, disk(0, "a"))
	p.at(10*time.Minute, disk(10*time.Minute, "b"))
	check(t, "below the threshold", nil, p.problems())
	check(t, "below the threshold", []int64{0, 0}, p.linked())

	p.at(20*time.Minute, disk(20*time.Minute, "c"))
	check(t, "the third opens the problem", []string{"#1 open 3 0s..20m0s"}, p.problems())
	check(t, "all three linked", []int64{1, 1, 1}, p.linked())
	first := p.incidents()[2]
	check(t, "the first incident's timeline", []string{
		`linked to problem #1 disk-recurring{rule="disk"} [open] (3 incidents with this signature within 1h0m0s)`,
	}, p.entries(first.ID, incident.TimelineProblemLinked))

	// Every later matching incident links to the open problem, window or not.
	p.at(3*time.Hour, disk(3*time.Hour, "d"))
	check(t, "a later incident links", []string{"#1 open 4 0s..3h0m0s"}, p.problems())
	check(t, "a later incident links", []int64{1, 1, 1, 1}, p.linked())

	// Another rule's incidents have no signature.
	p.at(4*time.Hour, fire(4*time.Hour, lab("alertname", "HighCPU", "cluster", "a")))
	check(t, "an incident of another rule", []int64{1, 1, 1, 1, 0}, p.linked())
}

func TestProblemWindow(t *testing.T) {
	p := newReplay(t, problemRules)
	p.at(0, disk(0, "a"))
	p.at(50*time.Minute, disk(50*time.Minute, "b"))
	p.at(70*time.Minute, disk(70*time.Minute, "c")) // a is older than the 1h window
	check(t, "an old incident does not count", nil, p.problems())
	p.at(80*time.Minute, disk(80*time.Minute, "d"))
	check(t, "three within the window", []string{"#1 open 3 50m0s..1h20m0s"}, p.problems())
	check(t, "the old incident stays unlinked", []int64{0, 1, 1, 1}, p.linked())
}

func TestProblemLabelsSignature(t *testing.T) {
	p := newReplay(t, `problems:
  - name: oom
    signature:
      labels: [alertname, service]
    threshold: 2
    window: 1h
`)
	oom := func(at time.Duration, service, pod string) incident.Event {
		return fire(at, lab("alertname", "OOMKilled", "service", service, "pod", pod))
	}
	p.at(0, oom(0, "api", "api-1"))
	p.at(time.Minute, oom(time.Minute, "web", "web-1"))
	p.at(2*time.Minute, fire(2*time.Minute, lab("alertname", "OOMKilled", "pod", "x-1"))) // no service label: no signature
	p.at(3*time.Minute, fire(3*time.Minute, lab("alertname", "OOMKilled", "pod", "x-2")))
	check(t, "different values, missing labels", nil, p.problems())
	p.at(4*time.Minute, oom(4*time.Minute, "api", "api-2"))
	check(t, "same values", []string{"#1 open 2 0s..4m0s"}, p.problems())
	check(t, "the api incidents linked", []int64{1, 0, 0, 0, 1}, p.linked())
	pr, err := p.st.Problem(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "signature", `oom{alertname="OOMKilled", service="api"}`, pr.Signature)
}

// crossThreshold opens problem #1 with incidents a, b and c at 0, 1m, 2m.
func crossThreshold(t *testing.T) *replay {
	t.Helper()
	p := newReplay(t, problemRules)
	for i, c := range []string{"a", "b", "c"} {
		at := time.Duration(i) * time.Minute
		p.at(at, disk(at, c))
	}
	return p
}

func TestKnownErrorWorkaround(t *testing.T) {
	p := crossThreshold(t)
	const workaround = "restart the log shipper: systemctl restart vector"
	pr := p.mustProblemCmd(10*time.Minute, incident.ProblemCommand{ProblemID: 1, Action: incident.ProblemActionKnownError,
		Actor: "alice", RootCause: "log rotation broken", Workaround: workaround})
	if pr.State != incident.ProblemKnownError || pr.Workaround != workaround || pr.RootCause != "log rotation broken" {
		t.Fatalf("after known-error: %+v", pr)
	}
	p.at(20*time.Minute, disk(20*time.Minute, "d"))
	inc := p.incidents()[0]
	check(t, "problem of the new incident", int64(1), inc.ProblemID)
	check(t, "workaround on the new incident", []string{workaround}, p.entries(inc.ID, incident.TimelineWorkaround))
	// The incidents still open when the workaround was found hear of it
	// then, once: their responders need it most.
	check(t, "workaround on the earlier, still open ones", []string{workaround}, p.entries(1, incident.TimelineWorkaround))

	tl, err := p.st.ProblemTimeline(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []incident.ProblemEntryKind
	for _, e := range tl {
		kinds = append(kinds, e.Kind)
	}
	check(t, "problem timeline", []incident.ProblemEntryKind{incident.ProblemEntryOpened, incident.ProblemEntryLinked,
		incident.ProblemEntryLinked, incident.ProblemEntryLinked, incident.ProblemEntryKnownError, incident.ProblemEntryLinked}, kinds)
	check(t, "who made it a known error", "alice", tl[4].Actor)
}

func TestProblemReopenWithin(t *testing.T) {
	p := crossThreshold(t)
	p.mustProblemCmd(time.Hour, incident.ProblemCommand{ProblemID: 1, Action: incident.ProblemActionResolve, Actor: "bob"})
	check(t, "resolved", []string{"#1 resolved 3 0s..2m0s"}, p.problems())

	// Within reopen_within (1d) of the resolve, a matching incident reopens it.
	p.at(13*time.Hour, disk(13*time.Hour, "d"))
	check(t, "reopened", []string{"#1 open 4 0s..13h0m0s"}, p.problems())
	check(t, "linked on reopen", []int64{1, 1, 1, 1}, p.linked())
	inc := p.incidents()[0]
	check(t, "reopen note", []string{`linked to problem #1 disk-recurring{rule="disk"} [open] (reopened: it was resolved 12h ago)`},
		p.entries(inc.ID, incident.TimelineProblemLinked))

	// Beyond it, the threshold must be reached again: then a new problem opens.
	p.mustProblemCmd(14*time.Hour, incident.ProblemCommand{ProblemID: 1, Action: incident.ProblemActionResolve})
	late := 14*time.Hour + 25*time.Hour
	p.at(late, disk(late, "e"))
	check(t, "one incident beyond reopen_within", []string{"#1 resolved 4 0s..13h0m0s"}, p.problems())
	p.at(late+time.Minute, disk(late+time.Minute, "f"))
	p.at(late+2*time.Minute, disk(late+2*time.Minute, "g"))
	check(t, "a new problem", []string{"#1 resolved 4 0s..13h0m0s", "#2 open 3 39h0m0s..39h2m0s"}, p.problems())
	check(t, "linked to the new problem", []int64{1, 1, 1, 1, 2, 2, 2}, p.linked())
}

func TestProblemClosedIsFinal(t *testing.T) {
	p := crossThreshold(t)
	p.mustProblemCmd(time.Hour, incident.ProblemCommand{ProblemID: 1, Action: incident.ProblemActionResolve})
	pr := p.mustProblemCmd(2*time.Hour, incident.ProblemCommand{ProblemID: 1, Action: incident.ProblemActionClose})
	if pr.State != incident.ProblemClosed || !pr.ClosedAt.Equal(t0.Add(2*time.Hour)) || !pr.ResolvedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after close: %+v", pr)
	}
	// Within reopen_within, but a closed problem never reopens.
	p.at(3*time.Hour, disk(3*time.Hour, "d"))
	check(t, "not reopened", []string{"#1 closed 3 0s..2m0s"}, p.problems())
	check(t, "not linked", int64(0), p.incidents()[0].ProblemID)
}

func TestProblemStateMachine(t *testing.T) {
	tests := []struct {
		name  string
		setup []incident.ProblemAction // applied to problem #1 first
		cmd   incident.ProblemCommand
		want  error
	}{
		{name: "OKKnownError", cmd: incident.ProblemCommand{Action: incident.ProblemActionKnownError, Workaround: "w"}},
		{name: "OKResolveOpen", cmd: incident.ProblemCommand{Action: incident.ProblemActionResolve}},
		{name: "OKResolveKnownError", setup: []incident.ProblemAction{incident.ProblemActionKnownError},
			cmd: incident.ProblemCommand{Action: incident.ProblemActionResolve}},
		{name: "OKClose", setup: []incident.ProblemAction{incident.ProblemActionResolve},
			cmd: incident.ProblemCommand{Action: incident.ProblemActionClose}},
		{name: "ErrConflictCloseOpen", cmd: incident.ProblemCommand{Action: incident.ProblemActionClose}, want: incident.ErrConflict},
		{name: "ErrConflictKnownErrorTwice", setup: []incident.ProblemAction{incident.ProblemActionKnownError},
			cmd: incident.ProblemCommand{Action: incident.ProblemActionKnownError, Workaround: "w"}, want: incident.ErrConflict},
		{name: "ErrConflictKnownErrorResolved", setup: []incident.ProblemAction{incident.ProblemActionResolve},
			cmd: incident.ProblemCommand{Action: incident.ProblemActionKnownError, Workaround: "w"}, want: incident.ErrConflict},
		{name: "ErrConflictResolveTwice", setup: []incident.ProblemAction{incident.ProblemActionResolve},
			cmd: incident.ProblemCommand{Action: incident.ProblemActionResolve}, want: incident.ErrConflict},
		{name: "ErrConflictResolveClosed", setup: []incident.ProblemAction{incident.ProblemActionResolve, incident.ProblemActionClose},
			cmd: incident.ProblemCommand{Action: incident.ProblemActionResolve}, want: incident.ErrConflict},
		{name: "ErrInvalidNoWorkaround", cmd: incident.ProblemCommand{Action: incident.ProblemActionKnownError, RootCause: "r"},
			want: incident.ErrInvalid},
		{name: "ErrInvalidAction", cmd: incident.ProblemCommand{Action: "reopen"}, want: incident.ErrInvalid},
		{name: "ErrNotFound", cmd: incident.ProblemCommand{ProblemID: 9, Action: incident.ProblemActionResolve}, want: incident.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := crossThreshold(t)
			at := time.Hour
			for _, a := range tt.setup {
				p.mustProblemCmd(at, incident.ProblemCommand{ProblemID: 1, Action: a, Workaround: "w"})
				at += time.Minute
			}
			before, _ := p.st.Problem(context.Background(), 1)
			cmd := tt.cmd
			if cmd.ProblemID == 0 {
				cmd.ProblemID = 1
			}
			_, err := p.problemCmd(at, cmd)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("ExecuteProblem = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				after, _ := p.st.Problem(context.Background(), 1)
				check(t, "a refused command changes nothing", before, after)
			}
		})
	}
}
