package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// The default limits, used for every Limits field left at 0.
const (
	// DefaultMaxBodyBytes is generous: Alertmanager never retries a 4xx,
	// so an oversized body loses the notification.
	DefaultMaxBodyBytes        = 10 << 20
	DefaultMaxLabelsPerAlert   = 64
	DefaultMaxLabelNameLength  = 256
	DefaultMaxLabelValueLength = 4096
	DefaultMaxAnnotationBytes  = 64 << 10
	DefaultMaxJSONDepth        = 32
	// DefaultMaxFingerprintLength admits every dedup_key PagerDuty does:
	// it caps them at 255 characters, which take up to 1020 bytes of UTF-8.
	// Alertmanager's and Grafana's fingerprints are 16 hex digits.
	DefaultMaxFingerprintLength = 1024
	// DefaultMaxURLLength is large because a Prometheus generatorURL
	// carries the rule's whole PromQL expression.
	DefaultMaxURLLength = 64 << 10
	// DefaultMaxStringLength bounds every other free text (receiver,
	// groupKey, summaries, titles, change ids) at the size of one alert's
	// whole annotations: no single field a sender fills from a template or
	// a label set legitimately needs more.
	DefaultMaxStringLength = 64 << 10
	// DefaultMaxInflightBodyBytes holds a dozen bodies of the default
	// maximum at once, or thousands of ordinary notifications (a few KiB
	// each); see Limits.MaxInflightBodyBytes for what it bounds.
	DefaultMaxInflightBodyBytes = 128 << 20
	// DefaultBodyReadTimeout is how long a body may take to arrive once the
	// headers have: 10 MiB at 3 Mbit/s.
	DefaultBodyReadTimeout = 30 * time.Second
)

// MinAlertBytes is a size no alert that Alertmanager's webhook encodes can
// be smaller than: Alertmanager writes every member of every alert
// (TestMinAlertBytes measures the smallest possible one), and Grafana's
// alerts have more members still. So MaxBodyBytes/MinAlertBytes alerts
// is more than any real notification within the body limit can carry, and
// it is the default of MaxAlertsPerRequest.
const MinAlertBytes = 143

// Limits bound what one ingest request may carry; a field left at 0 takes
// its default. Lengths are in bytes.
type Limits struct {
	// MaxBodyBytes bounds a body both as sent and, when it is compressed,
	// decoded.
	MaxBodyBytes int64
	// MaxAlertsPerRequest bounds the alerts (events, changes) of a body.
	// Its default is derived from MaxBodyBytes: MaxBodyBytes/MinAlertBytes,
	// so the body limit alone decides what a real Alertmanager can send.
	MaxAlertsPerRequest int
	// MaxLabelsPerAlert, MaxLabelNameLength and MaxLabelValueLength bound
	// every label set: an alert's labels, and Alertmanager's groupLabels,
	// commonLabels and routeLabels.
	MaxLabelsPerAlert   int
	MaxLabelNameLength  int
	MaxLabelValueLength int
	// MaxAnnotationBytes bounds one alert's annotations, and a payload's
	// commonAnnotations: the sum of the lengths of their names and values.
	MaxAnnotationBytes int
	// MaxJSONDepth bounds the nesting of objects and arrays; {} is 1 deep.
	MaxJSONDepth int
	// MaxFingerprintLength bounds an alert's fingerprint or dedup_key.
	MaxFingerprintLength int
	// MaxURLLength bounds every URL: generatorURL, externalURL, Grafana's
	// links, PagerDuty's client_url, links and images, events' and
	// changes' url.
	MaxURLLength int
	// MaxStringLength bounds every other string that is kept or echoed.
	MaxStringLength int
	// MaxInflightBodyBytes bounds the memory that the bodies of all
	// requests in flight hold together, taken as their bytes arrive; a
	// request that would go over it is refused at once (503, 429 on
	// /v2/enqueue). It must leave room for one body of MaxBodyBytes that is
	// compressed (see minInflightBodyBytes); its default is the larger of
	// DefaultMaxInflightBodyBytes and that.
	MaxInflightBodyBytes int64
	// BodyReadTimeout bounds how long a body takes to arrive, counted from
	// when the handler starts reading it; past it the request gets 408.
	BodyReadTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	def(&l.MaxAlertsPerRequest, int(min(l.MaxBodyBytes/MinAlertBytes, math.MaxInt32)))
	def(&l.MaxLabelsPerAlert, DefaultMaxLabelsPerAlert)
	def(&l.MaxLabelNameLength, DefaultMaxLabelNameLength)
	def(&l.MaxLabelValueLength, DefaultMaxLabelValueLength)
	def(&l.MaxAnnotationBytes, DefaultMaxAnnotationBytes)
	def(&l.MaxJSONDepth, DefaultMaxJSONDepth)
	def(&l.MaxFingerprintLength, DefaultMaxFingerprintLength)
	def(&l.MaxURLLength, DefaultMaxURLLength)
	def(&l.MaxStringLength, DefaultMaxStringLength)
	if l.MaxInflightBodyBytes <= 0 {
		l.MaxInflightBodyBytes = max(DefaultMaxInflightBodyBytes, minInflightBodyBytes(l.MaxBodyBytes))
	}
	if l.BodyReadTimeout <= 0 {
		l.BodyReadTimeout = DefaultBodyReadTimeout
	}
	return l
}

