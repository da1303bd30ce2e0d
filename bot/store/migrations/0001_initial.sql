-- The corpus store: articles with related coverage, topics and providers, the files they came from,
-- a record of every load, and the FTS5 index searched by people.
--
-- Timestamps in `articles`, `related` and `files` are unix seconds (UTC); `loads` keeps ISO 8601 text.

-- Small runtime key/value state (e.g. the hash of the last synced slash-command tree).
CREATE TABLE bot_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per applied corpus load; `seq` is the load's sequence number that articles remember.
CREATE TABLE loads (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    corpus_path TEXT NOT NULL,
    added       INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    articles    INTEGER NOT NULL DEFAULT 0,
    rejected    TEXT NOT NULL DEFAULT '[]',  -- JSON [{"file", "reason", "kept_previous"}]
    duplicates  TEXT NOT NULL DEFAULT '[]'   -- JSON [{"file", "duplicate_of"}]
);

-- Every corpus file seen, with the stat and content hash that make reloads incremental. `article` is the
-- JSON of the file's last good normalised article: a file that breaks keeps it in service, and when a
-- duplicate is deleted the winner among the remaining files is recomputed without re-parsing them.
CREATE TABLE files (
    name         TEXT PRIMARY KEY,
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
) WITHOUT ROWID;
CREATE INDEX files_url ON files (url) WHERE url IS NOT NULL;

-- Providers have '' (never NULL) for a missing name or domain so that the pair can be unique.
CREATE TABLE providers (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL DEFAULT '',
    domain TEXT NOT NULL DEFAULT '',
    UNIQUE (name, domain)
);
CREATE INDEX providers_name ON providers (name COLLATE NOCASE);
CREATE INDEX providers_domain ON providers (domain COLLATE NOCASE);

-- `url` (canonical) is an article's identity, `id` what people type. `first_load` is the load that first
-- saw the URL (digests tell new from existing with it); `last_load` the load that last added or changed
-- the article's content. `fingerprint` is a hash of the content, telling updated from unchanged.
-- `fts_key` orders the full-text index by quality (then insertion): see bot/store/articles.py `search`.
CREATE TABLE articles (
    rowid          INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    url            TEXT NOT NULL UNIQUE,
    title          TEXT NOT NULL,
    excerpt        TEXT,
    related_titles TEXT,
    original_url   TEXT,
    amp_url        TEXT,
    published_at   INTEGER NOT NULL,
    quality        INTEGER,
    heat           INTEGER,
    published      INTEGER,
    category       TEXT,
    provider_id    INTEGER REFERENCES providers (id),
    image          TEXT,
    images         TEXT NOT NULL DEFAULT '[]',
    secured        TEXT,
    source_file    TEXT NOT NULL,
    first_load     INTEGER NOT NULL,
    last_load      INTEGER NOT NULL,
    fingerprint    TEXT NOT NULL,
    fts_key        INTEGER GENERATED ALWAYS AS (
                       ((max(min(coalesce(quality, -1), 100), -1) + 1) << 40) | rowid
                   ) STORED
);
CREATE UNIQUE INDEX articles_fts_key ON articles (fts_key);
CREATE INDEX articles_published_at ON articles (published_at);
CREATE INDEX articles_quality ON articles (quality, heat);
CREATE INDEX articles_first_load ON articles (first_load);
CREATE INDEX articles_provider ON articles (provider_id);

-- Other outlets' coverage of an article, in the article's order (best quality first).
CREATE TABLE related (
    article         INTEGER NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    title           TEXT NOT NULL,
    url             TEXT NOT NULL,
    excerpt         TEXT,
    provider_name   TEXT,
    provider_domain TEXT,
    published_at    INTEGER,
    quality         INTEGER,
    PRIMARY KEY (article, position)
) WITHOUT ROWID;
CREATE INDEX related_url ON related (url);

CREATE TABLE article_topics (
    article  INTEGER NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    topic    TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (article, position)
) WITHOUT ROWID;
CREATE INDEX article_topics_topic ON article_topics (topic, article);

-- Full-text index over title, excerpt and related titles; the content lives in `articles` and the
-- triggers keep the index exact (the loader writes with INSERT and UPDATE, never INSERT OR REPLACE,
-- so the delete side always fires).
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, excerpt, related_titles,
    content = 'articles', content_rowid = 'fts_key',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, excerpt, related_titles)
    VALUES (new.fts_key, new.title, new.excerpt, new.related_titles);
END;

CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, related_titles)
    VALUES ('delete', old.fts_key, old.title, old.excerpt, old.related_titles);
END;

CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, excerpt, related_titles, quality ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, related_titles)
    VALUES ('delete', old.fts_key, old.title, old.excerpt, old.related_titles);
    INSERT INTO articles_fts (rowid, title, excerpt, related_titles)
    VALUES (new.fts_key, new.title, new.excerpt, new.related_titles);
END;
