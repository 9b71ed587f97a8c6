-- The live incident list's ETag (IncidentsVersion) must change with every
-- insert or update of an incident. It was derived from MAX(updated_at),
-- which an update missed unless it moved UpdatedAt past every other
-- incident's: one that kept it, or a clock stepped back, left the list
-- stale. A counter bumped by the writes themselves cannot miss one.
CREATE TABLE incidents_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO incidents_version (id, n) VALUES (1, 0);
CREATE TRIGGER incidents_version_insert AFTER INSERT ON incidents
BEGIN
    UPDATE incidents_version SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER incidents_version_update AFTER UPDATE ON incidents
BEGIN
    UPDATE incidents_version SET n = n + 1 WHERE id = 1;
END;
