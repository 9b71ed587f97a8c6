package ingest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// SourcePagerDuty is the Source of events received on the PagerDuty Events
// API v2 compatible endpoint.
const SourcePagerDuty = "pagerduty"

// PDAction is a PagerDuty Events API v2 event_action.
type PDAction string

// The event actions of the Events API v2 (change events have their own
// endpoint at PagerDuty, and are not accepted here).
const (
	PDTrigger     PDAction = "trigger"
	PDAcknowledge PDAction = "acknowledge"
	PDResolve     PDAction = "resolve"
)

// PagerDuty's documented limits and severities.
const (
	pdMaxSummary  = 1024
	pdMaxDedupKey = 255
)

var pdSeverities = []string{"critical", "error", "warning", "info"}

// pdAlertname is the alertname of an event whose payload has no class.
const pdAlertname = "pagerduty"

// The label and annotations a PagerDuty event is mapped to besides its
// payload's fields. The dedup_key is a label, so rules can match and group
// on it.
const (
	pdLabelDedupKey     = "dedup_key"
	pdAnnotationCustom  = "custom_details"
	pdAnnotationLinks   = "links"
	pdAnnotationImages  = "images"
	pdAnnotationClient  = "client"
	pdAnnotationSummary = "summary"
)

// pdMissingToTrigger is the problem of a member a trigger needs.
const pdMissingToTrigger = "missing, required to trigger"

// PDEvent is one decoded PagerDuty Events API v2 event.
type PDEvent struct {
	// RoutingKey is the integration key; it selects the configured source.
	RoutingKey string
	Action     PDAction
	// DedupKey is the sender's dedup_key, or one generated for a trigger that
	// had none; the endpoint answers it so the sender can resolve later.
	DedupKey string
	// Event is the normalised event: Fingerprint is DedupKey. A trigger is a
	// firing event and a resolve a resolved one; an acknowledge sets
	// Acknowledge (Status is then firing and means nothing).
	Event incident.Event
}

// newDedupKey generates the dedup_key of a trigger that has none: 32 hex
// digits, the shape PagerDuty generates. Tests replace it.
var newDedupKey = func() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes instead)
	return hex.EncodeToString(b[:])
}

// The top-level members of an Events API v2 event this decoder reads;
// PagerDuty ignores others, and so does it.
const (
	pdRoutingKey  = "routing_key"
	pdEventAction = "event_action"
	pdDedupKey    = "dedup_key"
	pdPayload     = "payload"
	pdClient      = "client"
	pdClientURL   = "client_url"
	pdLinks       = "links"
	pdImages      = "images"
)

// DecodePagerDuty decodes and validates one PagerDuty Events API v2 event,
// the body of POST /v2/enqueue. now is when it was received: the start of a
// trigger without payload.timestamp, and the end of a resolve.
//
// Every problem is reported, as PagerDuty does: the error joins one
// *InputError per problem (InputErrors lists them; PDErrorMessages and
// PDError render them). With an error, the PDEvent holds only the
// routing_key, when the body had one as a string, so that the caller can
// tell which source rejected it.
//
// The payload is validated only for a trigger. For acknowledge and resolve
// PagerDuty ignores it, so a bad one must not lose the resolve; whatever of
// it is usable is kept.
//
// A valid event with text that is not UTF-8, a payload.timestamp out of
// range, or a string over the default Limits gets the first such problem as
// a *LimitError instead (for acknowledge and resolve, the payload's members
// are then left out, as invalid ones are).
func DecodePagerDuty(body []byte, now time.Time) (PDEvent, error) {
	if err := checkUTF8(body); err != nil {
		return PDEvent{}, err
	}
	return decodePagerDuty(body, now, Limits{}.withDefaults())
}

