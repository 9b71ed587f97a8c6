-- Issue 13: the episodes' unique key (source, fingerprint, starts_at) was
-- an index led by a hash: each new alert's first episode landed on a leaf
-- of its own, 331 of the 1,120 pages a commit of new alerts wrote (100 per
-- request). Episodes are now keyed by an alert number, given in order of
-- first sight, so that a commit's new alerts append their episodes at the
-- index's end together.
--
-- An alert's number is its state's row (alert_states.alert_no, an alias of
-- its rowid, so no index of its own). The writer gives a new alert its
-- number when it writes the alert's first episode or state, whichever
-- comes first, and every number it gives is written to the alert's state
-- in the same transaction. From now on retention deletes a state only
-- once none of its alert's episodes is left, so that an alert's episodes
-- are always found from its state.
--
-- Before now retention deleted states by their incident alone. The alerts
-- whose episodes outlived their state get their number in alert_orphans,
-- which the writer reads when an alert has no state; it takes the number
-- over (and the row goes) when the alert is seen again.

CREATE TABLE alert_states_new (
    alert_no     INTEGER PRIMARY KEY,
    source       TEXT    NOT NULL DEFAULT '',
    fingerprint  TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at    INTEGER,
    ends_at      INTEGER,
    incident_id  INTEGER REFERENCES incidents (id),
    last_seen_at INTEGER NOT NULL,
    UNIQUE (source, fingerprint)
);
INSERT INTO alert_states_new (alert_no, source, fingerprint, status, starts_at, ends_at, incident_id, last_seen_at)
    SELECT rowid, source, fingerprint, status, starts_at, ends_at, incident_id, last_seen_at FROM alert_states;
DROP TABLE alert_states;
ALTER TABLE alert_states_new RENAME TO alert_states;
CREATE INDEX alert_states_incident ON alert_states (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX alert_states_firing_seen ON alert_states (last_seen_at) WHERE status = 'firing' AND incident_id IS NOT NULL;

CREATE TABLE alert_orphans (
    source      TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    alert_no    INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (source, fingerprint)
) WITHOUT ROWID;
INSERT INTO alert_orphans (source, fingerprint, alert_no)
    SELECT source, fingerprint,
        (SELECT COALESCE(MAX(alert_no), 0) FROM alert_states) + ROW_NUMBER() OVER (ORDER BY MIN(id))
    FROM alert_episodes e
    WHERE NOT EXISTS (SELECT 1 FROM alert_states s WHERE s.source = e.source AND s.fingerprint = e.fingerprint)
    GROUP BY source, fingerprint;

CREATE TABLE alert_episodes_new (
    id              INTEGER PRIMARY KEY,
    alert_no        INTEGER NOT NULL,
    source          TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    starts_at       INTEGER NOT NULL,
    ends_at         INTEGER,
    incident_id     INTEGER REFERENCES incidents (id),
    correlation_key TEXT    NOT NULL,
    UNIQUE (alert_no, starts_at)
);
INSERT INTO alert_episodes_new (id, alert_no, source, fingerprint, starts_at, ends_at, incident_id, correlation_key)
    SELECT e.id, COALESCE(s.alert_no, o.alert_no), e.source, e.fingerprint, e.starts_at, e.ends_at, e.incident_id,
        e.correlation_key
    FROM alert_episodes e
    LEFT JOIN alert_states s ON s.source = e.source AND s.fingerprint = e.fingerprint
    LEFT JOIN alert_orphans o ON o.source = e.source AND o.fingerprint = e.fingerprint;
DROP TABLE alert_episodes;
ALTER TABLE alert_episodes_new RENAME TO alert_episodes;
CREATE INDEX alert_episodes_incident ON alert_episodes (incident_id, starts_at);
CREATE INDEX alert_episodes_open ON alert_episodes (incident_id, starts_at) WHERE ends_at IS NULL;
