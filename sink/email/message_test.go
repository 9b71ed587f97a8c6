package email

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/sink"
)

func mustAddr(t *testing.T, s string) *mail.Address {
	t.Helper()
	a, err := mail.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLetterBytes(t *testing.T) {
	t.Parallel()
	date := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	base := letter{From: mustAddr(t, "Alertbridge <ab@example.com>"), To: []*mail.Address{mustAddr(t, "a@example.com")},
		Subject: "Ölstand", Date: date, MessageID: "<alertbridge.7.1@example.com>", IncidentID: 7,
		Text: "line one\nline two: " + strings.Repeat("x", 100), HTML: "<p>caf\u00e9 = 1</p>"}
	tests := []struct {
		name      string
		mod       func(*letter)
		wantHdr   map[string]string
		wantParts []string // Content-Type of each part; nil: a single text/plain body
		wantText  string
	}{
		{"OKFirst", func(*letter) {}, map[string]string{
			"Date": "Sun, 01 Mar 2026 12:00:00 +0100", "From": `"Alertbridge" <ab@example.com>`, "To": "<a@example.com>",
			"Subject": "=?utf-8?q?=C3=96lstand?=", "Message-Id": "<alertbridge.7.1@example.com>", "In-Reply-To": "",
			"References": "", "Mime-Version": "1.0", "Auto-Submitted": "auto-generated", "X-Alertbridge-Incident": "7",
		}, []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}, "line one\r\nline two: " + strings.Repeat("x", 100)},
		{"OKReply", func(l *letter) { l.InReplyTo = "<alertbridge.7@example.com>" }, map[string]string{
			"In-Reply-To": "<alertbridge.7@example.com>", "References": "<alertbridge.7@example.com>",
		}, []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}, "line one\r\nline two: " + strings.Repeat("x", 100)},
		{"OKTextOnly", func(l *letter) { l.HTML = "" }, map[string]string{"Content-Type": "text/plain; charset=utf-8",
			"Content-Transfer-Encoding": "quoted-printable"}, nil, "line one\r\nline two: " + strings.Repeat("x", 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := base
			tt.mod(&l)
			raw, err := l.bytes()
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range bytes.Split(raw, []byte("\r\n")) {
				if len(line) > maxLine || bytes.ContainsAny(line, "\r\n") {
					t.Errorf("line %d: %q: longer than %d, or a bare CR or LF", i, line, maxLine)
				}
			}
			m, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.wantHdr {
				if got := m.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			var types, texts []string
			mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
			if err != nil {
				t.Fatal(err)
			}
			if mt == "multipart/alternative" {
				mr := multipart.NewReader(m.Body, params["boundary"])
				for {
					p, err := mr.NextPart() // decodes quoted-printable
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(p)
					types, texts = append(types, p.Header.Get("Content-Type")), append(texts, string(b))
				}
			} else {
				b, _ := io.ReadAll(m.Body)
				texts = append(texts, string(b))
			}
			if diff := cmp.Diff(tt.wantParts, types); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
			if tt.wantParts == nil {
				b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(texts[0])))
				if err != nil || strings.TrimSpace(string(b)) != tt.wantText {
					t.Errorf("the plain body decodes to %q (%v), want %q", b, err, tt.wantText)
				}
				return
			}
			if got := strings.TrimSpace(texts[0]); got != tt.wantText {
				t.Errorf("text part %q, want %q", got, tt.wantText)
			}
			if !strings.Contains(texts[1], "<meta charset=\"utf-8\">") || !strings.Contains(texts[1], "<p>café = 1</p>") {
				t.Errorf("html part:\n%s", texts[1])
			}
		})
	}
}

func TestHTMLDocument(t *testing.T) {
	t.Parallel()
	if got := htmlDocument("<HTML><body>x</body></HTML>"); got != "<HTML><body>x</body></HTML>" {
		t.Errorf("a whole document was wrapped: %q", got)
	}
	if got := htmlDocument("<p>x</p>"); !strings.HasPrefix(got, "<!DOCTYPE html>") || !strings.Contains(got, "<p>x</p>") {
		t.Errorf("a fragment was not wrapped: %q", got)
	}
}

func TestMessageIDs(t *testing.T) {
	t.Parallel()
	opened := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	s := &Sink{domain: "example.com"}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"OKRoot", rootID(incident.Incident{ID: 7, OpenedAt: opened}, "example.com"),
			fmt.Sprintf("<alertbridge.7.%d@example.com>", opened.Unix())},
		{"OKRootPending", rootID(incident.Incident{ID: 7}, "example.com"), "<alertbridge.7@example.com>"},
		{"OKReply", s.replyID("<alertbridge.7.1772362800@mail.example.org>", 102), "<alertbridge.7.1772362800.102@mail.example.org>"},
		{"OKReplyToAForeignID", s.replyID("no-at-sign", 5), "<no-at-sign.5@example.com>"},
		{"OKDomain", msgIDDomain("ab@Mail-1.example.com"), "Mail-1.example.com"},
		{"OKDomainLiteral", msgIDDomain("ab@[192.0.2.1]"), "alertbridge.invalid"},
		{"OKDomainUnicode", msgIDDomain("ab@bücher.example"), "alertbridge.invalid"},
		{"OKDomainDots", msgIDDomain("ab@example..com"), "alertbridge.invalid"},
		{"OKNoDomain", msgIDDomain("ab@"), "alertbridge.invalid"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	reply := func(code int, msg string) error {
		return fmt.Errorf("rcpt to x: %w", &textproto.Error{Code: code, Msg: msg})
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"Retry421", reply(421, "4.7.0 too many connections"), "retry"},
		{"Retry451", reply(451, "4.3.0 try later"), "retry"},
		{"Retry452", reply(452, "4.2.2 mailbox full"), "retry"},
		{"Unauthorized530", reply(530, "5.7.0 Authentication required"), "unauthorized"},
		{"Unauthorized534", reply(534, "5.7.9 Authentication mechanism is too weak"), "unauthorized"},
		{"Unauthorized535", reply(535, "5.7.8 Authentication credentials invalid"), "unauthorized"},
		{"Unauthorized538", reply(538, "5.7.11 Encryption required"), "unauthorized"},
		{"Retry554TLS", reply(554, "5.7.0 TLS not available due to local problem"), "retry"},
		{"Retry554Security", reply(554, "Command refused due to lack of security"), "retry"},
		{"Permanent554", reply(554, "5.7.1 Relay access denied"), "permanent"},
		{"Permanent550", reply(550, "5.1.1 No such user"), "permanent"},
		{"Permanent552", reply(552, "5.3.4 Message too big"), "permanent"},
		{"RetryNotAReply", errors.New("connection reset by peer"), "retry"},
	}
	for _, tt := range tests {
		err := classify(tt.err)
		got := "retry"
		switch {
		case errors.Is(err, sink.ErrPermanent):
			got = "permanent"
		case errors.Is(err, sink.ErrUnauthorized):
			got = "unauthorized"
		}
		if got != tt.want {
			t.Errorf("%s: classify(%v) is %s, want %s", tt.name, tt.err, got, tt.want)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: %v does not wrap %v", tt.name, err, tt.err)
		}
	}
	if classify(nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}
