package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alertbridge/alertbridge/incident"
	"github.com/alertbridge/alertbridge/store/migrate"
)

// mustVersion1 creates a database at path migrated only up to version 1
// (the schema where an alert was its fingerprint alone), with the writer's
// pragmas, foreign keys included.
func mustVersion1(t *testing.T, path string) *sql.DB {
	t.Helper()
	return mustVersion(t, path, 1)
}

// mustVersion creates a database at path migrated only up to version.
func mustVersion(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	ms, err := migrate.Read(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var v1 []migrate.Migration
	for _, m := range ms {
		if m.Version <= version {
			v1 = append(v1, m)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if applied, err := migrate.Up(context.Background(), db, v1, migrate.Options{}); err != nil || len(applied) != len(v1) {
		t.Fatalf("migrate to version %d: applied %v, %v", version, applied, err)
	}
	return db
}

// mustUpgrade closes db, an older version's database at path, opens it as
// a Store (which migrates it), checks its integrity, and closes the store
// when t ends.
func mustUpgrade(t *testing.T, db *sql.DB, path string) *Store {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := OpenFile(context.Background(), path)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	mustIntact(t, st.r.DB)
	return st
}

// TestMigrateAlertSource upgrades a version-1 database with rows to version
// 2, where an alert is (source, fingerprint), and checks that every row is
// kept and keyed by the right source: an alert_states row keeps its own
// source; an alerts row takes its fingerprint's state's source, else its
// incident's; a per-alert correlation key gains its incident's source.
func TestMigrateAlertSource(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 28, 20, 13, 5, 0, time.UTC)
	ns := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	path := filepath.Join(t.TempDir(), FileName)
	db := mustVersion1(t, path)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO incidents (id, state, priority, impact, urgency, title, correlation_key, source, opened_at, updated_at, last_event_at)
			VALUES (1, 'open', 3, 'medium', 'medium', 'latency', 'group{a="1"}', 'am-eu', ?, ?, ?)`, []any{ns(0), ns(0), ns(0)}},
		{`INSERT INTO incidents (id, state, priority, impact, urgency, title, correlation_key, source, opened_at, resolved_at, updated_at, last_event_at)
			VALUES (2, 'resolved', 1, 'high', 'high', 'checkout', 'alert/k2', 'pd-prod', ?, ?, ?, ?)`, []any{ns(0), ns(time.Hour), ns(time.Hour), ns(time.Hour)}},
		{`INSERT INTO alert_states (fingerprint, source, status, starts_at, ends_at, incident_id, last_seen_at)
			VALUES ('fpA', 'am-eu', 'firing', ?, NULL, 1, ?)`, []any{ns(0), ns(time.Minute)}},
		{`INSERT INTO alert_states (fingerprint, source, status, starts_at, ends_at, incident_id, last_seen_at)
			VALUES ('k2', 'pd-prod', 'resolved', ?, ?, 2, ?)`, []any{ns(0), ns(time.Hour), ns(time.Hour)}},
		{`INSERT INTO alert_states (fingerprint, source, status, starts_at, ends_at, incident_id, last_seen_at)
			VALUES ('dropped', 'am-eu', 'firing', ?, NULL, NULL, ?)`, []any{ns(0), ns(0)}},
		// fpA on incident 1 has a state: am-eu. fpC on incident 1 has none:
		// the incident's am-eu. fpA on incident 2 (an old episode that
		// joined there) takes its state's am-eu, not the incident's pd-prod.
		// k2 takes its state's pd-prod.
		{`INSERT INTO alerts (incident_id, fingerprint, status, labels, annotations, starts_at, first_seen_at, last_seen_at, count)
			VALUES (1, 'fpA', 'firing', '{"alertname":"A"}', '{}', ?, ?, ?, 3)`, []any{ns(0), ns(0), ns(time.Minute)}},
		{`INSERT INTO alerts (incident_id, fingerprint, status, labels, annotations, starts_at, first_seen_at, last_seen_at, count)
			VALUES (1, 'fpC', 'firing', '{"alertname":"C"}', '{}', ?, ?, ?, 1)`, []any{ns(0), ns(time.Second), ns(time.Second)}},
		{`INSERT INTO alerts (incident_id, fingerprint, status, labels, annotations, starts_at, ends_at, first_seen_at, last_seen_at, count)
			VALUES (2, 'fpA', 'resolved', '{"alertname":"A"}', '{}', ?, ?, ?, ?, 2)`, []any{ns(0), ns(time.Minute), ns(0), ns(time.Minute)}},
		{`INSERT INTO alerts (incident_id, fingerprint, status, labels, annotations, starts_at, ends_at, generator_url, first_seen_at, last_seen_at, count)
			VALUES (2, 'k2', 'resolved', '{"alertname":"pagerduty"}', '{"summary":"5xx"}', ?, ?, 'http://x', ?, ?, 2)`, []any{ns(0), ns(time.Hour), ns(time.Second), ns(time.Hour)}},
		{`INSERT INTO events (received_at, source, fingerprint, status, labels, transition)
			VALUES (?, 'am-eu', 'fpA', 'resolved', '{}', 'resolved')`, []any{ns(time.Minute)}},
		{`INSERT INTO timeline (incident_id, at, kind, actor, fingerprint, message)
			VALUES (1, ?, 'alert_firing', 'system', 'fpA', 'A firing')`, []any{ns(0)}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := OpenFile(ctx, path) // runs 0002 with foreign keys on
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer s.Close()

	// Later migrations may follow; this one must have run.
	var applied int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = 2`).Scan(&applied); err != nil || applied != 1 {
		t.Fatalf("migration 2 recorded %d times, %v; want once", applied, err)
	}
	mustIntact(t, s.r.DB)

	type alertRow struct {
		Source, Fingerprint string
		Status              incident.Status
		Count               int64
		Labels              map[string]string
	}
	alertRows := func(id int64) []alertRow {
		t.Helper()
		list, err := s.Alerts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []alertRow
		for _, a := range list {
			out = append(out, alertRow{a.Source, a.Fingerprint, a.Status, a.Count, a.Labels})
		}
		return out
	}
	alerts := []struct {
		name     string
		incident int64
		want     []alertRow
	}{
		{"StateSourceElseIncidentSource", 1, []alertRow{
			{"am-eu", "fpA", incident.StatusFiring, 3, map[string]string{"alertname": "A"}},
			{"am-eu", "fpC", incident.StatusFiring, 1, map[string]string{"alertname": "C"}},
		}},
		{"StateSourceWinsOverIncidentSource", 2, []alertRow{
			{"am-eu", "fpA", incident.StatusResolved, 2, map[string]string{"alertname": "A"}},
			{"pd-prod", "k2", incident.StatusResolved, 2, map[string]string{"alertname": "pagerduty"}},
		}},
	}
	for _, tt := range alerts {
		t.Run("Alerts/"+tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, alertRows(tt.incident)); diff != "" {
				t.Errorf("alerts of incident %d (-want +got):\n%s", tt.incident, diff)
			}
		})
	}
	// A whole alert survives, every column in place.
	err = s.Update(ctx, func(tx incident.Tx) error {
		got, err := tx.Alert(ctx, 2, "pd-prod", "k2")
		if err != nil {
			return err
		}
		want := incident.Alert{IncidentID: 2, Source: "pd-prod", Fingerprint: "k2", Status: incident.StatusResolved,
			Labels: map[string]string{"alertname": "pagerduty"}, Annotations: map[string]string{"summary": "5xx"},
			StartsAt: t0, EndsAt: t0.Add(time.Hour), GeneratorURL: "http://x", FirstSeenAt: t0.Add(time.Second),
			LastSeenAt: t0.Add(time.Hour), Count: 2}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("alert k2 (-want +got):\n%s", diff)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	states := []struct {
		name, source, fp string
		want             incident.AlertState
		wantErr          error
	}{
		{"OK/am-eu", "am-eu", "fpA", incident.AlertState{Source: "am-eu", Fingerprint: "fpA", Status: incident.StatusFiring,
			StartsAt: t0, IncidentID: 1, LastSeenAt: t0.Add(time.Minute)}, nil},
		{"OK/pd-prod", "pd-prod", "k2", incident.AlertState{Source: "pd-prod", Fingerprint: "k2", Status: incident.StatusResolved,
			StartsAt: t0, EndsAt: t0.Add(time.Hour), IncidentID: 2, LastSeenAt: t0.Add(time.Hour)}, nil},
		{"OK/NoIncident", "am-eu", "dropped", incident.AlertState{Source: "am-eu", Fingerprint: "dropped", Status: incident.StatusFiring,
			StartsAt: t0, LastSeenAt: t0}, nil},
		{"ErrNotFound/OtherSource", "pd-prod", "fpA", incident.AlertState{}, incident.ErrNotFound},
	}
	for _, tt := range states {
		t.Run("AlertState/"+tt.name, func(t *testing.T) {
			err := s.Update(ctx, func(tx incident.Tx) error {
				got, err := tx.AlertState(ctx, tt.source, tt.fp)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				if err == nil {
					if diff := cmp.Diff(tt.want, got); diff != "" {
						t.Errorf("state (-want +got):\n%s", diff)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}

	var nStates, nAlerts, nEvents, nTimeline int
	for _, c := range []struct {
		table string
		n     *int
	}{{"alert_states", &nStates}, {"alerts", &nAlerts}, {"events", &nEvents}, {"timeline", &nTimeline}} {
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+c.table).Scan(c.n); err != nil {
			t.Fatal(err)
		}
	}
	if nStates != 3 || nAlerts != 4 || nEvents != 1 || nTimeline != 1 {
		t.Errorf("rows after the upgrade: %d states, %d alerts, %d events, %d timeline; want 3, 4, 1, 1",
			nStates, nAlerts, nEvents, nTimeline)
	}

	// Flapping's count is led by (source, fingerprint) and reads the
	// resolves' index (migration 0019).
	plan := explain(ctx, t, s, qCountResolves, "am-eu", "fpA", 0)
	if !strings.Contains(plan, "events_resolved") {
		t.Errorf("resolve count plan:\n%swant it to use events_resolved", plan)
	}
	var oldIndex int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_fingerprint'`).Scan(&oldIndex); err != nil || oldIndex != 0 {
		t.Errorf("events_fingerprint still there (%d, %v)", oldIndex, err)
	}

	// A per-alert key names the source now; other keys stay as they were.
	for _, tt := range []struct {
		id   int64
		want string
	}{{1, `group{a="1"}`}, {2, "alert/pd-prod/k2"}} {
		if inc, err := s.Incident(ctx, tt.id); err != nil || inc.CorrelationKey != tt.want {
			t.Errorf("incident %d key = %q, %v; want %q", tt.id, inc.CorrelationKey, err, tt.want)
		}
	}

	// The same fingerprint from another source is now an alert of its own.
	err = s.Update(ctx, func(tx incident.Tx) error {
		if err := tx.PutAlertState(ctx, incident.AlertState{Source: "pd-prod", Fingerprint: "fpA", Status: incident.StatusFiring,
			StartsAt: t0, IncidentID: 1, LastSeenAt: t0}); err != nil {
			return err
		}
		return tx.PutAlert(ctx, incident.Alert{IncidentID: 1, Source: "pd-prod", Fingerprint: "fpA", Status: incident.StatusFiring,
			StartsAt: t0, FirstSeenAt: t0.Add(time.Hour), LastSeenAt: t0.Add(time.Hour), Count: 1})
	})
	if err != nil {
		t.Fatalf("write beside a migrated alert: %v", err)
	}
	if got := alertRows(1); len(got) != 3 || got[0].Source != "am-eu" || got[0].Count != 3 {
		t.Errorf("after adding pd-prod's fpA: %+v, want am-eu's fpA untouched and 3 alerts", got)
	}
}

// mustIntact fails t when the database has a foreign key violation or
// fails its integrity check.
func mustIntact(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	for _, check := range []string{`PRAGMA foreign_key_check`, `PRAGMA integrity_check`} {
		rows, err := db.QueryContext(ctx, check)
		if err != nil {
			t.Fatal(err)
		}
		problems := slices.DeleteFunc(rowTexts(t, rows), func(r string) bool { return r == "ok" })
		if len(problems) > 0 {
			t.Errorf("%s after the upgrade: %v", check, problems)
		}
	}
}

// TestMigrateClosedState upgrades a version-9 database with an incident
// that rows of every referencing table point at to version 11, which
// rebuilds incidents so that its state may be closed: every row and
// reference is kept, the triggers still count changes, and the state's
// CHECK takes closed but nothing unknown.
func TestMigrateClosedState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db := mustVersion(t, path, 9)
	for _, q := range []string{
		`INSERT INTO incidents (id, state, priority, impact, urgency, title, correlation_key, opened_at, resolved_at, updated_at, last_event_at)
			VALUES (1, 'resolved', 2, 'high', 'medium', 'disk', 'k1', 1, 2, 2, 2)`,
		`INSERT INTO incidents (id, state, priority, impact, urgency, title, correlation_key, opened_at, updated_at, last_event_at, merged_into)
			VALUES (2, 'resolved', 3, 'medium', 'medium', 'disk too', 'k1', 1, 2, 2, 1)`,
		`INSERT INTO alerts (incident_id, source, fingerprint, status, labels, annotations, first_seen_at, last_seen_at) VALUES (1, 'am', 'fp', 'resolved', '{}', '{}', 1, 2)`,
		`INSERT INTO alert_states (source, fingerprint, status, incident_id, last_seen_at) VALUES ('am', 'fp', 'resolved', 1, 2)`,
		`INSERT INTO timeline (incident_id, at, kind, actor) VALUES (1, 1, 'opened', 'system')`,
		`INSERT INTO outbox (sink, incident_id, kind, state, created_at, next_attempt_at) VALUES ('hook', 1, 'resolved', 'dead', 1, 1)`,
		`INSERT INTO tickets (incident_id, sink, external_id, updated_at) VALUES (1, 'jira', 'OPS-1', 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s := mustUpgrade(t, db, path)
	inc, err := s.Incident(ctx, 2)
	if err != nil || inc.MergedInto != 1 || inc.Title != "disk too" {
		t.Fatalf("incident 2 after the upgrade = %+v, %v", inc, err)
	}
	before, err := s.IncidentsVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, state string
		ok          bool
	}{
		{"OKClosed", "closed", true},
		{"ErrUnknownState", "archived", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.wc.ExecContext(ctx, `UPDATE incidents SET state = ?, closed_at = 3 WHERE id = 1`, tt.state)
			if (err == nil) != tt.ok {
				t.Fatalf("state %s: err = %v, want ok %v", tt.state, err, tt.ok)
			}
		})
	}
	if after, err := s.IncidentsVersion(ctx); err != nil || after == before {
		t.Errorf("incidents version %q → %q, %v: the update trigger is gone", before, after, err)
	}
}

// rowTexts reads and closes rows, each row's values as one text.
func rowTexts(t *testing.T, rows *sql.Rows) []string {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
