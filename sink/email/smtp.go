package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/sink"
)

// send delivers raw to every recipient in one SMTP transaction, bounded by
// ctx: its deadline is the connection's, and its end interrupts whatever
// the conversation waits for.
func (s *Sink) send(ctx context.Context, raw []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.o.Smarthost)
	if err != nil {
		return failed(ctx, fmt.Errorf("dial %s: %w", s.o.Smarthost, err))
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // fails only on a closed conn, which the first read reports
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	return failed(ctx, s.converse(ctx, conn, raw))
}

// failed classifies err, naming the context's end when that is what cut
// the attempt short: the connection's deadline is the context's, and may
// pass a moment before the context says so.
func failed(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	cerr := ctx.Err()
	if _, ok := ctx.Deadline(); ok && cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return classify(err)
}

// converse is the SMTP conversation on conn: EHLO, STARTTLS as the mode
// says, AUTH over TLS only, MAIL, RCPT for each recipient, DATA, QUIT. Any
// refused recipient fails the whole attempt before DATA, so a retry never
// mails the others twice.
func (s *Sink) converse(ctx context.Context, conn net.Conn, raw []byte) error {
	if s.o.TLS == TLSImplicit {
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("tls handshake: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(s.o.Hello); err != nil {
		return fmt.Errorf("ehlo: %w", err)
	}
	if err := s.startTLS(c); err != nil {
		return err
	}
	if err := s.auth(c); err != nil {
		return err
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	for _, to := range s.to {
		if err := c.Rcpt(to.Address); err != nil {
			return fmt.Errorf("rcpt to %s: %w", to.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	_ = c.Quit() // the server took the mail: a failed goodbye changes nothing
	return nil
}

// startTLS upgrades the connection when the mode asks for STARTTLS: it
// must be offered in "starttls", and is used when offered in
// "starttls_optional".
func (s *Sink) startTLS(c *smtp.Client) error {
	if s.o.TLS != TLSStartTLS && s.o.TLS != TLSStartTLSOptional {
		return nil
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		if s.o.TLS == TLSStartTLS {
			return ErrNoSTARTTLS
		}
		return nil
	}
	if err := c.StartTLS(s.tls); err != nil {
		return fmt.Errorf("starttls: %w", err)
	}
	return nil
}

// auth logs in when a username is set, never over a channel without TLS:
// PLAIN when offered, else LOGIN, else CRAM-MD5.
func (s *Sink) auth(c *smtp.Client) error {
	if s.o.Username == "" {
		return nil
	}
	if _, ok := c.TLSConnectionState(); !ok {
		return fmt.Errorf("auth: the password is not sent without TLS: %w", ErrNoSTARTTLS)
	}
	ok, offered := c.Extension("AUTH")
	if !ok {
		return fmt.Errorf("auth: %w: the server offers no AUTH", sink.ErrUnauthorized)
	}
	a := s.authFor(strings.Fields(strings.ToUpper(offered)))
	if a == nil {
		return fmt.Errorf("auth: %w: the server offers none of PLAIN, LOGIN, CRAM-MD5 (it offers %s)",
			sink.ErrUnauthorized, offered)
	}
	if err := c.Auth(a); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

// authFor is the mechanism to log in with, of those offered; nil if none
// is known.
func (s *Sink) authFor(offered []string) smtp.Auth {
	has := func(m string) bool {
		for _, o := range offered {
			if o == m {
				return true
			}
		}
		return false
	}
	user, pass := s.o.Username, s.o.Password.Reveal()
	switch {
	case has("PLAIN"):
		return smtp.PlainAuth("", user, pass, s.host)
	case has("LOGIN"):
		return &loginAuth{user: user, pass: pass}
	case has("CRAM-MD5"):
		return smtp.CRAMMD5Auth(user, pass)
	}
	return nil
}

// loginAuth is the LOGIN mechanism (draft-murchison-sasl-login), which
// net/smtp lacks and some servers offer alone: the username, then the
// password, each in answer to a challenge.
type loginAuth struct {
	user, pass string
	step       int
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS {
		return "", nil, errors.New("LOGIN without TLS")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.user), nil
	case 2:
		return []byte(a.pass), nil
	}
	return nil, errors.New("LOGIN: unexpected challenge")
}
