-- The Changes page lists each change with the incidents that suspect it:
-- incident_changes read by change, which its primary key (incident_id,
-- change_id) cannot serve without scanning every link.
CREATE INDEX incident_changes_change ON incident_changes (change_id, incident_id);
