-- Secrets every instance of the service must share, created once by
-- whichever instance needs one first.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
