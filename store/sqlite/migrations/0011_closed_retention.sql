-- Issue 13, "bounded over months": an incident becomes closed a while
-- after it resolves (closed_at), and retention later deletes the history
-- of closed incidents (events, timeline, alerts), noting when it did
-- (history_deleted_at). The incident rows stay, so the figures of reports
-- (MTTA, MTTR, SLA attainment, opened per day) stay exact.
--
-- When it became closed (final), and when retention deleted its events,
-- timeline and alerts.
ALTER TABLE incidents ADD COLUMN closed_at INTEGER;
ALTER TABLE incidents ADD COLUMN history_deleted_at INTEGER;

-- state's CHECK must learn 'closed', and SQLite cannot change a CHECK in
-- place. Rebuilding incidents is no option at 100k incidents: with
-- foreign keys on (the runner's transaction cannot turn them off), every
-- row dropped and copied looks up the rows of each of the ten tables that
-- reference incidents, some by a full scan (hours at 1M alerts). This is
-- the procedure SQLite documents for removing or relaxing a CHECK
-- constraint (https://sqlite.org/lang_altertable.html#otheralter): edit
-- the table's definition, which every existing row satisfies since it
-- only allows one more value. It comes after the ADD COLUMNs, which edit
-- the text at offsets of the definition they parsed; RESET makes this
-- connection parse it again, and the schema version the ADD COLUMNs and
-- CREATE INDEXes bump makes every other one. migrations_test.go checks
-- integrity and that closed is taken afterwards.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
    SET sql = replace(sql, 'CHECK (state IN (''pending'', ''open'', ''acknowledged'', ''resolved''))',
        'CHECK (state IN (''pending'', ''open'', ''acknowledged'', ''resolved'', ''closed''))')
    WHERE type = 'table' AND name = 'incidents';
PRAGMA writable_schema = RESET;

-- The sweep closes resolved incidents in order of resolve.
CREATE INDEX incidents_to_close ON incidents (resolved_at) WHERE state = 'resolved';
-- Retention finds the closed incidents whose history is still kept.
CREATE INDEX incidents_to_forget ON incidents (closed_at) WHERE state = 'closed' AND history_deleted_at IS NULL;
-- Retention deletes the events no incident holds (dropped by a rule,
-- stale) by age: only those events get an entry in this partial index,
-- and without it each run would read through every older event of
-- incidents not yet forgotten (about close_after's worth), inside the
-- writer's transaction.
CREATE INDEX events_unattached ON events (received_at) WHERE incident_id IS NULL;
