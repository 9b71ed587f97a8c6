-- Token buckets that replicas share: a source's rate limit holds across
-- every replica it sends to, not once per replica.
CREATE TABLE rate_buckets (
    key          TEXT COLLATE "C" PRIMARY KEY,
    tokens       DOUBLE PRECISION NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_allowed BOOLEAN NOT NULL
);
