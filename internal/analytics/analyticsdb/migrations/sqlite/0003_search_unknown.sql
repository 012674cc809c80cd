-- For each query that found nothing, the words of it that the catalog
-- holds in no form (exactly, with typos, as a prefix, split or joined, or
-- through a synonym), as the search service last reported them: the
-- zero-result report shows them, since a synonym is what would help.
CREATE TABLE search_unknown (
    query TEXT NOT NULL PRIMARY KEY,
    words TEXT NOT NULL, -- space-separated; empty when every word was known
    at    INTEGER NOT NULL -- unix seconds of the event that said so
) WITHOUT ROWID;
