-- Issue 13: every /metrics scrape counted the open backlog by age from
-- every active incident's entry of incidents_state_priority: 3,334
-- entries on the seeded store, 0.43 of the store's 0.46 ms a scrape
-- (BenchmarkMetrics), a quarter of a scrape's CPU in the daemon, and
-- more the larger the backlog, when it is watched most.
--
-- backlog_hours keeps the active incidents (open or acknowledged, opened)
-- by the UTC hour they opened in (opened_at / 3,600,000,000,000 ns), by the
-- triggers below, in the writer's transaction. An hour's row goes when
-- its count reaches 0, so the table holds at most one row per active
-- incident, and usually far fewer. The scrape sums the hours wholly
-- inside each age bucket and reads the incidents themselves only in the
-- hours the buckets' bounds fall in, and the oldest's (backlog.go);
-- TestBacklogHoursEqualTheRows compares the table with the incidents.
CREATE TABLE backlog_hours (
    hour INTEGER PRIMARY KEY,
    n    INTEGER NOT NULL
);

INSERT INTO backlog_hours (hour, n)
    SELECT opened_at / 3600000000000, COUNT(*) FROM incidents
    WHERE state IN ('open', 'acknowledged') AND opened_at IS NOT NULL
    GROUP BY opened_at / 3600000000000;

CREATE TRIGGER backlog_hours_insert AFTER INSERT ON incidents
    WHEN new.state IN ('open', 'acknowledged') AND new.opened_at IS NOT NULL BEGIN
    INSERT INTO backlog_hours (hour, n) VALUES (new.opened_at / 3600000000000, 1)
        ON CONFLICT (hour) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER backlog_hours_delete AFTER DELETE ON incidents
    WHEN old.state IN ('open', 'acknowledged') AND old.opened_at IS NOT NULL BEGIN
    UPDATE backlog_hours SET n = n - 1 WHERE hour = old.opened_at / 3600000000000;
    DELETE FROM backlog_hours WHERE hour = old.opened_at / 3600000000000 AND n = 0;
END;

-- Counted before or after, and not in the same hour both times: open and
-- acknowledged are alike here, and an update of other columns writes
-- nothing.
CREATE TRIGGER backlog_hours_update AFTER UPDATE ON incidents
    WHEN (old.state IN ('open', 'acknowledged') AND old.opened_at IS NOT NULL)
            IS NOT (new.state IN ('open', 'acknowledged') AND new.opened_at IS NOT NULL)
        OR (new.state IN ('open', 'acknowledged') AND new.opened_at IS NOT NULL
            AND old.opened_at / 3600000000000 IS NOT new.opened_at / 3600000000000) BEGIN
    UPDATE backlog_hours SET n = n - 1
        WHERE hour = old.opened_at / 3600000000000 AND old.state IN ('open', 'acknowledged');
    DELETE FROM backlog_hours WHERE hour = old.opened_at / 3600000000000 AND n = 0;
    INSERT INTO backlog_hours (hour, n)
        SELECT new.opened_at / 3600000000000, 1
        WHERE new.state IN ('open', 'acknowledged') AND new.opened_at IS NOT NULL
        ON CONFLICT (hour) DO UPDATE SET n = n + 1;
END;
