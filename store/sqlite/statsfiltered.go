package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/sizedlru"
)

// The noise figures by service or priority count the events of the
// incidents that match the filter now. Probing each matching incident's
// events (noiseByIncident) reads every such incident ever: 184 ms for 30
// days of P1 at 100k incidents. Instead the figures are kept per UTC day
// of receipt (the days of event_days), valid while the day's version says
// nothing they count changed (migration 0015):
//
//   - a window's whole days from a filteredPart per day and filter: how
//     many of the day's counted events belong to a matching incident, and
//     their distinct alerts;
//   - its partial days (the first, and today up to now) from an edgeDay:
//     the day's counted events, each with its incident's priority and
//     service, read again only from the last event read on when events
//     arrive, so that a dashboard polling while alerts come in reads the
//     new events of today, not today.
//
// The distinct alerts of the window are the union of the days' ones;
// the union of its whole days is kept too (wholeRange), so that a window
// that ends now, whose whole days change once a day, adds only its edges'
// alerts to it.
//
// An alert is its number (events.alert_no, migration 0021): distinct
// alerts are DESIGN's alert identity, (source, fingerprint), which the
// number stands for.
const (
	// filteredPartsCached: 91 days (a 90-day window touches 91) for ten
	// filters (a priority's read keeps all five priorities' parts);
	// filteredPartsBytes: a part holds ~8 bytes per distinct alert, about
	// 16 KB for a day of 2,000 alerts of one priority, 4 MB for the day
	// after a storm of 514k. One part may take half of it (~4M alerts): a
	// part over that is read again by every call.
	filteredPartsCached = 1024
	filteredPartsBytes  = 64 << 20
	// edgeDaysCached: today and the first day of each window length a
	// dashboard polls, and the day before each at midnight; edgeDaysBytes:
	// ~18 bytes per event and ~40 more per distinct alert (edgeDay.size),
	// about 1 MB for a day of 13k events, 27 MB for a day of 454k new
	// alerts. One day may take half of it (edgeDayMaxBytes, ~1.1M new
	// alerts or ~3.7M repeats of a few): the big day is today, which
	// every dashboard asks about, and the other half is room for the
	// windows' first days. A read stops once a day is past that.
	edgeDaysCached  = 8
	edgeDaysBytes   = 128 << 20
	edgeDayMaxBytes = edgeDaysBytes / 2
	// wholeRangesCached: the whole days of each window a dashboard polls
	// (7, 30, 90 days...) by filter; wholeRangesBytes: ~24 bytes per
	// distinct alert, about 2 MB for 30 days of 80k alerts, 12 MB for a
	// week holding a storm day of 514k. A range of more than half of it
	// (~1.4M alerts) is combined from its days each time.
	wholeRangesCached = 16
	wholeRangesBytes  = 64 << 20
)

// maxKeptDayEvents is the most events a partial day may have for the
// filtered noise figures to read it into an edge (~4M): an edge holds at
// least 16 bytes per event, so a day of more could not be kept, and would
// be read whole by every call; a window with one is counted by the probe
// instead. So is one with a day that was read and found too big to keep
// (filteredDays.big). (A whole day's part holds only the filter's
// alerts.) A variable so tests can lower it.
var maxKeptDayEvents = int64(edgeDayMaxBytes / 16)

// eventDayVersion is what a kept day's figures were computed at: the
// day's counted events (event_days), its version (event_filter_days: a
// matching incident's priority or service changed) and the deletions of
// retention (stats_history_deleted). Events only grow but by retention, so
// equal figures mean equal contents.
type eventDayVersion struct {
	events, attrs, deleted int64
}

// filterKey is a filter's service and priority ("" and 0: any).
type filterKey struct {
	service  string
	priority incident.Priority
}

func (k filterKey) matches(a incidentAttrs) bool {
	return (k.service == "" || a.service == k.service) && (k.priority == 0 || a.priority == k.priority)
}

