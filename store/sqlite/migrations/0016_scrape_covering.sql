-- A /metrics scrape counts the open backlog by priority and by age, and the
-- outbox by sink and state (issue 13: the scrape took 12-20 ms at 100k
-- incidents, most of it looking up each active incident's row, and each
-- outbox row, for one or two columns). These indexes hold those columns,
-- so the counts read the index alone: a few pages instead of a row each.
-- An incident pays one more index entry on insert and on a change of
-- state or priority, never per alert; outbox_due gains a column, no entry.
CREATE INDEX incidents_state_priority ON incidents (state, priority, opened_at);
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (sink, state, next_attempt_at, created_at);
