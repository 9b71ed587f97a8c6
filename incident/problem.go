package incident

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ProblemState is a problem's lifecycle state.
type ProblemState string

// The problem lifecycle: open → known_error → resolved → closed. open may
// also go straight to resolved, and a resolved problem reopens when a
// matching incident opens within its rule's reopen_within.
const (
	ProblemOpen       ProblemState = "open"
	ProblemKnownError ProblemState = "known_error"
	ProblemResolved   ProblemState = "resolved"
	ProblemClosed     ProblemState = "closed"
)

// ParseProblemState parses a problem state name.
func ParseProblemState(s string) (ProblemState, error) {
	switch st := ProblemState(s); st {
	case ProblemOpen, ProblemKnownError, ProblemResolved, ProblemClosed:
		return st, nil
	}
	return "", fmt.Errorf("state %q: want open, known_error, resolved or closed", s)
}

// Active reports whether new matching incidents link to a problem in this
// state (open or known_error).
func (s ProblemState) Active() bool { return s == ProblemOpen || s == ProblemKnownError }

// DefaultProblemReopenWithin is how long after a problem is resolved a
// matching incident reopens it when its rule does not say.
const DefaultProblemReopenWithin = 7 * 24 * time.Hour

// ProblemRule is one compiled entry of the rules' problems section: which
// incidents share a signature, and how many of them within Window open a
// problem.
type ProblemRule struct {
	// Name identifies the rule; it is unique within a rule set and the
	// first part of every signature it makes.
	Name string
	// Rule, when set, makes the signature "incidents opened by the
	// correlation rule Rule"; Labels is then empty.
	Rule string
	// Labels, when set, makes the signature the values of these labels on
	// the alert that opened the incident; an incident whose alert lacks
	// one of them does not match.
	Labels []string
	// Threshold is how many incidents with one signature within Window open
	// a problem; at least 2.
	Threshold int
	Window    time.Duration
	// ReopenWithin is how long after the problem was resolved a matching
	// incident reopens it; later, the threshold must be reached again.
	ReopenWithin time.Duration
	// ResolveWhenQuiet, when not 0, resolves an open problem once it has
	// been quiet that long: no linked incident opened, and none was still
	// active, within it. 0 leaves resolving to people.
	ResolveWhenQuiet time.Duration
	// ResolveKnownErrors lets ResolveWhenQuiet resolve known errors too;
	// without it a known error stays one however quiet, since its
	// workaround is still what a responder needs if it comes back.
	ResolveKnownErrors bool
	// CloseAfter, when not 0, closes a resolved problem that long after it
	// was resolved, by hand or by quiet.
	CloseAfter time.Duration
}

// Signature returns the signature of an incident opened by correlation rule
// rule with the first alert's labels, and whether it matches at all. A
// labels signature reads like disk-recurring{cluster="eu1"}, a rule
// signature like disk-recurring{rule="disk"}.
func (r ProblemRule) Signature(rule string, labels map[string]string) (string, bool) {
	if r.Rule != "" {
		if rule != r.Rule {
			return "", false
		}
		return r.Name + FormatLabels(map[string]string{"rule": rule}), true
	}
	if len(r.Labels) == 0 {
		return "", false
	}
	vals := make(map[string]string, len(r.Labels))
	for _, l := range r.Labels {
		v := labels[l]
		if v == "" {
			// Without the label every unrelated incident would share the
			// empty value and count towards one problem.
			return "", false
		}
		vals[l] = v
	}
	return r.Name + FormatLabels(vals), true
}

// Problem is the underlying cause of recurring incidents.
type Problem struct {
	ID int64
	// Name is the problem rule that opened it.
	Name      string
	Signature string
	State     ProblemState
	Title     string
	// RootCause and Workaround are set when it becomes a known error; the
	// workaround is attached to every new matching incident while it is one.
	RootCause  string
	Workaround string
	// FirstSeenAt and LastSeenAt are when its first and latest linked
	// incidents opened.
	FirstSeenAt   time.Time
	LastSeenAt    time.Time
	IncidentCount int
	OpenedAt      time.Time
	ResolvedAt    time.Time // zero unless resolved or closed
	ClosedAt      time.Time // zero unless closed
	UpdatedAt     time.Time
}

