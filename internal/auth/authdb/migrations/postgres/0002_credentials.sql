-- Service credentials: bearer tokens "vtc_<id>_<secret>" for trusted
-- servers (a checkout reporting purchases). Only the SHA-256 of the 256-bit
-- random secret is kept: a slow hash adds nothing at that entropy, and a
-- leaked table yields no usable token. Rows stay after revocation, as the
-- record of what existed.
CREATE TABLE credentials (
    id          TEXT PRIMARY KEY,  -- UUIDv7
    name        TEXT NOT NULL,
    scopes      TEXT NOT NULL,     -- space-separated
    secret_hash BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT             -- set once, by revocation
);
