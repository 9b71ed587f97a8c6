package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits that keep a hostile or broken file from exhausting the stack or the
// CPU. Aliases are expanded while walking, so a small "billion laughs"
// document would otherwise cost exponential time; the walk may visit at most
// maxAliasNodes nodes more than the document holds. An alias to its own
// ancestor would recurse forever; maxDepth stops it. maxErrors keeps the
// error list of such a file readable.
const (
	maxDepth      = 100
	maxAliasNodes = 1 << 16
	maxErrors     = 1000
)

// Value is a decoded value together with the position of its YAML node, so
// that validation can report where a problem is. Use it for struct fields and
// list elements whose problems need a position.
type Value[T any] struct {
	V   T
	Pos Pos
}

// IsSet reports whether the value was present in the document (possibly as
// null, which leaves V at its zero value).
func (v Value[T]) IsSet() bool { return v.Pos.Line > 0 }

func (v *Value[T]) setPos(p Pos)        { v.Pos = p }
func (v *Value[T]) elem() reflect.Value { return reflect.ValueOf(&v.V).Elem() }

// positioned is implemented by *Value[T] for every T.
type positioned interface {
	setPos(Pos)
	elem() reflect.Value
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	nodeType        = reflect.TypeFor[yaml.Node]()
	syntaxErrorRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Decode parses data, the contents of the named file, and stores it in the
// value v points to, which must be a pointer to a struct.
//
// Decoding is strict: a mapping key that matches no field's yaml tag, a
// duplicate key, a node of the wrong kind (a list where a mapping is wanted,
// a mapping where a string is wanted) and a second document are errors.
// Decoding goes on after an error, so the returned Errors (sorted by
// position) lists every such problem. Null values and absent keys leave the
// target at its zero value; an empty file is a valid empty document.
//
// Supported targets are structs (keys matched by yaml tag, or the lower-cased
// field name; `yaml:"-"` skips a field and `yaml:",inline"` flattens an
// embedded struct), Value[T], pointers, slices, maps with string keys,
// strings, booleans, numbers (an integer target takes no fraction),
// ScalarOrMapping, yaml.Node, and types that implement yaml.Unmarshaler.
// Anchors, aliases and merge keys (<<) are resolved.
func Decode(file string, data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decode %s: target must be a non-nil pointer to a struct, not %T", file, v)
	}
	d := &decoder{file: file}
	doc, err := d.parse(data)
	if err != nil {
		d.errs.Append(err)
		return d.errs.Err()
	}
	if doc != nil {
		d.budget = countNodes(doc) + maxAliasNodes
		d.decode(doc, rv.Elem(), 0, "")
	}
	return d.errs.Err()
}

type decoder struct {
	file string
	errs Errors
	// nodes counts the nodes visited; budget is the most allowed.
	nodes, budget int
	// tooBig is set once the budget is spent, so the error is reported once.
	tooBig bool
}

