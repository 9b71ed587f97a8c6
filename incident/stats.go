package incident

import "time"

// Stats window limits: the default window when since is omitted, and the
// longest one a request may ask for, which bounds the rows a request reads.
const (
	DefaultStatsWindow = 7 * 24 * time.Hour
	MaxStatsWindow     = 400 * 24 * time.Hour
)

// StatsFilter selects what the stats summarise: incidents opened in
// [Since, Until), and events received in it, of one service and priority
// (empty and 0 mean any).
type StatsFilter struct {
	Since, Until time.Time
	Service      string
	Priority     Priority
}

// BacklogAge is one age bucket of the open backlog: the active incidents
// whose age (now − opened_at) is below Below and at or above the previous
// bucket's Below. The last bucket's Below is 0: it has no upper bound.
type BacklogAge struct {
	Label string
	Below time.Duration
}

// BacklogAges are the backlog's buckets, youngest first. The API and the
// alertbridge_incidents_backlog gauge use the same labels.
var BacklogAges = [...]BacklogAge{
	{"<1h", time.Hour},
	{"1h-4h", 4 * time.Hour},
	{"4h-24h", 24 * time.Hour},
	{"1d-7d", 7 * 24 * time.Hour},
	{">7d", 0},
}

// Backlog is the open and acknowledged incidents now, by age.
type Backlog struct {
	// Counts is indexed like BacklogAges.
	Counts [len(BacklogAges)]int
	// Oldest is the age of the oldest active incident; 0 when there is none.
	Oldest time.Duration
}

// Total is the number of active incidents.
func (b Backlog) Total() int {
	n := 0
	for _, c := range b.Counts {
		n += c
	}
	return n
}

// SignatureCount is how many incidents one signature opened: a rule's name,
// or the correlation key of incidents no rule grouped (Rule is then "").
type SignatureCount struct {
	Rule, Key string
	Incidents int
}

// StatsFigures are the plain numbers a store counts for the stats;
// Summarize derives means, percentiles and ratios from them, the same for
// every backend.
type StatsFigures struct {
	// Opened counts the incidents opened in the window; Resolved those of
	// them that are resolved now.
	Opened, Resolved int
	// TimesToAcknowledge are acknowledged_at − opened_at of the acknowledged
	// incidents opened in the window; TimesToResolve resolved_at − opened_at
	// of the resolved ones. Any order.
	TimesToAcknowledge, TimesToResolve []time.Duration
	// Backlog ignores the window: it is the active incidents now.
	Backlog Backlog
	// Events counts the recorded events (transitions new, refired, resolved
	// and stale) received in the window; Alerts their distinct alerts, by
	// DESIGN's alert identity (source, fingerprint).
	Events, Alerts int
	// RespondMet and RespondMissed count the incidents opened in the window
	// with a respond target that was met (acknowledged by it) or missed;
	// ResolveMet and ResolveMissed likewise. Running targets count in neither.
	RespondMet, RespondMissed, ResolveMet, ResolveMissed int
	// Signatures are the top signatures by incidents opened in the window,
	// most first, at most MaxSignatures.
	Signatures []SignatureCount
	// OpenedPerDay counts the incidents opened in the window by UTC day and
	// priority, by day and then priority; a day and priority without
	// incidents is left out. Its counts add up to Opened.
	OpenedPerDay []DayCount
}

// DayCount is how many incidents of one priority opened on one day.
type DayCount struct {
	// Day is the day's midnight, UTC.
	Day       time.Time
	Priority  Priority
	Incidents int
}

// MaxSignatures is how many top recurring signatures the stats list.
const MaxSignatures = 10
