package message_test

import (
	"strings"
	"testing"

	amtemplate "github.com/prometheus/alertmanager/template"

	"github.com/alertbridge/alertbridge/sink/message"
)

// hostile is data whose strings are markup, as an alert's labels may be.
func hostile() message.Data {
	d := message.Sample
	d.Incident.Title = `disk <b>full</b> & "hot"`
	d.Incident.URL = `javascript:alert(1)`
	d.Alerts = []amtemplate.Alert{{Status: "firing", Labels: amtemplate.KV{"instance": `<script>alert(1)</script>`},
		Annotations: amtemplate.KV{}}}
	return d
}

func TestRenderEscaping(t *testing.T) {
	t.Parallel()
	const body = `<p>{{ .Incident.Title }}</p>{{ range .Alerts }}<i>{{ .Labels.instance }}</i>{{ end }}` +
		`<a href="{{ .Incident.URL }}">link</a>`
	tests := []struct {
		name    string
		compile func(name, text string) (*message.Template, error)
		text    string
		html    bool
		want    string
	}{
		{"HTMLEscapesValues", message.CompileHTML, body, true,
			`<p>disk &lt;b&gt;full&lt;/b&gt; &amp; &#34;hot&#34;</p><i>&lt;script&gt;alert(1)&lt;/script&gt;</i>` +
				`<a href="#ZgotmplZ">link</a>`},
		{"HTMLSafeHtmlIsTrusted", message.CompileHTML, `{{ "<hr>" | safeHtml }}{{ "<hr>" }}`, true, `<hr>&lt;hr&gt;`},
		{"TextWritesValuesAsTheyAre", message.Compile, body, false,
			`<p>disk <b>full</b> & "hot"</p><i><script>alert(1)</script></i><a href="javascript:alert(1)">link</a>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tm, err := tt.compile("x", tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if tm.HTML() != tt.html {
				t.Errorf("HTML() = %v, want %v", tm.HTML(), tt.html)
			}
			got, err := tm.Render(hostile())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Render =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestCompileHTMLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want string
	}{
		// html/template finds this only when it runs: Compile's run against
		// Sample turns it into a load error.
		{"ErrBranchContexts", `<a href="{{ if .Kind }}x"{{ end }}>`, "1:15: {{if}} branches end in different contexts"},
		{"ErrSyntax", `{{ .Kind }`, `1: unexpected "}" in operand`},
		{"ErrUnknownField", `{{ .Incident.Nope }}`, `1:12: executing "x" at <.Incident.Nope>: can't evaluate field Nope`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := message.CompileHTML("x", tt.text)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("CompileHTML error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}
