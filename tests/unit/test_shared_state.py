"""Shared state in PostgreSQL: several processes (each with its own SQLite corpus) sharing one database —
digests, exactly-once claims, delivered URLs, the cluster's corpus loads — and its migrations."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.config import DigestDefaults, DigestSettings, digest_settings_from_mapping
from bot.digest.model import Plan, PlannedMessage
from bot.store import candidates, runs
from bot.store import digests as store
from bot.store.articles import current_load_seq
from bot.store.cluster_loads import cluster_load_seq
from bot.store.db import Database, MigrationFailed, SchemaTooNew, StateUnavailable, migrations
from bot.store.loader import load_corpus
from bot.store.postgres import translate

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANNEL = 111
#: The key of the digest the tests create from Discord in server 5 (`store.digest_key`).
MORNING = "5/morning"

Opener = Callable[[str], Awaitable[Database]]


def digest(name: str = "morning", **overrides: Any) -> DigestSettings:
    data = {"name": name, "channel_id": CHANNEL, "schedule": "0 8 * * *", **overrides}
    return digest_settings_from_mapping(data, DigestDefaults(), where="digests[0]", file=None)


def one_message_plan(name: str, url: str) -> Plan:
    payload = {"content": url, "embeds": [], "allowed_mentions": {"parse": []}}
    return Plan(name, (PlannedMessage(payload=payload, article_ids=("a",), delivered_urls=(url,)),))


@pytest.fixture
async def process(tmp_path: Path, postgres_url: str) -> AsyncIterator[Opener]:
    """Opens the store of one bot process: its own SQLite file, the shared PostgreSQL database."""
    opened: list[Database] = []

    async def open_process(name: str) -> Database:
        database = await Database.open(tmp_path / f"{name}.sqlite3", state_url=postgres_url)
        opened.append(database)
        return database

    yield open_process
    for database in opened:
        await database.close()


async def test_processes_share_digests_and_keep_none_in_their_own_file(process: Opener) -> None:
    first, second = await process("first"), await process("second")
    await store.create_digest(first, digest(), guild_id=5, now=T0)

    assert [record.name for record in await store.list_digests(second)] == ["morning"]
    with pytest.raises(store.DuplicateDigest):
        await store.create_digest(second, digest(), guild_id=5, now=T0)
    async with first.read() as conn:
        assert await conn.execute_fetchall("SELECT name FROM digests") == []


async def test_a_slot_claimed_by_two_processes_at_once_is_claimed_once(process: Opener) -> None:
    first, second = await process("first"), await process("second")
    await store.create_digest(first, digest(), guild_id=5, now=T0)
    plan = one_message_plan("morning", "https://x.test/1")

    for round_ in range(5):  # both transactions run at once, on two connections, every round
        slot = f"2026-03-0{round_ + 3}T08:00"
        claims = await asyncio.gather(*(
            runs.claim_run(database, MORNING, slot, kind="scheduled", fire_time=T0, plan=plan, now=T0)
            for database in (first, second)
        ))
        assert sum(claim is not None for claim in claims) == 1, slot
    assert len(await runs.delivery_log(second, MORNING, limit=50)) == 5


async def test_a_successor_finishes_the_run_its_predecessor_claimed(process: Opener) -> None:
    old = await process("old")
    await store.create_digest(old, digest(), guild_id=5, now=T0)
    claimed = await runs.claim_run(old, MORNING, "s1", kind="scheduled", fire_time=T0, now=T0,
                                   plan=one_message_plan("morning", "https://x.test/1"))
    assert claimed is not None
    await old.close()

    new = await process("new")
    [pending] = await runs.unfinished_runs(new, MORNING)
    assert pending.id == claimed.id and pending.next_part is not None
    await runs.record_sent(new, pending.id, 1, message_id=9, channel_id=CHANNEL, now=T0)
    await runs.finish_run(new, pending.id, "posted", now=T0)
    assert await runs.unfinished_runs(new, MORNING) == []
    assert set(await runs.channel_deliveries(new, CHANNEL)) == {"https://x.test/1"}


async def test_the_pool_leaves_out_what_another_process_delivered(process: Opener) -> None:
    first, second = await process("first"), await process("second")
    for database in (first, second):
        await load_corpus(database, SEEDS, now=T0, workers=0)
    everything = digest(min_quality=0)
    await store.create_digest(first, everything, guild_id=5, now=T0)
    before = await candidates.digest_pool(second, everything, watermark=0, first_run=False, slot_time=T0)
    best = [article.url for article in before[:3]]

    assert await runs.mark_seen(first, MORNING, [*best, best[0]], now=T0) == 3
    after = await candidates.digest_pool(second, everything, watermark=0, first_run=False, slot_time=T0)
    assert [article.url for article in after] == [article.url for article in before[3:]]
    small = await candidates.digest_pool(second, everything, watermark=0, first_run=False, slot_time=T0,
                                         limit=1)
    assert [article.url for article in small] == [before[3].url]


async def test_a_reload_in_one_process_is_followed_under_the_same_number(
    process: Opener, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    newest = sorted(corpus.iterdir())[-1]
    held_back = newest.read_text(encoding="utf-8")
    newest.unlink()
    first, second = await process("first"), await process("second")

    assert (await load_corpus(first, corpus, now=T0, workers=0)).load == 1
    followed = await load_corpus(second, corpus, now=T0, workers=0, follow=await cluster_load_seq(second))
    assert followed.load == 1
    newest.write_text(held_back, encoding="utf-8")
    assert (await load_corpus(first, corpus, now=T0 + timedelta(hours=1), workers=0)).load == 2
    assert await cluster_load_seq(second) == 2 and await current_load_seq(second) == 1

    # A process that builds its corpus only now loads everything at once, yet keeps the cluster's first loads.
    late = await process("late")
    report = await load_corpus(late, corpus, now=T0 + timedelta(hours=2), workers=0,
                               follow=await cluster_load_seq(late))
    assert report.load == 2
    async with first.read() as conn:
        expected = sorted(await conn.execute_fetchall("SELECT url, first_load FROM articles"))
    async with late.read() as conn:
        assert sorted(await conn.execute_fetchall("SELECT url, first_load FROM articles")) == expected
    assert sorted(load for _, load in expected) == [1, 1, 1, 1, 2]


async def test_a_newer_postgresql_schema_is_refused(tmp_path: Path, postgres_url: str) -> None:
    await (await Database.open(tmp_path / "a.sqlite3", state_url=postgres_url)).close()
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("UPDATE schema_version SET version = 99")
    finally:
        await conn.close()
    with pytest.raises(SchemaTooNew, match="schema version 99"):
        await Database.open(tmp_path / "b.sqlite3", state_url=postgres_url)


async def test_a_failing_postgresql_migration_changes_nothing(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = migrations("migrations_pg")
    broken = type(real[0])(len(real) + 1, f"{len(real) + 1:04d}_broken.sql",
                           "CREATE TABLE half_done (id INTEGER); SELECT no_such_function();")
    monkeypatch.setattr("bot.store.postgres.migrations", lambda folder: [*real, broken])
    with pytest.raises(MigrationFailed, match=r"_broken\.sql"):
        await Database.open(tmp_path / "a.sqlite3", state_url=postgres_url)
    conn = await asyncpg.connect(postgres_url)
    try:
        assert await conn.fetchval("SELECT version FROM schema_version") == len(real)
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
    finally:
        await conn.close()


async def test_an_unreachable_postgresql_is_one_clear_error_without_the_password(tmp_path: Path) -> None:
    with pytest.raises(StateUnavailable, match=r"postgresql://bot:\*\*\*@127\.0\.0\.1:9/") as failed:
        await Database.open(tmp_path / "a.sqlite3", state_url="postgresql://bot:hunter2@127.0.0.1:9/x")
    assert "hunter2" not in str(failed.value)


def test_placeholders_are_numbered_outside_quoted_text() -> None:
    assert translate("SELECT ? WHERE a = '?' AND \"b?\" = ? AND c IN (?, ?)") == (
        "SELECT $1 WHERE a = '?' AND \"b?\" = $2 AND c IN ($3, $4)"
    )


def test_postgresql_migrations_are_numbered_from_one() -> None:
    found = migrations("migrations_pg")
    assert [migration.version for migration in found] == list(range(1, len(found) + 1))


#: Tables that stay in each process's SQLite file (the corpus and what describes it); every other table is
#: shared state and must exist, with the same columns, in PostgreSQL's migrations too.
LOCAL_TABLES = frozenset(
    {"bot_state", "loads", "files", "providers", "articles", "related", "article_topics"}
)
#: Tables only PostgreSQL has: what a cluster shares beyond one process's state.
CLUSTER_TABLES = frozenset({"schema_version", "corpus_loads", "article_first_seen"})


async def test_every_shared_table_has_the_same_columns_on_both_engines(
    tmp_path: Path, postgres_url: str
) -> None:
    db = await Database.open(tmp_path / "a.sqlite3", state_url=postgres_url)
    try:
        async with db.read() as conn:
            names = [row[0] for row in await conn.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'articles_fts%' "
                "AND name NOT LIKE 'sqlite_%'"
            )]
            sqlite_tables = {}
            for name in names:
                if name not in LOCAL_TABLES:
                    columns = await conn.execute_fetchall(f"PRAGMA table_info({name})")
                    sqlite_tables[name] = sorted(column[1] for column in columns)
        async with db.state.read() as state:
            rows = await state.fetch(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            )
    finally:
        await db.close()
    postgres_tables: dict[str, list[str]] = {}
    for table, column in rows:
        if table not in CLUSTER_TABLES:
            postgres_tables.setdefault(table, []).append(column)
    assert {name: sorted(columns) for name, columns in postgres_tables.items()} == sqlite_tables, (
        "a SQLite migration changed shared state: add the same change to bot/store/migrations_pg/"
    )
