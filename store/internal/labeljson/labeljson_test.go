package labeljson

import (
	"encoding/json"
	"fmt"
	"testing"
)

// marshal is what String must equal: encoding/json's Marshal, "{}" for nil.
func marshal(t testing.TB, m map[string]string) string {
	t.Helper()
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStringAsMarshal(t *testing.T) {
	tests := []struct {
		name string
		m    map[string]string
	}{
		{"nil", nil},
		{"empty", map[string]string{}},
		{"alertmanager labels", map[string]string{"alertname": "HighErrorRate", "job": "api", "severity": "critical", "instance": "10.0.0.1:9090"}},
		{"empty key and value", map[string]string{"": ""}},
		{"keys sorted bytewise", map[string]string{"b": "1", "B": "2", "a": "3", "é": "4", "aa": "5"}},
		{"quotes and backslashes", map[string]string{`sum"mary`: `C:\path "x"`}},
		{"short escapes", map[string]string{"s": "a\bb\fc\nd\re\tf"}},
		{"other control bytes", map[string]string{"s": "\x00\x01\x1f\x7f"}},
		{"html", map[string]string{"description": "<a href=\"x\">p50 > 1s & p99</a>"}},
		{"line separators", map[string]string{"s": "a\u2028b\u2029c"}},
		{"invalid utf-8", map[string]string{"s": "a\xffb\xc3", "\xfe": "k"}},
		{"multibyte", map[string]string{"summary": "Durée > 5 min — 日本語 🔥"}},
		{"more keys than the stack array", func() map[string]string {
			m := map[string]string{}
			for i := range 40 {
				m[fmt.Sprintf("label_%02d", 39-i)] = fmt.Sprint(i)
			}
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := String(tt.m), marshal(t, tt.m); got != want {
				t.Errorf("String = %s\nwant     %s", got, want)
			}
		})
	}
}

// FuzzString: any map of strings encodes as json.Marshal encodes it.
func FuzzString(f *testing.F) {
	f.Add("alertname", "HighErrorRate", "summary", "p99 > 1s & <rising>")
	f.Add("", "", "\u2028", "\xff\x00")
	f.Add("k", "a\"b\\c\n", "k2", "日本")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		m := map[string]string{k1: v1, k2: v2}
		if got, want := String(m), marshal(t, m); got != want {
			t.Errorf("String(%q) = %s, want %s", m, got, want)
		}
	})
}

func BenchmarkString(b *testing.B) {
	m := map[string]string{"alertname": "HighErrorRate", "job": "api", "severity": "critical",
		"instance": "10.0.0.1:9090", "namespace": "checkout"}
	b.Run("labeljson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = String(m)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(m)
		}
	})
}
