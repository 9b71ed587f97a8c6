-- The noise figures by service or priority (issue 13: 184 ms for 30 days of
-- P1 at 100k incidents, a probe of every P1 incident's events) count the
-- events of incidents that match the filter now. The daemon keeps them per
-- UTC day of receipt (statsfiltered.go), each event with its incident's
-- priority and service as read, and uses a kept day only while the day's
-- events (event_days), the deletions of retention (stats_history_deleted)
-- and the day's version below are unchanged. A change of an incident's
-- priority or service bumps the version of every day it has events on, in
-- the transaction of the change: a read of its events by events_incident,
-- paid on an escalation, never per alert. Events never change their
-- incident; incidents are never deleted, but the delete trigger keeps the
-- figures right if one is. A day without a row has version 0. Days are
-- those of event_days (received_at / 86400000000000).
--
-- The days at a window's edges (today, while alerts come in) are kept as
-- their events with each incident's priority and service, and follow
-- the changes of those by the log below instead (the incidents changed
-- since, not the day read again); it keeps the last 4096 changes, and an
-- edge older than those is read again.
CREATE TABLE event_filter_days (
    day     INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);

CREATE TABLE incident_filter_changes (
    seq         INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL
);

CREATE TRIGGER event_filter_days_update AFTER UPDATE OF priority, service ON incidents
    WHEN old.priority IS NOT new.priority OR old.service IS NOT new.service BEGIN
    INSERT INTO event_filter_days (day, version)
        SELECT DISTINCT received_at / 86400000000000, 1 FROM events WHERE incident_id = new.id
        ON CONFLICT (day) DO UPDATE SET version = version + 1;
    INSERT INTO incident_filter_changes (incident_id) VALUES (new.id);
    DELETE FROM incident_filter_changes WHERE seq <= (SELECT MAX(seq) FROM incident_filter_changes) - 4096;
END;

CREATE TRIGGER event_filter_days_delete AFTER DELETE ON incidents BEGIN
    INSERT INTO event_filter_days (day, version)
        SELECT DISTINCT received_at / 86400000000000, 1 FROM events WHERE incident_id = old.id
        ON CONFLICT (day) DO UPDATE SET version = version + 1;
    INSERT INTO incident_filter_changes (incident_id) VALUES (old.id);
    DELETE FROM incident_filter_changes WHERE seq <= (SELECT MAX(seq) FROM incident_filter_changes) - 4096;
END;