// decodePagerDuty is DecodePagerDuty for a body checkUTF8 passed, under the
// limits l.
func decodePagerDuty(body []byte, now time.Time, l Limits) (PDEvent, error) {
	raw, err := parseBody(body)
	if err != nil {
		return PDEvent{}, err
	}
	root, err := parseObject(raw, nil)
	if err != nil {
		return PDEvent{}, err
	}
	var (
		ev   PDEvent
		errs []*InputError
		over error
	)
	ev.RoutingKey, err = root.str(pdRoutingKey)
	switch {
	case err != nil:
		errs = append(errs, err)
	case strings.TrimSpace(ev.RoutingKey) == "":
		errs = append(errs, inputErr(pdRoutingKey, "missing or blank"))
	}

	action, err := root.str(pdEventAction)
	switch a := PDAction(action); {
	case err != nil:
		errs = append(errs, err)
	case a == "":
		errs = append(errs, inputErr(pdEventAction, "missing, want trigger, acknowledge or resolve"))
	case a != PDTrigger && a != PDAcknowledge && a != PDResolve:
		errs = append(errs, inputErr(pdEventAction, "unknown event_action %q, want trigger, acknowledge or resolve", truncate(action, maxEchoed)))
	default:
		ev.Action = a
	}

	ev.DedupKey, err = root.str(pdDedupKey)
	switch n := runeLen(ev.DedupKey); {
	case err != nil:
		errs = append(errs, err)
	case n > pdMaxDedupKey:
		errs = append(errs, inputErr(pdDedupKey, "%d characters, at most %d allowed", n, pdMaxDedupKey))
	case n == 0 && (ev.Action == PDAcknowledge || ev.Action == PDResolve):
		errs = append(errs, inputErr(pdDedupKey, "missing, required to %s", ev.Action))
	}

	d, detailErrs, detailOver := pdReadDetails(root, ev.Action == PDTrigger, l)
	if ev.Action == PDTrigger {
		errs = append(errs, detailErrs...)
	}
	over = firstError(
		l.checkString(kindText, ev.RoutingKey, nil, pdRoutingKey),
		l.checkString(kindFingerprint, ev.DedupKey, nil, pdDedupKey),
	)
	if over == nil && ev.Action == PDTrigger {
		over = detailOver
	}
	if err := batchError(errs, over); err != nil {
		return PDEvent{RoutingKey: ev.RoutingKey}, err
	}

	if ev.DedupKey == "" {
		ev.DedupKey = newDedupKey()
	}
	ev.Event = incident.Event{
		Source:       SourcePagerDuty,
		Fingerprint:  ev.DedupKey,
		Status:       incident.StatusFiring,
		Labels:       d.labels(ev.DedupKey),
		Annotations:  d.annotations(),
		StartsAt:     now,
		GeneratorURL: d.clientURL,
	}
	switch ev.Action {
	case PDTrigger:
		if !d.timestamp.IsZero() {
			ev.Event.StartsAt = notAfter(d.timestamp, now)
		}
	case PDAcknowledge:
		ev.Event.Acknowledge = true
	case PDResolve:
		// The start is unknown here. now is never before the trigger's
		// start (clamped to its receipt), so dedupe takes this event as the
		// resolve of that trigger.
		ev.Event.Status, ev.Event.EndsAt = incident.StatusResolved, now
	}
	return ev, nil
}

// pdDetails is what describes the alert in an event: its payload, and the
// client, links and images around it.
type pdDetails struct {
	summary, source, severity, component, group, class string
	customDetails                                      string
	timestamp                                          time.Time
	client, clientURL, links, images                   string
}

// labels returns the labels of an event with d and dedupKey.
func (d pdDetails) labels(dedupKey string) map[string]string {
	labels := map[string]string{"alertname": pdAlertname, pdLabelDedupKey: dedupKey}
	for _, l := range []struct{ name, value string }{
		{"alertname", d.class},
		{"source", d.source},
		{"severity", d.severity},
		{"component", d.component},
		{"group", d.group},
		{"class", d.class},
	} {
		if l.value != "" {
			labels[l.name] = l.value
		}
	}
	return labels
}

