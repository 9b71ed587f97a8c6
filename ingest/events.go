package ingest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// SourceEvents is the Source of generic JSON events (POST /ingest/events),
// alertbridge's own format for scripts, cron jobs and CI.
const SourceEvents = "events"

// The members of a generic event (docs/sources.md documents each).
const (
	evFingerprint = "fingerprint"
	evLabels      = "labels"
	evAnnotations = "annotations"
	evStatus      = "status"
	evSeverity    = "severity"
	evSummary     = "summary"
	evDescription = "description"
	evStartsAt    = "starts_at"
	evEndsAt      = "ends_at"
	evGroup       = "group"
	evURL         = "url"
)

var eventFields = []string{
	evFingerprint, evLabels, evAnnotations, evStatus, evSeverity, evSummary,
	evDescription, evStartsAt, evEndsAt, evGroup, evURL,
}

// The label and annotations the convenience members map to, and the group
// label of a group.
const (
	labelSeverity         = "severity"
	annotationSummary     = "summary"
	annotationDescription = "description"
	groupLabel            = "group"
)

// DecodeEvents decodes and validates a body of generic events: one event
// object, or {"events":[...]}. now is when it was received, the default of
// the times. It returns one event per object, in order. Problems are
// *InputErrors saying where they are; in a batch every invalid event is
// reported (the first problem of each), joined. A valid body with text that
// is not UTF-8, a time out of range, or a string over the default Limits
// gets the first such problem as a *LimitError.
//
// Unlike the decoders of other tools' payloads, unknown members are errors:
// the format is ours, and a field sent under another tool's name (say
// "message" for "summary") should not pass silently.
func DecodeEvents(body []byte, now time.Time) ([]incident.Event, error) {
	if err := checkUTF8(body); err != nil {
		return nil, err
	}
	events, _, err := decodeEvents(body, now, Limits{}.withDefaults())
	return events, err
}

// decodeEvents is DecodeEvents for a body checkUTF8 passed, under the
// limits l, that also returns how many events the body carried, for the
// metrics of a rejected body.
func decodeEvents(body []byte, now time.Time, l Limits) ([]incident.Event, int, error) {
	items, paths, ierr := batchItems(body, "events")
	if ierr != nil {
		return nil, 0, ierr
	}
	events := make([]incident.Event, 0, len(items))
	var (
		errs []*InputError
		over error
	)
	for i, raw := range items {
		ev, err := decodeEvent(raw, paths[i], now, l)
		if err != nil {
			sortError(err, &errs, &over)
			continue
		}
		events = append(events, ev)
	}
	if err := batchError(errs, over); err != nil {
		return nil, len(items), err
	}
	return events, len(items), nil
}

