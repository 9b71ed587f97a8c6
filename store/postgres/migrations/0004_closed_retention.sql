-- Issue 13, "bounded over months": an incident becomes closed a while
-- after it resolves (closed_at), and retention later deletes the history
-- of closed incidents (events, timeline, alerts), noting when it did
-- (history_deleted_at). The incident rows stay, so the figures of reports
-- (MTTA, MTTR, SLA attainment, opened per day) stay exact.
ALTER TABLE incidents DROP CONSTRAINT incidents_state_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_state_check
    CHECK (state IN ('pending', 'open', 'acknowledged', 'resolved', 'closed'));
ALTER TABLE incidents ADD COLUMN closed_at BIGINT;
ALTER TABLE incidents ADD COLUMN history_deleted_at BIGINT;

-- The sweep closes resolved incidents in order of resolve.
CREATE INDEX incidents_to_close ON incidents (resolved_at) WHERE state = 'resolved';
-- Retention finds the closed incidents whose history is still kept, and
-- deletes their events, and the events no incident holds by age (only
-- those are in the partial index).
CREATE INDEX incidents_to_forget ON incidents (closed_at, id) WHERE state = 'closed' AND history_deleted_at IS NULL;
CREATE INDEX events_incident ON events (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX events_unattached ON events (received_at) WHERE incident_id IS NULL;
