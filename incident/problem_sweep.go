package incident

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SweepProblems carries out what the problem rules make due at now: it
// resolves the problems that have been quiet for their rule's
// resolve_when_quiet (open ones, and known errors only when the rule says
// resolve_known_errors), then closes the resolved problems whose rule's
// close_after has passed since they were resolved. Each change is an entry
// on the problem's timeline saying why. Problems of a rule that is no
// longer in rules are left as they are. It returns the problems it
// changed, in the order it changed them.
func SweepProblems(ctx context.Context, tx Tx, rules []ProblemRule, now time.Time) ([]Problem, error) {
	var changed []Problem
	for _, r := range rules {
		if r.ResolveWhenQuiet > 0 {
			states := []ProblemState{ProblemOpen}
			if r.ResolveKnownErrors {
				states = append(states, ProblemKnownError)
			}
			quiet, err := tx.QuietProblems(ctx, r.Name, states, now.Add(-r.ResolveWhenQuiet))
			if err != nil {
				return nil, fmt.Errorf("problem rule %s: %w", r.Name, err)
			}
			for _, pr := range quiet {
				msg := fmt.Sprintf("resolved: quiet for resolve_when_quiet %s (last incident opened %s, none active since)",
					RuleDuration(r.ResolveWhenQuiet), pr.LastSeenAt.UTC().Format(time.RFC3339))
				if pr.State == ProblemKnownError {
					msg += "; a known error, resolved because of resolve_known_errors"
				}
				pr.State, pr.ResolvedAt, pr.UpdatedAt = ProblemResolved, now, now
				if err := tx.UpdateProblem(ctx, pr); err != nil {
					return nil, err
				}
				if err := addProblemEntry(ctx, tx, pr.ID, now, ProblemEntryResolved, "system", msg); err != nil {
					return nil, err
				}
				changed = append(changed, pr)
			}
		}
		if r.CloseAfter > 0 {
			due, err := tx.ResolvedProblems(ctx, r.Name, now.Add(-r.CloseAfter))
			if err != nil {
				return nil, fmt.Errorf("problem rule %s: %w", r.Name, err)
			}
			for _, pr := range due {
				msg := fmt.Sprintf("closed: resolved %s ago, close_after %s", RuleDuration(now.Sub(pr.ResolvedAt)), RuleDuration(r.CloseAfter))
				pr.State, pr.ClosedAt, pr.UpdatedAt = ProblemClosed, now, now
				if err := tx.UpdateProblem(ctx, pr); err != nil {
					return nil, err
				}
				if err := addProblemEntry(ctx, tx, pr.ID, now, ProblemEntryClosed, "system", msg); err != nil {
					return nil, err
				}
				changed = append(changed, pr)
			}
		}
	}
	return changed, nil
}

// RuleDuration renders d as a rule file would write it, in days, hours,
// minutes and seconds: 14d, 1d12h, 90s is 1m30s. Messages quote rule
// durations this way so that they read as their rule does (time.Duration
// would say 336h0m0s).
func RuleDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.unit)
			d -= n * u.d
		}
	}
	if b.Len() == 0 || (b.Len() == 1 && b.String() == "-") {
		return d.String()
	}
	return b.String()
}
