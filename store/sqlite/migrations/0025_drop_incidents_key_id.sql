-- Issue 13: incidents_key_id (correlation_key, id) is read by no query
-- (a key's queries search incidents_active_key or incidents_key_resolved,
-- which lead with the key too; TestKeyQueriesSearchByKey), and every
-- new incident wrote a leaf of it at its key's place: about 2.3 of the 55
-- pages a commit wrote under one alert per notification.
DROP INDEX incidents_key_id;
