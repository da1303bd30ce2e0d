"""The migration that makes digest names unique per server (SQLite's, and PostgreSQL's for a cluster): it
keeps every digest, run, message and delivery of a database written before it, and the keys and cascades
work afterwards."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bot.store import digests as store
from bot.store import runs
from bot.store.db import Database, migrations

MIGRATION = "_per_server_digests.sql"
STAMP = "2026-03-02T09:00:00.000000+00:00"
SETTINGS = (
    '{{"name":"{name}","channel_id":{channel},"schedule":"0 8 * * *","timezone":"UTC","min_quality":40,'
    '"max_articles":5,"max_related":3,"backlog":5,"published_only":false,"max_age_days":null,'
    '"mode":"channel","topics":[],"providers":[],"keywords":[],"log_channel_id":null}}'
)

#: The digests of a database written before the migration: (name, guild, channel, source).
DIGESTS = [
    ("configured", None, 100, "config"), ("morning", 7, 200, "runtime"), ("orphan", None, 300, "runtime"),
]


def database_before_the_migration(path: Path) -> None:
    """A database at the schema just before the migration, holding a config digest, a digest created from
    Discord in server 7, one whose server is not known, their runs, messages and deliveries."""
    known = migrations()
    version = next(m.version for m in known if m.name.endswith(MIGRATION)) - 1
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    for migration in known[:version]:
        conn.executescript(f"BEGIN;\n{migration.sql}\n;PRAGMA user_version = {migration.version};\nCOMMIT;")
    for name, guild, channel, source in DIGESTS:
        conn.execute(
            "INSERT INTO digests (name, guild_id, channel_id, source, settings, watermark, created_at, "
            "schedule_from, last_checked, paused_reason) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
            (name, guild, channel, source, SETTINGS.format(name=name, channel=channel), STAMP, STAMP, STAMP,
             "paused by someone" if name == "orphan" else None),
        )
        conn.execute(
            "INSERT INTO digest_runs (digest, slot_key, kind, fire_time, claimed_at, status, plan) "
            "VALUES (?, '2026-03-02T08:00', 'scheduled', ?, ?, 'posted', '{\"parts\":1}')",
            (name, STAMP, STAMP),
        )
        conn.execute(
            "INSERT INTO run_messages (run_id, part, payload, delivered_urls, message_id, channel_id, "
            "sent_at) VALUES (last_insert_rowid(), 1, '{\"content\":\"x\"}', ?, 55, ?, ?)",
            (f'["https://{name}.example/"]', channel, STAMP),
        )
        conn.execute("INSERT INTO delivered VALUES (?, ?, ?, ?, 1)", (channel, f"https://{name}.example/",
                                                                      STAMP, name))
    conn.execute("INSERT INTO files (name, size, mtime_ns, hash, status) VALUES ('a.md', 1, 1, 'abc', 'ok')")
    conn.commit()
    conn.close()


async def test_the_migration_keeps_every_digest_run_and_message_under_its_new_key(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    database_before_the_migration(path)

    db = await Database.open(path)
    try:
        records = {record.key: record for record in await store.list_digests(db)}
        assert {key: (r.name, r.guild_id, r.source) for key, r in records.items()} == {
            "configured": ("configured", None, "config"),
            "7/morning": ("morning", 7, "runtime"),
            "orphan": ("orphan", None, "runtime"),
        }
        assert records["orphan"].paused_reason == "paused by someone"
        for key in records:
            [entry] = await runs.delivery_log(db, key)
            assert (entry.status, entry.messages_planned, entry.messages_sent) == ("posted", 1, 1)
        async with db.read() as conn:
            broken = await conn.execute_fetchall("PRAGMA foreign_key_check")
            hashes = await conn.execute_fetchall("SELECT hash FROM files")
            digests_sql = (await conn.execute_fetchall(
                "SELECT sql FROM sqlite_master WHERE name = 'digest_runs'"))[0][0]
        assert broken == []
        assert hashes == [("",)], "every file is parsed again by the next load"
        assert "REFERENCES digests (key)" in digests_sql.replace('"', "")

        # The cascade still follows the new key, and what was delivered stays recorded per channel.
        assert await store.delete_digest(db, "7/morning")
        assert await runs.delivery_log(db, "7/morning") == []
        async with db.read() as conn:
            orphaned = await conn.execute_fetchall(
                "SELECT count(*) FROM run_messages WHERE run_id NOT IN (SELECT id FROM digest_runs)")
        assert orphaned == [(0,)]
        assert set(await runs.channel_deliveries(db, 200)) == {"https://morning.example/"}

        # Server 7 may now reuse the name; another server may take it too.
        settings = records["configured"].settings
        now = datetime(2026, 3, 3, tzinfo=UTC)
        again = await store.create_digest(db, replace(settings, name="morning"), guild_id=7, now=now)
        other = await store.create_digest(db, replace(settings, name="morning"), guild_id=8, now=now)
        assert (again.key, other.key) == ("7/morning", "8/morning")
    finally:
        await db.close()


async def postgres_before_the_migration(url: str) -> None:
    """A PostgreSQL state at the schema just before its per-server migration, holding the same digests,
    runs, messages and deliveries as `database_before_the_migration`."""
    known = migrations("migrations_pg")
    version = next(m.version for m in known if m.name.endswith(MIGRATION)) - 1
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for migration in known[:version]:
                await conn.execute(migration.sql)
            await conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
            for name, guild, channel, source in DIGESTS:
                await conn.execute(
                    "INSERT INTO digests (name, guild_id, channel_id, source, settings, watermark, "
                    "created_at, schedule_from, last_checked, paused_reason) "
                    "VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $6, $7)",
                    name, guild, channel, source, SETTINGS.format(name=name, channel=channel), STAMP,
                    "paused by someone" if name == "orphan" else None,
                )
                run_id = await conn.fetchval(
                    "INSERT INTO digest_runs (digest, slot_key, kind, fire_time, claimed_at, status, plan) "
                    "VALUES ($1, '2026-03-02T08:00', 'scheduled', $2, $2, 'posted', '{\"parts\":1}') "
                    "RETURNING id",
                    name, STAMP,
                )
                await conn.execute(
                    "INSERT INTO run_messages (run_id, part, payload, delivered_urls, message_id, "
                    "channel_id, sent_at) VALUES ($1, 1, '{\"content\":\"x\"}', $2, 55, $3, $4)",
                    run_id, f'["https://{name}.example/"]', channel, STAMP,
                )
                await conn.execute("INSERT INTO delivered VALUES ($1, $2, $3, $4, 1)",
                                   channel, f"https://{name}.example/", STAMP, name)
    finally:
        await conn.close()


async def test_the_postgresql_migration_keeps_every_digest_run_and_message_under_its_new_key(
    tmp_path: Path, postgres_url: str
) -> None:
    await postgres_before_the_migration(postgres_url)

    db = await Database.open(tmp_path / "corpus.sqlite3", state_url=postgres_url)
    try:
        records = {record.key: record for record in await store.list_digests(db)}
        assert {key: (r.name, r.guild_id, r.source) for key, r in records.items()} == {
            "configured": ("configured", None, "config"),
            "7/morning": ("morning", 7, "runtime"),
            "orphan": ("orphan", None, "runtime"),
        }
        assert records["orphan"].paused_reason == "paused by someone"
        for key in records:
            [entry] = await runs.delivery_log(db, key)
            assert (entry.status, entry.messages_planned, entry.messages_sent) == ("posted", 1, 1)

        assert await store.delete_digest(db, "7/morning")
        assert await runs.delivery_log(db, "7/morning") == []
        async with db.state.read() as conn:
            orphaned = await conn.fetch(
                "SELECT count(*) FROM run_messages WHERE run_id NOT IN (SELECT id FROM digest_runs)")
        assert orphaned == [(0,)]
        assert set(await runs.channel_deliveries(db, 200)) == {"https://morning.example/"}

        settings = records["configured"].settings
        now = datetime(2026, 3, 3, tzinfo=UTC)
        again = await store.create_digest(db, replace(settings, name="morning"), guild_id=7, now=now)
        other = await store.create_digest(db, replace(settings, name="morning"), guild_id=8, now=now)
        assert (again.key, other.key) == ("7/morning", "8/morning")
    finally:
        await db.close()
