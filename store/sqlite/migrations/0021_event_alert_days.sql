-- Issue 13: event_fingerprint_days was keyed by (fingerprint, day), led by
-- a hash: each new alert's first event of a day wrote its row on a leaf of
-- its own, about 0.6 of the 2.1 WAL pages a new alert cost (100 per
-- request). It is now keyed by the alert's number (0020), given in order of
-- first sight, so that a commit's new alerts append their rows together at
-- the key's end.
--
-- The noise figures' distinct alerts are now DESIGN's alert identity,
-- (source, fingerprint), through its number, as everywhere else (the
-- incident's alerts, the episodes): the same fingerprint from two sources
-- is two alerts. It had been one alert to the noise figures only.
--
-- A counted event (new, refired, resolved, stale) carries its alert's
-- number; other events none. The writer gives it as it gives an episode's
-- (alertno.go): every counted event's alert has a state holding its number,
-- or a row in alert_orphans, as long as it has a row in event_alert_days.
ALTER TABLE events ADD COLUMN alert_no INTEGER;

-- The alerts of counted events with neither a state nor an orphan row (their
-- state deleted by an older retention, or never written) take numbers above
-- every number stored, in order of their first event.
INSERT INTO alert_orphans (source, fingerprint, alert_no)
    SELECT source, fingerprint, (SELECT MAX(COALESCE((SELECT MAX(alert_no) FROM alert_states), 0),
            COALESCE((SELECT MAX(alert_no) FROM alert_episodes), 0),
            COALESCE((SELECT MAX(alert_no) FROM alert_orphans), 0))) + ROW_NUMBER() OVER (ORDER BY MIN(id))
    FROM events e
    WHERE transition IN ('new', 'refired', 'resolved', 'stale')
        AND NOT EXISTS (SELECT 1 FROM alert_states s WHERE s.source = e.source AND s.fingerprint = e.fingerprint)
        AND NOT EXISTS (SELECT 1 FROM alert_orphans o WHERE o.source = e.source AND o.fingerprint = e.fingerprint)
    GROUP BY source, fingerprint;

UPDATE events SET alert_no = COALESCE(
        (SELECT alert_no FROM alert_states s WHERE s.source = events.source AND s.fingerprint = events.fingerprint),
        (SELECT alert_no FROM alert_orphans o WHERE o.source = events.source AND o.fingerprint = events.fingerprint))
    WHERE transition IN ('new', 'refired', 'resolved', 'stale');

-- The noise figures' covering indexes carry the number instead of the
-- fingerprint (an integer: smaller entries, too).
DROP INDEX events_received_fingerprint;
CREATE INDEX events_received_alert ON events (received_at, transition, alert_no);
DROP INDEX events_incident;
CREATE INDEX events_incident ON events (incident_id, received_at, transition, alert_no)
    WHERE incident_id IS NOT NULL;

DROP TRIGGER events_fingerprint_day;
DROP TRIGGER events_fingerprint_day_times;

-- As event_fingerprint_days (0009, 0019), by alert number: the days on which
-- each alert had a counted event, with the first and last such event of the
-- day. Retention forgets an incident's alerts' days before its cutoff.
CREATE TABLE event_alert_days (
    alert_no INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    first_at INTEGER,
    last_at  INTEGER,
    PRIMARY KEY (alert_no, day)
) WITHOUT ROWID;

-- The days that still have their events, from the events, exactly. A day
-- whose events retention deleted (no alert of its fingerprint has it from
-- the events) goes to every alert of its fingerprint that has a number, so
-- that the alert's next first event of a day still finds its previous day.
-- A fingerprint with no number left loses its days: if it comes back, it is
-- counted as first seen then (as a return after forgotten days was).
INSERT INTO event_alert_days (alert_no, day, first_at, last_at)
    SELECT alert_no, received_at / 86400000000000, MIN(received_at), MAX(received_at) FROM events
    WHERE transition IN ('new', 'refired', 'resolved', 'stale')
    GROUP BY 1, 2;
CREATE TABLE migrate_0021_numbers (
    fingerprint TEXT    NOT NULL,
    alert_no    INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, alert_no)
) WITHOUT ROWID;
INSERT OR IGNORE INTO migrate_0021_numbers (fingerprint, alert_no)
    SELECT fingerprint, alert_no FROM alert_states UNION ALL SELECT fingerprint, alert_no FROM alert_orphans;