// annotations returns the annotations of an event with d.
func (d pdDetails) annotations() map[string]string {
	annotations := map[string]string{}
	for _, a := range []struct{ name, value string }{
		{pdAnnotationSummary, d.summary},
		{pdAnnotationCustom, d.customDetails},
		{pdAnnotationLinks, d.links},
		{pdAnnotationImages, d.images},
		{pdAnnotationClient, d.client},
	} {
		if a.value != "" {
			annotations[a.name] = a.value
		}
	}
	return annotations
}

// pdReadDetails reads the payload, client, client_url, links and images of
// root. With required set (a trigger) summary, source and severity must be
// there. The errors of every problem found are returned either way, for the
// caller to keep or drop, and the first member over a limit of l; a member
// with a problem, or over a limit, is left empty.
func pdReadDetails(root object, required bool, l Limits) (pdDetails, []*InputError, error) {
	var (
		errs []*InputError
		over error
	)
	keep := func(k strKind, key string, s string, err *InputError) string {
		if err != nil {
			errs = append(errs, err)
			return s
		}
		if err := l.checkString(k, s, root.path, key); err != nil {
			over = firstError(over, err)
			return ""
		}
		return s
	}
	d, perrs, pover := pdReadPayload(root, required, l)
	errs = append(errs, perrs...)
	over = pover
	s, err := root.str(pdClient)
	d.client = keep(kindText, pdClient, s, err)
	s, err = root.str(pdClientURL)
	d.clientURL = keep(kindURL, pdClientURL, s, err)
	for _, a := range []struct {
		key string
		dst *string
	}{{pdLinks, &d.links}, {pdImages, &d.images}} {
		text, err, aover := pdJSONArray(root, a.key, l)
		switch {
		case err != nil:
			errs = append(errs, err)
		case aover != nil:
			over = firstError(over, aover)
		default:
			*a.dst = text
		}
	}
	return d, errs, over
}

// pdReadPayload reads the payload member of root, as pdReadDetails.
func pdReadPayload(root object, required bool, l Limits) (pdDetails, []*InputError, error) {
	var (
		p    pdDetails
		errs []*InputError
		over error
	)
	if !root.has(pdPayload) {
		if required {
			errs = append(errs, inputErr(pdPayload, pdMissingToTrigger))
		}
		return p, errs, nil
	}
	o, err := parseObject(root.fields[pdPayload], jsonPath{{key: pdPayload}})
	if err != nil {
		return p, append(errs, err), nil
	}
	get := func(k string, req bool) string {
		s, err := o.str(k)
		switch {
		case err != nil:
			errs = append(errs, err)
		case req && required && strings.TrimSpace(s) == "":
			errs = append(errs, inputErr(o.where(k), pdMissingToTrigger))
		}
		if err := l.checkString(kindText, s, o.path, k); err != nil {
			over = firstError(over, err)
			return ""
		}
		return s
	}
	p.summary = get("summary", true)
	if n := runeLen(p.summary); n > pdMaxSummary {
		errs = append(errs, inputErr(o.where("summary"), "%d characters, at most %d allowed", n, pdMaxSummary))
	}
	p.source = get("source", true)
	p.severity = get("severity", true)
	if p.severity != "" && !isPDSeverity(p.severity) {
		errs = append(errs, inputErr(o.where("severity"), "unknown severity %q, want critical, error, warning or info", truncate(p.severity, maxEchoed)))
		p.severity = ""
	}
	p.component = get("component", false)
	p.group = get("group", false)
	p.class = get("class", false)
	if ts, err := pdTimestamp(o); err != nil {
		errs = append(errs, err)
	} else if err := checkTime(ts, o.path, "timestamp"); err != nil {
		over = firstError(over, err)
	} else {
		p.timestamp = ts
	}
	if raw := o.fields["custom_details"]; !isNull(raw) {
		p.customDetails = jsonText(raw)
	}
	return p, errs, over
}

