package email_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/sink"
	"github.com/alertbridge/alertbridge/sink/email"
	"github.com/alertbridge/alertbridge/sink/message"
)

const (
	user     = "ab-user"
	password = "ab-password-0123456789"
)

var (
	now      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	openedAt = time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	subjectT = message.MustCompile("subject", `[{{ .Incident.Priority }}] #{{ .Incident.ID }} {{ .Incident.Title }}`)
	textT    = message.MustCompile("text", `{{ .Kind }}: {{ .Incident.State }} {{ .Incident.Priority }} {{ .Incident.Title }}`+
		`{{ range .Entries }}
- {{ .Kind }} by {{ .Actor }}: {{ .Message }}{{ end }}{{ range .Alerts }}
alert {{ .Labels.instance }}{{ end }}`)
	htmlT = message.MustCompileHTML("html", `<p>{{ .Kind }}: {{ .Incident.State }} {{ .Incident.Priority }} {{ .Incident.Title }}</p>`+
		`<ul>{{ range .Entries }}<li>{{ .Kind }} by {{ .Actor }}: {{ .Message }}</li>{{ end }}</ul>`+
		`{{ range .Alerts }}<p>alert {{ .Labels.instance }}</p>{{ end }}`)
)

// options are a sink's options for srv: STARTTLS, the right password, the
// server's certificate as the CA, two recipients.
func options(srv *smtpd) email.Options {
	return email.Options{
		Smarthost: srv.Addr, From: "Alertbridge <alertbridge@example.com>",
		To:    []string{"oncall@example.com", "Ops Team <ops@example.com>"},
		Hello: "alertbridge.test", Username: user, Password: secret.New(password), TLS: email.TLSStartTLS,
		CAFile: srv.CAFile, Subject: subjectT, Text: textT, HTML: htmlT, Now: func() time.Time { return now },
	}
}

func mustSink(t *testing.T, o email.Options) *email.Sink {
	t.Helper()
	s, err := email.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// note is a notification of incident 7, "Ölstand niedrig <b>", with one
// alert whose label is markup.
func note(id int64, kind incident.NotifyKind, state incident.State, prio incident.Priority,
	entries ...incident.TimelineEntry,
) sink.Notification {
	return sink.Notification{
		ID: id, Kind: kind, Entries: entries, AlertCount: 1,
		Incident: incident.Incident{ID: 7, State: state, Priority: prio, Title: "Ölstand niedrig <b>", OpenedAt: openedAt},
		Alerts: []incident.Alert{{Status: incident.StatusFiring, Fingerprint: "f1",
			Labels: map[string]string{"instance": "<script>alert(1)</script>"}}},
	}
}

func entry(kind incident.TimelineKind, actor, msg string) incident.TimelineEntry {
	return incident.TimelineEntry{Kind: kind, Actor: actor, Message: msg, At: now}
}

// parsed is a received mail taken apart.
type parsed struct {
	h                mail.Header
	subject          string
	text, html       string
	textType, htmlCT string
}

// parse takes r apart as a reader would: net/mail for the headers,
// mime/multipart for the parts, checking each is quoted-printable.
func parse(t *testing.T, r received) parsed {
	t.Helper()
	m := r.Message(t)
	p := parsed{h: m.Header}
	var err error
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if mt != "multipart/alternative" {
		p.textType, p.text = mt+"; "+params["charset"], readQP(t, m.Header.Get("Content-Transfer-Encoding"), m.Body)
		return p
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for i := 0; ; i++ {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body := readQP(t, part.Header.Get("Content-Transfer-Encoding"), part)
		switch i {
		case 0:
			p.textType, p.text = part.Header.Get("Content-Type"), body
		case 1:
			p.htmlCT, p.html = part.Header.Get("Content-Type"), body
		default:
			t.Fatalf("a third part: %s", part.Header.Get("Content-Type"))
		}
	}
	return p
}

func readQP(t *testing.T, cte string, r io.Reader) string {
	t.Helper()
	if cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding %q, want quoted-printable", cte)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(r))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\r\n", "\n"))
}

