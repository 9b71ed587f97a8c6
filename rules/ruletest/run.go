package ruletest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// Engine runs a test's events through the pipeline on a simulated clock,
// starting empty: the binary implements it with a pipeline.Replayer over a
// temporary store. Times never go back.
type Engine interface {
	// Submit advances the clock to at and applies events as one batch.
	Submit(ctx context.Context, at time.Time, events []incident.Event) error
	// Advance moves the clock to at and carries out what fell due
	// meanwhile (resolve_after).
	Advance(ctx context.Context, at time.Time) error
	// Execute advances the clock to at and carries out a manual command.
	// It returns incident.ErrConflict for a change the incident's state
	// does not allow and incident.ErrNotFound for an unknown incident.
	Execute(ctx context.Context, at time.Time, cmd incident.Command) (incident.Incident, error)
	// Incidents returns every incident not merged into another (a merged
	// one lives on in the incident it went into), oldest first.
	Incidents(ctx context.Context) ([]incident.Incident, error)
	// Problems returns every problem, oldest first.
	Problems(ctx context.Context) ([]incident.Problem, error)
	// Timeline returns an incident's timeline, oldest first.
	Timeline(ctx context.Context, incidentID int64) ([]incident.TimelineEntry, error)
}

// Result is the outcome of one test.
type Result struct {
	Test *Test
	// Failures are the checkpoints (and actions) that went wrong, in time
	// order; none when the test passed.
	Failures []Failure
}

// Passed reports whether the test passed.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Failure is what went wrong at one point of a test: the problems, and the
// actual incidents at that point, so that a rule author sees what happened.
type Failure struct {
	// When says where in the test, e.g. "after step 3 (at 10m)".
	When      string
	Problems  []Problem
	Incidents []incident.Incident
	// ListsProblems says the checkpoint that failed lists problems;
	// ProblemRecords are then the actual problems.
	ListsProblems  bool
	ProblemRecords []incident.Problem
}

// Run runs the test's steps on e, which must be fresh, and checks every
// expectation. A broken expectation or a refused manual action is a failure
// in the Result, and the run goes on; an error from e (a store failure)
// ends the run and is returned.
func (t *Test) Run(ctx context.Context, e Engine) (*Result, error) {
	res := &Result{Test: t}
	start := t.file.Start
	for _, s := range t.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err // cancelled (Ctrl-C): the caller stops the run
		}
		at := start.Add(s.At)
		var err error
		if len(s.Events) > 0 {
			err = e.Submit(ctx, at, s.Events)
		} else {
			err = e.Advance(ctx, at)
		}
		if err != nil {
			return nil, fmt.Errorf("test %q: step %d (at %s): %w", t.Name, s.Index, formatOffset(s.At), err)
		}
		for _, a := range s.Actions {
			if err := t.act(ctx, e, s, a, res); err != nil {
				return nil, err
			}
		}
		if s.Expect != nil {
			if err := t.check(ctx, e, s.Expect, fmt.Sprintf("after step %d (at %s)", s.Index, formatOffset(s.At)), res); err != nil {
				return nil, err
			}
		}
	}
	if t.Expect != nil {
		if err := t.check(ctx, e, t.Expect, fmt.Sprintf("at the end (at %s)", formatOffset(t.End())), res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (t *Test) check(ctx context.Context, e Engine, exp *Expect, when string, res *Result) error {
	a, err := actual(ctx, e)
	if err != nil {
		return fmt.Errorf("test %q: %s: %w", t.Name, when, err)
	}
	if problems := exp.Check(a, t.file.Start); len(problems) > 0 {
		f := Failure{When: when, Problems: problems, Incidents: a.Incidents}
		if exp.ListsProblems() {
			f.ListsProblems, f.ProblemRecords = true, a.Problems
		}
		res.Failures = append(res.Failures, f)
	}
	return nil
}

// actual reads what a checkpoint compares from e.
func actual(ctx context.Context, e Engine) (*Actual, error) {
	incs, err := e.Incidents(ctx)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	prs, err := e.Problems(ctx)
	if err != nil {
		return nil, fmt.Errorf("list problems: %w", err)
	}
	a := &Actual{Incidents: incs, Problems: prs, Workarounds: make(map[int64]string),
		Timelines: make(map[int64][]incident.TimelineEntry, len(incs))}
	for _, inc := range incs {
		tl, err := e.Timeline(ctx, inc.ID)
		if err != nil {
			return nil, fmt.Errorf("incident %d: timeline: %w", inc.ID, err)
		}
		a.Timelines[inc.ID] = tl
		for _, en := range tl {
			if en.Kind == incident.TimelineWorkaround {
				a.Workarounds[inc.ID] = en.Message
			}
		}
	}
	return a, nil
}

// act carries out a manual action. An action the test cannot carry out (no
// such incident, or one whose state refuses it) is a failure.
func (t *Test) act(ctx context.Context, e Engine, s *Step, a *Action, res *Result) error {
	when := fmt.Sprintf("at step %d (at %s)", s.Index, formatOffset(s.At))
	list, err := e.Incidents(ctx)
	if err != nil {
		return fmt.Errorf("test %q: %s: list incidents: %w", t.Name, when, err)
	}
	fail := func(format string, args ...any) {
		res.Failures = append(res.Failures, Failure{When: when,
			Problems: []Problem{{Pos: a.Pos, Msg: string(a.Kind) + ": " + fmt.Sprintf(format, args...)}}, Incidents: list})
	}
	n := a.Incident
	if a.Key != "" {
		for i := range list {
			if KeyMatches(a.Key, list[i].CorrelationKey) {
				n = i + 1 // the newest one wins, as the store's owner lookup
			}
		}
		if n == 0 {
			fail("no incident has key %s", a.Key)
			return nil
		}
	}
	if n > len(list) {
		fail("incident %d: there are %d incidents", n, len(list))
		return nil
	}
	_, err = e.Execute(ctx, t.file.Start.Add(s.At), incident.Command{IncidentID: list[n-1].ID, Action: a.Kind, Actor: a.Actor})
	switch {
	case errors.Is(err, incident.ErrConflict), errors.Is(err, incident.ErrNotFound), errors.Is(err, incident.ErrInvalid):
		fail("incident %d: %v", n, err)
	case err != nil:
		return fmt.Errorf("test %q: %s: %s incident %d: %w", t.Name, when, a.Kind, n, err)
	}
	return nil
}

// Write renders a failed test's problems and the actual incidents at each
// failure, indented under a FAIL line that the caller prints:
//
//	rules_test.yml:14:9: test "three disks": after step 3 (at 10m): incident 1: state: want resolved, got open
//	incidents after step 3 (at 10m), oldest first:
//	  1. open P2 rule="disk" key=rule/disk@e17c8802{cluster="a"} alerts=3 firing=3
//	     title="..." opened_at=0s
func (r *Result) Write(w io.Writer, indent string) {
	start := r.Test.file.Start
	for _, f := range r.Failures {
		for _, p := range f.Problems {
			fmt.Fprintf(w, "%s%s\n", indent, yamlfile.Error{Pos: p.Pos,
				Msg: "test " + strconv.Quote(r.Test.Name) + ": " + f.When + ": " + p.Msg})
		}
		fmt.Fprintf(w, "%sincidents %s, oldest first:\n", indent, f.When)
		WriteIncidents(w, f.Incidents, start, indent+"  ")
		if f.ListsProblems {
			fmt.Fprintf(w, "%sproblems %s, oldest first:\n", indent, f.When)
			WriteProblems(w, f.ProblemRecords, start, indent+"  ")
		}
	}
}
