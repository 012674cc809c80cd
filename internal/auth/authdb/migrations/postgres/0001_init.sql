-- Times are unix microseconds.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE, -- lower-cased by the service
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,        -- argon2id, PHC string format
    created_at    BIGINT NOT NULL
);

-- Refresh tokens are stored only as the SHA-256 of the client's secret. A
-- family is the chain of rotations started by one login.
CREATE TABLE refresh_tokens (
    hash       BYTEA PRIMARY KEY,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT, -- set when rotated
    revoked_at BIGINT  -- set on the whole family at logout or reuse
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Ed25519 signing keys shared by every auth instance; one per rotation period.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    period_start BIGINT NOT NULL UNIQUE, -- unix seconds
    seed         BYTEA NOT NULL,
    public_key   BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX signing_keys_created ON signing_keys (created_at);
