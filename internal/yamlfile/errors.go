package yamlfile

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pos is a position in a file. Line and Col are 1-based; 0 means unknown.
type Pos struct {
	File string
	Line int
	Col  int
}

// PosOf returns the position of n in file.
func PosOf(file string, n *yaml.Node) Pos {
	return Pos{File: file, Line: n.Line, Col: n.Column}
}

// String renders p as file:line:col, leaving out the parts that are unknown.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return p.File + ":" + strconv.Itoa(p.Line)
	}
	return p.File + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}

// Compare orders positions by file name, then line, then column.
func (p Pos) Compare(q Pos) int {
	if c := strings.Compare(p.File, q.File); c != 0 {
		return c
	}
	if c := cmp.Compare(p.Line, q.Line); c != 0 {
		return c
	}
	return cmp.Compare(p.Col, q.Col)
}

// Error is one problem at one position.
type Error struct {
	Pos Pos
	Msg string
}

// Error renders e as file:line:col: message.
func (e Error) Error() string {
	if e.Pos == (Pos{}) {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Errors is a list of positioned problems. Its Error method renders one
// problem a line. Use errors.As with an Errors target to get the list back
// from an error returned by this package or by its users.
type Errors []Error

// Error renders the problems one a line, in the order they are in.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Add appends a problem at pos.
func (es *Errors) Add(pos Pos, format string, args ...any) {
	*es = append(*es, Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// Append adds err to the list: the elements of an Errors, a single Error as
// it is, and any other error as a problem without a position. A nil err adds
// nothing.
func (es *Errors) Append(err error) {
	var list Errors
	var one Error
	switch {
	case err == nil:
	case errors.As(err, &list):
		*es = append(*es, list...)
	case errors.As(err, &one):
		*es = append(*es, one)
	default:
		*es = append(*es, Error{Msg: err.Error()})
	}
}

// Sort orders the problems by position (file, line, column), keeping the
// insertion order of problems at the same position.
func (es Errors) Sort() {
	slices.SortStableFunc(es, func(a, b Error) int { return a.Pos.Compare(b.Pos) })
}

// Err returns nil when the list is empty, else the list sorted by position.
// It is the usual last line of a function that collects problems:
// `return errs.Err()`.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	es.Sort()
	return es
}