// parse reads the one document in data. It returns nil for an empty file.
func (d *decoder) parse(data []byte) (doc *yaml.Node, err error) {
	// yaml.v3 has had panics on malformed input; a rule file must never take
	// the daemon down, so turn any that remain into an error.
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, Error{Pos: Pos{File: d.file}, Msg: fmt.Sprintf("yaml: internal error: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first yaml.Node
	switch err := dec.Decode(&first); {
	case errors.Is(err, io.EOF):
		return nil, nil
	case err != nil:
		return nil, d.syntaxError(err, data)
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case errors.Is(err, io.EOF):
		return &first, nil
	case err != nil:
		return nil, d.syntaxError(err, data)
	}
	return nil, Error{Pos: PosOf(d.file, &second), Msg: "a file must hold one YAML document, found another"}
}

// syntaxError turns a yaml.v3 parse error into a positioned Error.
//
// yaml.v3 reports "yaml: line N: msg" without a column, and its line is
// unreliable: scanner errors carry a 1-based line, parser errors a 0-based
// one, and any error on the first line carries none. parserProblems tells the
// two apart. Errors about the byte stream (bad UTF-8, control characters) and
// unknown anchors carry no line at all; for those the offending spot is found
// in data.
func (d *decoder) syntaxError(err error, data []byte) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := syntaxErrorRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	pos := Pos{File: d.file, Line: line}
	switch {
	case parserProblems[msg]:
		pos.Line++
	case line > 0:
	case strings.HasPrefix(msg, "unknown anchor '"):
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		pos = d.offsetPos(data, bytes.Index(data, []byte("*"+name)))
	case isStreamProblem(msg):
		pos = d.offsetPos(data, badByteOffset(data))
	default:
		pos.Line = 1
	}
	return Error{Pos: pos, Msg: "yaml: " + msg}
}

// parserProblems are the messages of yaml.v3's parser (parserc.go), whose
// lines are 0-based; the scanner's (scannerc.go) are 1-based.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// isStreamProblem reports whether msg is one of yaml.v3's reader errors
// (readerc.go), which are about bytes, not YAML structure.
func isStreamProblem(msg string) bool {
	for _, p := range []string{"invalid ", "incomplete UTF-8", "control characters", "input error"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// badByteOffset returns the offset of the first byte sequence that YAML does
// not allow in a stream: invalid UTF-8 or a non-printable character. It
// returns -1 if there is none.
func badByteOffset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 || !printable(r) {
			return i
		}
		i += size
	}
	return -1
}

// printable is YAML 1.2's c-printable set (plus the byte order mark).
func printable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// offsetPos turns a byte offset in data into a position; a negative offset
// gives the file alone. Columns count runes, as yaml.v3's node columns do.
func (d *decoder) offsetPos(data []byte, off int) Pos {
	if off < 0 || off > len(data) {
		return Pos{File: d.file}
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return Pos{File: d.file, Line: line, Col: utf8.RuneCount(before[lineStart:]) + 1}
}

func (d *decoder) pos(n *yaml.Node) Pos { return PosOf(d.file, n) }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	switch {
	case len(d.errs) < maxErrors:
		d.errs.Add(d.pos(n), format, args...)
	case len(d.errs) == maxErrors:
		d.errs.Add(d.pos(n), "too many errors, stopped reporting")
	}
}

// kindError reports a node of the wrong kind for its target.
func (d *decoder) kindError(n *yaml.Node, key, format string, args ...any) {
	if key != "" {
		format = strings.ReplaceAll(key, "%", "%%") + ": " + format
	}
	d.errorf(n, format, args...)
}

// enter resolves aliases and charges the node budget. It returns nil when
// decoding must stop on this branch.
func (d *decoder) enter(n *yaml.Node, depth int) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		if depth++; depth > maxDepth {
			break
		}
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	d.nodes++
	switch {
	case d.nodes > d.budget:
		if !d.tooBig {
			d.tooBig = true
			d.errorf(n, "aliases expand to too many nodes (more than %d beyond the document's own)", maxAliasNodes)
		}
		return nil
	case depth > maxDepth:
		d.errorf(n, "document nested more than %d levels deep (or an alias refers to itself)", maxDepth)
		return nil
	}
	return n
}

// countNodes counts the nodes of a parsed document without following
// aliases. The parser bounds its depth, so the recursion is safe.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// decode stores n in v, which must be settable. key is the mapping key n is
// the value of (or, for a list element, the list's key); it prefixes kind
// errors, since the position alone does not say which field was meant.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, depth int, key string) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	at := d.pos(n) // an alias's own position: where the value is used
	if n = d.enter(n, depth); n == nil {
		return
	}
	if p, ok := v.Addr().Interface().(positioned); ok {
		p.setPos(at)
		d.decode(n, p.elem(), depth+1, key)
		return
	}
	switch {
	case v.Type() == nodeType:
		v.Set(reflect.ValueOf(*n))
		return
	case reflect.PointerTo(v.Type()).Implements(unmarshalerType):
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errorf(n, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return
	case isNull(n):
		return
	}
	if u, ok := v.Addr().Interface().(union); ok {
		switch n.Kind {
		case yaml.ScalarNode:
			d.decode(n, u.branch(false), depth+1, key)
		case yaml.MappingNode:
			d.decode(n, u.branch(true), depth+1, key)
		default:
			d.kindError(n, key, "expected %s or a mapping, found %s", describeType(u.scalarType()), describe(n))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), depth+1, key)
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, v, depth, key)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.kindError(n, key, "expected a list, found %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), depth+1, key)
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, depth, key)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.kindError(n, key, "expected a string, found %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		d.decodeScalar(n, v, key, "a boolean")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		d.decodeScalar(n, v, key, "an integer")
	case reflect.Float32, reflect.Float64:
		d.decodeScalar(n, v, key, "a number")
	case reflect.Interface:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errorf(n, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
	default:
		d.errorf(n, "cannot decode into Go type %s", v.Type())
	}
}

