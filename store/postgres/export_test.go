package postgres

import (
	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/statsdays"
)

// LeaseKey is the advisory lock key of a lease, for tests that find its
// holder's session in pg_locks.
func LeaseKey(s *Store, name string) int64 { return s.lockKey("lease", name) }

// IncidentsQuery and IncidentCountsQuery are the statements Incidents and
// IncidentCounts run under f (numbered placeholders), and their arguments,
// for tests that EXPLAIN them.
func IncidentsQuery(f incident.IncidentFilter) (string, []any) {
	q, args := incidentsQuery(f)
	return rebind(q), args
}

func IncidentCountsQuery(f incident.IncidentFilter) (string, []any) {
	q, args := incidentCountsQuery(f)
	return rebind(q), args
}

// TxBegun says whether a statement of the Update's transaction itx has
// begun it on the server.
func TxBegun(itx incident.Tx) bool { return itx.(*tx).lazy.tx != nil }

// IncidentsAnswered counts the Incident calls of transactions answered
// from what the transaction read or wrote, without a statement.
func IncidentsAnswered() int64 { return incidentsAnswered.Load() }

// Pending is how many writes of the Update's transaction itx wait for its
// next statement.
func Pending(itx incident.Tx) int { return len(itx.(*tx).lazy.pending) }

// LaterUpdateNothing queues, in the Update's transaction itx, an update
// that must change one row and changes none.
func LaterUpdateNothing(itx incident.Tx) error {
	return itx.(*tx).later(pendingWrite{what: "update nothing", q: `UPDATE incidents SET summary = summary WHERE id = -1`, one: true})
}

// LaterTimelineRow queues, in the Update's transaction itx, the insert of
// a timeline entry with the given ID.
func LaterTimelineRow(itx incident.Tx, id, incidentID int64) error {
	return itx.(*tx).later(pendingWrite{what: "insert timeline row", q: `INSERT INTO timeline (id, incident_id, at, kind, actor, message)
		VALUES (?, ?, 0, 'comment', 'test', '')`, args: []any{id, incidentID}})
}

// SetMaxStatsSamples bounds the durations Stats reads per measure until
// the returned func restores it.
func SetMaxStatsSamples(n int) (restore func()) {
	old := maxStatsSamples
	maxStatsSamples = n
	return func() { maxStatsSamples = old }
}

// StatsDayQueries are the statements that read the stats' day parts over
// f's window (numbered placeholders), and their arguments, for tests that
// EXPLAIN them.
func StatsDayQueries(f incident.StatsFilter) ([]string, []any) {
	r := statsReader(runner{}, f)
	var out []string
	for _, q := range statsdays.Queries(r) {
		out = append(out, rebind(q))
	}
	return out, append([]any{f.Since.UnixNano(), f.Until.UnixNano()}, r.CondArgs...)
}

// StatsDaysRead is how many day parts the store's Stats computed from the
// incidents, kept ones not counted.
func StatsDaysRead(s *Store) int64 { return s.kept.days.Read() }

// NoiseDaysRead is how many whole days' noise figures the store's Stats
// read from the events, kept ones not counted.
func NoiseDaysRead(s *Store) int64 { return s.kept.noise.read.Load() }

// SetNoiseMaxIDs bounds the alert identities the noise days keep until
// the returned func restores it.
func SetNoiseMaxIDs(n int) (restore func()) {
	old := noiseMaxIDs
	noiseMaxIDs = n
	return func() { noiseMaxIDs = old }
}
