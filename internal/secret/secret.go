package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what a Value renders as wherever it is printed, logged or
// marshalled.
const Redacted = "<secret>"

// Value is a secret string. Its zero value is the empty secret.
//
// It is a struct, not a named string, so that a conversion such as
// string(v) does not compile: Reveal is the only way to the plain text.
type Value struct{ s string }

// New returns s as a secret.
func New(s string) Value { return Value{s: s} }

// Reveal returns the plain text. Call it only where the secret is used (a
// comparison, an HMAC key), never to print or log it.
func (v Value) Reveal() string { return v.s }

// IsZero reports whether the secret is empty.
func (v Value) IsZero() bool { return v.s == "" }

// String returns Redacted, or "" for the empty secret so that an unset
// secret is visibly unset.
func (v Value) String() string {
	if v.s == "" {
		return ""
	}
	return Redacted
}

// GoString returns the redacted form for %#v.
func (v Value) GoString() string { return "secret.Value(" + fmt.Sprintf("%q", v.String()) + ")" }

// Format renders the redacted form for every fmt verb, so that %x, %q or %d
// cannot reach the plain text either.
func (v Value) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = fmt.Fprint(f, v.GoString())
			return
		}
	case 'q':
		_, _ = fmt.Fprintf(f, "%q", v.String())
		return
	}
	_, _ = fmt.Fprint(f, v.String())
}

// LogValue makes log/slog print the redacted form.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.String()) }

// MarshalText makes encoding/json (as a value or a map key) and other text
// encoders print the redacted form.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// MarshalJSON makes encoding/json print the redacted form.
func (v Value) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%q", v.String())), nil }

// MarshalYAML makes YAML encoders print the redacted form.
func (v Value) MarshalYAML() (any, error) { return v.String(), nil }
