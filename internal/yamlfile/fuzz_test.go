package yamlfile

import (
	"errors"
	"testing"
)

// FuzzDecode checks that Decode never panics and that every error it
// returns is a non-empty Errors.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"",
		"rules:\n  - name: a\n    tags: [x, y]\nlabels: {a: b}\ncount: 1\n",
		"rules:\n  - &a {name: a}\n  - <<: *a\n    name: b\n  - *a\n",
		"l: &a [*a]\n",
		"level: high\n",
		"level: {from: severity, map: {critical: high}}\n",
		"a: b: c\n",
		"x: \"\\q\"\n",
		"count: 1\n---\ncount: 2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v struct {
			TestEmbedded `yaml:",inline"`
			L            nest                                      `yaml:"l"`
			Rules        []Value[testRule]                         `yaml:"rules"`
			Labels       map[string]string                         `yaml:"labels"`
			Count        int                                       `yaml:"count"`
			Level        Value[ScalarOrMapping[string, testTable]] `yaml:"level"`
		}
		err := Decode("fuzz.yml", data, &v)
		if err == nil {
			return
		}
		var list Errors
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error %T %q is not a non-empty Errors", err, err)
		}
	})
}