// decodeEvent decodes one event object found at path: its problem is an
// *InputError, or else a *LimitError.
func decodeEvent(raw json.RawMessage, path jsonPath, now time.Time, l Limits) (incident.Event, error) {
	o, err := parseObject(raw, path)
	if err != nil {
		return incident.Event{}, err
	}
	if err := o.unknown(eventFields...); err != nil {
		return incident.Event{}, err
	}
	var (
		d   eventDoc
		bad *InputError
	)
	str := func(k string) string {
		s, err := o.str(k)
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
	kv := func(k string) map[string]string {
		m, err := o.stringMap(k)
		if bad == nil {
			bad = err
		}
		return m
	}
	d.fingerprint = str(evFingerprint)
	d.labels = kv(evLabels)
	d.annotations = kv(evAnnotations)
	d.status = str(evStatus)
	d.severity = str(evSeverity)
	d.summary = str(evSummary)
	d.description = str(evDescription)
	d.startsAt = when(evStartsAt)
	d.endsAt = when(evEndsAt)
	d.group = str(evGroup)
	d.url = str(evURL)
	if bad != nil {
		return incident.Event{}, bad
	}
	ev, bad := d.event(o, now)
	if bad != nil {
		return incident.Event{}, bad
	}
	if err := l.checkEventDoc(d, path); err != nil {
		return incident.Event{}, err
	}
	return ev, nil
}

// checkEventDoc checks the members of d, as sent, that checkEvents does not
// see as sent: the times, the fingerprint, and the strings that are not
// labels and annotations themselves.
func (l Limits) checkEventDoc(d eventDoc, at jsonPath) error {
	return firstError(
		checkTime(d.startsAt, at, evStartsAt),
		checkTime(d.endsAt, at, evEndsAt),
		l.checkString(kindFingerprint, d.fingerprint, at, evFingerprint),
		l.checkString(kindText, d.severity, at, evSeverity),
		l.checkString(kindText, d.summary, at, evSummary),
		l.checkString(kindText, d.description, at, evDescription),
		l.checkString(kindLabelValue, d.group, at, evGroup),
		l.checkString(kindURL, d.url, at, evURL),
	)
}

// eventDoc is a generic event as sent, before defaults.
type eventDoc struct {
	fingerprint, status, severity, summary, description, group, url string
	labels, annotations                                             map[string]string
	startsAt, endsAt                                                time.Time
}

// event validates d and maps it to an event; o locates the problems.
func (d eventDoc) event(o object, now time.Time) (incident.Event, *InputError) {
	if len(d.labels) == 0 {
		return incident.Event{}, inputErr(o.where(evLabels), "no labels")
	}
	status := incident.StatusFiring
	if d.status != "" {
		status = incident.Status(d.status)
		if !status.Valid() {
			return incident.Event{}, inputErr(o.where(evStatus), "unknown status %q, want %s or %s", truncate(d.status, maxEchoed), incident.StatusFiring, incident.StatusResolved)
		}
	}
	// The fingerprint is the hash of labels as sent, before severity joins
	// them: a resolve need not repeat the severity to match its firing.
	fp := d.fingerprint
	if strings.TrimSpace(fp) == "" {
		fp = incident.LabelFingerprint(d.labels)
	}
	labels := d.labels
	if d.severity != "" {
		if v, ok := labels[labelSeverity]; ok && v != d.severity {
			return incident.Event{}, inputErr(o.where(evSeverity), "%q conflicts with labels.severity %q", truncate(d.severity, maxEchoed), truncate(v, maxEchoed))
		}
		labels[labelSeverity] = d.severity
	}
	annotations := d.annotations
	if annotations == nil {
		annotations = map[string]string{}
	}
	for _, a := range []struct{ member, name, value string }{
		{evSummary, annotationSummary, d.summary},
		{evDescription, annotationDescription, d.description},
	} {
		if a.value == "" {
			continue
		}
		if v, ok := annotations[a.name]; ok && v != a.value {
			return incident.Event{}, inputErr(o.where(a.member), "conflicts with annotations.%s", a.name)
		}
		annotations[a.name] = a.value
	}

	starts, ends := d.startsAt, d.endsAt
	if status == incident.StatusFiring && !ends.IsZero() {
		return incident.Event{}, inputErr(o.where(evEndsAt), "set on a firing event; send status resolved to end it")
	}
	// Defaults as Alertmanager's API has them: a start defaults to the end
	// when there is one, else to now; a resolve without an end ends now.
	if starts.IsZero() {
		starts = ends
		if starts.IsZero() {
			starts = now
		}
	}
	if status == incident.StatusResolved && ends.IsZero() {
		ends = now
	}
	ends = endNotBefore(ends, starts)
	ev := incident.Event{
		Source:       SourceEvents,
		Fingerprint:  fp,
		Status:       status,
		Labels:       labels,
		Annotations:  annotations,
		StartsAt:     notAfter(starts, now),
		GeneratorURL: d.url,
	}
	if status == incident.StatusResolved {
		ev.EndsAt = notAfter(ends, now)
	}
	if d.group != "" {
		ev.GroupLabels = map[string]string{groupLabel: d.group}
	}
	return ev, nil
}
