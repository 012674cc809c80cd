-- What one shopper (a hash of a user id or client address) had counted:
-- each (product, type) once per dedupe window, and how many events per
-- hour, so that no single shopper moves rankings alone. Pruned after an
-- hour or two.
CREATE TABLE shopper_events (
    shopper    BLOB NOT NULL,
    product_id TEXT NOT NULL,
    type       TEXT NOT NULL,
    bucket     INTEGER NOT NULL, -- unix seconds at the start of the window
    PRIMARY KEY (shopper, product_id, type, bucket)
) WITHOUT ROWID;
CREATE INDEX shopper_events_bucket ON shopper_events (bucket);

CREATE TABLE shopper_hours (
    shopper BLOB NOT NULL,
    hour    INTEGER NOT NULL,
    events  INTEGER NOT NULL, -- events that asked to count, over the cap included
    PRIMARY KEY (shopper, hour)
) WITHOUT ROWID;
CREATE INDEX shopper_hours_hour ON shopper_hours (hour);
