-- Publication dates become terms of the full-text index, so a search within dates is answered by FTS5
-- intersecting doclists instead of walking every match of the words and checking each one's date.
--
-- Each article's UTC publication day is indexed as three terms in a fourth column, `fts_dates`: its year
-- (`y2022`), month (`m202203`) and day (`d20220315`). A date range is the union of the fewest such terms
-- (bot/store/articles.py `date_terms`). User text never reaches this column: every search and digest
-- keyword is matched in the three text columns only (bot/store/fts.py `in_text`). Its bm25 weight is 0.
--
-- `fts_dates` is a virtual generated column of `articles`, so nothing stores it twice and no writer has to
-- fill it in. The index is rebuilt once from the articles; the triggers now also follow a changed date.

DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_delete;
DROP TRIGGER articles_fts_update;
DROP TABLE articles_fts;

ALTER TABLE articles ADD COLUMN fts_dates TEXT
    GENERATED ALWAYS AS (strftime('y%Y m%Y%m d%Y%m%d', published_at, 'unixepoch')) VIRTUAL;

CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, excerpt, related_titles, fts_dates,
    content = 'articles', content_rowid = 'fts_key',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, excerpt, related_titles, fts_dates)
    VALUES (new.fts_key, new.title, new.excerpt, new.related_titles, new.fts_dates);
END;

CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, related_titles, fts_dates)
    VALUES ('delete', old.fts_key, old.title, old.excerpt, old.related_titles, old.fts_dates);
END;

CREATE TRIGGER articles_fts_update
AFTER UPDATE OF title, excerpt, related_titles, quality, published_at ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, related_titles, fts_dates)
    VALUES ('delete', old.fts_key, old.title, old.excerpt, old.related_titles, old.fts_dates);
    INSERT INTO articles_fts (rowid, title, excerpt, related_titles, fts_dates)
    VALUES (new.fts_key, new.title, new.excerpt, new.related_titles, new.fts_dates);
END;
