package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file locates problems that encoding/json reports without a usable
// position, by walking the raw body token by token. It runs only on error
// paths, never on a clean payload.

// pathElem is one step of a JSON path: an object key or an array index.
type pathElem struct {
	key   string
	index int
	isIdx bool
}

type jsonPath []pathElem

// maxKeyInPath bounds how much of a payload key an error message echoes.
const maxKeyInPath = 64

// String renders the path as alerts[3].labels.severity; keys that are not
// plain identifiers are quoted: labels["a.b"].
func (p jsonPath) String() string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case e.isIdx:
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
		case isIdent(e.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.key)
		default:
			b.WriteString("[" + strconv.Quote(truncate(e.key, maxKeyInPath)) + "]")
		}
	}
	return b.String()
}

// isAlertField reports whether p has the shape alerts[i].<keys...>, matching keys the
// way encoding/json matches struct fields (case-insensitively), and returns i.
func (p jsonPath) isAlertField(keys ...string) (int, bool) {
	if len(p) != 2+len(keys) || p[0].isIdx || !strings.EqualFold(p[0].key, "alerts") || !p[1].isIdx {
		return 0, false
	}
	for i, k := range keys {
		if p[2+i].isIdx || !strings.EqualFold(p[2+i].key, k) {
			return 0, false
		}
	}
	return p[1].index, true
}

func isIdent(s string) bool {
	if s == "" || len(s) > maxKeyInPath {
		return false
	}
	for i, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// jsonToken is one token of the walk. For an object key, the path ends with
// the key and isKey is set. raw is the token's bytes in the body (a
// delimiter for objects and arrays), starting at offset start and ending
// before end.
type jsonToken struct {
	// path builds the token's path; it is valid only during the visit. It
	// is built on demand because building it for every token would cost a
	// walk O(tokens × depth) allocations.
	path func() jsonPath
	// depth is the length of the path.
	depth      int
	isKey      bool
	tok        json.Token
	raw        []byte
	start, end int64
}

// walkJSON calls visit for every object key and value of body in document
// order, until visit returns false or the body stops being valid JSON.
func walkJSON(body []byte, visit func(jsonToken) bool) {
	type frame struct {
		obj, wantKey bool
		key          string
		index        int
	}
	var stack []frame
	path := func() jsonPath {
		p := make(jsonPath, len(stack))
		for i, f := range stack {
			if f.obj {
				p[i] = pathElem{key: f.key}
			} else {
				p[i] = pathElem{index: f.index, isIdx: true}
			}
		}
		return p
	}
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
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return
		}
		end := dec.InputOffset()
		// The span since the previous token includes separators; skip them.
		for start < end && strings.IndexByte(" \t\r\n,:", body[start]) >= 0 {
			start++
		}
		t := jsonToken{path: path, tok: tok, raw: body[start:end], start: start, end: end}
		n := len(stack)
		if n > 0 && stack[n-1].obj && stack[n-1].wantKey {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			key, _ := tok.(string)
			stack[n-1].key, stack[n-1].wantKey = key, false
			t.depth, t.isKey = len(stack), true
			if !visit(t) {
				return
			}
			continue
		}
		if tok == json.Delim(']') || tok == json.Delim('}') {
			if n > 0 {
				stack = stack[:n-1]
			}
			valueDone()
			continue
		}
		t.depth = len(stack)
		if !visit(t) {
			return
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{obj: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		default:
			valueDone()
		}
	}
}

// locateDecodeError turns an error of json.Unmarshal into an InputError that
// says where the problem is.
func locateDecodeError(body []byte, err error) *InputError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return inputErr("offset "+strconv.FormatInt(se.Offset, 10), "%s", se.Error())
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		msg := "want " + jsonKind(te.Type) + ", got " + te.Value
		// Offset is at the end of a mismatched literal, or just inside the
		// opening delimiter of a mismatched object or array.
		var where jsonPath
		found := false
		walkJSON(body, func(t jsonToken) bool {
			if !t.isKey && t.start < te.Offset && te.Offset <= t.end {
				where, found = t.path(), true
				return false
			}
			return true
		})
		if found {
			return inputErr(where.String(), "%s", msg)
		}
		// Field is the json path without indices, and it names the embedded
		// struct (Data.alerts.labels); drop that Go detail.
		return inputErr(strings.TrimPrefix(te.Field, "Data."), "%s", msg)
	}
	// time.Time reports its errors without any position.
	var located *InputError
	walkJSON(body, func(t jsonToken) bool {
		if t.isKey || t.depth != 3 || t.tok == nil {
			return true
		}
		p := t.path()
		_, starts := p.isAlertField("startsAt")
		_, ends := p.isAlertField("endsAt")
		if !starts && !ends {
			return true
		}
		if _, isStr := t.tok.(string); !isStr || new(time.Time).UnmarshalJSON(t.raw) != nil {
			located = inputErr(p.String(), "want an RFC 3339 time")
			return false
		}
		return true
	})
	if located != nil {
		return located
	}
	return inputErr("", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names what JSON value a Go type accepts.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "unsigned integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.Kind().String()
}
