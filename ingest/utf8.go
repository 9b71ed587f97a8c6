package ingest

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// This file refuses text that encoding/json would silently change. It
// replaces bytes that are not UTF-8, and \u escapes of unpaired UTF-16
// surrogates, with U+FFFD, so two alerts that differ only there would get
// the same labels, and so the same fingerprint: one would be taken for the
// other. No real sender writes such text (Go's encoder, which Alertmanager
// and Grafana use, never does), so refusing it loses nothing real.

// checkUTF8 returns a *LimitError (reason invalid_utf8) when body holds bytes
// that are not UTF-8, or a \u escape of a UTF-16 surrogate that is not half
// of a high-low pair. Like checkDepth it runs before anything decodes the
// body, in one pass that allocates nothing; only when it finds a problem
// does a token walk run, to name the string (member name or value) that
// holds it.
func checkUTF8(body []byte) error {
	at := invalidUTF8At(body)
	if at < 0 {
		return nil
	}
	offset := "offset " + strconv.Itoa(at)
	where := offset
	if p, ok := invalidUTF8Where(body); ok {
		where = p.String()
	}
	if body[at] == '\\' {
		return limitErr(reasonInvalidUTF8, where, "not valid UTF-8: %s at %s is an unpaired UTF-16 surrogate", body[at:at+6], offset)
	}
	return limitErr(reasonInvalidUTF8, where, "not valid UTF-8: byte 0x%02x at %s", body[at], offset)
}

// Masks for the ASCII fast path of invalidUTF8At: a word of eight bytes with
// no high bit set and no backslash needs no closer look.
const (
	highBits  = 0x8080808080808080
	lowBits   = 0x0101010101010101
	backslash = lowBits * '\\'
)

// invalidUTF8At returns the offset of the first byte of body that is not
// UTF-8, or of the first \u escape of an unpaired surrogate; -1 when there is
// none. Every backslash starts an escape, inside strings or not: outside a
// string a backslash is a syntax error the decoder reports anyway. A
// malformed escape (\u without four hex digits) is a syntax error too, and
// not reported here.
func invalidUTF8At(body []byte) int {
	i := 0
	for i < len(body) {
		if i+8 <= len(body) {
			w := binary.LittleEndian.Uint64(body[i:])
			if w&highBits == 0 && !hasZeroByte(w^backslash) {
				i += 8
				continue
			}
		}
		c := body[i]
		switch {
		case c == '\\':
			if i+1 >= len(body) || body[i+1] >= utf8.RuneSelf {
				i++ // the next iteration checks the escaped rune itself
				continue
			}
			if body[i+1] != 'u' {
				i += 2
				continue
			}
			r, ok := hexRune(body, i+2)
			switch {
			case !ok || r < 0xD800 || r > 0xDFFF:
				i += 2 // the hex digits are ASCII: the fast path takes them
			case r >= 0xDC00:
				return i // a low surrogate without a high one before it
			default:
				if lo, ok := hexRune(body, i+8); !ok || body[i+6] != '\\' || body[i+7] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
					return i // a high surrogate without a low one after it
				}
				i += 12
			}
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				return i
			}
			i += size
		}
	}
	return -1
}

// hasZeroByte reports whether any of the eight bytes of w is zero.
func hasZeroByte(w uint64) bool {
	return (w-lowBits)&^w&highBits != 0
}

// hexRune decodes the four hex digits at b[at:at+4]; ok is false when b is
// too short there or they are not hex digits.
func hexRune(b []byte, at int) (r rune, ok bool) {
	if at < 0 || at+4 > len(b) {
		return 0, false
	}
	for _, c := range b[at : at+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// invalidUTF8Where walks body token by token and returns the path of the
// first member name or string value whose literal is not valid UTF-8 or has
// an unpaired surrogate escape; ok is false when the walk does not get
// there (the problem is outside any string, or the body is malformed
// before it).
func invalidUTF8Where(body []byte) (where jsonPath, ok bool) {
	walkJSON(body, func(t jsonToken) bool {
		if _, isStr := t.tok.(string); !isStr || validJSONString(t.raw) {
			return true
		}
		where, ok = t.path(), true
		return false
	})
	return where, ok
}

// validJSONString reports whether the raw JSON string literal s is valid
// UTF-8 and has no unpaired surrogate escape.
func validJSONString(s []byte) bool {
	return invalidUTF8At(s) < 0
}
