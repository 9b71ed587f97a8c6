package secret_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/alertbridge/alertbridge/internal/secret"
)

const plain = "hunter2-plain-text"

type holder struct {
	Token secret.Value
	Ptr   *secret.Value
	Map   map[secret.Value]secret.Value
	List  []secret.Value
}

func TestValueNeverRenders(t *testing.T) {
	v := secret.New(plain)
	h := holder{Token: v, Ptr: &v, Map: map[secret.Value]secret.Value{v: v}, List: []secret.Value{v}}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		out = append(out, fmt.Sprintf(verb, v), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	out = append(out, fmt.Sprint(v, h), fmt.Sprintln(v, h), v.String(), v.GoString())
	for _, enc := range []func(any) ([]byte, error){json.Marshal, yaml.Marshal} {
		b, err := enc(h)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	var logs bytes.Buffer
	for _, l := range []*slog.Logger{slog.New(slog.NewJSONHandler(&logs, nil)), slog.New(slog.NewTextHandler(&logs, nil))} {
		l.Info("m", "token", v, "holder", h, "ptr", &v)
	}
	out = append(out, logs.String())
	all := strings.Join(out, "\n")
	if strings.Contains(all, plain) || strings.Contains(all, fmt.Sprintf("%x", plain)) {
		t.Errorf("secret leaked:\n%s", all)
	}
	if !strings.Contains(all, secret.Redacted) {
		t.Errorf("no placeholder rendered:\n%s", all)
	}
	if v.Reveal() != plain {
		t.Errorf("Reveal = %q", v.Reveal())
	}
}

func TestZeroValue(t *testing.T) {
	var v secret.Value
	if !v.IsZero() || v.String() != "" || fmt.Sprint(v) != "" || secret.New("x").IsZero() {
		t.Errorf("zero value: IsZero %v String %q", v.IsZero(), v.String())
	}
}
