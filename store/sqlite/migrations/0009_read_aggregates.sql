-- Reads that stay fast at 1M alerts and 100k incidents (issue 13). Every
-- index below is one a query plan asked for; every table is a figure kept
-- up to date by triggers, in the transaction of the write it counts, so
-- that no read has to scan the event trace. Days are UTC days of
-- received_at: received_at / 86400000000000 (Unix nanoseconds, after 1970).

-- Stats over a window: the incidents opened in it, read from the index
-- alone (counts, SLA results, durations, opened per day, signatures)
-- instead of the whole table once per figure.
CREATE INDEX incidents_opened_stats ON incidents (opened_at, priority, service, state, acknowledged_at,
    resolved_at, impact_started_at, respond_by, respond_breached_at, resolve_by, resolve_breached_at, rule,
    correlation_key) WHERE merged_into IS NULL AND opened_at IS NOT NULL;

-- The SLA breach counters of /metrics count these rows only.
CREATE INDEX incidents_respond_breached ON incidents (priority) WHERE respond_breached_at IS NOT NULL;
CREATE INDEX incidents_resolve_breached ON incidents (priority) WHERE resolve_breached_at IS NOT NULL;

-- An incident's alerts page in the order they joined.
CREATE INDEX alerts_incident_joined ON alerts (incident_id, first_seen_at, fingerprint, source);

-- The edges of a stats window (parts of a day) are counted from the events
-- themselves, from the index alone; it replaces events_received, a prefix
-- of it. Stats of one service or priority count the events of its
-- incidents.
CREATE INDEX events_received_fingerprint ON events (received_at, transition, fingerprint);
DROP INDEX events_received;
CREATE INDEX events_incident ON events (incident_id, received_at, transition, fingerprint)
    WHERE incident_id IS NOT NULL;

-- Events per UTC day and transition.
CREATE TABLE event_days (
    day        INTEGER NOT NULL,
    transition TEXT    NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (day, transition)
) WITHOUT ROWID;

-- The days on which each fingerprint had a transition the noise figure
-- counts (new, refired, resolved, stale).
CREATE TABLE event_fingerprint_days (
    fingerprint TEXT    NOT NULL,
    day         INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, day)
) WITHOUT ROWID;

-- How many fingerprints were seen (as above) on day whose previous such
-- day was prev_day (-1: none before). The distinct fingerprints of the
-- whole days A..B are then the rows of those days with prev_day < A: each
-- fingerprint is counted once, on its first day in the range.
CREATE TABLE event_fingerprint_firsts (
    day      INTEGER NOT NULL,
    prev_day INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, prev_day)
) WITHOUT ROWID;

CREATE TRIGGER events_count_day AFTER INSERT ON events
BEGIN
    INSERT INTO event_days (day, transition, n) VALUES (NEW.received_at / 86400000000000, NEW.transition, 1)
        ON CONFLICT (day, transition) DO UPDATE SET n = n + 1;
END;

-- A fingerprint's first counted event of a day. Events usually arrive in
-- order (no later day is known yet), but a clock stepped back must not
-- break the figures: a day inserted before a later one becomes that later
-- day's previous day.
CREATE TRIGGER events_fingerprint_day AFTER INSERT ON events
WHEN NEW.transition IN ('new', 'refired', 'resolved', 'stale')
    AND NOT EXISTS (SELECT 1 FROM event_fingerprint_days
        WHERE fingerprint = NEW.fingerprint AND day = NEW.received_at / 86400000000000)
BEGIN
    INSERT INTO event_fingerprint_firsts (day, prev_day, n)
        SELECT NEW.received_at / 86400000000000, COALESCE(MAX(day), -1), 1 FROM event_fingerprint_days
        WHERE fingerprint = NEW.fingerprint AND day < NEW.received_at / 86400000000000
        ON CONFLICT (day, prev_day) DO UPDATE SET n = n + 1;
    UPDATE event_fingerprint_firsts SET n = n - 1
        WHERE day = (SELECT MIN(day) FROM event_fingerprint_days
                WHERE fingerprint = NEW.fingerprint AND day > NEW.received_at / 86400000000000)
            AND prev_day = (SELECT COALESCE(MAX(day), -1) FROM event_fingerprint_days
                WHERE fingerprint = NEW.fingerprint AND day < NEW.received_at / 86400000000000);
    INSERT INTO event_fingerprint_firsts (day, prev_day, n)
        SELECT next_day, NEW.received_at / 86400000000000, 1 FROM (
            SELECT MIN(day) AS next_day FROM event_fingerprint_days
            WHERE fingerprint = NEW.fingerprint AND day > NEW.received_at / 86400000000000)
        WHERE next_day IS NOT NULL
        ON CONFLICT (day, prev_day) DO UPDATE SET n = n + 1;
    INSERT INTO event_fingerprint_days (fingerprint, day) VALUES (NEW.fingerprint, NEW.received_at / 86400000000000);
END;

-- The figures of the events recorded so far.
INSERT INTO event_days (day, transition, n)
    SELECT received_at / 86400000000000, transition, COUNT(*) FROM events GROUP BY 1, 2;
INSERT INTO event_fingerprint_days (fingerprint, day)
    SELECT DISTINCT fingerprint, received_at / 86400000000000 FROM events
    WHERE transition IN ('new', 'refired', 'resolved', 'stale');
INSERT INTO event_fingerprint_firsts (day, prev_day, n)
    SELECT day, prev_day, COUNT(*) FROM (
        SELECT day, COALESCE(LAG(day) OVER (PARTITION BY fingerprint ORDER BY day), -1) AS prev_day
        FROM event_fingerprint_days)
    GROUP BY day, prev_day;
