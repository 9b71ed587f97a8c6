package app

import (
	"testing"

	"github.com/alertbridge/alertbridge/config"
	"github.com/alertbridge/alertbridge/sink/email"
)

// An email sink in the config file is built as one.
func TestBuildEmailSink(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("c.yml", []byte(`sinks:
  - name: mail
    email:
      smarthost: smtp.example.com:465
      from: Alertbridge <alertbridge@example.com>
      to: [oncall@example.com]
      tls: tls
      username: ab
      password: ab-password-0123456789
`), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sinks, err := buildSinks(Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(sinks) != 1 || sinks[0].callback != nil {
		t.Fatalf("built %d sinks (%+v), want one without callbacks", len(sinks), sinks)
	}
	if _, ok := sinks[0].sink.(*email.Sink); !ok {
		t.Fatalf("built a %T, want an *email.Sink", sinks[0].sink)
	}
}
