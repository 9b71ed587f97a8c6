-- Issue 13, "bounded over months": an incident becomes closed a while
-- after it resolves (closed_at), and retention later deletes the history
-- of closed incidents (events, timeline, alerts), noting when it did
-- (history_deleted_at). The incident rows stay, so the figures of reports
-- (MTTA, MTTR, SLA attainment, opened per day) stay exact.
--
-- state's CHECK must learn 'closed', and SQLite cannot change a CHECK in
-- place: incidents is rebuilt (https://sqlite.org/lang_altertable.html#otheralter).
-- The runner applies this file in one transaction with foreign_keys on,
-- which cannot be turned off inside one, and many tables reference
-- incidents. So foreign keys are deferred to the commit, and the rows are
-- copied into the final table after it has its name: dropping the old
-- table counts one deferred violation per referencing row, and inserting
-- each row again under the name they reference counts them back, so the
-- commit sees none (every id is copied unchanged).
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE incidents_copy AS SELECT * FROM incidents;

CREATE TABLE incidents_new (
    id              INTEGER PRIMARY KEY,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'open', 'acknowledged', 'resolved', 'closed')),
    priority        INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),
    impact          TEXT    NOT NULL,
    urgency         TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    summary         TEXT    NOT NULL DEFAULT '',
    service         TEXT    NOT NULL DEFAULT '',
    owner           TEXT    NOT NULL DEFAULT '',
    correlation_key TEXT    NOT NULL,
    rule            TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL DEFAULT '',
    opened_at       INTEGER,           -- NULL while pending
    acknowledged_at INTEGER,
    resolved_at     INTEGER,
    updated_at      INTEGER NOT NULL,
    last_event_at   INTEGER NOT NULL,
    resolve_due_at  INTEGER,           -- a scheduled resolve (resolve_after)
    sealed_at       INTEGER,           -- the window passed: no longer owns its key
    resolve_mode    TEXT    NOT NULL DEFAULT 'all' CHECK (resolve_mode IN ('all', 'any', 'manual')),
    resolve_after   INTEGER NOT NULL DEFAULT 0,   -- nanoseconds
    min_alerts      INTEGER NOT NULL DEFAULT 1,
    window_ns       INTEGER NOT NULL DEFAULT 0,   -- the rule's window; 0: none
    during_maintenance INTEGER NOT NULL DEFAULT 0,
    merged_into     INTEGER REFERENCES incidents (id),
    respond_by      INTEGER,           -- SLA targets; NULL: no SLA
    resolve_by      INTEGER,
    sla_policy      TEXT    NOT NULL DEFAULT '',
    respond_breached_at INTEGER,       -- a missed target's time
    resolve_breached_at INTEGER,
    flapping_since  INTEGER,
    flap_threshold  INTEGER NOT NULL DEFAULT 0,
    flap_window_ns  INTEGER NOT NULL DEFAULT 0,
    alert_count     INTEGER NOT NULL DEFAULT 0,
    firing_count    INTEGER NOT NULL DEFAULT 0,
    problem_id      INTEGER,
    impact_started_at INTEGER,
    reopened_at     INTEGER,
    unseen_firing   INTEGER NOT NULL DEFAULT 0,
    unseen_as_of    INTEGER,
    labels          TEXT    NOT NULL DEFAULT '{}',
    closed_at       INTEGER,           -- when it became closed (final)
    history_deleted_at INTEGER         -- when retention deleted its events, timeline and alerts
);

DROP TABLE incidents;
ALTER TABLE incidents_new RENAME TO incidents;
INSERT INTO incidents (id, state, priority, impact, urgency, title, summary, service, owner, correlation_key,
    rule, source, opened_at, acknowledged_at, resolved_at, updated_at, last_event_at, resolve_due_at, sealed_at,
    resolve_mode, resolve_after, min_alerts, window_ns, during_maintenance, merged_into, respond_by, resolve_by,
    sla_policy, respond_breached_at, resolve_breached_at, flapping_since, flap_threshold, flap_window_ns,
    alert_count, firing_count, problem_id, impact_started_at, reopened_at, unseen_firing, unseen_as_of, labels)
SELECT id, state, priority, impact, urgency, title, summary, service, owner, correlation_key,
    rule, source, opened_at, acknowledged_at, resolved_at, updated_at, last_event_at, resolve_due_at, sealed_at,
    resolve_mode, resolve_after, min_alerts, window_ns, during_maintenance, merged_into, respond_by, resolve_by,
    sla_policy, respond_breached_at, resolve_breached_at, flapping_since, flap_threshold, flap_window_ns,
    alert_count, firing_count, problem_id, impact_started_at, reopened_at, unseen_firing, unseen_as_of, labels
FROM temp.incidents_copy ORDER BY id;
DROP TABLE temp.incidents_copy;

-- Everything that was on the old table, as it was.
CREATE UNIQUE INDEX incidents_active_key ON incidents (correlation_key)
    WHERE state IN ('pending', 'open', 'acknowledged') AND sealed_at IS NULL;
CREATE INDEX incidents_resolve_due ON incidents (resolve_due_at) WHERE resolve_due_at IS NOT NULL;
CREATE INDEX incidents_respond_by ON incidents (respond_by) WHERE respond_by IS NOT NULL AND respond_breached_at IS NULL;
CREATE INDEX incidents_resolve_by ON incidents (resolve_by) WHERE resolve_by IS NOT NULL AND resolve_breached_at IS NULL;
CREATE INDEX incidents_pending ON incidents (last_event_at) WHERE state = 'pending' AND window_ns > 0;
CREATE INDEX incidents_key_id ON incidents (correlation_key, id);
CREATE INDEX incidents_state_id ON incidents (state, id);
CREATE INDEX incidents_service_state ON incidents (service, state);
CREATE INDEX incidents_problem ON incidents (problem_id) WHERE problem_id IS NOT NULL;
CREATE INDEX incidents_key_resolved ON incidents (correlation_key, resolved_at);
CREATE INDEX incidents_opened_stats ON incidents (opened_at, priority, service, state, acknowledged_at,
    resolved_at, impact_started_at, respond_by, respond_breached_at, resolve_by, resolve_breached_at, rule,
    correlation_key) WHERE merged_into IS NULL AND opened_at IS NOT NULL;
CREATE INDEX incidents_respond_breached ON incidents (priority) WHERE respond_breached_at IS NOT NULL;
CREATE INDEX incidents_resolve_breached ON incidents (priority) WHERE resolve_breached_at IS NOT NULL;
CREATE TRIGGER incidents_version_insert AFTER INSERT ON incidents
BEGIN
    UPDATE incidents_version SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER incidents_version_update AFTER UPDATE ON incidents
BEGIN
    UPDATE incidents_version SET n = n + 1 WHERE id = 1;
END;

-- The sweep closes resolved incidents in order of resolve.
CREATE INDEX incidents_to_close ON incidents (resolved_at) WHERE state = 'resolved';
-- Retention finds the closed incidents whose history is still kept.
CREATE INDEX incidents_to_forget ON incidents (closed_at) WHERE state = 'closed' AND history_deleted_at IS NULL;
-- Retention deletes the events no incident holds by age, and the days
-- before it of the distinct-fingerprint figures (see DeleteHistory).
CREATE INDEX events_unattached ON events (received_at) WHERE incident_id IS NULL;
CREATE INDEX event_fingerprint_days_day ON event_fingerprint_days (day);
