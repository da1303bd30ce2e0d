"""The database: migrations, schema-too-new refusal, connections, transactions, key/value state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.store.db import Database, DatabaseMissing, Fts5Unavailable, SchemaTooNew, migrations


async def test_fresh_database_gets_every_migration(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "data" / "bot.sqlite3")
    try:
        async with db.read() as conn:
            version = (await conn.execute_fetchall("PRAGMA user_version"))[0][0]
            tables = {row[0] for row in await conn.execute_fetchall("SELECT name FROM sqlite_master")}
            journal = (await conn.execute_fetchall("PRAGMA journal_mode"))[0][0]
            foreign_keys = (await conn.execute_fetchall("PRAGMA foreign_keys"))[0][0]
    finally:
        await db.close()
    assert version == migrations()[-1].version
    assert {"articles", "related", "providers", "article_topics", "files", "loads", "bot_state"} <= tables
    assert "articles_fts" in tables
    assert journal == "wal"
    assert foreign_keys == 1


def test_migrations_are_numbered_from_one() -> None:
    found = migrations()
    assert [migration.version for migration in found] == list(range(1, len(found) + 1))
    assert found[0].name == "0001_initial.sql"


async def test_reopening_keeps_data_and_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    await db.set_state("commands", "abc")
    await db.close()
    db = await Database.open(path)
    try:
        assert await db.get_state("commands") == "abc"
        assert await db.get_state("missing") is None
        await db.set_state("commands", "def")
        assert await db.get_state("commands") == "def"
    finally:
        await db.close()


async def test_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await (await Database.open(path)).close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(SchemaTooNew) as refused:
        await Database.open(path)
    message = str(refused.value)
    assert str(path) in message
    assert "schema version 99" in message
    assert f"only knows up to {migrations()[-1].version}" in message
    assert "upgrade digestbot" in message


async def test_open_without_create_needs_an_existing_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseMissing):
        await Database.open(tmp_path / "absent.sqlite3", create=False)
    assert not (tmp_path / "absent.sqlite3").exists()


async def test_write_rolls_back_on_error_and_commits_otherwise(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    try:
        with pytest.raises(RuntimeError):
            async with db.write() as conn:
                await conn.execute("INSERT INTO bot_state (key, value) VALUES ('a', '1')")
                raise RuntimeError("midway")
        assert await db.get_state("a") is None
        async with db.write() as conn:
            await conn.execute("INSERT INTO bot_state (key, value) VALUES ('a', '2')")
        assert await db.get_state("a") == "2"
        assert not db.write_lock.locked()
    finally:
        await db.close()


async def test_readers_cannot_write(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    try:
        with pytest.raises(sqlite3.OperationalError):
            async with db.read() as conn:
                await conn.execute("INSERT INTO bot_state (key, value) VALUES ('a', '1')")
    finally:
        await db.close()


async def test_reader_sees_a_snapshot_while_a_write_is_open(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    try:
        await db.set_state("k", "old")
        async with db.write() as conn:
            await conn.execute("UPDATE bot_state SET value = 'new' WHERE key = 'k'")
            assert await db.get_state("k") == "old"
        assert await db.get_state("k") == "new"
    finally:
        await db.close()


async def test_a_sqlite_without_fts5_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_connect = sqlite3.connect

    class NoFts5:
        def __init__(self) -> None:
            self.conn = real_connect(":memory:")

        def execute(self, sql: str) -> None:
            if "USING fts5" in sql:
                raise sqlite3.OperationalError("no such module: fts5")
            self.conn.execute(sql)

        def close(self) -> None:
            self.conn.close()

    def connect(target: str, *args: object, **kwargs: object) -> object:
        return NoFts5() if target == ":memory:" else real_connect(target, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    with pytest.raises(Fts5Unavailable, match="lacks the FTS5 full-text extension"):
        await Database.open(tmp_path / "x.sqlite3")
