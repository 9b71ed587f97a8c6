-- Notifications to sinks (Slack, Jira, ServiceNow, PagerDuty, Opsgenie,
-- e-mail, webhooks), written in the same transaction as the change they tell
-- of (invariant 5), delivered in order per incident and sink, and deleted
-- once delivered. AUTOINCREMENT: an id is never used again after its row is
-- deleted, as sinks see it as the notification's idempotency key.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    sink            TEXT    NOT NULL,
    incident_id     INTEGER NOT NULL REFERENCES incidents (id),
    kind            TEXT    NOT NULL,
    timeline_id     INTEGER,          -- the entry it tells of; NULL for a release
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'held', 'dead')),
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT ''
);
-- The dispatcher's due rows, and each incident's head row per sink.
CREATE INDEX outbox_due ON outbox (sink, state, next_attempt_at);
CREATE INDEX outbox_incident ON outbox (sink, incident_id, state, id);
CREATE INDEX outbox_held ON outbox (incident_id) WHERE state = 'held';

-- What each sink made of an incident: the record later notifications update.
CREATE TABLE tickets (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    sink        TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    url         TEXT    NOT NULL DEFAULT '',
    data        TEXT    NOT NULL DEFAULT '{}',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (incident_id, sink)
);

-- The labels of the alert that opened an incident: what notification
-- policies match on, next to its priority, service and state.
ALTER TABLE incidents ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
