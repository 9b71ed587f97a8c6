-- Issue 13, "stats over long periods stay fast": GET /api/v1/stats read
-- every incident of its window four times a call (65 ms for 30 days at
-- 100k incidents, 172 ms for 90). The daemon now keeps, per UTC day of
-- opened_at and per filter, what the incidents opened that day add to the
-- figures (store/internal/statsdays), as SQLite does since its migration
-- 0014, and uses a day's part only while the day's version below is the
-- one it was computed at. Every change of a column the figures read bumps
-- the version of the incident's day before and after the change, in the
-- transaction of the change, whoever writes it: another daemon on this
-- database included. An update that changes none of them (an alert
-- joining, a repeat, a title) does not fire. Nor does a change of an
-- incident opened within two minutes of the database's clock: a day is
-- kept only four minutes after it ended (statsdays.Reader.KeepUntil), so
-- no kept day holds such an incident, and a change of one of a kept day's
-- incidents comes two minutes after its opening at least, the two between
-- being for a transaction already open. Ingest, which opens and changes
-- recent incidents, so pays nothing for the kept days; an acknowledge or
-- a resolve of an older incident writes one row. A day without a row has
-- version 0. Rows are never deleted, so a version never repeats. Days are
-- floored, also before 1970, as statsdays.FloorDay floors them. The
-- functions keep the schema they were made in, so that a client with
-- another search_path (psql, an admin's script) writes the same tables.
CREATE TABLE incident_stats_days (
    day     BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);

-- A transaction bumps a day once (the last day it bumped is its own
-- setting, which goes with it or with the savepoint it was made under):
-- a version only needs to differ between committed states.
CREATE FUNCTION incident_stats_days_changed() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    opened BIGINT;
    d      BIGINT;
BEGIN
    FOREACH opened IN ARRAY ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.opened_at END,
                                  CASE WHEN TG_OP <> 'DELETE' THEN NEW.opened_at END] LOOP
        CONTINUE WHEN opened IS NULL;
        d := opened / 86400000000000 - CASE WHEN opened % 86400000000000 < 0 THEN 1 ELSE 0 END;
        CONTINUE WHEN current_setting('alertbridge.stats_day_bumped', true) = d::text;
        INSERT INTO incident_stats_days (day, version) VALUES (d, 1)
            ON CONFLICT (day) DO UPDATE SET version = incident_stats_days.version + 1;
        PERFORM set_config('alertbridge.stats_day_bumped', d::text, true);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE TRIGGER incident_stats_days_insert AFTER INSERT ON incidents
    FOR EACH ROW WHEN (NEW.opened_at < (date_part('epoch', now()) - 120) * 1e9)
    EXECUTE FUNCTION incident_stats_days_changed();

CREATE TRIGGER incident_stats_days_delete AFTER DELETE ON incidents
    FOR EACH ROW WHEN (OLD.opened_at < (date_part('epoch', now()) - 120) * 1e9)
    EXECUTE FUNCTION incident_stats_days_changed();

CREATE TRIGGER incident_stats_days_update AFTER UPDATE ON incidents
    FOR EACH ROW WHEN ((OLD.opened_at < (date_part('epoch', now()) - 120) * 1e9
            OR NEW.opened_at < (date_part('epoch', now()) - 120) * 1e9)
        AND (OLD.opened_at IS DISTINCT FROM NEW.opened_at OR OLD.merged_into IS DISTINCT FROM NEW.merged_into
        OR OLD.priority IS DISTINCT FROM NEW.priority OR OLD.service IS DISTINCT FROM NEW.service
        OR OLD.state IS DISTINCT FROM NEW.state
        OR OLD.acknowledged_at IS DISTINCT FROM NEW.acknowledged_at OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at
        OR OLD.impact_started_at IS DISTINCT FROM NEW.impact_started_at
        OR OLD.respond_by IS DISTINCT FROM NEW.respond_by OR OLD.respond_breached_at IS DISTINCT FROM NEW.respond_breached_at
        OR OLD.resolve_by IS DISTINCT FROM NEW.resolve_by OR OLD.resolve_breached_at IS DISTINCT FROM NEW.resolve_breached_at
        OR OLD.rule IS DISTINCT FROM NEW.rule OR OLD.correlation_key IS DISTINCT FROM NEW.correlation_key))
    EXECUTE FUNCTION incident_stats_days_changed();

-- The noise figures (the window's counted events and their distinct
-- alerts) of days are kept in memory too (statsnoise.go, noiseDays): a
-- day, or the part of one, that ended four minutes before the database's
-- clock only changes when an event is inserted with an older time than
-- ingest gives one (an import, a clock far behind) or retention deletes
-- events. Both are counted here, so that a kept day is used only while
-- neither reached it. Ingest's own inserts fire nothing: the trigger's
-- condition is false for an event received within two minutes. The
-- conditions compare in double precision (a quarter of a microsecond at
-- today's times, nothing beside two minutes), which costs ingest nothing
-- that shows, where numeric did. Ingest stamps an event when its
-- transaction starts, so two minutes is what a replica's clock may lag
-- the database's: one further behind makes every insert late, and the
-- stats read every event again at each call (exact, as slow as before
-- this migration).
CREATE TABLE stats_event_changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    late    BIGINT NOT NULL, -- inserts of events received over two minutes before the insert
    deleted BIGINT NOT NULL, -- statements that deleted events
    upto    BIGINT NOT NULL  -- the newest received_at any of them deleted
);
INSERT INTO stats_event_changes (id, late, deleted, upto) VALUES (1, 0, 0, -9223372036854775808);

-- Once a transaction: an import of a million old events bumps the
-- counter once, not a million times (the setting is the transaction's own
-- and goes with it, or with the savepoint it was made under).
CREATE FUNCTION stats_event_late() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    IF current_setting('alertbridge.stats_event_late', true) = 'on' THEN
        RETURN NULL;
    END IF;
    UPDATE stats_event_changes SET late = late + 1 WHERE id = 1;
    PERFORM set_config('alertbridge.stats_event_late', 'on', true);
    RETURN NULL;
END;
$$;

CREATE TRIGGER stats_event_late AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.received_at < (date_part('epoch', now()) - 120) * 1e9)
    EXECUTE FUNCTION stats_event_late();

-- Nothing updates events; should anything change what the figures read,
-- it counts as a late insert.
CREATE TRIGGER stats_event_updated AFTER UPDATE ON events
    FOR EACH ROW WHEN (OLD.received_at IS DISTINCT FROM NEW.received_at OR OLD.transition IS DISTINCT FROM NEW.transition
        OR OLD.source IS DISTINCT FROM NEW.source OR OLD.fingerprint IS DISTINCT FROM NEW.fingerprint)
    EXECUTE FUNCTION stats_event_late();

CREATE FUNCTION stats_event_deleted() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE stats_event_changes SET deleted = deleted + 1, upto = GREATEST(upto, m)
        FROM (SELECT max(received_at) AS m FROM gone) AS g WHERE id = 1 AND g.m IS NOT NULL;
    RETURN NULL;
END;
$$;

CREATE TRIGGER stats_event_deleted AFTER DELETE ON events
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION stats_event_deleted();