// An incident's life as a thread: one mail per notification, the first
// the root, the others replies to it under the same subject; a redelivery
// has the Message-ID of the first attempt.
func TestLifecycleThread(t *testing.T) {
	t.Parallel()
	srv := startSMTPD(t, smtpdOptions{TLS: "starttls", User: user, Password: password})
	s := mustSink(t, options(srv))
	root := fmt.Sprintf("<alertbridge.7.%d@example.com>", openedAt.Unix())
	reply := func(id int64) string { return fmt.Sprintf("<alertbridge.7.%d.%d@example.com>", openedAt.Unix(), id) }
	const subject = "[P3] #7 Ölstand niedrig <b>"
	rootTicket := &incident.Ticket{ExternalID: root, Data: map[string]string{"subject": subject}}

	var ticket *incident.Ticket // as the dispatcher keeps it
	opened := note(101, incident.NotifyOpened, incident.StateOpen, 3, entry(incident.TimelineOpened, "system", "opened"))
	acked := note(102, incident.NotifyAcknowledged, incident.StateAcknowledged, 3, entry(incident.TimelineAcknowledged, "api:alice", "on it"))
	const title, alertLine = " Ölstand niedrig <b>", "\nalert <script>alert(1)</script>"
	steps := []struct {
		name string
		// n is delivered with the ticket so far, unless lost says its
		// outcome was lost (a redelivery of the first mail has none).
		n          sink.Notification
		lost       bool
		wantID     string
		wantTicket *incident.Ticket
		// wantText is the text part without its alert line.
		wantText string
	}{
		{"Opened", opened, false, root, rootTicket, "opened: open P3" + title + "\n- opened by system: opened"},
		{"OpenedRedelivered", opened, true, root, rootTicket, "opened: open P3" + title + "\n- opened by system: opened"},
		{"Acknowledged", acked, false, reply(102), nil, "acknowledged: acknowledged P3" + title + "\n- acknowledged by api:alice: on it"},
		{"AcknowledgedRedelivered", acked, false, reply(102), nil,
			"acknowledged: acknowledged P3" + title + "\n- acknowledged by api:alice: on it"},
		{"Comment", note(103, incident.NotifyComment, incident.StateAcknowledged, 3,
			entry(incident.TimelineComment, "api:bob", "restarted the pump")), false, reply(103), nil,
			"comment: acknowledged P3" + title + "\n- comment by api:bob: restarted the pump"},
		{"PriorityChanged", note(104, incident.NotifyPriorityChanged, incident.StateAcknowledged, 1,
			entry(incident.TimelinePriorityChanged, "system", "P3 -> P1")), false, reply(104), nil,
			"priority_changed: acknowledged P1" + title + "\n- priority_changed by system: P3 -> P1"},
		{"Resolved", note(105, incident.NotifyResolved, incident.StateResolved, 1,
			entry(incident.TimelineResolved, "system", "all alerts resolved")), false, reply(105), nil,
			"resolved: resolved P1" + title + "\n- resolved by system: all alerts resolved"},
		{"Reopened", note(106, incident.NotifyReopened, incident.StateOpen, 1,
			entry(incident.TimelineReopened, "system", "fired again")), false, reply(106), nil,
			"reopened: open P1" + title + "\n- reopened by system: fired again"},
		{"ResolvedFolded", note(107, incident.NotifyResolved, incident.StateResolved, 1,
			entry(incident.TimelineComment, "api:bob", "pump replaced"), entry(incident.TimelineResolved, "api:bob", "fixed")),
			false, reply(107), nil, "resolved: resolved P1" + title + "\n- comment by api:bob: pump replaced\n- resolved by api:bob: fixed"},
	}
	for i, st := range steps {
		n := st.n
		if !st.lost {
			n.Ticket = ticket
		}
		got, err := s.Deliver(t.Context(), n)
		if err != nil {
			t.Fatalf("%s: Deliver: %v", st.name, err)
		}
		if diff := cmp.Diff(st.wantTicket, got); diff != "" {
			t.Errorf("%s: ticket (-want +got):\n%s", st.name, diff)
		}
		if got != nil {
			ticket = got
		}
		mails := srv.mails(t)
		if len(mails) != i+1 {
			t.Fatalf("%s: the server has %d mails, want %d", st.name, len(mails), i+1)
		}
		r := mails[i]
		if r.MailFrom != "alertbridge@example.com" || !r.TLS || r.Login == nil || *r.Login != user ||
			r.Mechanism == nil || *r.Mechanism != "PLAIN" {
			t.Errorf("%s: envelope from %q, tls %v, login %v, mechanism %v; want alertbridge@example.com over TLS as %s with PLAIN",
				st.name, r.MailFrom, r.TLS, r.Login, r.Mechanism, user)
		}
		if diff := cmp.Diff([]string{"oncall@example.com", "ops@example.com"}, r.RcptTos); diff != "" {
			t.Errorf("%s: recipients (-want +got):\n%s", st.name, diff)
		}
		p := parse(t, r)
		wantSubject, wantReplyTo := subject, ""
		if st.wantID != root {
			wantSubject, wantReplyTo = "Re: "+subject, root
		}
		if p.subject != wantSubject {
			t.Errorf("%s: subject %q, want %q", st.name, p.subject, wantSubject)
		}
		for k, want := range map[string]string{"Message-Id": st.wantID, "In-Reply-To": wantReplyTo,
			"References": wantReplyTo, "X-Alertbridge-Incident": "7", "Auto-Submitted": "auto-generated"} {
			if got := p.h.Get(k); got != want {
				t.Errorf("%s: %s %q, want %q", st.name, k, got, want)
			}
		}
		checkAddresses(t, st.name, p.h)
		if p.text != st.wantText+alertLine {
			t.Errorf("%s: text part\n%s\nwant\n%s", st.name, p.text, st.wantText+alertLine)
		}
		if p.textType != "text/plain; charset=utf-8" || p.htmlCT != "text/html; charset=utf-8" {
			t.Errorf("%s: parts %q and %q, want text/plain and text/html in UTF-8", st.name, p.textType, p.htmlCT)
		}
		first, _, _ := strings.Cut(st.wantText, "\n")
		wantHTML := "<p>" + strings.ReplaceAll(strings.ReplaceAll(first, "<", "&lt;"), ">", "&gt;") + "</p>"
		if !strings.Contains(p.html, wantHTML) || !strings.Contains(p.html, "<p>alert &lt;script&gt;alert(1)&lt;/script&gt;</p>") ||
			strings.Contains(p.html, "<script>") {
			t.Errorf("%s: html part does not escape the title and label:\n%s", st.name, p.html)
		}
	}
}

