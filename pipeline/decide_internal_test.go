package pipeline

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBounded(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"OKShort", "disk full", 20, "disk full"},
		{"OKExact", "abcd", 4, "abcd"},
		{"Cut", "abcdefghij", 8, "abcde…"},
		{"CutOnRuneBoundary", "ääääää", 8, "ää…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bounded(tt.in, tt.max)
			if got != tt.want || len(got) > tt.max || !utf8.ValidString(got) {
				t.Errorf("bounded(%q, %d) = %q, want %q within %d bytes", tt.in, tt.max, got, tt.want, tt.max)
			}
		})
	}
}

func TestBoundedKeyKeepsKeysApart(t *testing.T) {
	long := "rule/disk/" + strings.Repeat("x", 3*MaxKeyBytes)
	a, b := boundedKey(long+"a"), boundedKey(long+"b")
	if len(a) > MaxKeyBytes || len(b) > MaxKeyBytes {
		t.Fatalf("keys of %d and %d bytes, want at most %d", len(a), len(b), MaxKeyBytes)
	}
	if a == b {
		t.Error("two keys that differ past the cut became one")
	}
	if a != boundedKey(long+"a") {
		t.Error("the same key bounded twice differs")
	}
	if k := `group{a="1"}`; boundedKey(k) != k {
		t.Errorf("a short key changed: %q", boundedKey(k))
	}
}