INSERT OR IGNORE INTO event_alert_days (alert_no, day, first_at, last_at)
    SELECT n.alert_no, d.day, d.first_at, d.last_at FROM event_fingerprint_days d
    JOIN migrate_0021_numbers n ON n.fingerprint = d.fingerprint
    WHERE NOT EXISTS (SELECT 1 FROM migrate_0021_numbers m
        JOIN event_alert_days x ON x.alert_no = m.alert_no AND x.day = d.day
        WHERE m.fingerprint = d.fingerprint);
DROP TABLE migrate_0021_numbers;
DROP TABLE event_fingerprint_days;

-- The per-day firsts recorded so far stay as they were (by fingerprint:
-- a window over days before this migration counts a fingerprint seen from
-- two sources once, as it did); the days from now on add by alert.
ALTER TABLE event_fingerprint_firsts RENAME TO event_alert_firsts;

-- An alert's first counted event of a day: as events_fingerprint_day (0019).
-- Events usually arrive in order, but a clock stepped back must not break
-- the figures: a day inserted before a later one becomes that later day's
-- previous day.
CREATE TRIGGER events_alert_day AFTER INSERT ON events
WHEN NEW.transition IN ('new', 'refired', 'resolved', 'stale')
    AND NOT EXISTS (SELECT 1 FROM event_alert_days
        WHERE alert_no = NEW.alert_no AND day = NEW.received_at / 86400000000000)
BEGIN
    INSERT INTO event_alert_firsts (day, prev_day, n)
        SELECT NEW.received_at / 86400000000000, COALESCE(MAX(day), -1), 1 FROM event_alert_days
        WHERE alert_no = NEW.alert_no AND day < NEW.received_at / 86400000000000
        ON CONFLICT (day, prev_day) DO UPDATE SET n = n + 1;
    UPDATE event_alert_firsts SET n = n - 1
        WHERE day = (SELECT MIN(day) FROM event_alert_days
                WHERE alert_no = NEW.alert_no AND day > NEW.received_at / 86400000000000)
            AND prev_day = (SELECT COALESCE(MAX(day), -1) FROM event_alert_days
                WHERE alert_no = NEW.alert_no AND day < NEW.received_at / 86400000000000);
    INSERT INTO event_alert_firsts (day, prev_day, n)
        SELECT next_day, NEW.received_at / 86400000000000, 1 FROM (
            SELECT MIN(day) AS next_day FROM event_alert_days
            WHERE alert_no = NEW.alert_no AND day > NEW.received_at / 86400000000000)
        WHERE next_day IS NOT NULL
        ON CONFLICT (day, prev_day) DO UPDATE SET n = n + 1;
    INSERT INTO event_alert_days (alert_no, day, first_at, last_at)
        VALUES (NEW.alert_no, NEW.received_at / 86400000000000, NEW.received_at, NEW.received_at);
END;

-- A later counted event of a day already recorded moves the day's times.
CREATE TRIGGER events_alert_day_times AFTER INSERT ON events
WHEN NEW.transition IN ('new', 'refired', 'resolved', 'stale')
    AND EXISTS (SELECT 1 FROM event_alert_days
        WHERE alert_no = NEW.alert_no AND day = NEW.received_at / 86400000000000
            AND (first_at IS NULL OR first_at > NEW.received_at OR last_at < NEW.received_at))
BEGIN
    UPDATE event_alert_days
        SET first_at = MIN(COALESCE(first_at, NEW.received_at), NEW.received_at),
            last_at = MAX(COALESCE(last_at, NEW.received_at), NEW.received_at)
        WHERE alert_no = NEW.alert_no AND day = NEW.received_at / 86400000000000;
END;
