-- Issue 13: every event wrote a page of events_source_fingerprint (source,
-- fingerprint, transition, received_at), an index led by a hash: each new
-- alert's entry lands on a leaf of its own, 353 of the 1,477 pages a commit
-- of new alerts wrote (100 per request). It had two readers:
-- - flapping's count of an alert's resolves (CountResolves), which only
--   needs the resolves: events_resolved below;
-- - the stats' count of the alerts seen after a window that ends inside a
--   day (lateEvents), which asks whether an alert had a counted event in
--   the window: answered now from event_fingerprint_days, which that
--   count already reads, with the first and last counted event of each
--   fingerprint and day. A new alert's first event of a day writes the
--   row it wrote before; a later event of the same day moves its times.
ALTER TABLE event_fingerprint_days ADD COLUMN first_at INTEGER;
ALTER TABLE event_fingerprint_days ADD COLUMN last_at INTEGER;

-- The times of the days recorded so far. Days whose events retention has
-- deleted keep no times (NULL): no window reads their parts.
UPDATE event_fingerprint_days SET first_at = r.f, last_at = r.l FROM (
    SELECT fingerprint, received_at / 86400000000000 AS day, MIN(received_at) AS f, MAX(received_at) AS l
    FROM events WHERE transition IN ('new', 'refired', 'resolved', 'stale') GROUP BY 1, 2) AS r
WHERE event_fingerprint_days.fingerprint = r.fingerprint AND event_fingerprint_days.day = r.day;

-- As in 0009, and the day's row is inserted with its first times.
DROP TRIGGER events_fingerprint_day;
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
    INSERT INTO event_fingerprint_days (fingerprint, day, first_at, last_at)
        VALUES (NEW.fingerprint, NEW.received_at / 86400000000000, NEW.received_at, NEW.received_at);
END;

-- A later counted event of a day already recorded moves the day's times
-- (whichever of the two triggers runs first, the other then does nothing).
CREATE TRIGGER events_fingerprint_day_times AFTER INSERT ON events
WHEN NEW.transition IN ('new', 'refired', 'resolved', 'stale')
    AND EXISTS (SELECT 1 FROM event_fingerprint_days
        WHERE fingerprint = NEW.fingerprint AND day = NEW.received_at / 86400000000000
            AND (first_at IS NULL OR first_at > NEW.received_at OR last_at < NEW.received_at))
BEGIN
    UPDATE event_fingerprint_days
        SET first_at = MIN(COALESCE(first_at, NEW.received_at), NEW.received_at),
            last_at = MAX(COALESCE(last_at, NEW.received_at), NEW.received_at)
        WHERE fingerprint = NEW.fingerprint AND day = NEW.received_at / 86400000000000;
END;

CREATE INDEX events_resolved ON events (source, fingerprint, received_at) WHERE transition = 'resolved';
DROP INDEX events_source_fingerprint;