// checkAddresses checks the From, To and Date headers.
func checkAddresses(t *testing.T, name string, h mail.Header) {
	t.Helper()
	from, err := h.AddressList("From")
	if err != nil {
		t.Fatal(err)
	}
	to, err := h.AddressList("To")
	if err != nil {
		t.Fatal(err)
	}
	want := []*mail.Address{{Name: "Alertbridge", Address: "alertbridge@example.com"},
		{Address: "oncall@example.com"}, {Name: "Ops Team", Address: "ops@example.com"}}
	if diff := cmp.Diff(want, append(from, to...)); diff != "" {
		t.Errorf("%s: From and To (-want +got):\n%s", name, diff)
	}
	if d, err := h.Date(); err != nil || !d.Equal(now) {
		t.Errorf("%s: Date %v (%v), want %v", name, d, err, now)
	}
}

// One mail each, on one server: what reaches the reader.
func TestDeliverOneMail(t *testing.T) {
	t.Parallel()
	srv := startSMTPD(t, smtpdOptions{TLS: "starttls", User: user, Password: password})
	long := strings.Repeat("very long title ", 20)
	tests := []struct {
		name        string
		n           sink.Notification
		textOnly    bool
		wantSubject string
		wantText    string
	}{
		{"OKHeaderInjectionIsText", func() sink.Notification {
			n := note(201, incident.NotifyOpened, incident.StateOpen, 2)
			n.Incident.ID, n.Incident.Title = 8, "disk full\r\nBcc: evil@example.com\r\n\r\nbody"
			return n
		}(), false, "[P2] #8 disk full Bcc: evil@example.com body",
			"opened: open P2 disk full\r\nBcc: evil@example.com\r\n\r\nbody\nalert <script>alert(1)</script>"},
		{"OKResolvedWithoutTicketIsSent", func() sink.Notification {
			n := note(202, incident.NotifyResolved, incident.StateResolved, 4, entry(incident.TimelineResolved, "system", "over"))
			n.Incident.ID, n.Incident.Title = 9, "brief blip"
			return n
		}(), false, "[P4] #9 brief blip", "resolved: resolved P4 brief blip\n- resolved by system: over\nalert <script>alert(1)</script>"},
		{"OKLongSubjectCut", func() sink.Notification {
			n := note(203, incident.NotifyOpened, incident.StateOpen, 5)
			n.Incident.ID, n.Incident.Title, n.Alerts = 10, long, nil
			return n
		}(), true, string([]rune("[P5] #10 " + strings.TrimSpace(long))[:249]) + "…",
			"opened: open P5 " + strings.TrimSpace(long)},
	}
	for _, tt := range tests {
		// One after the other: each counts the server's mails.
		o := options(srv)
		if tt.textOnly {
			o.HTML = nil
		}
		before := len(srv.mails(t))
		if _, err := mustSink(t, o).Deliver(t.Context(), tt.n); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		mails := srv.mails(t)
		if len(mails) != before+1 {
			t.Fatalf("%s: %d new mails, want 1", tt.name, len(mails)-before)
		}
		r := mails[before]
		if diff := cmp.Diff([]string{"oncall@example.com", "ops@example.com"}, r.RcptTos); diff != "" {
			t.Errorf("%s: recipients (-want +got):\n%s", tt.name, diff)
		}
		p := parse(t, r)
		if p.subject != tt.wantSubject {
			t.Errorf("%s: subject %q, want %q", tt.name, p.subject, tt.wantSubject)
		}
		if _, ok := p.h["Bcc"]; ok {
			t.Errorf("%s: the title added a Bcc header", tt.name)
		}
		if got := strings.ReplaceAll(p.text, "\r\n", "\n"); got != strings.ReplaceAll(tt.wantText, "\r\n", "\n") {
			t.Errorf("%s: text\n%q\nwant\n%q", tt.name, got, tt.wantText)
		}
		if tt.textOnly != (p.html == "") {
			t.Errorf("%s: html part %q, text only %v", tt.name, p.html, tt.textOnly)
		}
		checkAddresses(t, tt.name, p.h)
	}
}

