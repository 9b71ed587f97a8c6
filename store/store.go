// Package store is the seam between alertbridge and its databases: the
// backend-neutral Store every part of the daemon (app, api, pipeline,
// sinks, web, cmd) works with, and Open, which picks the backend. Each
// backend (store/sqlite, store/postgres) implements Store and
// passes the contract in store/storetest.
package store

import (
	"context"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/internal/secret"
	"github.com/alertbridge/alertbridge/store/postgres"
	"github.com/alertbridge/alertbridge/store/sqlite"
)

// Store is a backend: the write side (incident.Store: transactions under
// the domain's invariants) and every read the daemon makes. Reads see
// committed data only; every method is safe for concurrent use.
type Store interface {
	incident.Store
	IncidentReader
	ProblemReader
	ChangeReader
	StatsReader
	OutboxReader
	HeartbeatReader
	Leases
	// Location says where the data is, safe to log: a file path, or a
	// connection string without its password.
	Location() string
	Close() error
}

// IncidentReader reads incidents, their alerts and timelines.
type IncidentReader interface {
	Incident(ctx context.Context, id int64) (incident.Incident, error)
	// Incidents lists incidents newest first, a page after f.AfterID.
	Incidents(ctx context.Context, f incident.IncidentFilter) ([]incident.Incident, error)
	// IncidentCounts counts what f matches by state, ignoring f.States.
	IncidentCounts(ctx context.Context, f incident.IncidentFilter) (map[incident.State]int, error)
	// IncidentsVersion changes whenever an incident is created or changes.
	IncidentsVersion(ctx context.Context) (string, error)
	IncidentByKey(ctx context.Context, key string) (incident.Incident, error)
	ActiveIncidentsFor(ctx context.Context, services []string) ([]incident.Incident, error)
	ActiveByPriority(ctx context.Context) (map[incident.Priority]int, error)
	Alerts(ctx context.Context, incidentID int64) ([]incident.Alert, error)
	// AlertsPage is at most limit of the alerts Alerts lists, those after
	// the cursor (the zero cursor: from the first), in the same order.
	AlertsPage(ctx context.Context, incidentID int64, after incident.AlertCursor, limit int) ([]incident.Alert, error)
	IncidentAlerts(ctx context.Context, incidentID int64) ([]incident.Alert, error)
	// AlertHistory is the latest firings (at most perAlert each) of the
	// alerts an incident holds.
	AlertHistory(ctx context.Context, incidentID int64, perAlert int) ([]incident.Episode, error)
	FiringAlerts(ctx context.Context, source string) ([]incident.AlertState, error)
	Timeline(ctx context.Context, incidentID int64) ([]incident.TimelineEntry, error)
	// TimelinePage is at most limit of the entries Timeline lists, those
	// with IDs above afterID, in the same order.
	TimelinePage(ctx context.Context, incidentID, afterID int64, limit int) ([]incident.TimelineEntry, error)
	TimelineEntry(ctx context.Context, id int64) (incident.TimelineEntry, error)
	Tickets(ctx context.Context, incidentID int64) ([]incident.Ticket, error)
	Ticket(ctx context.Context, incidentID int64, sink string) (incident.Ticket, error)
	TicketByExternalID(ctx context.Context, sink, externalID string) (incident.Ticket, error)
}

// ProblemReader reads problems.
type ProblemReader interface {
	Problem(ctx context.Context, id int64) (incident.Problem, error)
	Problems(ctx context.Context, f incident.ProblemFilter) ([]incident.Problem, error)
	ProblemIncidents(ctx context.Context, id int64) ([]incident.Incident, error)
	ProblemTimeline(ctx context.Context, id int64) ([]incident.ProblemEntry, error)
	// ProblemFigures is each problem's worst incident priority and total
	// downtime at now; a problem without incidents is absent.
	ProblemFigures(ctx context.Context, ids []int64, now time.Time) (map[int64]incident.ProblemFigures, error)
	// ProblemCounts is how many problems each problem rule has in each
	// state, with their incidents, by rule and state.
	ProblemCounts(ctx context.Context) ([]incident.ProblemCount, error)
}

// ChangeReader reads changes and the incidents that suspect them.
type ChangeReader interface {
	Changes(ctx context.Context, f incident.ChangeFilter) ([]incident.Change, error)
	IncidentChanges(ctx context.Context, incidentID int64) ([]incident.ChangeLink, error)
	ChangeSuspects(ctx context.Context, changeIDs []int64, perChange int) ([]incident.Suspect, error)
	ActiveMaintenance(ctx context.Context, service string, at time.Time) (incident.Change, error)
}

// StatsReader computes the figures of the API, the overview and the
// metrics, and reads the event history backtests replay.
type StatsReader interface {
	Stats(ctx context.Context, f incident.StatsFilter, now time.Time) (incident.StatsFigures, error)
	Backlog(ctx context.Context, f incident.StatsFilter, now time.Time) (incident.Backlog, error)
	SLABreaches(ctx context.Context) (map[[2]string]int, error)
	CountEvents(ctx context.Context, since, until time.Time) (int, error)
	Events(ctx context.Context, since, until time.Time, fn func(incident.EventRecord) error) error
}

// OutboxReader reads the notifications the sinks deliver.
type OutboxReader interface {
	DueOutbox(ctx context.Context, sink string, now time.Time, limit int) ([]incident.OutboxRow, error)
	OutboxAfter(ctx context.Context, sink string, incidentID, id int64) ([]incident.OutboxRow, error)
	OutboxRows(ctx context.Context, state incident.OutboxState, afterID int64, limit int) ([]incident.OutboxRow, error)
	OutboxStats(ctx context.Context) (map[string]incident.OutboxStats, error)
}

// HeartbeatReader reads the heartbeat monitors.
type HeartbeatReader interface {
	// HeartbeatRecords lists every heartbeat monitor, by key.
	HeartbeatRecords(ctx context.Context) ([]incident.Heartbeat, error)
}

// Leases let replicas that share a database share its background work
// (SLA timers and resolve sweeps, anti-entropy polling, the outbox
// dispatcher): each runs only on the replica holding its lease.
type Leases interface {
	// AcquireLease tries to take the named lease without waiting; ok is
	// false when another replica holds it. A lease is held until Release,
	// or until the holder's connection to the database is lost, when Lost
	// closes and another replica may take it.
	AcquireLease(ctx context.Context, name string) (l Lease, ok bool, err error)
}

// Lease is a held lease: Lost is closed when it is no longer held (the
// work it guards must stop), Release gives it up. It is an alias of an
// interface literal, so that backends implement Leases without importing
// this package.
type Lease = interface {
	Lost() <-chan struct{}
	Release() error
}

// Config says which backend to open.
type Config struct {
	// Path is the SQLite storage directory.
	Path string
	// DSN, when set, selects PostgreSQL at this URL instead; Password is
	// its password when the DSN has none.
	DSN      string
	Password secret.Value
}

// Open opens the backend cfg names, creating or migrating its schema.
func Open(ctx context.Context, cfg Config) (Store, error) {
	if cfg.DSN != "" {
		st, err := postgres.OpenWithPassword(ctx, cfg.DSN, cfg.Password.Reveal())
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, cfg.Path)
	if err != nil {
		return nil, err // not a typed nil in a non-nil Store
	}
	return st, nil
}

var _ Store = (*sqlite.Store)(nil)
var _ Store = (*postgres.Store)(nil)
