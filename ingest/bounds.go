package ingest

import (
	"errors"
	"time"
)

// This file bounds what the decoders keep besides an alert's labels and
// annotations (which checkEvents bounds): every string a payload carries,
// by its kind, and the label sets and annotations that describe a whole
// group. And it refuses the times the store cannot hold.

// strKind is what a string is, which selects its limit.
type strKind int

const (
	kindText        strKind = iota // MaxStringLength
	kindURL                        // MaxURLLength
	kindFingerprint                // MaxFingerprintLength
	kindLabelValue                 // MaxLabelValueLength: a member that becomes one
)

// checkString returns a *LimitError when s, the member key of the object at
// base, is longer than the limit of its kind. The path is built only then.
func (l Limits) checkString(k strKind, s string, base jsonPath, key string) error {
	max, reason, what := l.MaxStringLength, reasonLimitString, "string"
	switch k {
	case kindURL:
		max, reason, what = l.MaxURLLength, reasonLimitURL, "URL"
	case kindFingerprint:
		max, reason, what = l.MaxFingerprintLength, reasonLimitFingerprint, "fingerprint"
	case kindLabelValue:
		max, reason, what = l.MaxLabelValueLength, reasonLimitLabelLength, "label value"
	}
	if len(s) <= max {
		return nil
	}
	return limitErr(reason, base.key(key).String(), "%s of %d bytes, at most %d allowed", what, len(s), max)
}

// checkLabelSet checks a label set that is not an alert's own (groupLabels,
// commonLabels, routeLabels), found at at, against the label limits.
func (l Limits) checkLabelSet(labels map[string]string, at jsonPath) error {
	return l.checkItem(0, labels, nil, func() locator { return mapLocator(at) })
}

// checkAnnotationSet checks annotations that are not an alert's own
// (commonAnnotations), found at at, against MaxAnnotationBytes.
func (l Limits) checkAnnotationSet(annotations map[string]string, at jsonPath) error {
	return l.checkItem(0, nil, annotations, func() locator { return mapLocator(at) })
}

// mapLocator locates the members of the one map at at.
func mapLocator(at jsonPath) locator {
	self := func(int) jsonPath { return at }
	member := func(_ int, name string) jsonPath { return at.key(name) }
	return locator{items: at.String(), item: self, labels: self, label: member, annotations: self, annotation: member}
}

// batchError is the error of a batch whose items had the input problems
// errs and the limit problem over (the first one): the input problems when
// there are any, as for every decoder what makes a payload invalid (400) is
// reported before what puts it over a limit (422).
func batchError(errs []*InputError, over error) error {
	if len(errs) > 0 {
		return joinErrors(errs)
	}
	return over
}

// sortError files err, a decoder's *InputError or *LimitError, into errs or
// over (keeping the first).
func sortError(err error, errs *[]*InputError, over *error) {
	var ie *InputError
	switch {
	case errors.As(err, &ie):
		*errs = append(*errs, ie)
	case *over == nil:
		*over = err
	}
}

// firstError returns the first of errs that is not nil.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// The times alertbridge accepts, besides the zero time that means "not
// set". The store keeps Unix nanoseconds in an int64, which hold 1678 to
// 2262; a time outside them would silently wrap to another one. The range
// is narrower still, so that a time in it stays in the store's range when
// a window or a grace period moves it.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkTime returns a *LimitError (invalid_time) when t is set and outside
// [minTime, maxTime); where is the path of the member it was read from.
func checkTime(t time.Time, base jsonPath, key string) error {
	if t.IsZero() || !t.Before(minTime) && t.Before(maxTime) {
		return nil
	}
	return limitErr(reasonInvalidTime, base.key(key).String(), "time %s out of range, want one from %s to before %s",
		t.Format(time.RFC3339Nano), minTime.Format(time.RFC3339), maxTime.Format(time.RFC3339))
}

// endNotBefore returns end, or start when end is before it. A resolve whose
// end is before its start (a sender's clock, a hand-written payload) is
// taken as ending when it started: refusing it would lose the resolve and
// leave the incident open for ever, and every decoder treats it alike.
func endNotBefore(end, start time.Time) time.Time {
	if !end.IsZero() && end.Before(start) {
		return start
	}
	return end
}
