package email

import (
	"mime"
	"net/mail"
	"strings"
	"testing"
)

func TestEncodeHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value, want string
	}{
		{"OKPlain", "[P1] #7 disk full", "Subject: [P1] #7 disk full"},
		{"OKEmpty", "", "Subject: "},
		{"OKFoldedAtSpaces", strings.Repeat("abcdefghi ", 10),
			"Subject: abcdefghi abcdefghi abcdefghi abcdefghi abcdefghi abcdefghi abcdefghi\r\n abcdefghi abcdefghi abcdefghi"},
		{"OKCRLFIsASpace", "disk full\r\nBcc: evil@example.com", "Subject: disk full Bcc: evil@example.com"},
		{"OKLoneCRAndLFAndTabs", "a\rb\nc\td\x00e", "Subject: a b c d e"},
		{"OKNonASCIIEncoded", "Ölstand ✓", "Subject: =?utf-8?q?=C3=96lstand_=E2=9C=93?="},
		{"OKEncodedWordLiteralIsEncoded", "=?utf-8?q?x?=", "Subject: =?utf-8?q?=3D=3Futf-8=3Fq=3Fx=3F=3D?="},
		{"OKInvalidUTF8Replaced", "a\xffb", "Subject: =?utf-8?q?a=EF=BF=BDb?="},
		{"OKLongWordEncodedOnLines", strings.Repeat("x", 100),
			"Subject: =?utf-8?q?" + strings.Repeat("x", 57) + "?=\r\n =?utf-8?q?" + strings.Repeat("x", 43) + "?="},
		{"OKMultiByteNeverSplit", strings.Repeat("é", 12),
			"Subject: =?utf-8?q?" + strings.Repeat("=C3=A9", 9) + "?=\r\n =?utf-8?q?" + strings.Repeat("=C3=A9", 3) + "?="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := encodeHeader("Subject", tt.value)
			if got != tt.want {
				t.Errorf("encodeHeader(%q) =\n%q\nwant\n%q", tt.value, got, tt.want)
			}
			checkHeader(t, "Subject", tt.value, got)
		})
	}
}

// checkHeader checks that h, the encoding of value, is one header field of
// short lines that a reader decodes back to value's header text.
func checkHeader(t *testing.T, name, value, h string) {
	t.Helper()
	lines := strings.Split(h, "\r\n")
	for i, l := range lines {
		if len(l) > maxLine {
			t.Errorf("line %d is %d long: %q", i, len(l), l)
		}
		if i > 0 && !strings.HasPrefix(l, " ") {
			t.Errorf("line %d does not start with a space, it is a header of its own: %q", i, l)
		}
		if i > 0 && strings.TrimSpace(l) == "" {
			t.Errorf("line %d is only white space", i)
		}
		for j := 0; j < len(l); j++ {
			if l[j] < ' ' || l[j] > '~' {
				t.Fatalf("line %d has byte %#x at %d", i, l[j], j)
			}
		}
	}
	m, err := mail.ReadMessage(strings.NewReader(h + "\r\n\r\n"))
	if err != nil {
		t.Fatalf("parse %q: %v", h, err)
	}
	if len(m.Header) != 1 || len(m.Header[name]) != 1 {
		t.Fatalf("%q parses as headers %v, want one %s", h, m.Header, name)
	}
	// Unfolding takes the CRLF away (RFC 5322 2.2.3).
	unfolded := strings.TrimPrefix(strings.ReplaceAll(h, "\r\n", ""), name+": ")
	got, err := new(mime.WordDecoder).DecodeHeader(unfolded)
	if err != nil {
		t.Fatalf("decode %q: %v", unfolded, err)
	}
	if want := headerText(value); got != want {
		t.Errorf("decodes to %q, want %q", got, want)
	}
}

func FuzzEncodeHeader(f *testing.F) {
	for _, s := range []string{"", "[P1] disk full", "a\r\nBcc: x@y", "Ölstand ✓", "=?utf-8?q?x?=", "a\xffb",
		strings.Repeat("x", 200), strings.Repeat("ab ", 60), " \t\r\n ", "a\u2028b\u0085c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkHeader(t, "Subject", s, encodeHeader("Subject", s))
	})
}

func TestAddressHeader(t *testing.T) {
	t.Parallel()
	var addrs []*mail.Address
	for _, s := range []string{"oncall@example.com", "Ops Team <ops@example.com>", "Jörg <joerg@example.com>",
		"database-administrators-on-call@example.com", "x@example.com"} {
		a, err := mail.ParseAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a)
	}
	h := addressHeader("To", addrs)
	want := "To: <oncall@example.com>, \"Ops Team\" <ops@example.com>,\r\n =?utf-8?q?J=C3=B6rg?= <joerg@example.com>,\r\n" +
		" <database-administrators-on-call@example.com>, <x@example.com>"
	if h != want {
		t.Errorf("addressHeader =\n%q\nwant\n%q", h, want)
	}
	m, err := mail.ReadMessage(strings.NewReader(h + "\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Header.AddressList("To")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(addrs) {
		t.Fatalf("%d addresses, want %d", len(got), len(addrs))
	}
	for i := range got {
		if *got[i] != *addrs[i] {
			t.Errorf("address %d = %v, want %v", i, got[i], addrs[i])
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, s string
		n       int
		want    string
	}{
		{"OKShort", "abc", 3, "abc"},
		{"OKCut", "abcd", 3, "ab…"},
		{"OKRunes", "äöüß", 3, "äö…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("%s: truncate(%q, %d) = %q, want %q", tt.name, tt.s, tt.n, got, tt.want)
		}
	}
}