// ProblemFigures are what a problem's incidents add up to, computed when
// read.
type ProblemFigures struct {
	// Priority is the worst (highest) priority of its incidents: a problem
	// matters as much as its worst incident.
	Priority Priority
	// Downtime is the sum of its incidents' impact: from when each began
	// (ImpactStartedAt, else OpenedAt) to when it was resolved, or to now
	// while active. An incident merged into another counts in that one.
	Downtime time.Duration
}

// ProblemCount is how many problems of one problem rule are in one state,
// and how many incidents they hold.
type ProblemCount struct {
	Rule      string
	State     ProblemState
	Problems  int
	Incidents int
}

// ProblemEntry is one recorded change of a problem.
type ProblemEntry struct {
	ID        int64
	ProblemID int64
	At        time.Time
	Kind      ProblemEntryKind
	Actor     string // "system" or the authenticated identity who acted
	// OnBehalfOf is free text the acting identity gave, next to Actor.
	OnBehalfOf string
	Message    string
}

// ProblemEntryKind names what a problem's timeline entry records.
type ProblemEntryKind string

// The problem timeline kinds.
const (
	ProblemEntryOpened     ProblemEntryKind = "opened"
	ProblemEntryLinked     ProblemEntryKind = "incident_linked"
	ProblemEntryReopened   ProblemEntryKind = "reopened"
	ProblemEntryKnownError ProblemEntryKind = "known_error"
	ProblemEntryResolved   ProblemEntryKind = "resolved"
	ProblemEntryClosed     ProblemEntryKind = "closed"
)

// Incident timeline kinds of problem management.
const (
	// TimelineProblemLinked: the incident was linked to a problem.
	TimelineProblemLinked TimelineKind = "problem_linked"
	// TimelineWorkaround: the incident matches a known error; the message
	// is the workaround, for the responder to apply at once.
	TimelineWorkaround TimelineKind = "workaround"
)

// IncidentSignature records that an incident, when it opened, had a
// signature under a problem rule; problems count these.
type IncidentSignature struct {
	IncidentID  int64
	ProblemRule string
	Signature   string
	OpenedAt    time.Time
}

// ProblemFilter selects problems for listing.
type ProblemFilter struct {
	States []ProblemState
	// Signature, when set, selects the problems with this signature.
	Signature string
	Limit     int
	// AfterID continues a listing: only problems with a smaller ID
	// (listings are newest first).
	AfterID int64
}

// LinkProblems runs problem management for inc, which has just opened;
// labels are the labels of the alert that opened it. First inc carries the
// workaround of every known error of the rules that applies to it (see
// Problems.MatchKnownErrors). Then, for each problem rule
// that inc matches, in order, it records inc's signature, then links inc to
// the active problem with that signature, or reopens the one resolved
// within the rule's reopen_within, or opens a new problem once Threshold
// incidents with the signature, inc included, opened within Window. A new
// problem takes every unlinked incident it counted; it opens as a known
// error when the rules have one keyed by its signature, and an open problem
// it links to becomes one. An incident belongs to
// at most one problem: the first rule that links it wins, and incidents
// already linked do not count towards another problem. It returns inc with
// its ProblemID set (0 if none).
func LinkProblems(ctx context.Context, tx Tx, inc Incident, labels map[string]string, p Problems,
	now time.Time) (Incident, error) {
	carried, err := carryKnownErrors(ctx, tx, inc, labels, p, now)
	if err != nil {
		return inc, err
	}
	for _, r := range p.Rules {
		sig, ok := r.Signature(inc.Rule, labels)
		if !ok {
			continue
		}
		opened := inc.OpenedAt
		if opened.IsZero() {
			opened = now
		}
		if err := tx.AddIncidentSignature(ctx, IncidentSignature{IncidentID: inc.ID, ProblemRule: r.Name,
			Signature: sig, OpenedAt: opened}); err != nil {
			return inc, err
		}
		if inc.ProblemID != 0 {
			continue
		}
		ke, _ := p.KnownErrorFor(sig)
		l := link{inc: inc, rule: r, sig: sig, known: ke, carried: carried, opened: opened, now: now}
		id, err := l.run(ctx, tx)
		if err != nil {
			return inc, fmt.Errorf("problem rule %s: %w", r.Name, err)
		}
		inc.ProblemID = id
	}
	return inc, nil
}

