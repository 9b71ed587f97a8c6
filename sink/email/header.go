package email

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLine is the length header lines are folded to (RFC 5322 2.1.1).
const maxLine = 78

// maxSubjectRunes bounds a subject: a title is not an essay, and a reader
// shows a line of it at most.
const maxSubjectRunes = 250

// headerText is s made fit for one header's value: invalid UTF-8
// replaced, every run of white space and control characters (CR and LF
// among them, so that a title cannot start a header of its own) one space,
// and none at either end.
func headerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.Join(strings.Fields(s), " ")
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// encodeHeader is the header field "name: value" for unstructured text
// (Subject), value first passed through headerText. Printable ASCII is
// folded at spaces into lines of at most maxLine; anything else (non-ASCII,
// a word too long to fold, or "=?", which readers would take for an
// encoded word) is written as RFC 2047 Q-encoded words, one per line. The
// result ends without a line break and holds CRLF only before a space (a
// fold): whatever value holds, it is one header.
func encodeHeader(name, value string) string {
	value = headerText(value)
	if plainASCII(name, value) {
		return foldWords(name, strings.Split(value, " "), " ")
	}
	return name + ": " + encodeWords(len(name)+2, value)
}

// plainASCII reports whether value can be written as it is: printable
// ASCII, no "=?", and every word short enough for a line of its own.
func plainASCII(name, value string) bool {
	if strings.Contains(value, "=?") {
		return false
	}
	for i := 0; i < len(value); i++ {
		if value[i] < ' ' || value[i] > '~' {
			return false
		}
	}
	for i, w := range strings.Split(value, " ") {
		room := maxLine - 1
		if i == 0 {
			room = maxLine - len(name) - 2
		}
		if len(w) > room {
			return false
		}
	}
	return true
}

// foldWords is "name: " and words joined by sep, folded before a word
// (after sep) where a line would pass maxLine. sep ends in a space, so the
// fold's CRLF comes before white space, as RFC 5322 wants.
func foldWords(name string, words []string, sep string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(":")
	line := len(name) + 1
	for i, w := range words {
		glue := " "
		if i > 0 {
			glue = sep
		}
		if i > 0 && line+len(glue)+len(w) > maxLine {
			// The fold goes before the last space of the glue.
			b.WriteString(glue[:len(glue)-1])
			b.WriteString("\r\n")
			glue = " "
			line = 0
		}
		b.WriteString(glue)
		b.WriteString(w)
		line += len(glue) + len(w)
	}
	return b.String()
}

// The Q encoding's frame of one word, and the longest word RFC 2047
// allows.
const (
	qPrefix  = "=?utf-8?q?"
	qSuffix  = "?="
	maxQWord = 75
)

// encodeWords writes s as Q-encoded words, each whole characters and each
// on a line of at most maxLine (the first after first bytes of "name: "),
// joined by folds. White space between encoded words is not part of the
// text, so every space is encoded inside a word.
func encodeWords(first int, s string) string {
	var b, word strings.Builder
	used := first
	flush := func() {
		if word.Len() == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\r\n ")
		}
		b.WriteString(qPrefix)
		b.WriteString(word.String())
		b.WriteString(qSuffix)
		word.Reset()
		used = 1
	}
	var buf [utf8.UTFMax]byte
	for _, r := range s {
		var enc strings.Builder
		for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
			switch {
			case c == ' ':
				enc.WriteByte('_')
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!*+-/", c) >= 0:
				enc.WriteByte(c)
			default:
				fmt.Fprintf(&enc, "=%02X", c)
			}
		}
		room := min(maxLine-used, maxQWord) - len(qPrefix) - len(qSuffix)
		if word.Len()+enc.Len() > room {
			flush()
		}
		word.WriteString(enc.String())
	}
	flush()
	return b.String()
}

// addressHeader is "name: " and addrs (mail.Address.String encodes their
// names), folded between addresses.
func addressHeader(name string, addrs []*mail.Address) string {
	words := make([]string, len(addrs))
	for i, a := range addrs {
		words[i] = a.String()
	}
	return foldWords(name, words, ", ")
}
