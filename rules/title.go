package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/alertbridge/alertbridge/incident"
)

// The names of the two templates a rule can have; text/template puts them in
// its messages, which cleanTemplateError removes again.
const (
	tmplTitle   = "title"
	tmplSummary = "summary"
)

// maxRenderedBytes bounds a rendered template, so that a template that loops
// (over a huge range, say) fails instead of eating memory. A summary is a
// description and may be longer than a title.
var maxRenderedBytes = map[string]int{tmplTitle: 4096, tmplSummary: 16384}

// sampleAlert is what a template is run against at load time, so that an
// unknown field such as {{ .Foo }} is a load error and not a surprise at the
// first matching alert. Its maps are empty: with missingkey=zero a missing
// label renders as "".
var sampleAlert = amtemplate.Alert{
	Status:      string(incident.StatusFiring),
	Labels:      amtemplate.KV{},
	Annotations: amtemplate.KV{},
	StartsAt:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	Fingerprint: "0000000000000000",
}

// compileTemplate parses a title or summary template (name says which) with
// Alertmanager's template functions and runs it once against sampleAlert.
func compileTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).
		Option("missingkey=zero").
		Funcs(template.FuncMap(amtemplate.DefaultFuncs)).
		Parse(text)
	if err != nil {
		return nil, cleanTemplateError(err)
	}
	if _, err := execTemplate(t, sampleAlert); err != nil {
		return nil, cleanTemplateError(err)
	}
	return t, nil
}

// alertOf gives a template the same data an Alertmanager template sees for
// one alert: .Status, .Labels, .Annotations, .StartsAt, .EndsAt,
// .GeneratorURL and .Fingerprint, with .Labels.SortedPairs and friends.
func alertOf(ev incident.Event) amtemplate.Alert {
	return amtemplate.Alert{
		Status:       string(ev.Status),
		Labels:       amtemplate.KV(ev.Labels),
		Annotations:  amtemplate.KV(ev.Annotations),
		StartsAt:     ev.StartsAt,
		EndsAt:       ev.EndsAt,
		GeneratorURL: ev.GeneratorURL,
		Fingerprint:  ev.Fingerprint,
	}
}

// execTemplate renders t for a, trimmed of surrounding white space (a YAML
// block scalar ends in a newline, which no title wants).
func execTemplate(t *template.Template, a amtemplate.Alert) (string, error) {
	w := limitedWriter{max: maxRenderedBytes[t.Name()]}
	if err := t.Execute(&w, a); err != nil {
		return "", err
	}
	return strings.TrimSpace(w.b.String()), nil
}

type limitedWriter struct {
	b   strings.Builder
	max int
}

// tooLongError is a template's output passing its limit.
type tooLongError struct{ max int }

func (e tooLongError) Error() string { return fmt.Sprintf("longer than %d bytes", e.max) }

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, tooLongError{w.max}
	}
	return w.b.Write(p)
}

var (
	parseErrorRE = regexp.MustCompile(`^template: \w+:(\d+): (.*)$`)
	execErrorRE  = regexp.MustCompile(`^template: \w+:(\d+):\d+: executing "\w+" at (<.*?>): (.*)$`)
)

// cleanTemplateError drops text/template's "template: title:1:3: executing
// "title"" preamble, which names our internal template and not the file; the
// error is reported at the template's position instead. A line within a
// multi-line template is kept. The output limit comes through as it is.
func cleanTemplateError(err error) error {
	var tl tooLongError
	if errors.As(err, &tl) {
		return tl
	}
	msg := err.Error()
	line, rest := "", ""
	if m := execErrorRE.FindStringSubmatch(msg); m != nil {
		line, rest = m[1], m[2]+": "+m[3]
	} else if m := parseErrorRE.FindStringSubmatch(msg); m != nil {
		line, rest = m[1], m[2]
	} else {
		return err
	}
	if line != "1" {
		rest = "line " + line + ": " + rest
	}
	return errors.New(rest)
}