// validate reports limits that would refuse every request of some kind.
func (l Limits) validate() error {
	if need := minInflightBodyBytes(l.MaxBodyBytes); l.MaxInflightBodyBytes < need {
		return fmt.Errorf("max inflight body bytes %d: want at least %d, room for one compressed body of max body bytes %d",
			l.MaxInflightBodyBytes, need, l.MaxBodyBytes)
	}
	return nil
}

// checkContentType accepts application/json, with no charset or UTF-8 (the
// only encoding JSON has, RFC 8259). Alertmanager, Grafana and PagerDuty
// clients all send application/json; no sender we know of omits it, so a
// missing Content-Type is refused too: a body posted as a form (curl -d
// without -H) fails loudly instead of being guessed at.
func checkContentType(h string) error {
	if strings.TrimSpace(h) == "" {
		return &mediaTypeError{}
	}
	mt, params, err := mime.ParseMediaType(h)
	if err != nil || mt != "application/json" {
		return &mediaTypeError{got: h}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &mediaTypeError{got: h}
	}
	return nil
}

// depthFrame is one open container of a checkDepth walk.
type depthFrame struct {
	obj, wantKey bool
	key          string
	index        int
}

// checkDepth returns a *LimitError naming the first value of body nested
// more than max levels deep. It runs before anything decodes the body into
// values, and nothing in it recurses: a hostile body of a million "[" costs
// one linear pass and no stack.
//
// A byte scan finds whether the limit is exceeded; it allocates nothing, so
// every request can afford it (a json.Decoder token walk costs more than
// decoding an Alertmanager payload itself). Only when the limit is exceeded
// does a token walk run, to name the offending value. A malformed body that
// the scan passes is left to the decoder, which reports it with its offset.
func checkDepth(body []byte, max int) error {
	at := depthExceededAt(body, max)
	if at < 0 {
		return nil
	}
	if where, ok := depthWhere(body, max); ok {
		return limitErr(reasonLimitDepth, where.String(), "nested more than %d levels deep", max)
	}
	// The body is malformed before that point, as the token walk saw it.
	return limitErr(reasonLimitDepth, "offset "+strconv.Itoa(at), "nested more than %d levels deep", max)
}

// depthExceededAt returns the offset of the first '{' or '[' that opens a
// container more than max levels deep, or -1. Brackets inside strings do
// not count.
func depthExceededAt(body []byte, max int) int {
	depth, inString := 0, false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if inString {
			switch c {
			case '\\':
				i++ // whatever is escaped cannot end the string
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > max {
				return i
			}
		case '}', ']':
			depth--
		}
	}
	return -1
}

