package config_test

import (
	"strings"
	"testing"

	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/sink/message"
)

const emailSink = `sinks:
  - name: mail
    email:
      smarthost: smtp.example.com:587
      from: alertbridge@example.com
      to: [oncall@example.com]
`

// The e-mail's HTML part runs under html/template, the default and a
// configured one alike: a title holding markup is shown, not run.
func TestEmailHTMLEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, extra string
	}{
		{"OKDefault", ""},
		{"OKConfigured", "      html: '<p>{{ .Incident.Title }}</p>'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse("c.yml", []byte(emailSink+tt.extra), opts())
			if err != nil {
				t.Fatal(err)
			}
			html := cfg.Sinks[0].Email.HTML
			if !html.HTML() {
				t.Fatal("email html template is not an HTML template")
			}
			d := message.Sample
			d.Incident.Title = "<script>alert(1)</script>"
			got, err := html.Render(d)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(got, "<script>") || !strings.Contains(got, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("rendered HTML does not escape the title:\n%s", got)
			}
			if text := cfg.Sinks[0].Email.Text; text.HTML() {
				t.Error("email text template escapes for HTML")
			}
		})
	}
}

func TestEmailHTMLTemplateError(t *testing.T) {
	t.Parallel()
	data := emailSink + "      html: '<a href=\"{{ if .Kind }}x\"{{ end }}>'\n"
	_, err := config.Parse("c.yml", []byte(data), opts())
	want := `c.yml:7:13: sink "mail": email: html: 1:15: {{if}} branches end in different contexts`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want it to contain %q", err, want)
	}
}

// The defaults put a known error's workaround and a merge's target first.
func TestEmailDefaultsKnownErrorAndMerge(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("c.yml", []byte(emailSink), opts())
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Sinks[0].Email
	known := message.Sample
	known.Kind = "known_error"
	known.Entries = []message.Entry{{Kind: "comment", Actor: "system", Message: "restart the <pod>"}}
	merged := message.Sample
	merged.Kind = "merged"
	merged.MergedInto = &message.Incident{ID: 42, Title: "db down", URL: "https://ab.example.com/incidents/42"}
	tests := []struct {
		name string
		tmpl *message.Template
		d    message.Data
		want string
	}{
		{"KnownErrorText", e.Text, known, "Known error. Workaround:\nrestart the <pod>\n"},
		{"KnownErrorHTML", e.HTML, known, `<blockquote style="white-space:pre-wrap">restart the &lt;pod&gt;</blockquote>`},
		{"MergedText", e.Text, merged, "Merged into #42 db down https://ab.example.com/incidents/42\n"},
		{"MergedHTML", e.HTML, merged, `<strong>Merged into</strong> <a href="https://ab.example.com/incidents/42">#42 db down</a>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.tmpl.Render(tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("rendered:\n%s\nwant it to contain %q", got, tt.want)
			}
		})
	}
}
