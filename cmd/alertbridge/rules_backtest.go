package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/rules"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

const rulesBacktestUsage = `usage: alertbridge rules backtest --rules FILE [--rules FILE]... [--current FILE]...
                                 [--storage.path DIR] [--since 7d] [--until TIME]

Replay the events a daemon stored (new, refired, resolved and stale alerts;
repeats are not stored) against candidate rules and against the current
ones, each into its own temporary store, and print the outcomes side by
side: incidents opened, alerts per incident, noise reduction, dropped
alerts, the problems each problem rule opens and the incidents they link,
and the correlation keys that only one of the rule sets makes.

The daemon's database is opened read-only: a backtest never changes it and
can run next to the daemon. Alerts that fired before --since are unknown to
the replay, so their resolves in the range change nothing. On a terminal, a
run longer than a second shows its progress on stderr. Ctrl-C stops it
(exit status 130).

flags:
`

// topKeys is how many differing keys each side lists.
const topKeys = 20

func runRulesBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("rules backtest", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var newFiles, curFiles stringsFlag
	flags.Var(&newFiles, "rules", "candidate rule file or glob (repeatable; required)")
	flags.Var(&curFiles, "current", "current rule file or glob (repeatable); none: the built-in defaults")
	storagePath := flags.String("storage.path", "./data", "the daemon's storage directory")
	sinceFlag := flags.String("since", "7d", "replay events received since this long before --until (a duration), or since an RFC 3339 time")
	untilFlag := flags.String("until", "", "replay events received before this RFC 3339 time (default: now)")
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), rulesBacktestUsage)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "alertbridge rules backtest: "+format+"\n\n", args...)
		flags.Usage()
		return 2
	}
	switch {
	case flags.NArg() > 0:
		return usageErr("unexpected argument %q", flags.Arg(0))
	case len(newFiles) == 0:
		return usageErr("no --rules given")
	}
	until := time.Now().UTC()
	if *untilFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *untilFlag)
		if err != nil {
			return usageErr("--until: %q is not an RFC 3339 time such as 2026-01-01T00:00:00Z", *untilFlag)
		}
		until = t.UTC()
	}
	var since time.Time
	if d, err := model.ParseDuration(*sinceFlag); err == nil {
		since = until.Add(-time.Duration(d))
	} else if t, err := time.Parse(time.RFC3339Nano, *sinceFlag); err == nil {
		since = t.UTC()
	} else {
		return usageErr("--since: %q is neither a duration such as 7d nor an RFC 3339 time", *sinceFlag)
	}
	if !since.Before(until) {
		return usageErr("--since %s is not before --until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}

	newSet, err := rules.LoadFiles(newFiles)
	if err != nil {
		writeErrors(stderr, err)
		return 1
	}
	var curSet *rules.Set
	if len(curFiles) > 0 {
		if curSet, err = rules.LoadFiles(curFiles); err != nil {
			writeErrors(stderr, err)
			return 1
		}
	}
	path := filepath.Join(*storagePath, sqlite.FileName)
	db, err := sqlite.OpenReadOnly(ctx, path)
	if err != nil {
		return backtestFailed(ctx, stderr, err)
	}
	defer db.Close()

	total, err := db.CountEvents(ctx, since, until)
	if err != nil {
		return backtestFailed(ctx, stderr, err)
	}
	fmt.Fprintf(stdout, "backtest of %s (read-only): %d events received from %s to %s\n",
		path, total, since.Format(time.RFC3339), until.Format(time.RFC3339))
	if len(curFiles) == 0 {
		fmt.Fprintln(stdout, "current: the built-in defaults (no --current given)")
	} else {
		fmt.Fprintf(stdout, "current: %s\n", strings.Join(curSet.Files(), ", "))
	}
	fmt.Fprintf(stdout, "new:     %s\n\n", strings.Join(newSet.Files(), ", "))

	sides := []*backtestSide{{name: "current", set: curSet}, {name: "new", set: newSet}}
	prog := newProgress(stderr, "events replayed", total)
	n, err := backtest(ctx, db, since, until, sides, prog)
	prog.finish()
	if err != nil && ctx.Err() != nil {
		fmt.Fprintf(stderr, "alertbridge rules backtest: interrupted after %d of %d events\n", prog.done, total)
		return exitInterrupted
	}
	if err != nil {
		return backtestFailed(ctx, stderr, err)
	}
	writeBacktest(stdout, n, sides[0], sides[1])
	return 0
}

// backtestFailed reports why a backtest stopped and returns its exit status.
func backtestFailed(ctx context.Context, stderr io.Writer, err error) int {
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "alertbridge rules backtest: interrupted")
		return exitInterrupted
	}
	fmt.Fprintf(stderr, "alertbridge rules backtest: %v\n", err)
	return 1
}

