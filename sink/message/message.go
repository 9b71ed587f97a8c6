// Package message renders what sinks send: the data a message template sees
// of a notification, and templates over it with the same functions as the
// rules' titles (Alertmanager's template functions).
package message

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	"text/template"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/alertbridge/alertbridge/incident"
)

// Data is what a message template sees: {{ .Incident.Title }},
// {{ .Kind }}, {{ range .Alerts }}{{ .Labels.instance }}{{ end }} and so on.
type Data struct {
	// Kind is the change told of: opened, acknowledged, resolved, …
	Kind string
	// Incident is the incident as it is at delivery.
	Incident Incident
	// Entries are the timeline entries the notification tells of, oldest
	// first (several when a lagging sink's updates were folded).
	Entries []Entry
	// Alerts are the first of the incident's alerts; AlertCount counts all.
	Alerts     []amtemplate.Alert
	AlertCount int
	// MergedInto is the incident this one was merged into, if it was.
	MergedInto *Incident
}

// Incident is an incident as templates see it: times are in UTC, zero
// when unset (test with {{ if .AcknowledgedAt.IsZero }}).
type Incident struct {
	ID                                   int64
	State, Priority, Impact, Urgency     string
	Title, Summary, Service, Owner, Rule string
	Source                               string
	Labels                               amtemplate.KV
	OpenedAt, AcknowledgedAt, ResolvedAt time.Time
	ImpactStartedAt                      time.Time
	// RespondBy and ResolveBy are the SLA targets (zero: no SLA);
	// RespondBreached and ResolveBreached say whether they were missed.
	RespondBy, ResolveBy             time.Time
	RespondBreached, ResolveBreached bool
	SLAPolicy                        string
	ProblemID                        int64
	// URL links to it in alertbridge ("" without --web.external-url).
	URL string
}

// Entry is a timeline entry as templates see it.
type Entry struct {
	At                  time.Time
	Kind, Actor         string
	OnBehalfOf, Message string
	Fingerprint         string
}

// IncidentOf is inc as templates see it, with its link.
func IncidentOf(inc incident.Incident, url string) Incident {
	return Incident{
		ID: inc.ID, State: string(inc.State), Priority: inc.Priority.String(), Impact: string(inc.Impact),
		Urgency: string(inc.Urgency), Title: inc.Title, Summary: inc.Summary, Service: inc.Service,
		Owner: inc.Owner, Rule: inc.Rule, Source: inc.Source, Labels: amtemplate.KV(nonNil(inc.Labels)),
		OpenedAt: inc.OpenedAt, AcknowledgedAt: inc.AcknowledgedAt, ResolvedAt: inc.ResolvedAt,
		ImpactStartedAt: inc.ImpactStartedAt, RespondBy: inc.RespondBy, ResolveBy: inc.ResolveBy,
		RespondBreached: !inc.RespondBreachedAt.IsZero(), ResolveBreached: !inc.ResolveBreachedAt.IsZero(),
		SLAPolicy: inc.SLAPolicy, ProblemID: inc.ProblemID, URL: url,
	}
}

// EntryOf is e as templates see it.
func EntryOf(e incident.TimelineEntry) Entry {
	return Entry{At: e.At, Kind: string(e.Kind), Actor: e.Actor, OnBehalfOf: e.OnBehalfOf, Message: e.Message,
		Fingerprint: e.Fingerprint}
}