func isPDSeverity(s string) bool { return slices.Contains(pdSeverities, s) }

// pdTimeLayouts are the ISO 8601 forms payload.timestamp is accepted in:
// RFC 3339, and the offset without a colon that PagerDuty's own examples use
// ("2015-07-17T08:42:58.315+0000").
var pdTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
}

// pdTimestamp reads payload.timestamp; zero when absent.
func pdTimestamp(o object) (time.Time, *InputError) {
	s, err := o.str("timestamp")
	if err != nil {
		return time.Time{}, inputErr(err.Where, "want an ISO 8601 time")
	}
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range pdTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, inputErr(o.where("timestamp"), "want an ISO 8601 time such as 2015-07-17T08:42:58.315+0000, got %q", truncate(s, maxEchoed))
}

// pdLinkMembers are the members of the objects of links and images, and
// what they are (PagerDuty's documentation): href and src are URLs, text and
// alt are text.
var pdLinkMembers = []struct {
	key  string
	kind strKind
}{{"href", kindURL}, {"src", kindURL}, {"text", kindText}, {"alt", kindText}}

// pdJSONArray returns the array member k (links, images) as compact JSON for
// an annotation, or "" when absent or empty; or the problem of an element
// that is not an object, or else the first of its members over a limit of
// l.
func pdJSONArray(root object, k string, l Limits) (string, *InputError, error) {
	a, err := root.array(k)
	if err != nil || len(a) == 0 {
		return "", err, nil
	}
	var over error
	for i, el := range a {
		at := root.path.key(k).idx(i)
		o, err := parseObject(el, at)
		if err != nil {
			return "", err, nil
		}
		for _, m := range pdLinkMembers {
			if s, err := o.str(m.key); err == nil { // not a string: not bounded as one, but as the annotation
				over = firstError(over, l.checkString(m.kind, s, at, m.key))
			}
		}
	}
	if over != nil {
		return "", nil, over
	}
	return jsonText(root.fields[k]), nil, nil
}

// jsonText renders a raw JSON value for an annotation: a string as itself,
// anything else as compact JSON.
func jsonText(raw json.RawMessage) string {
	if rawKind(raw) == "string" {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw) // raw came from a valid body; this does not happen
	}
	return b.String()
}

// pdSuccess and pdInvalid are PagerDuty's response bodies, fields in its
// order.
type pdSuccess struct {
	Status   string `json:"status"`
	Message  string `json:"message"`
	DedupKey string `json:"dedup_key"`
}

type pdInvalid struct {
	Status  string   `json:"status"`
	Message string   `json:"message"`
	Errors  []string `json:"errors"`
}

// PDSuccess returns the body PagerDuty answers an accepted event with
// (status 202 Accepted):
// {"status":"success","message":"Event processed","dedup_key":"..."}.
func PDSuccess(dedupKey string) []byte {
	return mustMarshal(pdSuccess{Status: "success", Message: "Event processed", DedupKey: dedupKey})
}

// PDError returns the body PagerDuty answers an invalid event with (status
// 400 Bad Request):
// {"status":"invalid event","message":"Event object is invalid","errors":[...]}.
func PDError(errs []string) []byte {
	if errs == nil {
		errs = []string{}
	}
	return mustMarshal(pdInvalid{Status: "invalid event", Message: "Event object is invalid", Errors: errs})
}

// PDErrorMessages renders the problems of a DecodePagerDuty error for
// PDError, each as "where: message".
func PDErrorMessages(err error) []string {
	ies := InputErrors(err)
	if len(ies) == 0 && err != nil {
		return []string{err.Error()}
	}
	out := make([]string, len(ies))
	for i, ie := range ies {
		out[i] = ie.Error()
	}
	return out
}

// mustMarshal encodes v, which only holds strings, without HTML escaping.
func mustMarshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings cannot fail to encode
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
