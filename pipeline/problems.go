package pipeline

import (
	"context"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
)

// ExecuteProblem carries out a manual problem command (known error,
// resolve, close) through the single writer and returns the problem after
// it. It returns incident.ErrNotFound, incident.ErrConflict and
// incident.ErrInvalid from the domain.
func (p *Pipeline) ExecuteProblem(ctx context.Context, cmd incident.ProblemCommand) (incident.Problem, error) {
	r := &request{ctx: ctx, problemCmd: &cmd, err: make(chan error, 1)}
	err := p.do(ctx, r)
	return r.problem, err
}

// ExecuteProblem advances to at and carries out a manual problem command.
func (r *Replayer) ExecuteProblem(ctx context.Context, at time.Time, cmd incident.ProblemCommand) (incident.Problem, error) {
	if err := r.Advance(ctx, at); err != nil {
		return incident.Problem{}, err
	}
	return r.p.ExecuteProblem(ctx, cmd)
}

func (p *Pipeline) executeProblem(ctx context.Context, tx incident.Tx, r *request, now time.Time) error {
	pr, err := incident.ExecuteProblem(ctx, tx, *r.problemCmd, now)
	if err != nil {
		return err
	}
	r.problem = pr
	return nil
}

// linkProblems runs the set's problem rules and known errors for inc, which
// has just opened on an alert with labels, and sets inc.ProblemID to the
// problem it joined.
func linkProblems(ctx context.Context, tx incident.Tx, set *rules.Set, inc *incident.Incident, labels map[string]string,
	now time.Time) error {
	prs := set.Problems()
	if prs.Empty() {
		return nil
	}
	linked, err := incident.LinkProblems(ctx, tx, *inc, labels, prs, now)
	if err != nil {
		return err
	}
	inc.ProblemID = linked.ProblemID
	return nil
}
