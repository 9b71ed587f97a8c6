package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds what the decoders of field-by-field formats share: the
// generic events, changes and PagerDuty decoders read a payload one member at
// a time, so that every problem is reported at its own JSON path and a
// decoder can report all of them rather than the first that encoding/json
// trips over.

// maxReportedErrors bounds how many invalid items of one batch are reported,
// so a huge bad batch does not produce a huge error.
const maxReportedErrors = 20

// key returns p extended by the object key k; p itself is never modified.
func (p jsonPath) key(k string) jsonPath {
	return append(slices.Clip(p), pathElem{key: k})
}

// idx returns p extended by the array index i; p itself is never modified.
func (p jsonPath) idx(i int) jsonPath {
	return append(slices.Clip(p), pathElem{index: i, isIdx: true})
}

// rawKind names the JSON type of a raw value as encoding/json's errors do.
func rawKind(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// isNull reports whether raw is absent or the JSON null, which encoding/json
// also treats as absent.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// parseBody checks that body is one well-formed JSON value and returns it.
func parseBody(body []byte) (json.RawMessage, *InputError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, inputErr("", "empty body")
	}
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, locateDecodeError(body, err)
	}
	return raw, nil
}

// object is a JSON object split into its members. Keys match exactly (not
// case-insensitively as encoding/json matches struct fields): these are
// documented formats, and a near miss should be reported, not guessed.
type object struct {
	path   jsonPath
	fields map[string]json.RawMessage
}

// parseObject splits raw, found at path, into its members.
func parseObject(raw json.RawMessage, path jsonPath) (object, *InputError) {
	if k := rawKind(raw); k != "object" {
		return object{}, inputErr(path.String(), "want object, got %s", k)
	}
	o := object{path: path}
	if err := json.Unmarshal(raw, &o.fields); err != nil {
		// raw is a well-formed object: there is nothing left to go wrong.
		return object{}, inputErr(path.String(), "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return o, nil
}

// has reports whether the member k is present and not null.
func (o object) has(k string) bool { return !isNull(o.fields[k]) }

// where renders the path of member k.
func (o object) where(k string) string { return o.path.key(k).String() }

// unknown returns an error for the first member, in sorted order, that is not
// one of known.
func (o object) unknown(known ...string) *InputError {
	var bad []string
	for k := range o.fields {
		if !slices.Contains(known, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return inputErr(o.where(bad[0]), "unknown field")
}

// str returns the string member k, or "" when it is absent or null.
func (o object) str(k string) (string, *InputError) {
	raw := o.fields[k]
	if isNull(raw) {
		return "", nil
	}
	var s string
	if rawKind(raw) != "string" || json.Unmarshal(raw, &s) != nil {
		return "", inputErr(o.where(k), "want string, got %s", rawKind(raw))
	}
	return s, nil
}

// boolean returns the boolean member k, or false when it is absent or null.
func (o object) boolean(k string) (bool, *InputError) {
	raw := o.fields[k]
	if isNull(raw) {
		return false, nil
	}
	var b bool
	if rawKind(raw) != "bool" || json.Unmarshal(raw, &b) != nil {
		return false, inputErr(o.where(k), "want bool, got %s", rawKind(raw))
	}
	return b, nil
}

// rfc3339 returns the time member k, or the zero time when it is absent,
// null or the zero time itself (which Alertmanager-shaped senders use for
// "not set").
func (o object) rfc3339(k string) (time.Time, *InputError) {
	raw := o.fields[k]
	if isNull(raw) {
		return time.Time{}, nil
	}
	var t time.Time
	if rawKind(raw) != "string" || json.Unmarshal(raw, &t) != nil {
		return time.Time{}, inputErr(o.where(k), "want an RFC 3339 time")
	}
	return t, nil
}

// array returns the elements of the array member k, or nil when it is absent
// or null.
func (o object) array(k string) ([]json.RawMessage, *InputError) {
	raw := o.fields[k]
	if isNull(raw) {
		return nil, nil
	}
	var a []json.RawMessage
	if rawKind(raw) != "array" || json.Unmarshal(raw, &a) != nil {
		return nil, inputErr(o.where(k), "want array, got %s", rawKind(raw))
	}
	return a, nil
}

// stringMap returns the member k, an object of strings such as labels, or
// nil when it is absent or null. Names must be non-empty. (That they are
// valid UTF-8, which encoding/json would not tell, checkUTF8 made sure of.)
func (o object) stringMap(k string) (map[string]string, *InputError) {
	raw := o.fields[k]
	if isNull(raw) {
		return nil, nil
	}
	m, err := parseObject(raw, o.path.key(k))
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m.fields))
	for _, name := range sortedRawKeys(m.fields) {
		v, err := m.str(name)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	if _, ok := out[""]; ok {
		return nil, inputErr(o.where(k), "empty name")
	}
	return out, nil
}

func sortedRawKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// batchItems reads a body that is either one object or {"<name>":[objects]}
// and returns the raw items with their paths: "" for a lone object,
// "<name>[i]" in a batch.
func batchItems(body []byte, name string) (items []json.RawMessage, paths []jsonPath, err *InputError) {
	raw, err := parseBody(body)
	if err != nil {
		return nil, nil, err
	}
	root, err := parseObject(raw, nil)
	if err != nil {
		return nil, nil, err
	}
	if _, isBatch := root.fields[name]; !isBatch {
		return []json.RawMessage{raw}, []jsonPath{nil}, nil
	}
	if err := root.unknown(name); err != nil {
		return nil, nil, err
	}
	items, err = root.array(name)
	if err != nil {
		return nil, nil, err
	}
	if len(items) == 0 {
		return nil, nil, inputErr(name, "no %s", name)
	}
	paths = make([]jsonPath, len(items))
	for i := range items {
		paths[i] = jsonPath{{key: name}}.idx(i)
	}
	return items, paths, nil
}

// joinErrors joins the errors of a batch, the first maxReportedErrors of
// them; errors.As on the result finds the first.
func joinErrors(errs []*InputError) error {
	if len(errs) == 0 {
		return nil
	}
	if len(errs) > maxReportedErrors {
		errs = errs[:maxReportedErrors]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// InputErrors returns every *InputError in err, which may be one of them or a
// join of several (a batch, or a PagerDuty event with several problems), in
// order; nil when there is none.
func InputErrors(err error) []*InputError {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []*InputError
		for _, e := range joined.Unwrap() {
			out = append(out, InputErrors(e)...)
		}
		return out
	}
	var ie *InputError
	if errors.As(err, &ie) {
		return []*InputError{ie}
	}
	return nil
}

// runeLen counts characters the way PagerDuty's limits do, as Unicode code
// points.
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// notAfter returns t, or now when t is later: a sender whose clock runs fast
// must not make its own later resolve look older than the firing (dedupe
// follows startsAt), which would leave the incident open.
func notAfter(t, now time.Time) time.Time {
	if t.After(now) {
		return now
	}
	return t
}