// The TLS modes and login mechanisms that deliver, each on a server set up
// for it.
func TestDeliverModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		server        smtpdOptions
		mod           func(*email.Options)
		wantTLS       bool
		wantMechanism string // "": no login
	}{
		{"OKImplicitTLS", smtpdOptions{TLS: "implicit", User: user, Password: password},
			func(o *email.Options) { o.TLS = email.TLSImplicit }, true, "PLAIN"},
		{"OKLoginWhenPlainIsNotOffered", smtpdOptions{TLS: "starttls", User: user, Password: password, ExcludeAuth: []string{"PLAIN"}},
			func(*email.Options) {}, true, "LOGIN"},
		{"OKStartTLSOptionalWithoutTLS", smtpdOptions{TLS: "none"},
			func(o *email.Options) { o.TLS, o.Username, o.Password = email.TLSStartTLSOptional, "", secret.Value{} }, false, ""},
		{"OKStartTLSOptionalWithTLS", smtpdOptions{TLS: "starttls", User: user, Password: password},
			func(o *email.Options) { o.TLS = email.TLSStartTLSOptional }, true, "PLAIN"},
		{"OKNone", smtpdOptions{TLS: "none"},
			func(o *email.Options) { o.TLS, o.Username, o.Password = email.TLSNone, "", secret.Value{} }, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startSMTPD(t, tt.server)
			o := options(srv)
			tt.mod(&o)
			if _, err := mustSink(t, o).Deliver(t.Context(), note(1, incident.NotifyOpened, incident.StateOpen, 3)); err != nil {
				t.Fatal(err)
			}
			mails := srv.mails(t)
			if len(mails) != 1 {
				t.Fatalf("%d mails, want 1", len(mails))
			}
			r := mails[0]
			mech := ""
			if r.Mechanism != nil {
				mech = *r.Mechanism
			}
			if r.TLS != tt.wantTLS || mech != tt.wantMechanism {
				t.Errorf("tls %v, mechanism %q; want %v, %q", r.TLS, mech, tt.wantTLS, tt.wantMechanism)
			}
		})
	}
}

// errClass names the class the dispatcher sees.
func errClass(err error) string {
	var ra *sink.RetryAfterError
	switch {
	case err == nil:
		return "delivered"
	case errors.As(err, &ra):
		return "retry-after"
	case errors.Is(err, sink.ErrPermanent):
		return "permanent"
	case errors.Is(err, sink.ErrUnauthorized):
		return "unauthorized"
	}
	return "retry"
}