// link is one problem rule applied to one opening incident.
type link struct {
	inc  Incident
	rule ProblemRule
	sig  string
	// known is the rules' known error keyed by sig; zero if none.
	known KnownError
	// carried are the workarounds inc already carries.
	carried     map[string]bool
	opened, now time.Time
}

// run applies the rule and returns the problem it linked inc to, 0 if none.
func (l *link) run(ctx context.Context, tx Tx) (int64, error) {
	inc, r, sig, opened, now := l.inc, l.rule, l.sig, l.opened, l.now
	pr, err := tx.ProblemBySignature(ctx, sig)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return 0, err
	case pr.State.Active():
		if err := l.learn(ctx, tx, &pr); err != nil {
			return 0, err
		}
		return pr.ID, l.attach(ctx, tx, &pr, inc, opened, "")
	case pr.State == ProblemResolved && !now.After(pr.ResolvedAt.Add(r.ReopenWithin)):
		ago := roundDuration(now.Sub(pr.ResolvedAt))
		pr.State, pr.ResolvedAt = ProblemOpen, time.Time{}
		msg := fmt.Sprintf("reopened by incident #%d, %s after it was resolved (reopen_within %s)", inc.ID, ago, r.ReopenWithin)
		if err := addProblemEntry(ctx, tx, pr.ID, now, ProblemEntryReopened, "system", msg); err != nil {
			return 0, err
		}
		if err := l.learn(ctx, tx, &pr); err != nil {
			return 0, err
		}
		return pr.ID, l.attach(ctx, tx, &pr, inc, opened, fmt.Sprintf(" (reopened: it was resolved %s ago)", ago))
	}

	sigs, err := tx.UnlinkedSignatures(ctx, sig, now.Add(-r.Window))
	if err != nil {
		return 0, err
	}
	if len(sigs) < r.Threshold {
		return 0, nil
	}
	pr = Problem{
		Name: r.Name, Signature: sig, State: ProblemOpen, Title: inc.Title,
		FirstSeenAt: sigs[0].OpenedAt, LastSeenAt: opened, OpenedAt: now, UpdatedAt: now,
	}
	if err := tx.CreateProblem(ctx, &pr); err != nil {
		return 0, err
	}
	msg := fmt.Sprintf("opened: %d incidents with signature %s within window %s (threshold %d)", len(sigs), sig, r.Window, r.Threshold)
	if err := addProblemEntry(ctx, tx, pr.ID, now, ProblemEntryOpened, "system", msg); err != nil {
		return 0, err
	}
	if err := l.learn(ctx, tx, &pr); err != nil {
		return 0, err
	}
	for _, s := range sigs {
		linked := inc
		if s.IncidentID != inc.ID {
			if linked, err = tx.Incident(ctx, s.IncidentID); err != nil {
				return 0, fmt.Errorf("incident %d of signature %s: %w", s.IncidentID, sig, err)
			}
		}
		note := fmt.Sprintf(" (%d incidents with this signature within %s)", len(sigs), r.Window)
		if err := l.attach(ctx, tx, &pr, linked, s.OpenedAt, note); err != nil {
			return 0, err
		}
	}
	return pr.ID, nil
}

