// Package incident is the domain core of alertbridge: the normalised Event that
// every source decodes into, the Alert, Incident and timeline records, the
// incident state machine, the ITIL priority matrix, and Apply, which turns a
// decided event into record changes through the Tx interface. It also owns
// the heartbeat monitors (heartbeat.go): RecordBeat and SweepHeartbeats,
// which open and resolve the incidents of missed or failed heartbeats.
//
// It owns the nouns that cross package boundaries. It must not import net/http,
// database/sql, any store, app or api package, and it starts no goroutines.
// Time is always passed in.
package incident
