// Package incidentrow is the one mapping between an incident and its row in
// the incidents table, which both backends (store/sqlite, store/postgres)
// share: the same columns, nanosecond times and NULLs, so that a new field
// of incident.Incident is one line here and a migration per backend.
package incidentrow

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/internal/labeljson"
)

// Field maps one column of the incidents table to the incident.
type Field struct {
	col string
	// fixed columns are written when the incident is created and never
	// rewritten: its key, rule, source and the labels of the alert that
	// opened it.
	fixed bool
	// val is the column's value for a write, dest where a read puts it.
	val  func(*incident.Incident) any
	dest func(*incident.Incident) any
}

// Fields is the one mapping between an incident and its row:
// the insert, the update and every read are made from it, in incident's
// field groups. A new field is one line here (and a migration).
var Fields = []Field{
	{"state", false, func(i *incident.Incident) any { return string(i.State) }, func(i *incident.Incident) any { return &i.State }},
	{"priority", false, func(i *incident.Incident) any { return int(i.Priority) }, func(i *incident.Incident) any { return &i.Priority }},
	{"impact", false, func(i *incident.Incident) any { return string(i.Impact) }, func(i *incident.Incident) any { return &i.Impact }},
	{"urgency", false, func(i *incident.Incident) any { return string(i.Urgency) }, func(i *incident.Incident) any { return &i.Urgency }},
	{"title", false, func(i *incident.Incident) any { return i.Title }, func(i *incident.Incident) any { return &i.Title }},
	{"summary", false, func(i *incident.Incident) any { return i.Summary }, func(i *incident.Incident) any { return &i.Summary }},
	{"service", false, func(i *incident.Incident) any { return i.Service }, func(i *incident.Incident) any { return &i.Service }},
	{"owner", false, func(i *incident.Incident) any { return i.Owner }, func(i *incident.Incident) any { return &i.Owner }},
	{"correlation_key", true, func(i *incident.Incident) any { return i.CorrelationKey }, func(i *incident.Incident) any { return &i.CorrelationKey }},
	{"rule", true, func(i *incident.Incident) any { return i.Rule }, func(i *incident.Incident) any { return &i.Rule }},
	{"source", true, func(i *incident.Incident) any { return i.Source }, func(i *incident.Incident) any { return &i.Source }},
	timeField("opened_at", func(i *incident.Incident) *time.Time { return &i.OpenedAt }),
	timeField("acknowledged_at", func(i *incident.Incident) *time.Time { return &i.AcknowledgedAt }),
	timeField("resolved_at", func(i *incident.Incident) *time.Time { return &i.ResolvedAt }),
	{"updated_at", false, func(i *incident.Incident) any { return i.UpdatedAt.UnixNano() }, func(i *incident.Incident) any { return nsTime{&i.UpdatedAt} }},
	{"last_event_at", false, func(i *incident.Incident) any { return i.LastEventAt.UnixNano() }, func(i *incident.Incident) any { return nsTime{&i.LastEventAt} }},
	timeField("resolve_due_at", func(i *incident.Incident) *time.Time { return &i.ResolveDueAt }),
	timeField("sealed_at", func(i *incident.Incident) *time.Time { return &i.SealedAt }),
	timeField("impact_started_at", func(i *incident.Incident) *time.Time { return &i.ImpactStartedAt }),
	timeField("reopened_at", func(i *incident.Incident) *time.Time { return &i.ReopenedAt }),
	{"unseen_firing", false, func(i *incident.Incident) any { return i.UnseenFiring }, func(i *incident.Incident) any { return &i.UnseenFiring }},
	timeField("unseen_as_of", func(i *incident.Incident) *time.Time { return &i.UnseenAsOf }),
	{"labels", true, func(i *incident.Incident) any { return labelsJSON(i.Labels) }, func(i *incident.Incident) any { return labelsDest{&i.Labels} }},
	// RuleSnapshot
	{"resolve_mode", false, func(i *incident.Incident) any { return string(resolveMode(i.ResolveMode)) }, func(i *incident.Incident) any { return &i.ResolveMode }},
	{"resolve_after", false, func(i *incident.Incident) any { return int64(i.ResolveAfter) }, func(i *incident.Incident) any { return &i.ResolveAfter }},
	{"min_alerts", false, func(i *incident.Incident) any { return max(i.MinAlerts, 1) }, func(i *incident.Incident) any { return &i.MinAlerts }},
	{"window_ns", false, func(i *incident.Incident) any { return int64(i.Window) }, func(i *incident.Incident) any { return &i.Window }},
	// Retention
	timeField("closed_at", func(i *incident.Incident) *time.Time { return &i.ClosedAt }),
	timeField("history_deleted_at", func(i *incident.Incident) *time.Time { return &i.HistoryDeletedAt }),
	// Merge
	idField("merged_into", func(i *incident.Incident) *int64 { return &i.MergedInto }),
	// SLA
	timeField("respond_by", func(i *incident.Incident) *time.Time { return &i.RespondBy }),
	timeField("resolve_by", func(i *incident.Incident) *time.Time { return &i.ResolveBy }),
	{"sla_policy", false, func(i *incident.Incident) any { return i.SLAPolicy }, func(i *incident.Incident) any { return &i.SLAPolicy }},
	timeField("respond_breached_at", func(i *incident.Incident) *time.Time { return &i.RespondBreachedAt }),
	timeField("resolve_breached_at", func(i *incident.Incident) *time.Time { return &i.ResolveBreachedAt }),
	// Flapping
	timeField("flapping_since", func(i *incident.Incident) *time.Time { return &i.FlappingSince }),
	{"flap_threshold", false, func(i *incident.Incident) any { return i.FlapThreshold }, func(i *incident.Incident) any { return &i.FlapThreshold }},
	{"flap_window_ns", false, func(i *incident.Incident) any { return int64(i.FlapWindow) }, func(i *incident.Incident) any { return &i.FlapWindow }},
	{"during_maintenance", false, func(i *incident.Incident) any { return i.DuringMaintenance }, func(i *incident.Incident) any { return &i.DuringMaintenance }},
	{"alert_count", false, func(i *incident.Incident) any { return i.AlertCount }, func(i *incident.Incident) any { return &i.AlertCount }},
	{"firing_count", false, func(i *incident.Incident) any { return i.FiringCount }, func(i *incident.Incident) any { return &i.FiringCount }},
	idField("problem_id", func(i *incident.Incident) *int64 { return &i.ProblemID }),
}

