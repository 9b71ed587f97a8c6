-- Accepted HMAC signatures, remembered until they expire so that a captured
-- request cannot be replayed: not after a restart, not to another daemon on
-- the same database. Written in the transaction of the request's effects,
-- so a request that did not commit leaves none behind. nonce is the hex
-- SHA-256 of the signature; expires_at is in Unix nanoseconds.
CREATE TABLE nonces (
    source     TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (source, nonce)
);
CREATE INDEX nonces_expires_at ON nonces (expires_at);

-- One row that the periodic sweep rewrites, so that an idle daemon notices
-- as soon as the store cannot commit (disk full, read-only) and /-/ready
-- says so. at is the time of the last successful sweep; headroom is filled
-- and emptied again within each sweep's transaction (see Tx.Heartbeat).
CREATE TABLE heartbeat (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    at       INTEGER NOT NULL,
    headroom BLOB
);
INSERT INTO heartbeat (id, at) VALUES (1, 0);
