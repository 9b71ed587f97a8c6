package incident

import (
	"context"
	"strings"
	"time"
)

// KnownError is one entry of the rules' known_errors section: knowledge a
// team keeps in Git next to its rules, so that every matching incident
// carries the workaround from its first occurrence.
type KnownError struct {
	// Name identifies the entry; it is unique within a rule set.
	Name string
	// Signature, when set, makes the entry apply to the incidents with
	// this problem signature, in the form ProblemRule.Signature returns,
	// and to the problem of that signature, which opens as a known error.
	Signature string
	// Matches, when Signature is empty, says whether the entry applies to
	// an incident opened by an alert with these labels: the entry's
	// matchers, which the rules own.
	Matches    func(labels map[string]string) bool
	RootCause  string
	Workaround string
	// RunbookURL is a link to the runbook; optional.
	RunbookURL string
}

// Entry returns the text of the workaround entry an incident gets: the
// workaround, then which known error it comes from, its root cause and its
// runbook, so that a responder has all of it in one place.
func (k KnownError) Entry() string {
	more := []string{"known error " + k.Name}
	if k.RootCause != "" {
		more = append(more, "root cause: "+k.RootCause)
	}
	if k.RunbookURL != "" {
		more = append(more, "runbook: "+k.RunbookURL)
	}
	return k.Workaround + " (" + strings.Join(more, "; ") + ")"
}

// Problems is what problem management runs on: the problem rules and the
// known errors, both in rule file order.
type Problems struct {
	Rules       []ProblemRule
	KnownErrors []KnownError
}

// Empty reports whether there is nothing to do for an opening incident.
func (p Problems) Empty() bool { return len(p.Rules) == 0 && len(p.KnownErrors) == 0 }

// KnownErrorFor returns the known error keyed by signature, if any.
func (p Problems) KnownErrorFor(signature string) (KnownError, bool) {
	for _, k := range p.KnownErrors {
		if k.Signature != "" && k.Signature == signature {
			return k, true
		}
	}
	return KnownError{}, false
}

// MatchKnownErrors returns the known errors that apply to an incident
// opened by correlation rule rule on an alert with labels, in file order:
// those keyed by a signature the incident has under one of the problem
// rules, and those whose matchers match labels.
func (p Problems) MatchKnownErrors(rule string, labels map[string]string) []KnownError {
	sigs := make(map[string]bool)
	for _, r := range p.Rules {
		if sig, ok := r.Signature(rule, labels); ok {
			sigs[sig] = true
		}
	}
	var out []KnownError
	for _, k := range p.KnownErrors {
		switch {
		case k.Signature != "":
			if sigs[k.Signature] {
				out = append(out, k)
			}
		case k.Matches != nil && k.Matches(labels):
			out = append(out, k)
		}
	}
	return out
}

// carryKnownErrors puts the workaround of every known error that applies
// to inc on its timeline, and returns the workarounds it carries now, so
// that linking it to a known-error problem with the same workaround does
// not repeat it.
func carryKnownErrors(ctx context.Context, tx Tx, inc Incident, labels map[string]string, p Problems,
	now time.Time) (map[string]bool, error) {
	carried := make(map[string]bool)
	for _, k := range p.MatchKnownErrors(inc.Rule, labels) {
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineWorkaround, "", k.Entry()); err != nil {
			return nil, err
		}
		carried[k.Workaround] = true
	}
	return carried, nil
}
