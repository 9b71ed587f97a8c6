-- Issue 13: an alert's days (event_alert_days, event_alert_firsts: 0021)
-- were kept by two triggers on events, whose conditions looked up the
-- event's day for every counted event. A new alert's days are known
-- without a lookup (no day of a number given in the transaction is
-- stored), and the writer now writes them itself with its events
-- (store/sqlite/deferred.go); its events must not pay for the lookups.
--
-- The triggers move, unchanged but for the transition (only counted events
-- are sent), onto a view that stores nothing: the writer inserts into it
-- (alert_no, received_at) of each counted event whose alert's days may be
-- stored, in the same transaction as the event, and the triggers keep the
-- days as they did.
DROP TRIGGER events_alert_day;
DROP TRIGGER events_alert_day_times;

CREATE VIEW event_alert_day_touches (alert_no, received_at) AS SELECT NULL, NULL WHERE 0;

-- An alert's first counted event of a day. Events usually arrive in order,
-- but a clock stepped back must not break the figures: a day inserted
-- before a later one becomes that later day's previous day.
CREATE TRIGGER event_alert_day_first INSTEAD OF INSERT ON event_alert_day_touches
WHEN NOT EXISTS (SELECT 1 FROM event_alert_days
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
CREATE TRIGGER event_alert_day_times INSTEAD OF INSERT ON event_alert_day_touches
WHEN EXISTS (SELECT 1 FROM event_alert_days
        WHERE alert_no = NEW.alert_no AND day = NEW.received_at / 86400000000000
            AND (first_at IS NULL OR first_at > NEW.received_at OR last_at < NEW.received_at))
BEGIN
    UPDATE event_alert_days
        SET first_at = MIN(COALESCE(first_at, NEW.received_at), NEW.received_at),
            last_at = MAX(COALESCE(last_at, NEW.received_at), NEW.received_at)
        WHERE alert_no = NEW.alert_no AND day = NEW.received_at / 86400000000000;
END;
