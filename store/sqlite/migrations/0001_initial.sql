-- Times are Unix nanoseconds (UTC); NULL means "not yet" (a zero time.Time).

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'open', 'acknowledged', 'resolved')),
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
    problem_id      INTEGER
);

-- Invariant 2: one incident accepting alerts per correlation key, enforced
-- here and not only by the correlation cache. An incident whose window passed
-- is sealed: it keeps its alerts but no longer takes new ones.
CREATE UNIQUE INDEX incidents_active_key ON incidents (correlation_key)
    WHERE state IN ('pending', 'open', 'acknowledged') AND sealed_at IS NULL;
CREATE INDEX incidents_resolve_due ON incidents (resolve_due_at) WHERE resolve_due_at IS NOT NULL;
CREATE INDEX incidents_respond_by ON incidents (respond_by) WHERE respond_by IS NOT NULL AND respond_breached_at IS NULL;
CREATE INDEX incidents_resolve_by ON incidents (resolve_by) WHERE resolve_by IS NOT NULL AND resolve_breached_at IS NULL;
CREATE INDEX incidents_pending ON incidents (last_event_at) WHERE state = 'pending' AND window_ns > 0;
CREATE INDEX incidents_key_id ON incidents (correlation_key, id);
CREATE INDEX incidents_state_id ON incidents (state, id);
CREATE INDEX incidents_service_state ON incidents (service, state);

CREATE TABLE alerts (
    incident_id   INTEGER NOT NULL REFERENCES incidents (id),
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
    PRIMARY KEY (incident_id, fingerprint)
);

-- The last known state of each fingerprint: what dedupe decides against.
CREATE TABLE alert_states (
    fingerprint  TEXT    PRIMARY KEY,
    source       TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at    INTEGER,
    ends_at      INTEGER,
    incident_id  INTEGER REFERENCES incidents (id),
    last_seen_at INTEGER NOT NULL
);

CREATE TABLE timeline (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL DEFAULT '',
    message     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX timeline_incident ON timeline (incident_id, id);
CREATE INDEX timeline_incident_kind ON timeline (incident_id, kind, at);

-- The trace of every received event, for replay, backtests and noise figures.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    received_at     INTEGER NOT NULL,
    source          TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    labels          TEXT    NOT NULL,
    annotations     TEXT    NOT NULL DEFAULT '{}',
    group_labels    TEXT,              -- JSON; NULL when the sender has no groups
    receiver        TEXT    NOT NULL DEFAULT '',
    generator_url   TEXT    NOT NULL DEFAULT '',
    starts_at       INTEGER,
    ends_at         INTEGER,
    transition      TEXT    NOT NULL,
    rule            TEXT    NOT NULL DEFAULT '',
    correlation_key TEXT    NOT NULL DEFAULT '',
    incident_id     INTEGER
);
CREATE INDEX events_received ON events (received_at);
CREATE INDEX events_fingerprint ON events (fingerprint, transition, received_at);

-- Changes and deploys, for linking incidents to what may have caused them.
-- A redelivery of the same (source, external_id) updates the row.
CREATE TABLE changes (
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    summary     TEXT    NOT NULL,
    url         TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    labels      TEXT    NOT NULL,
    maintenance INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX changes_service_started ON changes (service, started_at);
CREATE INDEX changes_started ON changes (started_at);

-- Changes linked to an incident as suspected causes, ranked.
CREATE TABLE incident_changes (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    change_id   INTEGER NOT NULL REFERENCES changes (id),
    rank        INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    PRIMARY KEY (incident_id, change_id)
);
CREATE INDEX changes_maintenance ON changes (service, started_at) WHERE maintenance = 1;

-- Problems: the underlying cause of recurring incidents (incidents.problem_id).
CREATE TABLE problems (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,   -- the problem rule
    signature      TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('open', 'known_error', 'resolved', 'closed')),
    title          TEXT    NOT NULL DEFAULT '',
    root_cause     TEXT    NOT NULL DEFAULT '',
    workaround     TEXT    NOT NULL DEFAULT '',
    first_seen_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    incident_count INTEGER NOT NULL DEFAULT 0,
    opened_at      INTEGER NOT NULL,
    resolved_at    INTEGER,
    closed_at      INTEGER,
    updated_at     INTEGER NOT NULL
);
-- One problem taking new incidents per signature.
CREATE UNIQUE INDEX problems_active_signature ON problems (signature) WHERE state IN ('open', 'known_error');
CREATE INDEX problems_signature_id ON problems (signature, id);
CREATE INDEX problems_state_id ON problems (state, id);
CREATE INDEX incidents_problem ON incidents (problem_id) WHERE problem_id IS NOT NULL;

CREATE TABLE problem_timeline (
    id         INTEGER PRIMARY KEY,
    problem_id INTEGER NOT NULL REFERENCES problems (id),
    at         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    message    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX problem_timeline_problem ON problem_timeline (problem_id, id);

-- Each incident's signature under each problem rule it matched when it
-- opened: what a problem rule's threshold counts.
CREATE TABLE incident_signatures (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    problem_rule TEXT    NOT NULL,
    signature    TEXT    NOT NULL,
    opened_at    INTEGER NOT NULL,
    PRIMARY KEY (incident_id, problem_rule)
);
CREATE INDEX incident_signatures_signature ON incident_signatures (signature, opened_at);
