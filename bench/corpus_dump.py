"""Everything a corpus load stored, as sorted text lines: two loads of the same files by two versions of the
loader must give identical dumps (`diff` them).

Usage: ``python bench/corpus_dump.py DB OUT``

Dumped: providers, articles (every column, ids, fingerprints and `fts_key` included), related coverage,
topics, files (everything but `mtime_ns`, which differs between copies of a corpus, and with each file's
stored article JSON), the loads' counts, rejections and duplicates (not their times or folder), the full-text
index's logical content (every term's document, column and offset, read through `fts5vocab`, so two indexes
with the same content but different segment layouts compare equal) and the schema. The FTS index's
integrity is checked against its content table first.
"""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Sequence

QUERIES = {
    "providers": "SELECT * FROM providers ORDER BY id",
    "articles": "SELECT rowid, *, fts_key FROM articles ORDER BY rowid",
    "related": "SELECT * FROM related ORDER BY article, position",
    "topics": "SELECT * FROM article_topics ORDER BY article, position",
    "files": (
        "SELECT name, size, hash, status, reason, url, published_at, id_hint, fingerprint, article "
        "FROM files ORDER BY name"
    ),
    "loads": (
        "SELECT seq, added, updated, unchanged, removed, articles, rejected, duplicates FROM loads "
        "ORDER BY seq"
    ),
    "fts": "SELECT term, doc, col, offset FROM temp.fts_terms ORDER BY term, doc, col, offset",
    "schema": "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",
}


def dump(database: str, out: str) -> dict[str, int]:
    """Writes the dump of `database` to `out`; returns the number of lines per table."""
    conn = sqlite3.connect(f"file:{database}?mode=rw", uri=True)  # the FTS integrity check needs rw
    counts: dict[str, int] = {}
    try:
        conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
        conn.execute("CREATE VIRTUAL TABLE temp.fts_terms USING fts5vocab(main, articles_fts, instance)")
        with open(out, "w", encoding="utf-8") as handle:
            for label, query in QUERIES.items():
                counts[label] = 0
                for row in conn.execute(query):
                    handle.write(f"{label}\t{row!r}\n")
                    counts[label] += 1
    finally:
        conn.close()
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database")
    parser.add_argument("out")
    args = parser.parse_args(argv)
    for label, count in dump(args.database, args.out).items():
        print(f"{label:10} {count:>9,} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
