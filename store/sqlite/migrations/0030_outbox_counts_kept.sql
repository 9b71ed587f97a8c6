-- Issue 13: every /metrics scrape counted the outbox by sink and state,
-- and each sink's oldest pending row, from outbox_due (migration 0016),
-- entry by entry: 0.7 ms of a scrape's CPU under ingest on the seeded
-- store's 4,000 rows, and more the longer a sink is down, when the
-- outbox grows and those figures are watched most.
--
-- outbox_counts keeps each sink's rows by state, by the triggers below,
-- in the writer's transaction; an update that changes neither the sink
-- nor the state changes nothing. A sink's oldest pending row is the
-- first entry of outbox_pending_age, partial on the pending rows. The
-- scrape now reads a few rows and one index entry a sink, whatever the
-- outbox holds (outbox.go); TestOutboxCountsEqualTheRows compares them
-- with the rows themselves.
CREATE TABLE outbox_counts (
    sink  TEXT    NOT NULL,
    state TEXT    NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (sink, state)
) WITHOUT ROWID;

INSERT INTO outbox_counts (sink, state, n) SELECT sink, state, COUNT(*) FROM outbox GROUP BY sink, state;

CREATE INDEX outbox_pending_age ON outbox (sink, created_at) WHERE state = 'pending';

CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox BEGIN
    INSERT INTO outbox_counts (sink, state, n) VALUES (new.sink, new.state, 1)
        ON CONFLICT (sink, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE sink = old.sink AND state = old.state;
END;

CREATE TRIGGER outbox_counts_update AFTER UPDATE ON outbox
    WHEN old.state IS NOT new.state OR old.sink IS NOT new.sink BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE sink = old.sink AND state = old.state;
    INSERT INTO outbox_counts (sink, state, n) VALUES (new.sink, new.state, 1)
        ON CONFLICT (sink, state) DO UPDATE SET n = n + 1;
END;
