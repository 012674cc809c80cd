-- Bulk imports run in the background of the instance that received the
-- file; their status is kept here so that any instance can answer for it.
-- doc is the job as the API shows it (JSON), rewritten as the job goes.
CREATE TABLE import_jobs (
    id         TEXT PRIMARY KEY,
    doc        TEXT NOT NULL,
    created_at BIGINT NOT NULL, -- unix microseconds
    updated_at BIGINT NOT NULL
);
