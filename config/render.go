package config

import (
	"fmt"
	"strconv"
)

// fmt does not call a method of a value it reaches through a pointer field
// while it reports a bad verb (%s or %d on a struct holding a pointer), and
// then prints the pointee raw, secret.Value's unexported field included. The
// types that hold secrets therefore render themselves, for every verb.

// String renders the method with its token redacted.
func (a BearerAuth) String() string { return "bearer{token: " + a.Token.String() + "}" }

// Format renders String for every verb.
func (a BearerAuth) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, a.String()) }

// String renders the method with its password redacted.
func (a BasicAuth) String() string {
	return "basic{username: " + strconv.Quote(a.Username) + ", password: " + a.Password.String() + "}"
}

// Format renders String for every verb.
func (a BasicAuth) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, a.String()) }

// String renders the method with its secret redacted.
func (a HMACAuth) String() string {
	return fmt.Sprintf("hmac{secret: %s, header: %q, timestamp_header: %q, max_skew: %s}",
		a.Secret, a.Header, a.TimestampHeader, a.MaxSkew)
}

// Format renders String for every verb.
func (a HMACAuth) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, a.String()) }
