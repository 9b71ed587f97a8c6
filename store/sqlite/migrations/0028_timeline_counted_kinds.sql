-- Issue 13: timeline_incident_kind (incident_id, kind, at) took an entry
-- for every timeline row, but only CountTimeline reads it, and only for
-- two kinds: an incident's workarounds (a known error's workaround given
-- once) and its alert resolves since it began flapping. Every new alert
-- writes an alert_firing entry, so the index cost each new alert a b-tree
-- insert nobody read (WAL pages a commit under `bench --scenario new`
-- 274 -> 267, under `single` 36 -> 35; the rates within the machine's
-- noise). It now holds the two counted kinds only; CountTimeline
-- (tx.go) repeats the index's condition so that the planner may use it,
-- and counts any other kind from timeline_incident.
DROP INDEX timeline_incident_kind;
CREATE INDEX timeline_counted ON timeline (incident_id, kind, at) WHERE kind IN ('alert_resolved', 'workaround');