// learn makes an open problem a known error when the rules have one keyed
// by its signature: the team wrote down its root cause and workaround, so
// the problem is known from the start (or from when the entry was added).
func (l *link) learn(ctx context.Context, tx Tx, pr *Problem) error {
	if l.known.Name == "" || pr.State != ProblemOpen {
		return nil
	}
	pr.State, pr.RootCause, pr.Workaround, pr.UpdatedAt = ProblemKnownError, l.known.RootCause, l.known.Workaround, l.now
	if err := tx.UpdateProblem(ctx, *pr); err != nil {
		return err
	}
	msg := fmt.Sprintf("known error %s of the rule files: root cause: %s; workaround: %s", l.known.Name,
		orNone(l.known.RootCause), l.known.Workaround)
	if l.known.RunbookURL != "" {
		msg += "; runbook: " + l.known.RunbookURL
	}
	if err := addProblemEntry(ctx, tx, pr.ID, l.now, ProblemEntryKnownError, "system", msg); err != nil {
		return err
	}
	// As when a person records it: the incidents still open, which opened
	// before the rule files knew it, hear of it now.
	active, err := tx.ActiveProblemIncidents(ctx, pr.ID)
	if err != nil {
		return err
	}
	for _, inc := range active {
		if err := addTimeline(ctx, tx, inc.ID, l.now, TimelineWorkaround, "", l.known.Entry()); err != nil {
			return err
		}
	}
	return nil
}

// attach links inc to pr, records it on both timelines and, when pr is a
// known error, puts the workaround on the incident's timeline, unless the
// opening incident already carries it from the rules' known errors.
func (l *link) attach(ctx context.Context, tx Tx, pr *Problem, inc Incident, opened time.Time, note string) error {
	now := l.now
	if err := tx.SetIncidentProblem(ctx, inc.ID, pr.ID); err != nil {
		return err
	}
	pr.IncidentCount++
	if opened.After(pr.LastSeenAt) {
		pr.LastSeenAt = opened
	}
	if pr.FirstSeenAt.IsZero() || opened.Before(pr.FirstSeenAt) {
		pr.FirstSeenAt = opened
	}
	pr.UpdatedAt = now
	if err := tx.UpdateProblem(ctx, *pr); err != nil {
		return err
	}
	msg := fmt.Sprintf("linked to problem #%d %s [%s]%s", pr.ID, pr.Signature, pr.State, note)
	if err := addTimeline(ctx, tx, inc.ID, now, TimelineProblemLinked, "", msg); err != nil {
		return err
	}
	carried, err := l.carries(ctx, tx, pr, inc)
	if err != nil {
		return err
	}
	if pr.State == ProblemKnownError && pr.Workaround != "" && !carried {
		if err := addTimeline(ctx, tx, inc.ID, now, TimelineWorkaround, "", pr.Workaround); err != nil {
			return err
		}
	}
	return addProblemEntry(ctx, tx, pr.ID, now, ProblemEntryLinked, "system",
		fmt.Sprintf("incident #%d linked: %s", inc.ID, inc.Title))
}

// carries reports whether inc already carries pr's workaround. The opening
// incident knows what it was given; an earlier incident that a new problem
// takes was given the rules' known error keyed by the signature when it
// opened, if the entry existed then: it carries a workaround entry.
func (l *link) carries(ctx context.Context, tx Tx, pr *Problem, inc Incident) (bool, error) {
	if inc.ID == l.inc.ID {
		return l.carried[pr.Workaround], nil
	}
	if l.known.Name == "" || pr.Workaround != l.known.Workaround {
		return false, nil
	}
	n, err := tx.CountTimeline(ctx, inc.ID, TimelineWorkaround, time.Time{})
	return n > 0, err
}

// ProblemAction is a change of a problem a person asks for.
type ProblemAction string

// The manual problem actions.
const (
	// ProblemActionKnownError records the root cause and workaround of an
	// open problem; new matching incidents carry the workaround.
	ProblemActionKnownError ProblemAction = "known_error"
	// ProblemActionResolve resolves an open problem or known error.
	ProblemActionResolve ProblemAction = "resolve"
	// ProblemActionClose closes a resolved problem for good.
	ProblemActionClose ProblemAction = "close"
)

