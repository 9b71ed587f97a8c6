package web

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// TestHistoryStripEndsWhatALaterFiringFollowed: a firing whose resolve
// never came (Alertmanager's lost resolve, docs/records.md) is not drawn
// as still firing once the alert fired again; the last open firing is.
func TestHistoryStripEndsWhatALaterFiringFollowed(t *testing.T) {
	at := func(hm string) time.Time {
		v, err := time.Parse("15:04", hm)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2026, 11, 28, v.Hour(), v.Minute(), 0, 0, time.UTC)
	}
	ep := func(start, end string) incident.Episode {
		e := incident.Episode{Source: "am", Fingerprint: "f", StartsAt: at(start)}
		if end != "" {
			e.EndsAt = at(end)
		}
		return e
	}
	now := at("22:00")
	tests := []struct {
		name string
		eps  []incident.Episode
		// want are the bars' classes and titles, by start.
		want []string
	}{
		{"one firing", []incident.Episode{ep("20:18", "")},
			[]string{"firing 20:18:00 – still firing"}},
		{"one that ended", []incident.Episode{ep("20:18", "20:40")},
			[]string{"fired 20:18:00 – 2026-11-28 20:40:00 UTC"}},
		{"resolve lost, then fired and resolved (newest first, as AlertHistory gives them)",
			[]incident.Episode{ep("21:13", "21:25"), ep("20:18", "")},
			[]string{"fired 20:18:00 – end not received, before 2026-11-28 21:13:00 UTC",
				"fired 21:13:00 – 2026-11-28 21:25:00 UTC"}},
		{"resolve lost, still firing again", []incident.Episode{ep("20:18", ""), ep("21:40", ""), ep("21:13", "21:25")},
			[]string{"fired 20:18:00 – end not received, before 2026-11-28 21:13:00 UTC",
				"fired 21:13:00 – 2026-11-28 21:25:00 UTC",
				"firing 21:40:00 – still firing"}},
		{"a later firing not yet begun at now", []incident.Episode{ep("20:18", ""), ep("23:00", "")},
			[]string{"firing 20:18:00 – still firing", "firing 23:00:00 – still firing"}},
	}
	bar := regexp.MustCompile(`<rect class="(fired|firing)"[^>]*><title>2026-11-28 (\d\d:\d\d:\d\d) UTC – ([^<]*)</title>`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := string(historyStrip(at("20:00"), now, tt.eps))
			var got []string
			for _, m := range bar.FindAllStringSubmatch(svg, -1) {
				got = append(got, m[1]+" "+m[2]+" – "+m[3])
			}
			// Bars come in the order given; compare by start.
			slices.SortFunc(got, func(a, b string) int { return cmp.Compare(strings.Fields(a)[1], strings.Fields(b)[1]) })
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("bars:\n%s\nwant:\n%s\nsvg: %s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), svg)
			}
		})
	}
}
