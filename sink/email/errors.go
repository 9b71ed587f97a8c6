package email

import (
	"errors"
	"fmt"
	"net/textproto"
	"strings"

	"github.com/alertbridge/alertbridge/sink"
)

// ErrNoSTARTTLS is a server that does not offer STARTTLS when the sink
// requires it (tls: starttls), or when a password would otherwise go in
// clear text. It is retried: an operator fixes the server or the config.
var ErrNoSTARTTLS = errors.New("server does not offer STARTTLS")

// classify gives an SMTP failure its class. A 4xx reply is transient and
// retried, as is anything that is not a reply (refused, reset, timed out);
// a 5xx reply is permanent, except those that say the credentials or the
// channel's security are wrong: 530 (authentication or STARTTLS
// required), 534, 535 and 538 wrap sink.ErrUnauthorized, and a 554 that
// names TLS is retried, for an operator fixes them and what waited then
// goes out.
func classify(err error) error {
	var reply *textproto.Error
	if err == nil || !errors.As(err, &reply) {
		return err
	}
	switch c := reply.Code; {
	case c == 530 || c == 534 || c == 535 || c == 538:
		return fmt.Errorf("%w: %w", sink.ErrUnauthorized, err)
	case c == 554 && aboutTLS(reply.Msg):
		return err
	case c >= 500:
		return sink.Permanent(err)
	}
	return err
}

// aboutTLS reports whether a reply's text is about the channel's security.
func aboutTLS(msg string) bool {
	m := strings.ToUpper(msg)
	for _, w := range []string{"TLS", "SSL", "SECURITY", "ENCRYPT"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}