// backtestInput counts what was replayed.
type backtestInput struct {
	events int // all events replayed
	firing int // of them, firing ones (new or refired when first received)
}

// backtestSide is one rule set's replay and what came of it.
type backtestSide struct {
	name string
	set  *rules.Set // nil: the built-in defaults

	opened, stillOpen, neverOpened int
	alertsSum, alertsMax           int
	dropped                        int
	// keys counts the distinct alerts that joined an incident, per key.
	keys map[string]int
	// problems are the problems each problem rule of the set opened, and
	// the incidents they linked, by rule name; every rule of the set has
	// an entry.
	problems map[string]*problemOutcome
}

// problemOutcome is what one problem rule did in a replay.
type problemOutcome struct{ opened, linked int }

// backtest replays the events received in [since, until) into a fresh
// replay store per side, in received order, a batch per receive time, then
// advances each clock to until (so that due resolves happen) and gathers the
// outcome.
func backtest(ctx context.Context, db *sqlite.Store, since, until time.Time, sides []*backtestSide, prog *progress) (backtestInput, error) {
	var in backtestInput
	replays := make([]*replay, len(sides))
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, r := range replays {
			if r != nil {
				r.Close(closeCtx) //nolint:errcheck // a temporary store
			}
		}
	}()
	discard := slog.New(slog.DiscardHandler)
	for i, s := range sides {
		var err error
		if replays[i], err = openReplay(ctx, s.set, since, discard); err != nil {
			return in, err
		}
	}

	var batch []incident.Event
	var batchAt time.Time
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		for i, r := range replays {
			if err := r.Submit(ctx, batchAt, batch); err != nil {
				return fmt.Errorf("replay %s rules at %s: %w", sides[i].name, batchAt.Format(time.RFC3339Nano), err)
			}
		}
		batch = nil
		return nil
	}
	err := db.Events(ctx, since, until, func(rec incident.EventRecord) error {
		if err := ctx.Err(); err != nil {
			return err // Ctrl-C: stop reading, whatever the replay would do
		}
		prog.add(1)
		if !rec.ReceivedAt.Equal(batchAt) {
			if err := flush(); err != nil {
				return err
			}
			batchAt = rec.ReceivedAt
		}
		batch = append(batch, rec.Event())
		in.events++
		if rec.Status == incident.StatusFiring {
			in.firing++
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return in, err
	}
	for i, r := range replays {
		if err := ctx.Err(); err != nil {
			return in, err
		}
		if err := r.Advance(ctx, until); err != nil {
			return in, err
		}
		if err := sides[i].gather(ctx, r); err != nil {
			return in, err
		}
	}
	return in, nil
}

// gather reads a side's outcome from its replay store.
func (s *backtestSide) gather(ctx context.Context, r *replay) error {
	list, err := allIncidents(ctx, r.st)
	if err != nil {
		return err
	}
	for _, inc := range list {
		if inc.OpenedAt.IsZero() {
			s.neverOpened++
			continue
		}
		s.opened++
		if inc.State.Active() {
			s.stillOpen++
		}
		s.alertsSum += inc.AlertCount
		s.alertsMax = max(s.alertsMax, inc.AlertCount)
	}
	drop := make(map[string]bool)
	for _, rule := range s.set.Rules() {
		drop[rule.Name] = rule.Drop
	}
	// An alert is its source and fingerprint together.
	type alertID struct{ source, fingerprint string }
	fps := make(map[string]map[alertID]bool)
	err = r.st.Events(ctx, time.Time{}, time.Time{}, func(rec incident.EventRecord) error {
		firing := rec.Transition == incident.TransitionNew || rec.Transition == incident.TransitionRefired
		if firing && drop[rec.Rule] {
			s.dropped++
		}
		if rec.IncidentID != 0 {
			if fps[rec.Key] == nil {
				fps[rec.Key] = make(map[alertID]bool)
			}
			fps[rec.Key][alertID{rec.Source, rec.Fingerprint}] = true
		}
		return nil
	})
	s.keys = make(map[string]int, len(fps))
	for k, m := range fps {
		s.keys[k] = len(m)
	}
	if err != nil {
		return err
	}
	return s.gatherProblems(ctx, r)
}

// gatherProblems counts, per problem rule of the set, the problems the
// replay opened and the incidents linked to them.
func (s *backtestSide) gatherProblems(ctx context.Context, r *replay) error {
	s.problems = make(map[string]*problemOutcome)
	for _, pr := range s.set.ProblemRules() {
		s.problems[pr.Name] = &problemOutcome{}
	}
	list, err := r.Problems(ctx)
	if err != nil {
		return err
	}
	for _, pr := range list {
		o := s.problems[pr.Name]
		if o == nil { // opened by hand: not in a replay, but count it apart
			o = &problemOutcome{}
			s.problems[pr.Name] = o
		}
		o.opened++
		o.linked += pr.IncidentCount
	}
	return nil
}

func writeBacktest(w io.Writer, in backtestInput, cur, cand *backtestSide) {
	row := func(label, a, b string) { fmt.Fprintf(w, "%-46s %12s %12s\n", label, a, b) }
	num := func(label string, f func(*backtestSide) int) {
		row(label, fmt.Sprint(f(cur)), fmt.Sprint(f(cand)))
	}
	ratio := func(s *backtestSide, f func(*backtestSide) string) string {
		if s.opened == 0 {
			return "-"
		}
		return f(s)
	}
	row("", "current", "new")
	row("events replayed", fmt.Sprint(in.events), fmt.Sprint(in.events))
	row("  of them firing", fmt.Sprint(in.firing), fmt.Sprint(in.firing))
	num("firing events dropped by a drop rule", func(s *backtestSide) int { return s.dropped })
	num("incidents opened", func(s *backtestSide) int { return s.opened })
	num("  still open at the end", func(s *backtestSide) int { return s.stillOpen })
	num("pending incidents never opened (min_alerts)", func(s *backtestSide) int { return s.neverOpened })
	mean := func(s *backtestSide) string { return fmt.Sprintf("%.1f", float64(s.alertsSum)/float64(s.opened)) }
	maxAlerts := func(s *backtestSide) string { return fmt.Sprint(s.alertsMax) }
	row("alerts per opened incident, mean", ratio(cur, mean), ratio(cand, mean))
	row("alerts per opened incident, max", ratio(cur, maxAlerts), ratio(cand, maxAlerts))
	perIncident := func(s *backtestSide) string { return fmt.Sprintf("%.1f", float64(in.firing)/float64(s.opened)) }
	row("firing events per incident opened", ratio(cur, perIncident), ratio(cand, perIncident))
	reduction := func(s *backtestSide) string {
		if in.firing == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*(1-float64(s.opened)/float64(in.firing)))
	}
	row("noise reduction (1 - incidents/firing events)", reduction(cur), reduction(cand))
	writeProblemRules(w, row, cur, cand)

	writeKeys(w, "current", cur.keys, cand.keys)
	writeKeys(w, "new", cand.keys, cur.keys)
}