// Failures against real servers: each has its class, and no mail is
// accepted.
func TestDeliverFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		server smtpdOptions
		mod    func(*email.Options)
		want   string
		// is, when set, is an error the failure must wrap.
		is error
		// code, when set, is the SMTP reply the failure carries.
		code int
	}{
		{"ErrUnauthorizedWrongPassword", smtpdOptions{TLS: "starttls", User: user, Password: password},
			func(o *email.Options) { o.Password = secret.New("wrong-password-0123") }, "unauthorized", nil, 535},
		{"ErrNoSTARTTLSOffered", smtpdOptions{TLS: "none"},
			func(o *email.Options) { o.Username, o.Password = "", secret.Value{} }, "retry", email.ErrNoSTARTTLS, 0},
		{"ErrNoPasswordWithoutTLS", smtpdOptions{TLS: "none"},
			func(o *email.Options) { o.TLS = email.TLSStartTLSOptional }, "retry", email.ErrNoSTARTTLS, 0},
		{"ErrUnauthorizedStartTLSRequired", smtpdOptions{TLS: "starttls"},
			func(o *email.Options) { o.TLS, o.Username, o.Password = email.TLSNone, "", secret.Value{} }, "unauthorized", nil, 530},
		{"ErrUntrustedCertificate", smtpdOptions{TLS: "starttls", User: user, Password: password},
			func(o *email.Options) { o.CAFile = "" }, "retry", nil, 0},
		{"ErrRecipientTemporary", smtpdOptions{TLS: "starttls", User: user, Password: password},
			func(o *email.Options) { o.To = []string{"oncall@example.com", "tempfail@example.com"} }, "retry", nil, 451},
		{"ErrRecipientRejected", smtpdOptions{TLS: "starttls", User: user, Password: password},
			func(o *email.Options) { o.To = []string{"oncall@example.com", "reject@example.com"} }, "permanent", nil, 550},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startSMTPD(t, tt.server)
			o := options(srv)
			tt.mod(&o)
			_, err := mustSink(t, o).Deliver(t.Context(), note(1, incident.NotifyOpened, incident.StateOpen, 3))
			if got := errClass(err); got != tt.want {
				t.Fatalf("error %v: class %s, want %s", err, got, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			var reply *textproto.Error
			if tt.code != 0 && (!errors.As(err, &reply) || reply.Code != tt.code) {
				t.Errorf("error %v: want the server's %d reply", err, tt.code)
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "wrong-password-0123") {
				t.Errorf("the error shows the password: %v", err)
			}
			if n := len(srv.mails(t)); n != 0 {
				t.Errorf("the server accepted %d mails, want none", n)
			}
		})
	}
}

// A server that is down or hangs: retried, and the attempt ends with its
// context.
func TestDeliverUnreachable(t *testing.T) {
	t.Parallel()
	o := email.Options{From: "alertbridge@example.com", To: []string{"oncall@example.com"}, TLS: email.TLSNone,
		Subject: subjectT, Text: textT}
	n := note(1, incident.NotifyOpened, incident.StateOpen, 3)

	t.Run("ErrConnectionRefused", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		o := o
		o.Smarthost = l.Addr().String()
		_ = l.Close() // nothing listens there now
		_, err = mustSink(t, o).Deliver(t.Context(), n)
		if errClass(err) != "retry" || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("error %v (%s), want a retried connection refused", err, errClass(err))
		}
	})
	// silent accepts connections and never greets.
	silent := func(t *testing.T) (addr string, accepted <-chan struct{}) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan struct{})
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			close(ch)
			t.Cleanup(func() { _ = c.Close() })
		}()
		t.Cleanup(func() { _ = l.Close() })
		return l.Addr().String(), ch
	}
	t.Run("ErrCanceledWhileWaitingForGreeting", func(t *testing.T) {
		t.Parallel()
		addr, accepted := silent(t)
		o := o
		o.Smarthost = addr
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-accepted; cancel() }()
		_, err := mustSink(t, o).Deliver(ctx, n)
		if errClass(err) != "retry" || !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v (%s), want a retried context.Canceled", err, errClass(err))
		}
	})
	t.Run("ErrDeadlineWhileWaitingForGreeting", func(t *testing.T) {
		t.Parallel()
		addr, _ := silent(t)
		o := o
		o.Smarthost = addr
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := mustSink(t, o).Deliver(ctx, n)
		if errClass(err) != "retry" || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v (%s), want a retried context.DeadlineExceeded", err, errClass(err))
		}
	})
}
