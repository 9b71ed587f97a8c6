package rules

import (
	"errors"
	"regexp"
	"strings"
	"text/template"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/alertbridge/alertbridge/incident"
)

// maxTitleBytes bounds a rendered title, so that a template that loops (over
// a huge range, say) fails instead of eating memory.
const maxTitleBytes = 4096

var errTitleTooLong = errors.New("longer than 4096 bytes")

// sampleAlert is what a title template is run against at load time, so that
// an unknown field such as {{ .Foo }} is a load error and not a surprise at
// the first matching alert. Its maps are empty: with missingkey=zero a
// missing label renders as "".
var sampleAlert = amtemplate.Alert{
	Status:      string(incident.StatusFiring),
	Labels:      amtemplate.KV{},
	Annotations: amtemplate.KV{},
	StartsAt:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	Fingerprint: "0000000000000000",
}

// compileTitle parses a title template with Alertmanager's template
// functions and runs it once against sampleAlert.
func compileTitle(text string) (*template.Template, error) {
	t, err := template.New("title").
		Option("missingkey=zero").
		Funcs(template.FuncMap(amtemplate.DefaultFuncs)).
		Parse(text)
	if err != nil {
		return nil, cleanTemplateError(err)
	}
	if _, err := execTitle(t, sampleAlert); err != nil {
		return nil, cleanTemplateError(err)
	}
	return t, nil
}

// alertOf gives a title template the same data an Alertmanager template
// sees for one alert: .Status, .Labels, .Annotations, .StartsAt, .EndsAt,
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

// execTitle renders t for a, trimmed of surrounding white space (a YAML
// block scalar ends in a newline, which no title wants).
func execTitle(t *template.Template, a amtemplate.Alert) (string, error) {
	var w limitedWriter
	if err := t.Execute(&w, a); err != nil {
		return "", err
	}
	return strings.TrimSpace(w.b.String()), nil
}

type limitedWriter struct{ b strings.Builder }

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > maxTitleBytes {
		return 0, errTitleTooLong
	}
	return w.b.Write(p)
}

var (
	parseErrorRE = regexp.MustCompile(`^template: title:(\d+): (.*)$`)
	execErrorRE  = regexp.MustCompile(`^template: title:(\d+):\d+: executing "title" at (<.*?>): (.*)$`)
)

// cleanTemplateError drops text/template's "template: title:1:3: executing
// "title"" preamble, which names our internal template and not the file; the
// error is reported at the title's position instead. A line within a
// multi-line template is kept.
func cleanTemplateError(err error) error {
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
