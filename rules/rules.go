package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/yamlfile"
)

// Rule is one compiled correlation rule. It is immutable and safe for
// concurrent use.
type Rule struct {
	// Name identifies the rule; it is unique within a Set.
	Name string
	// By lists the labels whose values, with Name, form the correlation key.
	// Empty means every alert the rule matches belongs to one incident.
	By []string
	// ReopenWithin is how soon after resolving a new firing reopens the
	// incident instead of opening a new one. It defaults to
	// DefaultReopenWithin.
	ReopenWithin time.Duration
	// Impact and Urgency are "" when the rule does not set them; the
	// daemon then derives them from the severity label.
	Impact, Urgency incident.Level
	// Drop means matching alerts are discarded as noise.
	Drop bool
	// Pos is where the rule is defined, for messages.
	Pos yamlfile.Pos

	namePos  yamlfile.Pos
	matchers labels.Matchers
	title    *template.Template
}

// Matches reports whether all of the rule's matchers match labels. A rule
// without matchers matches everything; a missing label has the value "".
func (r *Rule) Matches(labels map[string]string) bool {
	return matchAll(r.matchers, labels)
}

// Title renders the rule's title template for ev. It returns "" and no error
// when the rule has no title template.
func (r *Rule) Title(ev incident.Event) (string, error) {
	if r.title == nil {
		return "", nil
	}
	s, err := execTitle(r.title, alertOf(ev))
	if err != nil {
		return "", fmt.Errorf("rule %q: title: %w", r.Name, cleanTemplateError(err))
	}
	return s, nil
}

// Key returns the correlation key of ev under r: the rule name followed by
// the values of the rule's by labels in Alertmanager's label set form, e.g.
// disk{cluster="eu1", instance=""}. A missing label counts as "".
func (r *Rule) Key(ev incident.Event) string {
	sub := make(map[string]string, len(r.By))
	for _, l := range r.By {
		sub[l] = ev.Labels[l]
	}
	return r.Name + incident.FormatLabels(sub)
}

// Set is a loaded, valid set of rules in evaluation order: file order, then
// list order within a file. It is immutable and safe for concurrent use; a
// nil *Set has no rules.
type Set struct {
	rules []*Rule
	files []string
	hash  string
}

// Match returns the first rule whose matchers all match labels, or nil if
// none does.
func (s *Set) Match(labels map[string]string) *Rule {
	if s == nil {
		return nil
	}
	for _, r := range s.rules {
		if r.Matches(labels) {
			return r
		}
	}
	return nil
}

// Hash returns the hex SHA-256 of the loaded files' contents, concatenated
// in load order; for a single file it equals sha256sum's. The daemon exports
// it as its config hash metric.
func (s *Set) Hash() string {
	if s == nil {
		return hashOf(nil)
	}
	return s.hash
}

// Len returns the number of rules.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rules)
}

// Rules returns the rules in evaluation order.
func (s *Set) Rules() []*Rule {
	if s == nil {
		return nil
	}
	return slices.Clone(s.rules)
}

// Files returns the names of the loaded files in load order, as they appear
// in positions.
func (s *Set) Files() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.files)
}

// Load reads the rule files that patterns name within fsys and compiles them
// into a Set. A pattern is a file name or an fs.Glob pattern; a pattern that
// matches no file is an error, and a file that several patterns match is read
// once. Files are read in pattern order (glob matches in lexical order); no
// patterns at all give an empty Set.
//
// On failure the Set is nil and the error lists every problem in every file,
// sorted by position. The error is a yamlfile.Errors (one file:line:col:
// message a line); errors.As gets the list back.
func Load(fsys fs.FS, patterns []string) (*Set, error) {
	return load(patterns,
		func(name string) ([]byte, error) { return fs.ReadFile(fsys, name) },
		func(pattern string) ([]string, error) { return fs.Glob(fsys, pattern) })
}

// LoadFiles is Load for paths in the operating system's syntax: absolute, or
// relative to the working directory, "../" included. Positions name the
// files as the patterns spell them, so messages show what the user typed.
func LoadFiles(patterns []string) (*Set, error) {
	return load(patterns, os.ReadFile, filepath.Glob)
}

// Parse compiles one rule file, named name in positions. It is Load for a
// single file's contents, for tests and fuzzing.
func Parse(name string, data []byte) (*Set, error) {
	return compile([]source{{name: name, data: data}})
}

// source is one rule file's name and contents.
type source struct {
	name string
	data []byte
}

func load(patterns []string, read func(string) ([]byte, error), glob func(string) ([]string, error)) (*Set, error) {
	var errs yamlfile.Errors
	var srcs []source
	seen := make(map[string]bool)
	for _, p := range patterns {
		names := []string{p}
		// A plain name is read directly, so that a missing file is reported
		// as such and not as "matches no files".
		if strings.ContainsAny(p, `*?[\`) {
			var err error
			names, err = glob(p)
			switch {
			case err != nil:
				errs.Add(yamlfile.Pos{File: p}, "bad pattern: %v", err)
				continue
			case len(names) == 0:
				errs.Add(yamlfile.Pos{File: p}, "pattern matches no files")
				continue
			}
		}
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			data, err := read(name)
			if err != nil {
				errs.Add(yamlfile.Pos{File: name}, "%v", unwrapPathError(err))
				continue
			}
			srcs = append(srcs, source{name: name, data: data})
		}
	}
	set, err := compile(srcs)
	errs.Append(err)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return set, nil
}

// unwrapPathError drops the path and operation from a file error: the
// message is already prefixed with the file name as the user wrote it.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// compile runs the three passes over srcs and checks that rule names are
// unique across all of them.
func compile(srcs []source) (*Set, error) {
	s := &Set{}
	var errs yamlfile.Errors
	first := make(map[string]*Rule)
	h := sha256.New()
	for _, src := range srcs {
		h.Write(src.data)
		s.files = append(s.files, src.name)

		f, decodeErrs := decodeFile(src.name, src.data)
		f.applyDefaults()
		rep := newReporter(decodeErrs)
		rules := f.validate(rep)
		errs = append(errs, decodeErrs...)
		errs = append(errs, rep.errs...)

		for _, r := range rules {
			if prev, ok := first[r.Name]; ok {
				errs.Add(r.namePos, "rule %q: name: duplicate name, first defined at %s", r.Name, prev.namePos)
				continue
			}
			first[r.Name] = r
			s.rules = append(s.rules, r)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	s.hash = hex.EncodeToString(h.Sum(nil))
	return s, nil
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
