-- Heartbeat monitors (issue 15): the rule files' heartbeats, one row per
-- instance (the rule's name and its by-label values), and the sources'
-- expect_traffic_within. A beat is written in the transaction of the
-- request that carried it, so it is durable once acknowledged; beats of a
-- monitor that is up rewrite its row at most once a second
-- (incident.BeatDebounce). Times are Unix nanoseconds; last_beat_at is NULL
-- until the first beat; incident_id is the incident a miss or a failure
-- opened, NULL while up.
CREATE TABLE heartbeat_monitors (
    key          TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT   NOT NULL CHECK (kind IN ('rule', 'source')),
    name         TEXT   NOT NULL,
    labels       TEXT,
    state        TEXT   NOT NULL CHECK (state IN ('waiting', 'up', 'missing', 'failed')),
    last_beat_at BIGINT,
    armed_at     BIGINT NOT NULL,
    changed_at   BIGINT NOT NULL,
    incident_id  BIGINT REFERENCES incidents (id)
);

-- Stale alerts (resolve_timeout): the firing alerts of incidents not seen
-- since a time, oldest first, without reading every alert each sweep.
CREATE INDEX alert_states_firing_seen ON alert_states (last_seen_at) WHERE status = 'firing' AND incident_id IS NOT NULL;
