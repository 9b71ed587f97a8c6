-- Stats over long windows from parts kept in memory (issue 13: 90 days of
-- stats read 100k incidents, over 300 ms). The daemon keeps, per UTC day of
-- opened_at and per filter, what the incidents opened that day add to the
-- figures (stats.go), and uses a day's part only while the day's version
-- below is the one it was computed at. Every change of a column the stats
-- read (those of incidents_opened_stats, and merged_into) bumps the version
-- of the incident's day before and after the change, in the transaction of
-- the change, whoever writes it. An update that changes none of them (an
-- alert joining, a repeat, a title) does not fire, so ingest pays one row
-- write per new incident and per change of state, priority or SLA, not per
-- alert. A day without a row has version 0. Days are floored, also before
-- 1970, as stats.go floors them.
CREATE TABLE incident_stats_days (
    day     INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);

CREATE TRIGGER incident_stats_days_insert AFTER INSERT ON incidents
    WHEN new.opened_at IS NOT NULL BEGIN
    INSERT INTO incident_stats_days (day, version) VALUES (new.opened_at / 86400000000000 - (new.opened_at % 86400000000000 < 0), 1)
        ON CONFLICT (day) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER incident_stats_days_delete AFTER DELETE ON incidents
    WHEN old.opened_at IS NOT NULL BEGIN
    INSERT INTO incident_stats_days (day, version) VALUES (old.opened_at / 86400000000000 - (old.opened_at % 86400000000000 < 0), 1)
        ON CONFLICT (day) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER incident_stats_days_update AFTER UPDATE ON incidents
    WHEN old.opened_at IS NOT new.opened_at OR old.merged_into IS NOT new.merged_into
        OR old.priority IS NOT new.priority OR old.service IS NOT new.service OR old.state IS NOT new.state
        OR old.acknowledged_at IS NOT new.acknowledged_at OR old.resolved_at IS NOT new.resolved_at
        OR old.impact_started_at IS NOT new.impact_started_at
        OR old.respond_by IS NOT new.respond_by OR old.respond_breached_at IS NOT new.respond_breached_at
        OR old.resolve_by IS NOT new.resolve_by OR old.resolve_breached_at IS NOT new.resolve_breached_at
        OR old.rule IS NOT new.rule OR old.correlation_key IS NOT new.correlation_key BEGIN
    INSERT INTO incident_stats_days (day, version)
        SELECT old.opened_at / 86400000000000 - (old.opened_at % 86400000000000 < 0), 1 WHERE old.opened_at IS NOT NULL
        ON CONFLICT (day) DO UPDATE SET version = version + 1;
    INSERT INTO incident_stats_days (day, version)
        SELECT new.opened_at / 86400000000000 - (new.opened_at % 86400000000000 < 0), 1 WHERE new.opened_at IS NOT NULL
        ON CONFLICT (day) DO UPDATE SET version = version + 1;
END;

-- The noise figures keep, for the day a window that ends now starts in, its
-- events and which of their alerts were seen on a later day (stats.go,
-- leadingDay), valid while nothing of that day changed. Retention is the
-- one writer that deletes events and fingerprint days: it bumps n in the
-- transaction that deletes.
CREATE TABLE stats_history_deleted (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO stats_history_deleted (id, n) VALUES (1, 0);
