-- Products of the catalog, fed by the catalog stream. A deletion stays as a
-- tombstone, so a late, older upsert cannot bring the product back.
CREATE TABLE known_products (
    product_id TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    deleted    INTEGER NOT NULL -- 0 or 1
) WITHOUT ROWID;

-- Ids of counted events, kept until pruned so that replays count once.
CREATE TABLE client_events (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL -- unix seconds of the event
) WITHOUT ROWID;
CREATE INDEX client_events_at ON client_events (at);

CREATE TABLE search_events (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX search_events_at ON search_events (at);

-- Rollups, updated in the transaction that stores the event ids. minute and
-- hour are unix seconds at the start of the bucket. Hourly rows spare the
-- 24h and 7d reports from summing thousands of minutes per product.
CREATE TABLE product_minute (
    product_id TEXT NOT NULL,
    minute     INTEGER NOT NULL,
    views      INTEGER NOT NULL,
    carts      INTEGER NOT NULL,
    purchases  INTEGER NOT NULL,
    units_sold INTEGER NOT NULL,
    PRIMARY KEY (product_id, minute)
) WITHOUT ROWID;
CREATE INDEX product_minute_minute ON product_minute (minute);

CREATE TABLE product_hour (
    product_id TEXT NOT NULL,
    hour       INTEGER NOT NULL,
    views      INTEGER NOT NULL,
    carts      INTEGER NOT NULL,
    purchases  INTEGER NOT NULL,
    units_sold INTEGER NOT NULL,
    PRIMARY KEY (product_id, hour)
) WITHOUT ROWID;
CREATE INDEX product_hour_hour ON product_hour (hour);

CREATE TABLE search_minute (
    query        TEXT NOT NULL, -- normalised
    minute       INTEGER NOT NULL,
    searches     INTEGER NOT NULL,
    zero_results INTEGER NOT NULL,
    PRIMARY KEY (query, minute)
) WITHOUT ROWID;
CREATE INDEX search_minute_minute ON search_minute (minute);

CREATE TABLE search_hour (
    query        TEXT NOT NULL,
    hour         INTEGER NOT NULL,
    searches     INTEGER NOT NULL,
    zero_results INTEGER NOT NULL,
    PRIMARY KEY (query, hour)
) WITHOUT ROWID;
CREATE INDEX search_hour_hour ON search_hour (hour);

-- Every counter of a minute, all products and queries together: the summary.
CREATE TABLE summary_minute (
    minute       INTEGER PRIMARY KEY,
    views        INTEGER NOT NULL,
    carts        INTEGER NOT NULL,
    purchases    INTEGER NOT NULL,
    units_sold   INTEGER NOT NULL,
    searches     INTEGER NOT NULL,
    zero_results INTEGER NOT NULL
);

-- All-time counters per product, never pruned. rev grows when views or
-- units_sold change; published_rev is the rev last published as stats, so
-- rev > published_rev marks the products to publish next.
CREATE TABLE product_totals (
    product_id    TEXT PRIMARY KEY,
    views         INTEGER NOT NULL,
    carts         INTEGER NOT NULL,
    purchases     INTEGER NOT NULL,
    units_sold    INTEGER NOT NULL,
    rev           INTEGER NOT NULL,
    published_rev INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX product_totals_unpublished ON product_totals (product_id) WHERE rev > published_rev;
