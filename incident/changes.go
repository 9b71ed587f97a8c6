package incident

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// DefaultChangeLookback is how long before an incident's first alert a
// change may have started and still be linked to it.
const DefaultChangeLookback = 2 * time.Hour

// Dependencies returns the services service depends on, directly; nil if
// none or unknown. The rules' service catalog provides it.
type Dependencies func(service string) []string

// LinkChanges links the changes that may have caused inc: those on its
// service and on every service it depends on, directly or not, that started
// within lookback before firstAlert (or up to firstAlert). It records one
// timeline entry naming the top suspect, and returns the links made.
func LinkChanges(ctx context.Context, tx Tx, inc Incident, deps Dependencies, firstAlert, now time.Time,
	lookback time.Duration) ([]ChangeLink, error) {
	if inc.Service == "" {
		return nil, nil
	}
	// Walk depends_on, remembering how each service is reached so the
	// reason can say why an upstream change matters.
	upstream, via := Upstream(inc.Service, deps)
	order := append([]string{inc.Service}, upstream...)
	changes, err := tx.ChangesFor(ctx, order, firstAlert.Add(-lookback), firstAlert)
	if err != nil {
		return nil, fmt.Errorf("changes for incident %d: %w", inc.ID, err)
	}
	if len(changes) == 0 {
		return nil, nil
	}
	sort.SliceStable(changes, func(i, j int) bool {
		di, dj := len(via[changes[i].Service]), len(via[changes[j].Service])
		if di != dj {
			return di < dj // the incident's own service, then the nearest dependency
		}
		return changes[i].StartedAt.After(changes[j].StartedAt) // most recent first
	})
	links := make([]ChangeLink, 0, len(changes))
	for i, c := range changes {
		l := ChangeLink{IncidentID: inc.ID, Change: c, Rank: i + 1, Reason: changeReason(c, via[c.Service], firstAlert)}
		if err := tx.LinkChange(ctx, l); err != nil {
			return nil, err
		}
		links = append(links, l)
	}
	msg := fmt.Sprintf("%d recent change(s) linked; top suspect: %s", len(links), links[0].Reason)
	return links, tx.AddTimeline(ctx, &TimelineEntry{IncidentID: inc.ID, At: now, Kind: TimelineChangesLinked, Actor: "system", Message: msg})
}

// changeReason reads like "deploy api v42 on api started 6m before the first
// alert; checkout depends on api".
func changeReason(c Change, path []string, firstAlert time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s started %s before the first alert", c.Summary, c.Service, roundDuration(firstAlert.Sub(c.StartedAt)))
	if !c.FinishedAt.IsZero() && c.FinishedAt.After(firstAlert) {
		b.WriteString(" and was still running")
	} else if c.FinishedAt.IsZero() {
		b.WriteString(" (not reported finished)")
	}
	if len(path) > 0 {
		b.WriteString("; ")
		b.WriteString(dependsChain(path, c.Service))
	}
	return b.String()
}

// roundDuration renders a lead time the way people say it: 45s, 6m, 1h5m.
func roundDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	s := d.Round(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Upstream returns the services service depends on, directly or not,
// nearest first, each with the chain that leads to it.
func Upstream(service string, deps Dependencies) (order []string, via map[string][]string) {
	via = map[string][]string{service: nil}
	order = []string{service}
	for i := 0; i < len(order) && deps != nil; i++ {
		s := order[i]
		for _, d := range deps(s) {
			if _, seen := via[d]; !seen {
				via[d] = append(append([]string(nil), via[s]...), s)
				order = append(order, d)
			}
		}
	}
	return order[1:], via
}

// dependsChain renders "checkout depends on api, api depends on db".
func dependsChain(path []string, to string) string {
	chain := append(append([]string(nil), path...), to)
	var b strings.Builder
	for i := 0; i+1 < len(chain); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s depends on %s", chain[i], chain[i+1])
	}
	return b.String()
}

// RecordChange records a change event: a new change, or a redelivery of a
// known one (same source and external ID), which updates the fields it
// carries and keeps the others (Change.Merge), so that a deploy tool may
// send only finished_at when the deploy ends.
func RecordChange(ctx context.Context, tx Tx, c *Change) error {
	old, err := tx.ChangeByExternalID(ctx, c.Source, c.ExternalID)
	switch {
	case err == nil:
		*c = c.Merge(old)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	c.Omitted = ChangeFields{}
	return tx.PutChange(ctx, c)
}
