-- Alert identity is (source, fingerprint): one source can never resolve,
-- repeat or acknowledge another source's alert, even when both send the
-- same fingerprint (a PagerDuty dedup_key, a generic event's fingerprint).
--
-- SQLite cannot change a primary key in place, so alert_states and alerts
-- are rebuilt (https://sqlite.org/lang_altertable.html#otheralter): create
-- the new table, copy, drop the old one, rename; neither had an index of
-- its own besides its key, so none is to be recreated. The runner applies
-- this file in one transaction with foreign_keys on (which cannot be turned
-- off inside one), and that is fine here: nothing references alert_states
-- or alerts, so dropping them deletes no parent row, and every copied
-- incident_id is one the old rows already held under the same constraint.

CREATE TABLE alert_states_new (
    source       TEXT    NOT NULL DEFAULT '',
    fingerprint  TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at    INTEGER,
    ends_at      INTEGER,
    incident_id  INTEGER REFERENCES incidents (id),
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (source, fingerprint)
);
INSERT INTO alert_states_new (source, fingerprint, status, starts_at, ends_at, incident_id, last_seen_at)
    SELECT source, fingerprint, status, starts_at, ends_at, incident_id, last_seen_at FROM alert_states;
DROP TABLE alert_states;
ALTER TABLE alert_states_new RENAME TO alert_states;

-- An old alert row takes the source of its fingerprint's state (the only
-- one there was), else the source of the incident it belongs to.
CREATE TABLE alerts_new (
    incident_id   INTEGER NOT NULL REFERENCES incidents (id),
    source        TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    labels        TEXT    NOT NULL,
    annotations   TEXT    NOT NULL,
    starts_at     INTEGER,
    ends_at       INTEGER,
    generator_url TEXT    NOT NULL DEFAULT '',
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    count         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (incident_id, source, fingerprint)
);
INSERT INTO alerts_new (incident_id, source, fingerprint, status, labels, annotations, starts_at, ends_at,
        generator_url, first_seen_at, last_seen_at, count)
    SELECT a.incident_id,
           COALESCE((SELECT s.source FROM alert_states s WHERE s.fingerprint = a.fingerprint),
                    (SELECT i.source FROM incidents i WHERE i.id = a.incident_id), ''),
           a.fingerprint, a.status, a.labels, a.annotations, a.starts_at, a.ends_at,
           a.generator_url, a.first_seen_at, a.last_seen_at, a.count
    FROM alerts a;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;

-- Without rules or groups an alert is its own incident, keyed
-- alert/FINGERPRINT until now and alert/SOURCE/FINGERPRINT from now on, so
-- that two sources sending one fingerprint get an incident each. Rekey the
-- existing ones by the source that opened them, so that their alerts'
-- refires still reopen them. Keys stay unique: one old key, one source.
UPDATE incidents SET correlation_key = 'alert/' || source || '/' || substr(correlation_key, 7)
    WHERE correlation_key LIKE 'alert/%';

-- Flapping detection counts an alert's resolves in the event trace by
-- (source, fingerprint).
DROP INDEX events_fingerprint;
CREATE INDEX events_source_fingerprint ON events (source, fingerprint, transition, received_at);
