-- The token store of `SqliteTokenStore` (secure-api, feature `sqlite`).
-- Refresh tokens are kept by the SHA-256 of the token, never the token itself.

CREATE TABLE refresh_tokens (
    -- SHA-256 of the refresh token, hex.
    hash TEXT PRIMARY KEY NOT NULL,
    -- The rotation chain the token belongs to; reuse revokes the whole family.
    family TEXT NOT NULL,
    -- The `Principal` the token was issued to, as JSON.
    principal TEXT NOT NULL,
    -- Expiry, in seconds since the epoch.
    expires_at INTEGER NOT NULL,
    -- 1 once the token was spent (rotated).
    spent INTEGER NOT NULL DEFAULT 0 CHECK (spent IN (0, 1))
);

-- Expired tokens are purged on insert.
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE revoked_families (
    family TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;

CREATE TABLE revoked_access_tokens (
    -- The `jti` claim of the revoked access token.
    jti TEXT PRIMARY KEY NOT NULL,
    -- Revoked until then (the token's own expiry), in seconds since the epoch.
    until INTEGER NOT NULL
);

-- Entries past `until` are purged on insert.
CREATE INDEX revoked_access_tokens_until ON revoked_access_tokens (until);