// decodeScalar leaves the conversion of booleans and numbers (and
// time.Duration) to yaml.v3, which resolves the node's tag. yaml.v3 would
// truncate a number with a fraction into an integer target (1.5 → 1), so
// that is rejected first.
func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, key, want string) {
	if n.Kind != yaml.ScalarNode {
		d.kindError(n, key, "expected %s, found %s", want, describe(n))
		return
	}
	if isInteger(v.Kind()) && n.ShortTag() == "!!float" {
		d.kindError(n, key, "expected %s, found %q", want, n.Value)
		return
	}
	p := reflect.New(v.Type())
	if err := n.Decode(p.Interface()); err != nil {
		found := strconv.Quote(n.Value)
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			// "2" in quotes is a string; say why it is not a number.
			found = "the quoted string " + found
		}
		d.kindError(n, key, "expected %s, found %s", want, found)
		return
	}
	v.Set(p.Elem())
}

// describe names a node's kind for "expected X, found Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "a YAML node of kind " + strconv.Itoa(int(n.Kind))
}

// pair is one key and its value in a mapping, after merge keys are resolved.
type pair struct{ key, val *yaml.Node }

// pairs returns n's keys and values. It reports duplicate and non-string keys
// and skips them. Keys merged in with << come after the explicit ones and
// only when the mapping does not set the key itself, as YAML specifies; of
// several merged mappings, the first to set a key wins.
func (d *decoder) pairs(n *yaml.Node, depth int) []pair {
	var explicit, merged []pair
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(v, depth+1)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "expected a string key, found %s", describe(k))
			continue
		}
		if first, ok := seen[k.Value]; ok {
			d.errorf(k, "duplicate key %q, first at line %d", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		explicit = append(explicit, pair{k, v})
	}
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; !ok {
			seen[p.key.Value] = p.key
			explicit = append(explicit, p)
		}
	}
	return explicit
}

// merge returns the pairs a merge key's value contributes: a mapping or a
// list of mappings.
func (d *decoder) merge(v *yaml.Node, depth int) []pair {
	if v = d.enter(v, depth); v == nil {
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v, depth)
	case yaml.SequenceNode:
		var out []pair
		seen := make(map[string]bool)
		for _, c := range v.Content {
			if c = d.enter(c, depth+1); c == nil {
				continue
			}
			if c.Kind != yaml.MappingNode {
				d.errorf(c, "expected a mapping to merge, found %s", describe(c))
				continue
			}
			for _, p := range d.pairs(c, depth+1) {
				if !seen[p.key.Value] {
					seen[p.key.Value] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
	d.errorf(v, "expected a mapping or a list of mappings to merge, found %s", describe(v))
	return nil
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, depth int, key string) {
	if n.Kind != yaml.MappingNode {
		d.kindError(n, key, "expected a mapping, found %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	for _, p := range d.pairs(n, depth) {
		index, ok := fields[p.key.Value]
		if !ok {
			d.errorf(p.key, "unknown field %q", p.key.Value)
			continue
		}
		d.decode(p.val, fieldByIndex(v, index), depth+1, p.key.Value)
	}
}

// fieldByIndex is reflect.Value.FieldByIndex that allocates nil embedded
// struct pointers on the way.
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// fieldsOf maps the YAML keys of struct type t to field index paths.
func fieldsOf(t reflect.Type) map[string][]int {
	out := make(map[string][]int)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, idx := range fieldsOf(ft) {
					out[k] = append([]int{i}, idx...)
				}
				continue
			}
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

// decodeMap decodes a mapping into a Go map with string keys.
func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, depth int, key string) {
	if v.Type().Key().Kind() != reflect.String {
		d.errorf(n, "cannot decode into Go type %s: map keys must be strings", v.Type())
		return
	}
	if n.Kind != yaml.MappingNode {
		d.kindError(n, key, "expected a mapping, found %s", describe(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, p := range d.pairs(n, depth) {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(p.val, elem, depth+1, p.key.Value)
		m.SetMapIndex(reflect.ValueOf(p.key.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}
