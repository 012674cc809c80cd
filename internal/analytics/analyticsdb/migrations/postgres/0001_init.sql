-- Text keys use the "C" collation: byte order, as on SQLite, and cheaper.

-- Products of the catalog, fed by the catalog stream. A deletion stays as a
-- tombstone, so a late, older upsert cannot bring the product back.
CREATE TABLE known_products (
    product_id TEXT COLLATE "C" PRIMARY KEY,
    version    BIGINT NOT NULL,
    deleted    SMALLINT NOT NULL -- 0 or 1
);

-- Ids of counted events, kept until pruned so that replays count once.
CREATE TABLE client_events (
    id TEXT COLLATE "C" PRIMARY KEY,
    at BIGINT NOT NULL -- unix seconds of the event
);
CREATE INDEX client_events_at ON client_events (at);

CREATE TABLE search_events (
    id TEXT COLLATE "C" PRIMARY KEY,
    at BIGINT NOT NULL
);
CREATE INDEX search_events_at ON search_events (at);

-- Rollups, updated in the transaction that stores the event ids. minute and
-- hour are unix seconds at the start of the bucket. Hourly rows spare the
-- 24h and 7d reports from summing thousands of minutes per product.
CREATE TABLE product_minute (
    product_id TEXT COLLATE "C" NOT NULL,
    minute     BIGINT NOT NULL,
    views      BIGINT NOT NULL,
    carts      BIGINT NOT NULL,
    purchases  BIGINT NOT NULL,
    units_sold BIGINT NOT NULL,
    PRIMARY KEY (product_id, minute)
);
CREATE INDEX product_minute_minute ON product_minute (minute);

CREATE TABLE product_hour (
    product_id TEXT COLLATE "C" NOT NULL,
    hour       BIGINT NOT NULL,
    views      BIGINT NOT NULL,
    carts      BIGINT NOT NULL,
    purchases  BIGINT NOT NULL,
    units_sold BIGINT NOT NULL,
    PRIMARY KEY (product_id, hour)
);
CREATE INDEX product_hour_hour ON product_hour (hour);

CREATE TABLE search_minute (
    query        TEXT COLLATE "C" NOT NULL, -- normalised
    minute       BIGINT NOT NULL,
    searches     BIGINT NOT NULL,
    zero_results BIGINT NOT NULL,
    PRIMARY KEY (query, minute)
);
CREATE INDEX search_minute_minute ON search_minute (minute);

CREATE TABLE search_hour (
    query        TEXT COLLATE "C" NOT NULL,
    hour         BIGINT NOT NULL,
    searches     BIGINT NOT NULL,
    zero_results BIGINT NOT NULL,
    PRIMARY KEY (query, hour)
);
CREATE INDEX search_hour_hour ON search_hour (hour);

-- Every counter of a minute, all products and queries together: the summary.
CREATE TABLE summary_minute (
    minute       BIGINT PRIMARY KEY,
    views        BIGINT NOT NULL,
    carts        BIGINT NOT NULL,
    purchases    BIGINT NOT NULL,
    units_sold   BIGINT NOT NULL,
    searches     BIGINT NOT NULL,
    zero_results BIGINT NOT NULL
);

-- All-time counters per product, never pruned. rev grows when views or
-- units_sold change; published_rev is the rev last published as stats, so
-- rev > published_rev marks the products to publish next.
CREATE TABLE product_totals (
    product_id    TEXT COLLATE "C" PRIMARY KEY,
    views         BIGINT NOT NULL,
    carts         BIGINT NOT NULL,
    purchases     BIGINT NOT NULL,
    units_sold    BIGINT NOT NULL,
    rev           BIGINT NOT NULL,
    published_rev BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX product_totals_unpublished ON product_totals (product_id) WHERE rev > published_rev;
