CREATE TABLE categories (
    slug       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    parent     TEXT REFERENCES categories (slug),
    created_at INTEGER NOT NULL
);
CREATE INDEX categories_parent ON categories (parent);

CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    brand       TEXT NOT NULL,
    category    TEXT REFERENCES categories (slug),
    status      TEXT NOT NULL,
    price_min   INTEGER NOT NULL,
    price_max   INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    in_stock    INTEGER NOT NULL,
    sales_count INTEGER NOT NULL DEFAULT 0,
    view_count  INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL, -- unix microseconds
    updated_at  INTEGER NOT NULL,
    body        TEXT NOT NULL     -- description, tags, attributes, images, variants
);
CREATE INDEX products_newest ON products (status, created_at, id);
CREATE INDEX products_price ON products (status, price_min, id);
CREATE INDEX products_name ON products (status, name, id);
CREATE INDEX products_sales ON products (status, sales_count, id);
CREATE INDEX products_category ON products (category, status, created_at, id);
CREATE INDEX products_brand ON products (brand, status);

CREATE TABLE product_skus (
    sku        TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE
);
CREATE INDEX product_skus_product ON product_skus (product_id);

CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB NOT NULL,
    product_id   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- The outbox table is created by package outbox (outbox.Migrate).
