package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/alertbridge/alertbridge/incident"
)

// Paging of an incident's alerts and timeline in its detail view. The
// defaults keep an incident of up to DefaultDetailLimit alerts and entries
// whole in one answer; a larger one answers a page of each with its next
// cursor (an incident with 10,000 alerts was a 5.9 MB body).
const (
	DefaultDetailLimit = 500
	MaxDetailLimit     = 5000
)

// detailPage is which page of alerts and of timeline entries a detail
// view holds.
type detailPage struct {
	alertsLimit, timelineLimit int
	alertsAfter                incident.AlertCursor
	timelineAfter              int64
}

// firstDetailPage is the first page of both at the default sizes: what
// the actions answer with.
var firstDetailPage = detailPage{alertsLimit: DefaultDetailLimit, timelineLimit: DefaultDetailLimit}

// parseDetailPage reads alerts_limit, alerts_after, timeline_limit and
// timeline_after; an error names the parameter at fault.
func parseDetailPage(q url.Values) (detailPage, error) {
	p := firstDetailPage
	for _, l := range []struct {
		name string
		dst  *int
	}{{"alerts_limit", &p.alertsLimit}, {"timeline_limit", &p.timelineLimit}} {
		v := q.Get(l.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxDetailLimit {
			return p, &inputError{l.name, fmt.Sprintf("want a whole number from 1 to %d, got %q", MaxDetailLimit, v)}
		}
		*l.dst = n
	}
	var err error
	if v := q.Get("alerts_after"); v != "" {
		if p.alertsAfter, err = parseAlertCursor(v); err != nil {
			return p, err
		}
	}
	if v := q.Get("timeline_after"); v != "" {
		if p.timelineAfter, err = parseCursor(v); err != nil {
			return p, &inputError{"timeline_after", "not a cursor this server issued"}
		}
	}
	return p, nil
}

// alertCursor is the wire form of an incident.AlertCursor, inside the
// opaque cursor.
type alertCursor struct {
	FirstSeen   int64  `json:"t"`
	Fingerprint string `json:"f"`
	Source      string `json:"s"`
}

func encodeAlertCursor(c incident.AlertCursor) string {
	b, _ := json.Marshal(alertCursor{c.FirstSeenAt.UnixNano(), c.Fingerprint, c.Source}) // cannot fail
	return base64.RawURLEncoding.EncodeToString(append([]byte("a"), b...))
}

func parseAlertCursor(s string) (incident.AlertCursor, error) {
	bad := &inputError{"alerts_after", "not a cursor this server issued"}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != 'a' {
		return incident.AlertCursor{}, bad
	}
	var c alertCursor
	if err := json.Unmarshal(b[1:], &c); err != nil || c.Fingerprint == "" {
		return incident.AlertCursor{}, bad
	}
	return incident.AlertCursor{FirstSeenAt: time.Unix(0, c.FirstSeen).UTC(), Fingerprint: c.Fingerprint, Source: c.Source}, nil
}
