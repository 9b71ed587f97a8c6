-- Issue 13: every event counted itself in event_days (day, transition)
-- through this trigger, a trigger program and an upsert per row: with it
-- gone, BenchmarkIngest/New100 went 22.4k -> 24.4k alerts/s. Every event
-- is inserted by the writer's deferred rows (store/sqlite/deferred.go),
-- which now count a write's events by day and transition and add each
-- count in one upsert, before the events.
DROP TRIGGER events_count_day;
