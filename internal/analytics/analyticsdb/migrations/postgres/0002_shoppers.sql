-- What one shopper (a hash of a user id or client address) had counted:
-- each (product, type) once per dedupe window, and how many events per
-- hour, so that no single shopper moves rankings alone. Pruned after an
-- hour or two.
CREATE TABLE shopper_events (
    shopper    BYTEA NOT NULL,
    product_id TEXT COLLATE "C" NOT NULL,
    type       TEXT COLLATE "C" NOT NULL,
    bucket     BIGINT NOT NULL, -- unix seconds at the start of the window
    PRIMARY KEY (shopper, product_id, type, bucket)
);
CREATE INDEX shopper_events_bucket ON shopper_events (bucket);

CREATE TABLE shopper_hours (
    shopper BYTEA NOT NULL,
    hour    BIGINT NOT NULL,
    events  BIGINT NOT NULL, -- events that asked to count, over the cap included
    PRIMARY KEY (shopper, hour)
);
CREATE INDEX shopper_hours_hour ON shopper_hours (hour);
