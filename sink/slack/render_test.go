package slack

import (
	"testing"
	"time"
	"unicode/utf8"
)

func TestFit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"Short", "a &amp; b", 20, "a &amp; b"},
		{"CutsPlainText", "abcdef", 4, "abc…"},
		{"DropsACutEscape", "ab &amp; c", 6, "ab …"},
		{"KeepsAWholeEscape", "a &lt; bcdef", 9, "a &lt; b…"},
		{"Runes", "ééééé", 3, "éé…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := fit(tt.in, tt.n)
			if got != tt.want || utf8.RuneCountInString(got) > tt.n {
				t.Errorf("fit(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestLinkAndDate(t *testing.T) {
	t.Parallel()
	if got := link("http://x/a|b>c", "t|x>"); got != "<http://x/a%7Cb%3Ec|t¦x&gt;>" {
		t.Errorf("link = %q", got)
	}
	at := time.Date(2026, 3, 1, 10, 4, 5, 0, time.FixedZone("CET", 3600))
	if got := date(at); got != "<!date^1772355845^{date_short_pretty} {time}|2026-03-01 09:04 UTC>" {
		t.Errorf("date = %q", got)
	}
}