// AlertOf is a as templates see it: the shape of an Alertmanager template's
// alert, so that {{ .Labels.instance }} and {{ .Annotations.summary }}
// read as they do there.
func AlertOf(a incident.Alert) amtemplate.Alert {
	status := string(incident.StatusFiring)
	if a.Status != incident.StatusFiring {
		status = string(incident.StatusResolved)
	}
	return amtemplate.Alert{
		Status: status, Labels: amtemplate.KV(nonNil(a.Labels)), Annotations: amtemplate.KV(nonNil(a.Annotations)),
		StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint,
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Sample is the data templates run against when they load, so that an
// unknown field is a config error and not a failed delivery.
var Sample = Data{
	Kind: string(incident.NotifyOpened),
	Incident: Incident{ID: 1, State: "open", Priority: "P2", Impact: "high", Urgency: "medium", Title: "sample",
		Service: "sample", Labels: amtemplate.KV{}, OpenedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	Entries: []Entry{{Kind: "opened", Actor: "system", Message: "sample"}},
	Alerts: []amtemplate.Alert{{Status: "firing", Labels: amtemplate.KV{}, Annotations: amtemplate.KV{},
		StartsAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}},
	AlertCount: 1,
}

// MaxRenderedBytes bounds one rendered template, so that a template that
// loops over a huge range fails instead of eating memory.
const MaxRenderedBytes = 64 << 10

// Template is a compiled message template.
type Template struct {
	t    executor
	text string
	html bool
}

// executor is what text/template and html/template templates share.
type executor interface {
	Execute(w io.Writer, data any) error
}

// Compile parses text with Alertmanager's template functions (missing keys
// render empty) and runs it once against Sample. Its output is plain text:
// values are written as they are.
func Compile(name, text string) (*Template, error) {
	t, err := template.New(name).Option("missingkey=zero").Funcs(template.FuncMap(amtemplate.DefaultFuncs)).Parse(text)
	if err != nil {
		return nil, clean(err)
	}
	return check(&Template{t: t, text: text})
}

// CompileHTML is Compile for HTML output (an e-mail's HTML part): the
// template runs under html/template, which escapes every value for the
// context it lands in, so that an alert label holding "<script>" is shown
// and not run. Alertmanager's safeHtml marks a value as trusted markup.
func CompileHTML(name, text string) (*Template, error) {
	t, err := htmltemplate.New(name).Option("missingkey=zero").Funcs(htmltemplate.FuncMap(amtemplate.DefaultFuncs)).Parse(text)
	if err != nil {
		return nil, clean(err)
	}
	return check(&Template{t: t, text: text, html: true})
}

// check runs tm once against Sample: html/template finds most of its
// errors (a value in a context it cannot escape for) only when it runs.
func check(tm *Template) (*Template, error) {
	if _, err := tm.Render(Sample); err != nil {
		return nil, err
	}
	return tm, nil
}

// MustCompile is Compile for the built-in defaults.
func MustCompile(name, text string) *Template {
	t, err := Compile(name, text)
	if err != nil {
		panic(fmt.Sprintf("message template %s: %v", name, err))
	}
	return t
}

// MustCompileHTML is CompileHTML for the built-in defaults.
func MustCompileHTML(name, text string) *Template {
	t, err := CompileHTML(name, text)
	if err != nil {
		panic(fmt.Sprintf("message template %s: %v", name, err))
	}
	return t
}

// HTML reports whether the template escapes its values for HTML
// (CompileHTML).
func (t *Template) HTML() bool { return t.html }

// Text is the template's source.
func (t *Template) Text() string { return t.text }

// Render runs the template on d; the result is trimmed of surrounding
// white space.
func (t *Template) Render(d Data) (string, error) {
	w := limitedWriter{max: MaxRenderedBytes}
	if err := t.t.Execute(&w, d); err != nil {
		return "", clean(err)
	}
	return strings.TrimSpace(w.b.String()), nil
}

// ErrTooLong is a rendering over MaxRenderedBytes.
var ErrTooLong = fmt.Errorf("rendered message longer than %d bytes", MaxRenderedBytes)

type limitedWriter struct {
	b   strings.Builder
	max int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, ErrTooLong
	}
	return w.b.Write(p)
}

// clean drops text/template's "template: name:" prefix (html/template's
// "html/template:name:"), which repeats what the config error already says.
func clean(err error) error {
	if errors.Is(err, ErrTooLong) {
		return ErrTooLong
	}
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "template: ")
	if !ok {
		rest, ok = strings.CutPrefix(msg, "html/template:")
	}
	if ok {
		if i := strings.Index(rest, ":"); i >= 0 {
			msg = strings.TrimSpace(rest[i+1:])
		}
	}
	return errors.New(msg)
}