// timeField is a nullable nanosecond time column.
func timeField(col string, f func(*incident.Incident) *time.Time) Field {
	return Field{col: col, val: func(i *incident.Incident) any { return nanos(*f(i)) },
		dest: func(i *incident.Incident) any { return nsTime{f(i)} }}
}

// idField is a nullable reference to another row: 0 is NULL.
func idField(col string, f func(*incident.Incident) *int64) Field {
	return Field{col: col, val: func(i *incident.Incident) any { return nullID(*f(i)) },
		dest: func(i *incident.Incident) any { return nullIDDest{f(i)} }}
}

// The statements made from Fields, with ? placeholders.
var (
	// Columns are what a SELECT of incidents lists for Scan.
	Columns = "id, " + strings.Join(columnNames(false), ", ")
	// Insert inserts an incident; InsertArgs are its arguments.
	Insert = "INSERT INTO incidents (" + strings.Join(columnNames(false), ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(Fields)), ", ") + ")"
	// Update rewrites an incident but its fixed columns; UpdateArgs are
	// its arguments.
	Update = "UPDATE incidents SET " + strings.Join(columnNames(true), " = ?, ") + " = ? WHERE id = ?"
)

// columnNames are the columns in mapping order; updatable leaves
// out the fixed ones.
func columnNames(updatable bool) []string {
	var out []string
	for _, f := range Fields {
		if !updatable || !f.fixed {
			out = append(out, f.col)
		}
	}
	return out
}

// InsertArgs are inc's values for Insert.
func InsertArgs(inc *incident.Incident) []any { return args(inc, false) }

// UpdateArgs are inc's values for Update.
func UpdateArgs(inc *incident.Incident) []any { return args(inc, true) }

func args(inc *incident.Incident, update bool) []any {
	args := make([]any, 0, len(Fields)+1)
	for _, f := range Fields {
		if !update || !f.fixed {
			args = append(args, f.val(inc))
		}
	}
	if update {
		args = append(args, inc.ID)
	}
	return args
}

// Scanner is a row.
type Scanner interface{ Scan(dest ...any) error }

// Scan reads a row of Columns: incident.ErrNotFound when there is none.
func Scan(row Scanner) (incident.Incident, error) {
	var inc incident.Incident
	dest := make([]any, 0, len(Fields)+1)
	dest = append(dest, &inc.ID)
	for _, f := range Fields {
		dest = append(dest, f.dest(&inc))
	}
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return incident.Incident{}, incident.ErrNotFound
	}
	if err != nil {
		return incident.Incident{}, fmt.Errorf("scan incident: %w", err)
	}
	return inc, nil
}

// nsTime scans a nullable nanosecond column into a time in UTC.
type nsTime struct{ t *time.Time }

func (d nsTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.Unix(0, v).UTC()
	default:
		return fmt.Errorf("a time as nanoseconds: got %T", src)
	}
	return nil
}

// nullIDDest scans a nullable reference: NULL is 0.
type nullIDDest struct{ id *int64 }

func (d nullIDDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.id = 0
	case int64:
		*d.id = v
	default:
		return fmt.Errorf("an id: got %T", src)
	}
	return nil
}

// labelsDest scans the labels' JSON.
type labelsDest struct{ m *map[string]string }

func (d labelsDest) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case nil:
	default:
		return fmt.Errorf("labels: got %T", src)
	}
	*d.m = nil
	if s == "" || s == "{}" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), d.m); err != nil {
		return fmt.Errorf("decode labels: %w", err)
	}
	return nil
}

func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// resolveMode is the mode stored: the default for none.
func resolveMode(m incident.ResolveMode) incident.ResolveMode {
	if m == "" {
		return incident.ResolveAll
	}
	return m
}

func labelsJSON(m map[string]string) string {
	return labeljson.String(m)
}

// HoldableUpdate reports whether an update of an incident's row from a to
// b leaves every column that the schema checks or reads beyond the row
// itself as it was: the active-key unique index (correlation_key, state,
// sealed_at), the CHECKs (state, priority, resolve_mode), the merged_into
// foreign key, the search index (title, correlation_key), and what
// triggers on other tables read of an incident (priority, service).
// SQLite's store holds such an update back within a transaction and
// answers reads of the incident with it; PostgreSQL's answers its reads
// with it the same way, so that both backends' writers see the same rows.
func HoldableUpdate(a, b incident.Incident) bool {
	return a.State == b.State && a.CorrelationKey == b.CorrelationKey && a.SealedAt.Equal(b.SealedAt) &&
		a.Priority == b.Priority && a.Service == b.Service && a.ResolveMode == b.ResolveMode &&
		a.MergedInto == b.MergedInto && a.Title == b.Title
}