// filteredPart is what one whole day adds to the noise figures of a
// filter: its counted events of matching incidents and their distinct
// alerts.
type filteredPart struct {
	v      eventDayVersion
	events int
	alerts []int64
}

// size estimates the bytes p holds, as the heap holds them.
func (p *filteredPart) size() int { return 96 + 8*cap(p.alerts) }

// incidentAttrs are what the filters read of an incident.
type incidentAttrs struct {
	priority incident.Priority
	service  string
}

// edgeDay is one day's counted events that belong to an incident, each
// with its alert and the incident's attributes, current as of the
// incident_filter_changes row changes (migration 0015): an edge follows
// its incidents' changes of priority and service by that log, not by the
// day's version, so that an escalation today does not read today again.
//
// Reading on from a kept edgeDay makes a new one that appends to the
// same arrays, past the kept one's lengths: what a reader of the kept one
// sees never changes. Only the current kept edge of a day is read on
// from, under filteredDays.reading, which it is taken out of the cache
// for (a failed read leaves nothing half-appended behind).
type edgeDay struct {
	v       eventDayVersion // v.attrs is not used: see changes
	changes int64           // the last row of incident_filter_changes applied
	total   int64           // the counted events read, with an incident or without
	maxID   int64           // the highest event id read
	at      []int64
	alert   []int32 // into alerts
	inc     []int32 // into incs
	alerts  []int64 // the distinct alerts
	incs    []incidentAttrs
	// alertIndex finds an alert's entry of alerts, incIndex an incident's
	// entry of incs by its id. Only reading on uses them.
	alertIndex map[int64]int32
	incIndex   map[int64]int32
	// strBytes is what the strings of incs hold.
	strBytes int
}

// alertAt returns the alert's entry of d.alerts, adding it if new.
func (d *edgeDay) alertAt(no int64) int32 {
	a, ok := d.alertIndex[no]
	if !ok {
		a = int32(len(d.alerts))
		d.alerts = append(d.alerts, no)
		d.alertIndex[no] = a
	}
	return a
}

// size estimates the bytes d holds, as the heap holds them: the arrays'
// capacities (appending leaves room), a string's bytes rounded up to the
// allocator's 8, ~32 bytes per entry of alertIndex and incIndex (a 16-byte
// slot, at a swiss table's load of 7/16 to 7/8).
func (d *edgeDay) size() int {
	return 160 + 8*cap(d.at) + 4*cap(d.alert) + 4*cap(d.inc) + 8*cap(d.alerts) + 32*len(d.alertIndex) +
		24*cap(d.incs) + 32*len(d.incs) + d.strBytes
}

// heapString is the bytes the heap gives a string of n bytes.
func heapString(n int) int { return (n + 7) &^ 7 }

// filteredDays keeps filteredParts and edgeDays between calls.
type filteredDays struct {
	parts  *sizedlru.LRU[filteredDayKey, *filteredPart]
	edges  *sizedlru.LRU[int64, *edgeDay]
	ranges *sizedlru.LRU[rangeKey, *wholeRange]
	// big holds the versions at which days were read into an edge too
	// big to keep: such a day, as large or larger, is counted by the
	// probe, not read whole again by every call.
	big *sizedlru.LRU[int64, eventDayVersion]
	// reading is held while days are read, so that the polls that find
	// them missing at once read them once.
	reading sync.Mutex
	// read counts the days read from the events, whole or from the last
	// event read on (readOn counts those); byIncident the reads of
	// several whole days by incident, for tests.
	read, readOn, byIncident atomic.Int64
	// usedAt is when count last ran (Unix nanoseconds): follow reads on
	// only while someone asks.
	usedAt atomic.Int64
}

type filteredDayKey struct {
	day int64
	filterKey
}

// rangeKey names the whole days first..last of a window and a filter.
type rangeKey struct {
	first, last int64
	filterKey
}

