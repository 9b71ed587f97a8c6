-- Issue 13: every new alert's timeline entry was a round trip of its own,
-- for the ID it returned. The writer now takes IDs in blocks: one nextval
-- gives the block [value, value + increment), and the entries it numbers
-- are sent with the transaction's next statement (tx.AddTimeline). An
-- insert that takes its ID by default still gets a value no block holds.
ALTER TABLE timeline ALTER COLUMN id SET INCREMENT BY 64;
