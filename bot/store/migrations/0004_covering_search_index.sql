-- Search filters checked per match read a covering index instead of the wide `articles` row: with the
-- filtered columns (`published_at`, `provider_id`, `published`) beside `fts_key`, the walk of FTS5 matches
-- joins this index alone (bot/store/articles.py `_walk_sql`), so a filtered search costs about the same
-- at 100,000 articles as at 3,000. `fts_key` holds the rowid in its low bits, so it stays unique.
DROP INDEX articles_fts_key;
CREATE UNIQUE INDEX articles_fts_key ON articles (fts_key, published_at, provider_id, published);