func newFilteredDays() *filteredDays {
	return &filteredDays{
		parts:  sizedlru.NewMax[filteredDayKey, *filteredPart](filteredPartsCached, filteredPartsBytes, filteredPartsBytes/2),
		edges:  sizedlru.NewMax[int64, *edgeDay](edgeDaysCached, edgeDaysBytes, edgeDayMaxBytes),
		ranges: sizedlru.NewMax[rangeKey, *wholeRange](wholeRangesCached, wholeRangesBytes, wholeRangesBytes/2),
		big:    sizedlru.NewMax[int64, eventDayVersion](edgeDaysCached, edgeDaysCached, 1),
	}
}

// noiseDay is one day of a window and what counts it.
type noiseDay struct {
	day    int64
	lo, hi int64 // the window's part of the day
	v      eventDayVersion
	part   *filteredPart // a whole day's
	edge   *edgeDay      // a partial day's
	// changes are the first and last rows of incident_filter_changes
	// (0, 0: none), for an edge.
	changes [2]int64
}

func (d *noiseDay) whole() bool { return d.lo == d.day*nanosPerDay && d.hi == (d.day+1)*nanosPerDay }

// wholeRange is the union of a window's whole days for a filter: their
// events and distinct alerts, valid while each day's version is the one it
// was combined at.
type wholeRange struct {
	days   []int64 // with events, ascending
	v      []eventDayVersion
	events int
	alerts map[int64]struct{}
}

// size estimates the bytes r holds: ~24 per alert (an 8-byte slot at a
// swiss table's load).
func (r *wholeRange) size() int { return 96 + 32*len(r.days) + 24*len(r.alerts) }

// valid reports whether r is the union of days now.
func (r *wholeRange) valid(days []noiseDay) bool {
	if len(r.days) != len(days) {
		return false
	}
	for i, d := range days {
		if r.days[i] != d.day || r.v[i] != d.v {
			return false
		}
	}
	return true
}

// count counts the counted events in f's window that belong to an
// incident matching f's service and priority, and their distinct
// alerts, from kept days; what is not kept (all of it, the first
// call after a start) is read and kept. ok is false for a window that
// starts before 1970 or cuts a day of more than maxKeptDayEvents, or one
// too big to keep: the caller counts another way.
func (fd *filteredDays) count(ctx context.Context, q queryer, f incident.StatsFilter, aheadWhole bool) (events, alerts int, ok bool, err error) {
	fd.usedAt.Store(time.Now().UnixNano())
	since, until := f.Since.UnixNano(), f.Until.UnixNano()
	if since < 0 {
		return 0, 0, false, nil
	}
	key := filterKey{service: f.Service, priority: f.Priority}
	days, err := eventDayVersions(ctx, q, since, until)
	if err != nil {
		return 0, 0, false, err
	}
	var whole, edges []noiseDay
	for _, d := range days {
		switch {
		case d.whole():
			whole = append(whole, d)
		case d.v.events > maxKeptDayEvents || fd.tooBig(d):
			return 0, 0, false, nil
		default:
			edges = append(edges, d)
		}
	}
	if err := filterChanges(ctx, q, edges); err != nil {
		return 0, 0, false, err
	}
	rk := rangeKey{(since + nanosPerDay - 1) / nanosPerDay, until/nanosPerDay - 1, key}
	rng, _ := fd.ranges.Get(rk)
	if rng != nil && !rng.valid(whole) {
		rng = nil
	}
	if rng != nil {
		whole = nil // counted by rng
	}
	if fd.resolve(whole, key)+fd.resolve(edges, key) > 0 {
		fd.reading.Lock()
		err1 := fd.readWhole(ctx, q, whole, key)
		err2 := fd.readEdges(ctx, q, edges, aheadWhole)
		fd.reading.Unlock()
		if err := cmp.Or(err1, err2); err != nil {
			if errors.Is(err, errEdgeTooBig) {
				return 0, 0, false, nil // the probe counts it
			}
			return 0, 0, false, err
		}
	}
	if rng == nil {
		rng = combine(whole)
		fd.ranges.Add(rk, rng, rng.size())
	}
	events, alerts = rng.events, len(rng.alerts)
	// The edges' matching alerts not among rng's, each counted
	// once, also when two edges share it: those of all edges but the
	// largest are remembered, so that the largest (today's, in a storm)
	// costs a lookup per alert, not a set built at every call.
	slices.SortStableFunc(edges, func(a, b noiseDay) int { return cmp.Compare(len(a.edge.alerts), len(b.edge.alerts)) })
	var seen map[int64]struct{}
	for i, d := range edges {
		e := d.edge
		in := make([]bool, len(e.alerts))
		for j, at := range e.at {
			if at >= d.lo && at < d.hi && key.matches(e.incs[e.inc[j]]) {
				events++
				in[e.alert[j]] = true
			}
		}
		last := i == len(edges)-1
		for j, ok := range in {
			if !ok {
				continue
			}
			no := e.alerts[j]
			if _, dup := rng.alerts[no]; dup {
				continue
			}
			if _, dup := seen[no]; dup {
				continue
			}
			alerts++
			if !last {
				if seen == nil {
					seen = make(map[int64]struct{})
				}
				seen[no] = struct{}{}
			}
		}
	}
	return events, alerts, true, nil
}

