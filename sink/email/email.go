package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/message"
)

// TLSMode is how the connection to the smarthost is secured.
type TLSMode string

// The TLS modes.
const (
	// TLSStartTLS upgrades with STARTTLS and fails when it is not offered.
	TLSStartTLS TLSMode = "starttls"
	// TLSStartTLSOptional upgrades when STARTTLS is offered.
	TLSStartTLSOptional TLSMode = "starttls_optional"
	// TLSImplicit speaks TLS from the start (port 465).
	TLSImplicit TLSMode = "tls"
	// TLSNone never uses TLS (and so never logs in).
	TLSNone TLSMode = "none"
)

// Options configures an e-mail sink.
type Options struct {
	// Smarthost is the SMTP server's host:port.
	Smarthost string
	// From is the sender (an RFC 5322 address, "Name <a@b>" or "a@b");
	// its domain names the thread's Message-IDs.
	From string
	To   []string
	// Hello is the name sent with EHLO (default "localhost").
	Hello string
	// Username and Password log in (over TLS only); no Username, no AUTH.
	Username string
	Password secret.Value
	// TLS is the mode (default TLSStartTLS).
	TLS TLSMode
	// CAFile holds PEM certificates to verify the server with instead of
	// the system's roots.
	CAFile             string
	InsecureSkipVerify bool
	// Subject, Text and HTML render the mail; HTML must come from
	// message.CompileHTML, and nil sends plain text alone.
	Subject, Text, HTML *message.Template
	// Now is the clock of the Date header.
	Now func() time.Time
}

// Sink mails notifications: one thread per incident.
type Sink struct {
	o      Options
	host   string
	from   *mail.Address
	to     []*mail.Address
	domain string
	tls    *tls.Config
}

// New returns an e-mail sink; it reads CAFile now.
func New(o Options) (*Sink, error) {
	host, _, err := net.SplitHostPort(o.Smarthost)
	if err != nil || host == "" {
		return nil, fmt.Errorf("email: smarthost %q: want host:port", o.Smarthost)
	}
	s := &Sink{host: host}
	if s.from, err = mail.ParseAddress(o.From); err != nil {
		return nil, fmt.Errorf("email: from %q: %w", o.From, err)
	}
	if len(o.To) == 0 {
		return nil, errors.New("email: no recipients")
	}
	for _, t := range o.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("email: to %q: %w", t, err)
		}
		s.to = append(s.to, a)
	}
	if o.Hello == "" {
		o.Hello = "localhost"
	}
	if strings.ContainsAny(o.Hello, " \r\n") {
		return nil, fmt.Errorf("email: hello %q: want a host name", o.Hello)
	}
	if o.TLS == "" {
		o.TLS = TLSStartTLS
	}
	switch o.TLS {
	case TLSStartTLS, TLSStartTLSOptional, TLSImplicit:
	case TLSNone:
		if o.Username != "" {
			return nil, errors.New("email: tls none would send the password in clear text")
		}
	default:
		return nil, fmt.Errorf("email: unknown tls mode %q", o.TLS)
	}
	if o.Subject == nil || o.Text == nil {
		return nil, errors.New("email: subject and text templates are required")
	}
	if o.HTML != nil && !o.HTML.HTML() {
		return nil, errors.New("email: the html template must escape for HTML (message.CompileHTML)")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s.tls = &tls.Config{ServerName: host, InsecureSkipVerify: o.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("email: ca_file: %w", err)
		}
		s.tls.RootCAs = x509.NewCertPool()
		if !s.tls.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("email: ca_file %s: no PEM certificate", o.CAFile)
		}
	}
	s.domain = msgIDDomain(s.from.Address)
	s.o = o
	return s, nil
}

// Deliver mails n to every recipient. The first mail of an incident (no
// ticket yet) has the thread's root Message-ID, made of the incident alone;
// every later one its own, made of the root and n.ID, and In-Reply-To and
// References pointing to the root, under the root's subject with "Re: ".
// A redelivery therefore has the same Message-ID as the first attempt, and
// readers drop the duplicate. The returned ticket's ExternalID is the root
// Message-ID.
func (s *Sink) Deliver(ctx context.Context, n sink.Notification) (*incident.Ticket, error) {
	th := s.thread(n)
	d := n.Data()
	subject := th.subject
	if subject == "" {
		rendered, err := s.o.Subject.Render(d)
		if err != nil {
			return nil, sink.Permanent(fmt.Errorf("render subject: %w", err))
		}
		subject = truncate(headerText(rendered), maxSubjectRunes)
	}
	l := letter{From: s.from, To: s.to, Subject: subject, Date: s.o.Now(), MessageID: th.messageID,
		IncidentID: n.Incident.ID}
	if !th.first {
		l.Subject, l.InReplyTo = "Re: "+subject, th.root
	}
	var err error
	if l.Text, err = s.o.Text.Render(d); err != nil {
		return nil, sink.Permanent(fmt.Errorf("render text: %w", err))
	}
	if s.o.HTML != nil {
		if l.HTML, err = s.o.HTML.Render(d); err != nil {
			return nil, sink.Permanent(fmt.Errorf("render html: %w", err))
		}
	}
	raw, err := l.bytes()
	if err != nil {
		return nil, sink.Permanent(err)
	}
	if err := s.send(ctx, raw); err != nil {
		return nil, err
	}
	if !th.first {
		return nil, nil // the ticket is as it was
	}
	return &incident.Ticket{ExternalID: th.root, Data: map[string]string{"subject": subject}}, nil
}

// thread is where one mail goes in its incident's thread.
type thread struct {
	first bool
	// root is the thread's first mail's Message-ID, messageID this one's.
	root, messageID string
	// subject is the thread's subject; "" for the first mail, which
	// renders it.
	subject string
}

func (s *Sink) thread(n sink.Notification) thread {
	if t := n.Ticket; t != nil && t.ExternalID != "" {
		return thread{root: t.ExternalID, messageID: s.replyID(t.ExternalID, n.ID), subject: t.Data["subject"]}
	}
	id := rootID(n.Incident, s.domain)
	return thread{first: true, root: id, messageID: id}
}

// rootID is the Message-ID of an incident's first mail:
// <alertbridge.<id>.<opened, Unix seconds>@domain>. The opening time keeps
// the ids of a fresh database's incidents apart from an old one's, which
// readers would otherwise drop as mails they already have.
func rootID(inc incident.Incident, domain string) string {
	left := "alertbridge." + strconv.FormatInt(inc.ID, 10)
	if !inc.OpenedAt.IsZero() {
		left += "." + strconv.FormatInt(inc.OpenedAt.Unix(), 10)
	}
	return "<" + left + "@" + domain + ">"
}

// replyID is the Message-ID of notification id in the thread of root:
// root's with ".<id>" added to its left part.
func (s *Sink) replyID(root string, id int64) string {
	left, right, ok := strings.Cut(strings.Trim(root, "<>"), "@")
	if !ok {
		right = s.domain
	}
	return "<" + left + "." + strconv.FormatInt(id, 10) + "@" + right + ">"
}

// msgIDDomain is the right part of the Message-IDs: the sender's domain
// when it is a plain host name, else a stable name that is not anyone's.
func msgIDDomain(addr string) string {
	d := addr[strings.LastIndexByte(addr, '@')+1:]
	if d == "" || strings.Trim(d, ".") != d || strings.Contains(d, "..") {
		return "alertbridge.invalid"
	}
	for _, r := range d {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '.', r == '-':
		default:
			return "alertbridge.invalid"
		}
	}
	return d
}
