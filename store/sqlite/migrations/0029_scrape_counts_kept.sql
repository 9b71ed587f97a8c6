-- Issue 13: every /metrics scrape counted the active incidents by state
-- and priority (incidents_state_priority) and the SLA breaches by target
-- and priority (incidents_respond_breached, incidents_resolve_breached),
-- reading every entry: 3,334 active incidents and 5,000 breaches on the
-- seeded store, 0.6 of the store's 1.5 ms a scrape when its pages are
-- cached (BenchmarkMetrics: 0.33 and 0.24 ms, now 0.02 and 0.02), and
-- under ingest each commit drops the readers' page cache, so a scrape
-- read those pages again every time.
--
-- incident_counts keeps the counts instead, by the triggers below, in the
-- writer's transaction: a row per kind ('open', 'acknowledged',
-- 'respond_breached', 'resolve_breached') and priority. An update that
-- changes neither the state, the priority nor a breach mark changes
-- nothing. The scrape reads the table's few rows (read.go);
-- TestIncidentCountsEqualTheRows compares them with the counts from the
-- incidents themselves.
--
-- Nothing else read the two breach indexes, so they go: marking a breach
-- no longer writes an index entry.
CREATE TABLE incident_counts (
    kind     TEXT    NOT NULL,
    priority INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (kind, priority)
) WITHOUT ROWID;

INSERT INTO incident_counts (kind, priority, n)
    SELECT state, priority, COUNT(*) FROM incidents WHERE state IN ('open', 'acknowledged') GROUP BY state, priority;
INSERT INTO incident_counts (kind, priority, n)
    SELECT 'respond_breached', priority, COUNT(*) FROM incidents WHERE respond_breached_at IS NOT NULL GROUP BY priority;
INSERT INTO incident_counts (kind, priority, n)
    SELECT 'resolve_breached', priority, COUNT(*) FROM incidents WHERE resolve_breached_at IS NOT NULL GROUP BY priority;

CREATE TRIGGER incident_counts_insert AFTER INSERT ON incidents BEGIN
    INSERT INTO incident_counts (kind, priority, n)
        SELECT new.state, new.priority, 1 WHERE new.state IN ('open', 'acknowledged')
        UNION ALL SELECT 'respond_breached', new.priority, 1 WHERE new.respond_breached_at IS NOT NULL
        UNION ALL SELECT 'resolve_breached', new.priority, 1 WHERE new.resolve_breached_at IS NOT NULL
        ON CONFLICT (kind, priority) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER incident_counts_delete AFTER DELETE ON incidents BEGIN
    UPDATE incident_counts SET n = n - 1 WHERE priority = old.priority AND (
        (kind = old.state AND old.state IN ('open', 'acknowledged'))
        OR (kind = 'respond_breached' AND old.respond_breached_at IS NOT NULL)
        OR (kind = 'resolve_breached' AND old.resolve_breached_at IS NOT NULL));
END;

CREATE TRIGGER incident_counts_update AFTER UPDATE ON incidents
    WHEN old.state IS NOT new.state OR old.priority IS NOT new.priority
        OR (old.respond_breached_at IS NULL) IS NOT (new.respond_breached_at IS NULL)
        OR (old.resolve_breached_at IS NULL) IS NOT (new.resolve_breached_at IS NULL) BEGIN
    UPDATE incident_counts SET n = n - 1 WHERE priority = old.priority AND (
        (kind = old.state AND old.state IN ('open', 'acknowledged'))
        OR (kind = 'respond_breached' AND old.respond_breached_at IS NOT NULL)
        OR (kind = 'resolve_breached' AND old.resolve_breached_at IS NOT NULL));
    INSERT INTO incident_counts (kind, priority, n)
        SELECT new.state, new.priority, 1 WHERE new.state IN ('open', 'acknowledged')
        UNION ALL SELECT 'respond_breached', new.priority, 1 WHERE new.respond_breached_at IS NOT NULL
        UNION ALL SELECT 'resolve_breached', new.priority, 1 WHERE new.resolve_breached_at IS NOT NULL
        ON CONFLICT (kind, priority) DO UPDATE SET n = n + 1;
END;

DROP INDEX incidents_respond_breached;
DROP INDEX incidents_resolve_breached;