// writeProblemRules lists, per problem rule of either side (the current
// side's first, in their order), how many problems it opened and how many
// incidents they linked; "-" where a side has no such rule. Nothing when
// neither side has problem rules.
func writeProblemRules(w io.Writer, row func(label, a, b string), cur, cand *backtestSide) {
	var names []string
	for _, s := range []*backtestSide{cur, cand} {
		for _, pr := range s.set.ProblemRules() {
			if !slices.Contains(names, pr.Name) {
				names = append(names, pr.Name)
			}
		}
	}
	if len(names) == 0 {
		return
	}
	fmt.Fprintln(w)
	row("problems per problem rule", "current", "new")
	cell := func(s *backtestSide, name string, f func(*problemOutcome) int) string {
		if o := s.problems[name]; o != nil {
			return fmt.Sprint(f(o))
		}
		return "-"
	}
	for _, name := range names {
		fmt.Fprintln(w, name)
		opened := func(o *problemOutcome) int { return o.opened }
		linked := func(o *problemOutcome) int { return o.linked }
		row("  problems opened", cell(cur, name, opened), cell(cand, name, opened))
		row("  incidents linked", cell(cur, name, linked), cell(cand, name, linked))
	}
}

// writeKeys lists the keys of one side that the other does not make, the
// most alerts first.
func writeKeys(w io.Writer, name string, mine, theirs map[string]int) {
	type kc struct {
		key    string
		alerts int
	}
	var only []kc
	for k, n := range mine {
		if _, ok := theirs[k]; !ok {
			only = append(only, kc{k, n})
		}
	}
	slices.SortFunc(only, func(a, b kc) int {
		return cmp.Or(cmp.Compare(b.alerts, a.alerts), strings.Compare(a.key, b.key))
	})
	fmt.Fprintf(w, "\nkeys only under %s: %d", name, len(only))
	if len(only) == 0 {
		fmt.Fprintln(w)
		return
	}
	if len(only) > topKeys {
		fmt.Fprintf(w, " (the %d with the most alerts)", topKeys)
		only = only[:topKeys]
	}
	fmt.Fprintf(w, "\n%8s  %s\n", "alerts", "key")
	for _, e := range only {
		fmt.Fprintf(w, "%8d  %s\n", e.alerts, e.key)
	}
}
