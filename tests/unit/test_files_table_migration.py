"""Migration 0006 makes `files` a rowid table: every stored file survives it, names stay unique and the
loader's upserts on `name` keep working."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store.db import Database, migrations
from bot.store.loader import load_corpus
from tests.unit.test_loader import write_article

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
MIGRATION = "_files_rowid_table.sql"


async def test_stored_files_survive_and_reloads_still_upsert(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index in range(3):
        write_article(corpus, f"{index}_{index:016x}.txt", title=f"Harbour {index}", url=f"https://e.com/{index}")
    (corpus / "broken.txt").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    path = tmp_path / "store.sqlite3"
    db = await Database.open(path)
    await load_corpus(db, corpus, now=NOW)
    await db.close()

    # Back to the schema just before the migration, with the same rows in the old table.
    version = next(m.version for m in migrations() if m.name.endswith(MIGRATION))
    conn = sqlite3.connect(path)
    before = conn.execute("SELECT * FROM files ORDER BY name").fetchall()
    conn.executescript(
        "BEGIN; CREATE TABLE files_old AS SELECT * FROM files; DROP TABLE files;"
        "CREATE TABLE files (name TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
        " hash TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('ok', 'rejected')), reason TEXT,"
        " url TEXT, published_at INTEGER, id_hint TEXT, fingerprint TEXT, article TEXT) WITHOUT ROWID;"
        "INSERT INTO files SELECT * FROM files_old; DROP TABLE files_old;"
        "CREATE INDEX files_url ON files (url) WHERE url IS NOT NULL;"
        f"PRAGMA user_version = {version - 1}; COMMIT;"
    )
    conn.close()

    db = await Database.open(path)
    try:
        async with db.read() as reader:
            after = list(await reader.execute_fetchall("SELECT * FROM files ORDER BY name"))
            table = list(await reader.execute_fetchall("SELECT sql FROM sqlite_master WHERE name = 'files'"))
        assert after == before and len(after) == 4
        assert "WITHOUT ROWID" not in table[0][0]
        async with db.write() as writer:
            with pytest.raises(sqlite3.IntegrityError):
                await writer.execute(
                    "INSERT INTO files (name, size, mtime_ns, hash, status) VALUES (?, 1, 1, 'x', 'ok')",
                    (after[0][0],),
                )
        write_article(corpus, "1_0000000000000001.txt", title="Harbour changed", url="https://e.com/1")
        report = await load_corpus(db, corpus, now=NOW)
        assert (report.updated, report.added) == (1, 0)
        async with db.read() as reader:
            assert (await reader.execute_fetchall("SELECT count(*) FROM files"))[0][0] == 4
    finally:
        await db.close()
