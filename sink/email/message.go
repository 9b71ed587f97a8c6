package email

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// letter is one mail, ready to be written out.
type letter struct {
	From    *mail.Address
	To      []*mail.Address
	Subject string
	Date    time.Time
	// MessageID is this mail's id, <…> included; InReplyTo is the thread's
	// first mail's, "" for that mail itself.
	MessageID, InReplyTo string
	IncidentID           int64
	// Text and HTML are the two parts; no HTML part when HTML is "".
	Text, HTML string
}

// bytes is the mail as RFC 5322 text with CRLF line ends: the headers,
// then a multipart/alternative body of a text/plain and a text/html part
// (a lone text/plain body without HTML), both UTF-8 in quoted-printable,
// which keeps lines short and mostly readable whatever the templates
// rendered.
func (l letter) bytes() ([]byte, error) {
	var b bytes.Buffer
	h := []string{
		"Date: " + l.Date.Format(time.RFC1123Z),
		"From: " + l.From.String(),
		addressHeader("To", l.To),
		encodeHeader("Subject", l.Subject),
		"Message-ID: " + l.MessageID,
	}
	if l.InReplyTo != "" {
		h = append(h, "In-Reply-To: "+l.InReplyTo, "References: "+l.InReplyTo)
	}
	// Auto-Submitted keeps vacation responders from answering (RFC 3834).
	h = append(h, "Auto-Submitted: auto-generated", "X-Alertbridge-Incident: "+strconv.FormatInt(l.IncidentID, 10),
		"MIME-Version: 1.0")
	for _, line := range h {
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	if l.HTML == "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		if err := writeQP(&b, l.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	// The boundary (hex: no quotes needed) on a line of its own keeps both
	// lines short.
	b.WriteString("Content-Type: multipart/alternative;\r\n boundary=" + mw.Boundary())
	b.WriteString("\r\n\r\n")
	// Readers show the last part they can: HTML where they render it.
	for _, p := range []struct{ typ, text string }{{"text/plain", l.Text}, {"text/html", htmlDocument(l.HTML)}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, p.text); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

// writeQP writes s quoted-printable, its line breaks as CRLF.
func writeQP(w io.Writer, s string) error {
	qw := quotedprintable.NewWriter(w)
	if _, err := qw.Write([]byte(s + "\n")); err != nil {
		return fmt.Errorf("encode body: %w", err)
	}
	return qw.Close()
}

// htmlDocument wraps a rendered fragment in a document that names its
// character set; a template that renders a whole document is kept as it is.
func htmlDocument(frag string) string {
	if strings.Contains(strings.ToLower(frag), "<html") {
		return frag
	}
	return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n" + frag + "\n</body></html>"
}