// filterChanges gives the edges the first and last rows of
// incident_filter_changes.
func filterChanges(ctx context.Context, q queryer, edges []noiseDay) error {
	if len(edges) == 0 {
		return nil
	}
	var changes [2]int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM incident_filter_changes`).
		Scan(&changes[0], &changes[1])
	if err != nil {
		return fmt.Errorf("changes of incidents' priority and service: %w", err)
	}
	for i := range edges {
		edges[i].changes = changes
	}
	return nil
}

// Following. A dashboard that shows the figures of a service or priority
// and refreshes every 30 s while alerts come in would find today's kept
// edge 30 s behind at each refresh, and read those events on before it
// answers: 140-160 ms for the 80k events of 20 s of the mixed bench
// traffic, against 15 ms when the edge is current (issue 13). While such
// figures were asked for in the last followFor, the store reads its kept
// edges on every followEvery in the background (Store.followEdges), so
// that a refresh finds them current, or a second behind. Variables so that
// tests can change them.
var (
	followEvery = time.Second
	followFor   = 10 * time.Minute
)

// follow reads the kept edges on to what q sees, if count ran within
// followFor of now; days that changed otherwise (an escalation on a
// whole day, retention) are read as a call would read them. A day too
// large to keep is left alone, as count leaves it. It reports how many
// days it read.
func (fd *filteredDays) follow(ctx context.Context, q queryer, now time.Time) (int, error) {
	if !fd.asked(now) {
		return 0, nil
	}
	kept := fd.edges.Keys()
	if len(kept) == 0 {
		return 0, nil
	}
	isKept := make(map[int64]bool, len(kept))
	for _, d := range kept {
		isKept[d] = true
	}
	lo, hi := slices.Min(kept), slices.Max(kept)
	days, err := eventDayVersions(ctx, q, lo*nanosPerDay, (hi+1)*nanosPerDay)
	if err != nil {
		return 0, err
	}
	var edges []noiseDay
	for _, d := range days {
		if isKept[d.day] && d.v.events <= maxKeptDayEvents {
			// Any part of the day short of all of it: an edge is kept
			// whole and cut to a window's part when counted.
			d.lo, d.hi = d.day*nanosPerDay, (d.day+1)*nanosPerDay-1
			edges = append(edges, d)
		}
	}
	if err := filterChanges(ctx, q, edges); err != nil {
		return 0, err
	}
	missing := fd.resolve(edges, filterKey{})
	if missing == 0 {
		return 0, nil
	}
	fd.reading.Lock()
	defer fd.reading.Unlock()
	if err := fd.readEdges(ctx, q, edges, false); err != nil && !errors.Is(err, errKeptAhead) && !errors.Is(err, errEdgeTooBig) {
		return 0, err // errKeptAhead: a call kept a newer edge meanwhile; errEdgeTooBig: remembered
	}
	return missing, nil
}

// asked reports whether count ran within followFor of now.
func (fd *filteredDays) asked(now time.Time) bool {
	return now.UnixNano()-fd.usedAt.Load() <= int64(followFor)
}

// followEdges runs follow every followEvery until Close.
func (s *Store) followEdges() {
	defer close(s.followDone)
	// Close cancels a follow under way rather than wait for it.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-s.followStop
		cancel()
	}()
	t := time.NewTicker(followEvery)
	defer t.Stop()
	for {
		select {
		case <-s.followStop:
			return
		case <-t.C:
		}
		_, _ = s.followOnce(ctx, time.Now()) // failed: the next call reads what it needs
	}
}

// followOnce runs follow in a read transaction of its own, so that the
// days' versions and the events it reads agree, as in a Stats call.
func (s *Store) followOnce(ctx context.Context, now time.Time) (int, error) {
	if s.kept.filtered == nil || !s.kept.filtered.asked(now) {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tx, err := s.r.beginRead(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	return s.kept.filtered.follow(ctx, tx, now)
}

// combine unites the parts of whole days.
func combine(whole []noiseDay) *wholeRange {
	n := 0
	for _, d := range whole {
		n = max(n, len(d.part.alerts))
	}
	r := &wholeRange{alerts: make(map[int64]struct{}, 2*n)}
	for _, d := range whole {
		r.days, r.v = append(r.days, d.day), append(r.v, d.v)
		r.events += d.part.events
		for _, no := range d.part.alerts {
			r.alerts[no] = struct{}{}
		}
	}
	return r
}

// eventDayVersions returns the days of [since, until) that received a
// counted event, each with its part of the window and its version.
func eventDayVersions(ctx context.Context, q queryer, since, until int64) ([]noiseDay, error) {
	first, last := since/nanosPerDay, (until-1)/nanosPerDay
	var days []noiseDay
	err := eachRow(ctx, q, `SELECT e.day, e.n, COALESCE(v.version, 0), (SELECT n FROM stats_history_deleted WHERE id = 1)
		FROM (SELECT day, SUM(n) AS n FROM event_days WHERE day BETWEEN ?1 AND ?2 AND transition IN `+countedTransitions+`
			GROUP BY day) e
		LEFT JOIN event_filter_days v ON v.day = e.day
		ORDER BY e.day`, []any{first, last}, func(rows *sql.Rows) error {
		var d noiseDay
		if err := rows.Scan(&d.day, &d.v.events, &d.v.attrs, &d.v.deleted); err != nil {
			return err
		}
		if d.v.events > 0 {
			d.lo, d.hi = max(since, d.day*nanosPerDay), min(until, (d.day+1)*nanosPerDay)
			days = append(days, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count events per day: %w", err)
	}
	return days, nil
}

// resolve fills in the days' valid kept parts and edges, and returns how
// many days are left to read.
func (fd *filteredDays) resolve(days []noiseDay, key filterKey) (missing int) {
	for i := range days {
		d := &days[i]
		switch {
		case d.part != nil || d.edge != nil:
		case d.whole():
			if p, ok := fd.parts.Get(filteredDayKey{d.day, key}); ok && p.v == d.v {
				d.part = p
			} else {
				missing++
			}
		default:
			if e, ok := fd.edges.Get(d.day); ok && e.current(d) {
				d.edge = e
			} else {
				missing++
			}
		}
	}
	return missing
}

// readWhole reads the whole days left to read, and keeps them, but those
// another call read meanwhile. The caller holds fd.reading.
//
// With a service, they are read at once by the matching incidents'
// events: a service is a few incidents among many (30 days of one of 50
// services: 200 ms cold, against 550 ms by the days' events). A priority
// alone is a fifth of them: each day by its events' time is cheaper (30
// days of P1: 460 ms against 650 ms).
func (fd *filteredDays) readWhole(ctx context.Context, q queryer, days []noiseDay, key filterKey) error {
	fd.resolve(days, key)
	var missing []*noiseDay
	for i := range days {
		if d := &days[i]; d.part == nil {
			missing = append(missing, d)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if key.service == "" {
		return fd.readPriorities(ctx, q, missing, key.priority)
	}
	where, wargs := incidentWhere(incident.StatsFilter{Service: key.service, Priority: key.priority})
	parts := map[int64]*filteredPart{}
	fd.byIncident.Add(1)
	err := readFilteredParts(ctx, q, parts, `SELECT received_at, alert_no FROM events INDEXED BY events_incident
		WHERE incident_id IN (SELECT id FROM incidents WHERE `+strings.TrimPrefix(where, " AND ")+`)
		AND received_at >= ? AND received_at < ? AND transition IN `+countedTransitions,
		append(wargs, missing[0].day*nanosPerDay, (missing[len(missing)-1].day+1)*nanosPerDay))
	if err != nil {
		return fmt.Errorf("read events of days %d to %d by incident: %w", missing[0].day, missing[len(missing)-1].day, err)
	}
	for _, d := range missing {
		p := parts[d.day]
		if p == nil {
			p = &filteredPart{}
		}
		fd.read.Add(1)
		p.v = d.v
		fd.parts.Add(filteredDayKey{d.day, key}, p, p.size())
		d.part = p
	}
	return nil
}

// readPriorities reads the missing days of a priority alone. Each day is
// read by its events' time index (the planner would rather probe every
// matching incident's events), and each event joined with its incident
// to test the priority: that reads every event of the day whatever the
// priority, so the day is read once for all of them, and every
// priority's part of it is kept (a dashboard showing P1 to P4 reads each
// day once, not four times).
func (fd *filteredDays) readPriorities(ctx context.Context, q queryer, missing []*noiseDay, want incident.Priority) error {
	for _, d := range missing {
		byPriority, err := readPriorityParts(ctx, q, d.day)
		if err != nil {
			return fmt.Errorf("read events of day %d by incident: %w", d.day, err)
		}
		fd.read.Add(1)
		if byPriority[want] == nil {
			byPriority[want] = &filteredPart{}
		}
		for _, p := range slices.Sorted(maps.Keys(byPriority)) {
			part := byPriority[p]
			part.v = d.v
			// The other priorities' parts are kept while they fit: they
			// must not evict what this or another call reads.
			k := filteredDayKey{d.day, filterKey{priority: p}}
			if p == want {
				fd.parts.Add(k, part, part.size())
			} else {
				fd.parts.AddIfRoom(k, part, part.size())
			}
		}
		d.part = byPriority[want]
	}
	return nil
}

// readPriorityParts reads the counted events of a day that belong to an
// incident, into a part per priority: one for each of P1 to P5, empty
// when none of the day's events is of it, and for any other priority an
// incident has.
func readPriorityParts(ctx context.Context, q queryer, day int64) (map[incident.Priority]*filteredPart, error) {
	parts := map[incident.Priority]*filteredPart{}
	for p := incident.Priority(1); p <= 5; p++ {
		parts[p] = &filteredPart{}
	}
	type priorityAlert struct {
		p  incident.Priority
		no int64
	}
	seen := map[priorityAlert]bool{}
	err := eachRow(ctx, q, `SELECT e.alert_no, i.priority
		FROM events e INDEXED BY events_received_alert JOIN incidents i ON i.id = e.incident_id
		WHERE e.received_at >= ? AND e.received_at < ? AND e.transition IN `+countedTransitions,
		[]any{day * nanosPerDay, (day + 1) * nanosPerDay}, func(rows *sql.Rows) error {
			var k priorityAlert
			if err := rows.Scan(&k.no, &k.p); err != nil {
				return err
			}
			part := parts[k.p]
			if part == nil {
				part = &filteredPart{}
				parts[k.p] = part
			}
			part.events++
			if !seen[k] {
				seen[k] = true
				part.alerts = append(part.alerts, k.no)
			}
			return nil
		})
	return parts, err
}

// readFilteredParts adds the events query returns (received_at,
// alert_no) to the parts of their days.
func readFilteredParts(ctx context.Context, q queryer, parts map[int64]*filteredPart, query string, args []any) error {
	type dayAlert struct{ day, no int64 }
	seen := map[dayAlert]bool{}
	return eachRow(ctx, q, query, args, func(rows *sql.Rows) error {
		var at, no int64
		if err := rows.Scan(&at, &no); err != nil {
			return err
		}
		day := at / nanosPerDay
		p := parts[day]
		if p == nil {
			p = &filteredPart{}
			parts[day] = p
		}
		p.events++
		if k := (dayAlert{day, no}); !seen[k] {
			seen[k] = true
			p.alerts = append(p.alerts, no)
		}
		return nil
	})
}

// readEdges reads the partial days left to read, and keeps them, but
// those another call read meanwhile. The caller holds fd.reading.
func (fd *filteredDays) readEdges(ctx context.Context, q queryer, days []noiseDay, aheadWhole bool) error {
	fd.resolve(days, filterKey{})
	for i := range days {
		d := &days[i]
		if d.edge != nil {
			continue
		}
		fd.read.Add(1)
		e, keep, err := fd.readEdge(ctx, q, d, aheadWhole)
		if errors.Is(err, errEdgeTooBig) {
			fd.big.Add(d.day, d.v, 1)
		}
		if err != nil {
			return err
		}
		if keep {
			fd.edges.Add(d.day, e, e.size())
		}
		d.edge = e
	}
	return nil
}

// tooBig reports whether d was found too big to keep as large as it is
// now or smaller: events only grow, and their alerts with them, but by
// retention.
func (fd *filteredDays) tooBig(d noiseDay) bool {
	v, ok := fd.big.Get(d.day)
	return ok && d.v.events >= v.events && d.v.deleted == v.deleted
}

// current reports whether e counts d's events now.
func (e *edgeDay) current(d *noiseDay) bool {
	return e.v.events == d.v.events && e.v.deleted == d.v.deleted && e.changes == d.changes[1]
}

// errEdgeTooBig: a day's edge grew past the most the cache keeps of one
// day while it was read; the read stopped there.
var errEdgeTooBig = errors.New("a day's events are too many to keep")

// errKeptAhead: the kept edge of a day was read at a newer snapshot than
// the read's (two polls at once): the read may begin again rather than
// read the day whole.
var errKeptAhead = errors.New("a kept day is newer than the read")

// readEdge reads d's edge: on from the kept one when retention deleted
// nothing since and the changes of incidents since are still logged,
// else whole. A kept edge newer than the read is errKeptAhead unless
// aheadWhole. The caller holds fd.reading.
func (fd *filteredDays) readEdge(ctx context.Context, q queryer, d *noiseDay, aheadWhole bool) (e *edgeDay, keep bool, err error) {
	from, _ := fd.edges.Get(d.day)
	if from != nil && from.v.deleted == d.v.deleted && (from.v.events > d.v.events || from.changes > d.changes[1]) {
		if !aheadWhole {
			return nil, false, errKeptAhead
		}
		e := newEdgeDay(d)
		return e, false, e.readEvents(ctx, q, d.day, fd.edges.MaxEntry()) // the newer one stays kept
	}
	if from != nil && from.v.deleted == d.v.deleted && from.v.events <= d.v.events &&
		from.changes <= d.changes[1] && (from.changes == d.changes[1] || from.changes+1 >= d.changes[0]) {
		fd.edges.Remove(d.day) // from is read on from: see edgeDay
		fd.readOn.Add(1)
		e, err := readOn(ctx, q, d, from, fd.edges.MaxEntry())
		if err != nil || e.total-from.total == d.v.events-from.v.events {
			return e, true, err
		}
		// Not only newer events (a row id taken again): read it whole.
		// (Not e.total against the day's count: retention deletes
		// events, not their count in event_days.)
	}
	e = newEdgeDay(d)
	return e, true, e.readEvents(ctx, q, d.day, fd.edges.MaxEntry())
}

// newEdgeDay is an empty edge of d, for its events to be read into.
func newEdgeDay(d *noiseDay) *edgeDay {
	return &edgeDay{v: d.v, changes: d.changes[1], alertIndex: map[int64]int32{}, incIndex: map[int64]int32{}}
}

// readOn makes from current: the events since its last, and the
// attributes of its incidents changed since.
func readOn(ctx context.Context, q queryer, d *noiseDay, from *edgeDay, limit int) (*edgeDay, error) {
	e := *from
	e.v = d.v
	if from.changes != d.changes[1] {
		e.changes = d.changes[1]
		e.incs = slices.Clone(from.incs) // a reader of from may be reading them
		err := eachRow(ctx, q, `SELECT c.incident_id, i.priority, i.service FROM incident_filter_changes c
			JOIN incidents i ON i.id = c.incident_id WHERE c.seq > ?`, []any{from.changes}, func(rows *sql.Rows) error {
			var id int64
			var a incidentAttrs
			if err := rows.Scan(&id, &a.priority, &a.service); err != nil {
				return err
			}
			if in, ok := e.incIndex[id]; ok {
				e.incs[in] = a
				e.strBytes += heapString(len(a.service))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("changes of incidents' priority and service: %w", err)
		}
	}
	if from.v.events == d.v.events {
		return &e, nil
	}
	return &e, e.readEvents(ctx, q, d.day, limit)
}

// readEvents appends day's counted events after e.maxID, with their
// incidents' attributes now. Fewer events since than e has (today's,
// read on while alerts come in) are found by id, more (a day read whole,
// or a late event on an older day) by the day's time.
//
// It fails with errEdgeTooBig once e holds more than limit bytes, checked
// every 4,096 events read and at the end: a day too big to keep is not
// held whole in memory to find that out.
func (e *edgeDay) readEvents(ctx context.Context, q queryer, day int64, limit int) error {
	index := ""
	if e.maxID > 0 {
		var top int64
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&top); err != nil {
			return fmt.Errorf("last event: %w", err)
		}
		if top-e.maxID < e.total {
			index = "NOT INDEXED"
		}
	}
	err := eachRow(ctx, q, `SELECT e.id, e.received_at, e.alert_no, e.incident_id, i.priority, i.service
		FROM events e `+index+` LEFT JOIN incidents i ON i.id = e.incident_id
		WHERE e.id > ?1 AND e.received_at >= ?2 AND e.received_at < ?3 AND e.transition IN `+countedTransitions,
		[]any{e.maxID, day * nanosPerDay, (day + 1) * nanosPerDay}, func(rows *sql.Rows) error {
			var (
				id, at   int64
				no       int64
				incID    sql.NullInt64
				priority sql.NullInt64
				service  sql.NullString
			)
			if err := rows.Scan(&id, &at, &no, &incID, &priority, &service); err != nil {
				return err
			}
			if e.total++; e.total%4096 == 0 && e.size() > limit {
				return errEdgeTooBig
			}
			e.maxID = max(e.maxID, id)
			if !priority.Valid { // no incident, or none by that id
				return nil
			}
			a := e.alertAt(no)
			in, ok := e.incIndex[incID.Int64]
			if !ok {
				in = int32(len(e.incs))
				e.incIndex[incID.Int64] = in
				e.incs = append(e.incs, incidentAttrs{priority: incident.Priority(priority.Int64), service: service.String})
				e.strBytes += heapString(len(service.String))
			}
			e.at, e.alert, e.inc = append(e.at, at), append(e.alert, a), append(e.inc, in)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read events of day %d: %w", day, err)
	}
	if e.size() > limit {
		return errEdgeTooBig
	}
	return nil
}