// ProblemCommand is one manual action on one problem.
type ProblemCommand struct {
	ProblemID int64
	Action    ProblemAction
	// Actor is the authenticated identity; OnBehalfOf is free text it gave
	// (a body's "actor"), recorded next to it.
	Actor      string
	OnBehalfOf string
	Message    string
	RootCause  string
	Workaround string
}

// ExecuteProblem carries out a manual problem command in tx. It returns
// ErrNotFound for an unknown problem, ErrConflict for a transition the
// problem lifecycle does not allow, and ErrInvalid for a known error
// without a workaround.
func ExecuteProblem(ctx context.Context, tx Tx, c ProblemCommand, now time.Time) (Problem, error) {
	pr, err := tx.Problem(ctx, c.ProblemID)
	if err != nil {
		return pr, err
	}
	actor := strings.TrimSpace(c.Actor)
	if actor == "" {
		actor = "anonymous"
	}
	var kind ProblemEntryKind
	var msg string
	switch c.Action {
	case ProblemActionKnownError:
		if pr.State != ProblemOpen {
			return pr, fmt.Errorf("known-error problem %d in state %s: %w", pr.ID, pr.State, ErrConflict)
		}
		if strings.TrimSpace(c.Workaround) == "" {
			return pr, fmt.Errorf("known-error problem %d: empty workaround: %w", pr.ID, ErrInvalid)
		}
		pr.State, pr.RootCause, pr.Workaround, kind = ProblemKnownError, c.RootCause, c.Workaround, ProblemEntryKnownError
		msg = joinNote("root cause: "+orNone(c.RootCause)+"; workaround: "+c.Workaround, c.Message)
	case ProblemActionResolve:
		if !pr.State.Active() {
			return pr, fmt.Errorf("resolve problem %d in state %s: %w", pr.ID, pr.State, ErrConflict)
		}
		pr.State, pr.ResolvedAt, kind = ProblemResolved, now, ProblemEntryResolved
		msg = joinNote("resolved by hand", c.Message)
	case ProblemActionClose:
		if pr.State != ProblemResolved {
			return pr, fmt.Errorf("close problem %d in state %s: %w", pr.ID, pr.State, ErrConflict)
		}
		pr.State, pr.ClosedAt, kind = ProblemClosed, now, ProblemEntryClosed
		msg = joinNote("closed", c.Message)
	default:
		return pr, fmt.Errorf("unknown problem action %q: %w", c.Action, ErrInvalid)
	}
	pr.UpdatedAt = now
	if err := tx.UpdateProblem(ctx, pr); err != nil {
		return pr, err
	}
	if c.Action == ProblemActionKnownError {
		// The workaround reaches the responders of the incidents still
		// open, not only those of the incidents to come.
		active, err := tx.ActiveProblemIncidents(ctx, pr.ID)
		if err != nil {
			return pr, err
		}
		for _, inc := range active {
			if err := addTimeline(ctx, tx, inc.ID, now, TimelineWorkaround, "", pr.Workaround); err != nil {
				return pr, err
			}
		}
	}
	return pr, tx.AddProblemEntry(ctx, &ProblemEntry{ProblemID: pr.ID, At: now, Kind: kind, Actor: actor,
		OnBehalfOf: strings.TrimSpace(c.OnBehalfOf), Message: msg})
}

func joinNote(msg, note string) string {
	if strings.TrimSpace(note) == "" {
		return msg
	}
	return msg + ": " + note
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none given)"
	}
	return s
}

func addProblemEntry(ctx context.Context, tx Tx, id int64, at time.Time, kind ProblemEntryKind, actor, msg string) error {
	return tx.AddProblemEntry(ctx, &ProblemEntry{ProblemID: id, At: at, Kind: kind, Actor: actor, Message: msg})
}
