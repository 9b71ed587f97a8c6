-- Issue 13: the search index (0013) was written by a trigger in the
-- transaction that opened each incident. FTS5 writes a segment of its
-- index at the end of every transaction that changed it, and merges the
-- segments as they pile up: under one alert per request, where most
-- commits open an incident or two, that was four pages of each commit and
-- a fifth of an incident's opening (BenchmarkIngest/New1: 537 against
-- 432 µs per incident opened with the trigger gone, a bound).
--
-- The writer now indexes new incidents in batches (searchindex.go):
-- incident_search holds exactly the incidents whose id is at most upto,
-- and the search reads the incidents after upto, a few dozen at most, from
-- the table itself. The triggers keep that true for rows already indexed;
-- an incident given an id at or under upto (ids are reused only when the
-- newest incidents are deleted) is indexed at once, as before.
CREATE TABLE incident_search_indexed (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    upto INTEGER NOT NULL
);
INSERT INTO incident_search_indexed (id, upto) SELECT 1, COALESCE(MAX(id), 0) FROM incidents;

DROP TRIGGER incident_search_insert;
CREATE TRIGGER incident_search_insert AFTER INSERT ON incidents
    WHEN new.id <= (SELECT upto FROM incident_search_indexed WHERE id = 1) BEGIN
    INSERT INTO incident_search (rowid, title, correlation_key) VALUES (new.id, new.title, new.correlation_key);
END;

DROP TRIGGER incident_search_delete;
CREATE TRIGGER incident_search_delete AFTER DELETE ON incidents
    WHEN old.id <= (SELECT upto FROM incident_search_indexed WHERE id = 1) BEGIN
    INSERT INTO incident_search (incident_search, rowid, title, correlation_key)
        VALUES ('delete', old.id, old.title, old.correlation_key);
END;

DROP TRIGGER incident_search_update;
CREATE TRIGGER incident_search_update AFTER UPDATE OF title, correlation_key ON incidents
    WHEN (old.title IS NOT new.title OR old.correlation_key IS NOT new.correlation_key)
        AND old.id <= (SELECT upto FROM incident_search_indexed WHERE id = 1) BEGIN
    INSERT INTO incident_search (incident_search, rowid, title, correlation_key)
        VALUES ('delete', old.id, old.title, old.correlation_key);
    INSERT INTO incident_search (rowid, title, correlation_key) VALUES (new.id, new.title, new.correlation_key);
END;
