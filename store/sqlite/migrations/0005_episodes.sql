-- Records that follow the alerts' own time, whatever the delivery order.
--
-- An episode is one firing of one alert (source, fingerprint): from its
-- startsAt until its endsAt (NULL while it fires, or while its end is not
-- known). Episodes are what incidents are made of: an incident's impact
-- started with its earliest episode and ended with its latest end, and a
-- late delivery of an earlier firing is placed by its own times.
CREATE TABLE alert_episodes (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    starts_at       INTEGER NOT NULL,
    ends_at         INTEGER,
    incident_id     INTEGER REFERENCES incidents (id),
    correlation_key TEXT    NOT NULL,
    UNIQUE (source, fingerprint, starts_at)
);
CREATE INDEX alert_episodes_incident ON alert_episodes (incident_id);

-- Every alert row so far is one episode.
INSERT OR IGNORE INTO alert_episodes (source, fingerprint, starts_at, ends_at, incident_id, correlation_key)
    SELECT a.source, a.fingerprint, COALESCE(a.starts_at, a.first_seen_at), a.ends_at, a.incident_id, i.correlation_key
    FROM alerts a JOIN incidents i ON i.id = a.incident_id;

-- When the impact started (the earliest startsAt of its alerts), next to
-- when the record opened; MTTR counts from it.
ALTER TABLE incidents ADD COLUMN impact_started_at INTEGER;
UPDATE incidents SET impact_started_at = COALESCE(
    (SELECT MIN(COALESCE(a.starts_at, a.first_seen_at)) FROM alerts a WHERE a.incident_id = incidents.id),
    opened_at, last_event_at);
-- The last reopen (processing time): a resolve is never recorded before it.
ALTER TABLE incidents ADD COLUMN reopened_at INTEGER;
-- Alerts of the incident's group that Alertmanager left out of a truncated
-- notification (max_alerts) while the group still fired: the incident does
-- not resolve while some may fire.
ALTER TABLE incidents ADD COLUMN unseen_firing INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN unseen_as_of INTEGER;

-- The incident that owns a key when none is active: the one whose impact
-- ended last.
CREATE INDEX incidents_key_resolved ON incidents (correlation_key, resolved_at);
-- Merge, unlink and regrouping repoint the states of an incident's alerts.
CREATE INDEX alert_states_incident ON alert_states (incident_id) WHERE incident_id IS NOT NULL;
