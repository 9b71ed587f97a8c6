package ingest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// SourceChanges is the Source of change and deploy events (POST
// /ingest/changes).
const SourceChanges = "changes"

// The members of a change (docs/sources.md documents each).
const (
	chService     = "service"
	chID          = "id"
	chSummary     = "summary"
	chURL         = "url"
	chStartedAt   = "started_at"
	chFinishedAt  = "finished_at"
	chLabels      = "labels"
	chMaintenance = "maintenance"
)

var changeFields = []string{chService, chID, chSummary, chURL, chStartedAt, chFinishedAt, chLabels, chMaintenance}

// DecodeChanges decodes and validates a body of change events: one change
// object, or {"changes":[...]}. now is when it was received: ReceivedAt, and
// the default of started_at when there is no finished_at either. Problems
// are *InputErrors saying where they are; in a batch every invalid change is
// reported (the first problem of each), joined. Unknown members are errors,
// and what puts a change over a limit is a *LimitError, as in DecodeEvents.
//
// Times are not clamped to now as event times are: a maintenance window may
// well be announced before it starts. A finish before the start is taken as
// the start, as the end of a resolve is (endNotBefore).
func DecodeChanges(body []byte, now time.Time) ([]incident.Change, error) {
	if err := checkUTF8(body); err != nil {
		return nil, err
	}
	changes, _, err := decodeChanges(body, now, Limits{}.withDefaults())
	return changes, err
}

// decodeChanges is DecodeChanges for a body checkUTF8 passed, under the
// limits l, that also returns how many changes the body carried, for the
// metrics of a rejected body.
func decodeChanges(body []byte, now time.Time, l Limits) ([]incident.Change, int, error) {
	items, paths, ierr := batchItems(body, "changes")
	if ierr != nil {
		return nil, 0, ierr
	}
	changes := make([]incident.Change, 0, len(items))
	var (
		errs []*InputError
		over error
	)
	// service and id identify a change; two in one body would leave which
	// one is stored to chance.
	seen := make(map[[2]string]int, len(items))
	for i, raw := range items {
		c, err := decodeChange(raw, paths[i], now, l)
		if err == nil {
			k := [2]string{c.Service, c.ExternalID}
			if first, dup := seen[k]; dup {
				err = inputErr(paths[i].key(chID).String(), "duplicate of %s", paths[first].String())
			} else {
				seen[k] = i
			}
		}
		if err != nil {
			sortError(err, &errs, &over)
			continue
		}
		changes = append(changes, c)
	}
	if err := batchError(errs, over); err != nil {
		return nil, len(items), err
	}
	return changes, len(items), nil
}

// decodeChange decodes one change object found at path: its problem is an
// *InputError, or else a *LimitError.
func decodeChange(raw json.RawMessage, path jsonPath, now time.Time, l Limits) (incident.Change, error) {
	o, err := parseObject(raw, path)
	if err != nil {
		return incident.Change{}, err
	}
	if err := o.unknown(changeFields...); err != nil {
		return incident.Change{}, err
	}
	var bad *InputError
	required := func(k string) string {
		s, err := o.str(k)
		if err == nil && strings.TrimSpace(s) == "" {
			err = inputErr(o.where(k), "missing")
		}
		if bad == nil {
			bad = err
		}
		return s
	}
	optional := func(s string, err *InputError) string {
		if bad == nil {
			bad = err
		}
		return s
	}
	when := func(k string) time.Time {
		t, err := o.rfc3339(k)
		if bad == nil {
			bad = err
		}
		return t
	}
	c := incident.Change{
		Source:     SourceChanges,
		Service:    required(chService),
		ExternalID: required(chID),
		Summary:    optional(o.str(chSummary)),
		URL:        optional(o.str(chURL)),
		StartedAt:  when(chStartedAt),
		FinishedAt: when(chFinishedAt),
		ReceivedAt: now,
	}
	labels, lerr := o.stringMap(chLabels)
	if bad == nil {
		bad = lerr
	}
	maint, merr := o.boolean(chMaintenance)
	if bad == nil {
		bad = merr
	}
	if bad != nil {
		return incident.Change{}, bad
	}
	if err := l.checkChange(c, path); err != nil {
		return incident.Change{}, err
	}
	// As for events: the start defaults to the finish when there is one.
	switch {
	case c.StartedAt.IsZero() && !c.FinishedAt.IsZero():
		c.StartedAt = c.FinishedAt
	case c.StartedAt.IsZero():
		c.StartedAt = now
	}
	c.FinishedAt = endNotBefore(c.FinishedAt, c.StartedAt)
	if labels == nil {
		labels = map[string]string{}
	}
	c.Labels, c.Maintenance = labels, maint
	// What the sender left out keeps its recorded value when this is a
	// redelivery (incident.Change.Merge); a new change takes the defaults.
	c.Omitted = incident.ChangeFields{
		Summary: !o.has(chSummary), URL: !o.has(chURL), StartedAt: !o.has(chStartedAt),
		FinishedAt: !o.has(chFinishedAt), Labels: !o.has(chLabels), Maintenance: !o.has(chMaintenance),
	}
	if c.Summary == "" {
		c.Summary = c.ExternalID
	}
	return c, nil
}

// checkChange checks the members of c, as sent, that checkChanges does not:
// the times and the strings (checkChanges bounds the labels).
func (l Limits) checkChange(c incident.Change, at jsonPath) error {
	return firstError(
		checkTime(c.StartedAt, at, chStartedAt),
		checkTime(c.FinishedAt, at, chFinishedAt),
		l.checkString(kindText, c.Service, at, chService),
		l.checkString(kindText, c.ExternalID, at, chID),
		l.checkString(kindText, c.Summary, at, chSummary),
		l.checkString(kindURL, c.URL, at, chURL),
	)
}
