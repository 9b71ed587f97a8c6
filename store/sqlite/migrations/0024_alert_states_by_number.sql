-- Issue 13: alert_states' UNIQUE (source, fingerprint) was an index led by
-- the fingerprint, a hash: each new alert's state landed on a leaf of its
-- own, about 60% of the pages a commit of new alerts wrote, and more as
-- the store grew. The states are now keyed by their alert's number alone;
-- the daemon keeps every state's key in memory (statekeys.go), reads a
-- state by its number and key, and writes it by its number.
--
-- SQLite cannot drop a constraint in place, so the table is rebuilt, with
-- its rows, numbers and other indexes as they were.

CREATE TABLE alert_states_new (
    alert_no     INTEGER PRIMARY KEY,
    source       TEXT    NOT NULL DEFAULT '',
    fingerprint  TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at    INTEGER,
    ends_at      INTEGER,
    incident_id  INTEGER REFERENCES incidents (id),
    last_seen_at INTEGER NOT NULL
);
INSERT INTO alert_states_new (alert_no, source, fingerprint, status, starts_at, ends_at, incident_id, last_seen_at)
    SELECT alert_no, source, fingerprint, status, starts_at, ends_at, incident_id, last_seen_at FROM alert_states;
DROP TABLE alert_states;
ALTER TABLE alert_states_new RENAME TO alert_states;
CREATE INDEX alert_states_incident ON alert_states (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX alert_states_firing_seen ON alert_states (last_seen_at) WHERE status = 'firing' AND incident_id IS NOT NULL;
