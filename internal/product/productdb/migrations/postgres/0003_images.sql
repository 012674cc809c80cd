-- Uploaded pictures, named by the SHA-256 of their original. Their files
-- live in the blob store; a product's body lists them in order (with
-- their alt text), and product_images says which products hold which, so
-- that a picture two products share stays while one holds it.
--
-- A picture is pending while its upload is under way (released_at NULL,
-- no product yet), referenced, or released (no product any more): the
-- image sweeper deletes released pictures' files, then their row.
-- Products whose images were linked URLs keep them as they are.
CREATE TABLE images (
    hash         TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,    -- of the original: image/jpeg or image/png
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    bytes        BIGINT  NOT NULL,
    touched_at   BIGINT NOT NULL,  -- unix microseconds of the last upload
    released_at  BIGINT            -- when the last product let go of it
);
CREATE INDEX images_released ON images (released_at) WHERE released_at IS NOT NULL;
CREATE INDEX images_touched ON images (touched_at);

CREATE TABLE product_images (
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL REFERENCES images (hash),
    PRIMARY KEY (product_id, hash)
);
CREATE INDEX product_images_hash ON product_images (hash);
