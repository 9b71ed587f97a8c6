-- Issue 13, as SQLite's migration 0017: the sweep asks for the incidents
-- due (DueIncidents) every few seconds, in the writer's transaction. One
-- of its ORed conditions (a flapping incident's quiet window) had no
-- index, so every sweep read the whole table. With an index for each,
-- PostgreSQL ORs them in a bitmap. Each index holds only incidents that
-- may come due: an incident that met its respond target kept its
-- respond_by and no breach for ever, so the old partial indexes grew with
-- every incident ever opened.
DROP INDEX incidents_respond_by;
DROP INDEX incidents_resolve_by;
CREATE INDEX incidents_respond_due ON incidents (respond_by)
    WHERE respond_by IS NOT NULL AND respond_breached_at IS NULL AND state = 'open';
CREATE INDEX incidents_resolve_target_due ON incidents (resolve_by)
    WHERE resolve_by IS NOT NULL AND resolve_breached_at IS NULL AND state IN ('open', 'acknowledged');
CREATE INDEX incidents_flapping ON incidents (last_event_at)
    WHERE flapping_since IS NOT NULL AND state <> 'closed';