// depthWhere walks body token by token with a json.Decoder, which keeps its
// own stack and does not recurse, and returns the path of the first value
// nested more than max levels deep.
func depthWhere(body []byte, max int) (jsonPath, bool) {
	var stack []depthFrame
	// valueDone moves the innermost container past the value just finished.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].obj {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers stay text: nothing here needs their value
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		n := len(stack)
		if n > 0 && stack[n-1].obj && stack[n-1].wantKey {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			stack[n-1].key, _ = tok.(string)
			stack[n-1].wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if n+1 > max {
				return depthPath(stack), true
			}
			stack = append(stack, depthFrame{obj: tok == json.Delim('{'), wantKey: true})
		case json.Delim('}'), json.Delim(']'):
			if n > 0 {
				stack = stack[:n-1]
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// depthPath is the path of the value a checkDepth walk is at.
func depthPath(stack []depthFrame) jsonPath {
	p := make(jsonPath, 0, len(stack))
	for _, f := range stack {
		if f.obj {
			p = append(p, pathElem{key: f.key})
		} else {
			p = append(p, pathElem{index: f.index, isIdx: true})
		}
	}
	return p
}

// locator names the JSON paths of an endpoint's items and their fields in
// limit errors.
type locator struct {
	// items is the member holding the items: "alerts", "events".
	items string
	// item is the path of item i.
	item func(i int) jsonPath
	// label is the path of item i's label name, labels its labels and
	// annotation the member holding its annotation name.
	label, annotation func(i int, name string) jsonPath
	labels            func(i int) jsonPath
	annotations       func(i int) jsonPath
}

// alertsLocator is the locator of Alertmanager-shaped payloads: alerts[i].
var alertsLocator = itemsLocator("alerts", true)

// itemsLocator locates the items of a body that holds them in the member
// name (batch) or is one item itself.
func itemsLocator(name string, batch bool) locator {
	item := func(i int) jsonPath {
		if !batch {
			return nil
		}
		return jsonPath{{key: name}}.idx(i)
	}
	return locator{
		items:       name,
		item:        item,
		labels:      func(i int) jsonPath { return item(i).key("labels") },
		label:       func(i int, n string) jsonPath { return item(i).key("labels").key(n) },
		annotations: func(i int) jsonPath { return item(i).key("annotations") },
		annotation:  func(i int, n string) jsonPath { return item(i).key("annotations").key(n) },
	}
}

// batchLocator locates the items of a generic events or changes body, which
// is one item or {"<name>":[items]}. It parses the top level of body, so it
// is called only once a limit is exceeded.
func batchLocator(body []byte, name string) locator {
	var top map[string]json.RawMessage
	_ = json.Unmarshal(body, &top) // the body decoded already: it is an object
	_, batch := top[name]
	return itemsLocator(name, batch)
}

// pdLocator locates the fields of a PagerDuty event that labels and
// annotations come from (DecodePagerDuty's mapping).
var pdLocator = locator{
	items:  "",
	item:   func(int) jsonPath { return nil },
	labels: func(int) jsonPath { return jsonPath{{key: pdPayload}} },
	label: func(_ int, n string) jsonPath {
		switch n {
		case pdLabelDedupKey:
			return jsonPath{{key: pdDedupKey}}
		case "alertname":
			n = "class"
		}
		return jsonPath{{key: pdPayload}, {key: n}}
	},
	annotations: func(int) jsonPath { return jsonPath{{key: pdPayload}} },
	annotation: func(_ int, n string) jsonPath {
		switch n {
		case pdAnnotationSummary, pdAnnotationCustom:
			return jsonPath{{key: pdPayload}, {key: n}}
		}
		return jsonPath{{key: n}}
	},
}

// checkItems checks the number of items of a body.
func (l Limits) checkItems(n int, loc func() locator) error {
	if n > l.MaxAlertsPerRequest {
		items := loc().items
		return limitErr(reasonLimitAlerts, items, "%d %s, at most %d allowed", n, items, l.MaxAlertsPerRequest)
	}
	return nil
}

// checkEvents checks every event of a body against the limits, in order,
// and returns the first problem. loc is called only on a problem.
func (l Limits) checkEvents(events []incident.Event, loc func() locator) error {
	if err := l.checkItems(len(events), loc); err != nil {
		return err
	}
	for i, ev := range events {
		if err := l.checkItem(i, ev.Labels, ev.Annotations, loc); err != nil {
			return err
		}
	}
	return nil
}

// checkChanges is checkEvents for changes, which have no annotations.
func (l Limits) checkChanges(changes []incident.Change, loc func() locator) error {
	if err := l.checkItems(len(changes), loc); err != nil {
		return err
	}
	for i, c := range changes {
		if err := l.checkItem(i, c.Labels, nil, loc); err != nil {
			return err
		}
	}
	return nil
}

func (l Limits) checkItem(i int, labels, annotations map[string]string, loc func() locator) error {
	if len(labels) > l.MaxLabelsPerAlert {
		return limitErr(reasonLimitLabels, loc().labels(i).String(), "%d labels, at most %d allowed", len(labels), l.MaxLabelsPerAlert)
	}
	var longName, longValue []string
	for k, v := range labels {
		if len(k) > l.MaxLabelNameLength {
			longName = append(longName, k)
		} else if len(v) > l.MaxLabelValueLength {
			longValue = append(longValue, k)
		}
	}
	if len(longName) > 0 {
		k := slices.Min(longName)
		return limitErr(reasonLimitLabelLength, loc().label(i, k).String(), "label name of %d bytes, at most %d allowed", len(k), l.MaxLabelNameLength)
	}
	if len(longValue) > 0 {
		k := slices.Min(longValue)
		return limitErr(reasonLimitLabelLength, loc().label(i, k).String(), "label value of %d bytes, at most %d allowed", len(labels[k]), l.MaxLabelValueLength)
	}
	size, largest := 0, ""
	for k, v := range annotations {
		size += len(k) + len(v)
		if n, m := len(k)+len(v), len(largest)+len(annotations[largest]); n > m || n == m && k < largest {
			largest = k
		}
	}
	if size > l.MaxAnnotationBytes {
		where := loc().annotations(i)
		if len(annotations) == 1 || loc().items == "" {
			where = loc().annotation(i, largest)
		}
		return limitErr(reasonLimitAnnotations, where.String(), "annotations of %d bytes, at most %d allowed", size, l.MaxAnnotationBytes)
	}
	return nil
}
