-- The API keys of `SqliteTokenStore` (secure-api, feature `sqlite`).
-- A key is kept by its SHA-256, never the key itself. Rows are never purged: a key is a
-- record an administrator made, and a revoked one stays for audit.

CREATE TABLE api_keys (
    -- The key id: not secret, it names the key in listings and audit events.
    id TEXT PRIMARY KEY NOT NULL,
    -- The service account the key belongs to.
    owner TEXT NOT NULL,
    -- What the key is for, as its creator described it.
    name TEXT NOT NULL,
    -- The roles and scopes the key grants, as JSON arrays of strings.
    roles TEXT NOT NULL,
    scopes TEXT NOT NULL,
    -- SHA-256 of the whole key text: 32 bytes.
    hash BLOB NOT NULL CHECK (length(hash) = 32),
    -- Times in seconds since the epoch; NULL: never (expiry), not yet (the others).
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER
);

-- A listing by owner, in the order listings are given.
CREATE INDEX api_keys_owner ON api_keys (owner, created_at, id);
