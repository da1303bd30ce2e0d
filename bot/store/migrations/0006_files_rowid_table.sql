-- `files` becomes an ordinary rowid table with a unique `name`. As a WITHOUT ROWID table its rows (about
-- 1.5 KB each, most of it the stored article JSON) were too large for a page, so nearly every row spilled
-- into an overflow page of its own: the table took two thirds of a small-article database, and a load's
-- inserts into it and its commit wrote all those pages. A rowid table keeps the large rows on ordinary
-- pages and `name` in a small unique index; `ON CONFLICT (name)` upserts use that index.

PRAGMA legacy_alter_table = OFF;

CREATE TABLE files_new (
    name         TEXT NOT NULL UNIQUE,
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('ok', 'rejected')),
    reason       TEXT,
    url          TEXT,
    published_at INTEGER,
    id_hint      TEXT,
    fingerprint  TEXT,
    article      TEXT
);
INSERT INTO files_new (name, size, mtime_ns, hash, status, reason, url, published_at, id_hint, fingerprint,
    article)
SELECT name, size, mtime_ns, hash, status, reason, url, published_at, id_hint, fingerprint, article
FROM files ORDER BY name;
DROP TABLE files;
ALTER TABLE files_new RENAME TO files;
CREATE INDEX files_url ON files (url) WHERE url IS NOT NULL;
