"""Bot processes sharing their state in PostgreSQL, end to end through the emulator: each process has its own
SQLite corpus; two processes on different shards each post only their servers' digests; a rolling restart
(old and new process both running) posts every slot once; a run left half-delivered by a process that
died is finished by its successor on the same shards without a duplicate; a corpus reload in one process
reaches the other."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.config import Config, CorpusConfig, DatabaseConfig, DigestSettings
from bot.delivery import DeliveryPolicy, runner_of
from bot.discord.client import DigestBot, create_bot
from bot.render.digest import parse_header
from bot.shards import ShardSlice
from bot.store import digests as store
from bot.store import runs
from bot.store.articles import current_load_seq
from tests.emulator import Channel, Emulator, running_bot

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


class Crash(Exception):
    pass


class Cluster:
    """One emulator, one corpus folder, one PostgreSQL database and one clock; every bot process started
    from it has its own SQLite file."""

    def __init__(self, emu: Emulator, tmp_path: Path, state_url: str) -> None:
        self.emu = emu
        self.tmp_path = tmp_path
        self.state_url = state_url
        self.corpus = tmp_path / "corpus"
        shutil.copytree(SEEDS, self.corpus)
        self.clock = FakeClock(utc(2026, 6, 1, 7, 50))
        emu.gateway.max_concurrency = 16  # a large bot's identify concurrency: shards start at once
        self.guild = emu.add_guild("news")
        self.channel = next(iter(self.guild.channels.values()))

    def digest(self, name: str, schedule: str, channel: Channel | None = None) -> DigestSettings:
        return DigestSettings(
            name=name, channel_id=int((channel or self.channel).id), schedule=schedule, timezone="UTC",
            min_quality=0,
            topics=(), providers=(), keywords=(), published_only=False, max_age_days=None, max_articles=2,
            max_related=3, backlog=5, mode="channel", log_channel_id=None,
        )

    def config(self, process: str, *digests: DigestSettings, shards: ShardSlice | None = None) -> Config:
        database = DatabaseConfig(path=self.tmp_path / process / "digestbot.sqlite3", url=self.state_url)
        config = Config(corpus=CorpusConfig(path=self.corpus), database=database, digests=digests)
        if shards is not None:
            discord = replace(config.discord, shard_ids=shards.ids, shard_count=shards.count)
            config = replace(config, discord=discord)
        return config

    @contextlib.asynccontextmanager
    async def process(
        self, name: str, *digests: DigestSettings, shards: ShardSlice | None = None
    ) -> AsyncIterator[DigestBot]:
        config = self.config(name, *digests, shards=shards)
        async with running_bot(create_bot(config, clock=self.clock), self.emu) as bot:
            runner = runner_of(bot)
            runner.policy = DeliveryPolicy(sleep=self.no_wait)
            await runner.wait_idle()
            yield bot
            await runner.wait_idle()

    @staticmethod
    async def no_wait(_seconds: float) -> None:
        return None

    async def add_article(self, number: int, *, reloading: DigestBot, following: DigestBot) -> None:
        """A new article in the corpus folder, reloaded by one process and followed by the other."""
        url = f"https://example.org/2026/06/01/newcomer-{number}"
        (self.corpus / f"900_newcomer_{number}.txt").write_text(
            f"---\ntitle: \"Newcomer {number}\"\nwebUrl: \"{url}\"\n"
            "publishedDateTime: 2026-06-01T07:00:00Z\nquality: 90\n---\n",
            encoding="utf-8",
        )
        result = await reloading.get_cog("AdminOps").reload_corpus_now(force=False)
        assert result.report is not None and result.report.added == 1
        assert await following.follow_cluster_load()

    def posted(self, channel: Channel | None = None) -> list[Any]:
        messages = self.emu.channel_messages(channel or self.channel)
        return [m for m in messages if m.author.id == self.emu.bot_user.id]

    def posted_slots(self) -> list[datetime | None]:
        return [header[1] for m in self.posted() if (header := parse_header(m.content)) is not None]


@pytest.fixture
def cluster(emulator: Emulator, tmp_path: Path, postgres_url: str) -> Cluster:
    return Cluster(emulator, tmp_path, postgres_url)


async def sweep_together(*bots: DigestBot) -> None:
    """Every process sweeps at the same moment, as two live processes would."""
    await asyncio.gather(*(bot.digest_scheduler.sweep() for bot in bots))
    await asyncio.gather(*(runner_of(bot).wait_idle() for bot in bots))


async def test_two_processes_on_different_shards_each_post_only_their_servers_digests(
    cluster: Cluster,
) -> None:
    emu = cluster.emu
    zero, one = emu.add_guild("on-zero", shard=(0, 2)), emu.add_guild("on-one", shard=(1, 2))
    channels = {name: next(iter(guild.channels.values())) for name, guild in (("zero", zero), ("one", one))}
    digests = tuple(cluster.digest(name, "0 8 * * *", channel) for name, channel in channels.items())
    async with (
        cluster.process("zero", *digests, shards=ShardSlice((0,), 2)) as bot_zero,
        cluster.process("one", *digests, shards=ShardSlice((1,), 2)) as bot_one,
    ):
        records = {record.name: record for record in await store.list_digests(bot_one.db)}
        assert records["zero"].guild_id == int(zero.id) and records["one"].guild_id == int(one.id)
        assert await bot_zero.digest_scheduler.refresh() == ["zero"]
        assert await bot_one.digest_scheduler.refresh() == ["one"]

        cluster.clock.set(utc(2026, 6, 1, 8, 0, 30))
        await sweep_together(bot_one)
        assert cluster.posted(channels["one"]) and not cluster.posted(channels["zero"])
        await sweep_together(bot_zero)
        counts = [len(cluster.posted(channel)) for channel in channels.values()]
        assert all(counts)
        await sweep_together(bot_zero, bot_one)  # both sweep again: nothing is posted twice
        assert [len(cluster.posted(channel)) for channel in channels.values()] == counts
        ledger = [entry for name in channels for entry in await runs.delivery_log(bot_zero.db, name)]
        assert sorted((entry.slot_key, entry.status) for entry in ledger if entry.kind != "skipped") == [
            ("2026-06-01T08:00", "posted")
        ] * 2


async def test_a_rolling_restart_posts_every_slot_once(cluster: Cluster) -> None:
    hourly = cluster.digest("hourly", "0 * * * *")
    async with cluster.process("old", hourly) as old:
        await sweep_together(old)
        cluster.clock.set(utc(2026, 6, 1, 8, 0, 10))
        await sweep_together(old)
        async with cluster.process("new", hourly) as new:
            for hour in (8, 9, 10):  # both alive for a while: each slot is claimed by exactly one
                cluster.clock.set(utc(2026, 6, 1, hour, 0, 20))
                await sweep_together(old, new)
                await sweep_together(new, old)
                await cluster.add_article(hour, reloading=old, following=new)
            await old.close()
            cluster.clock.set(utc(2026, 6, 1, 11, 0, 5))
            await sweep_together(new)
            entries = [e for e in await runs.delivery_log(new.db, "hourly", limit=50) if e.kind != "skipped"]

    slots = [f"2026-06-01T{hour:02d}:00" for hour in (8, 9, 10, 11)]
    assert sorted((entry.slot_key, entry.status) for entry in entries) == [(slot, "posted") for slot in slots]
    later = [m for m in cluster.posted() if "newcomer" in str(m.embeds)]
    assert len(later) == 3, "each hour's new article is posted in the next slot, by whichever process"
    per_slot = [entry.messages_sent for entry in sorted(entries, key=lambda entry: entry.slot_key)]
    assert len(cluster.posted()) == sum(per_slot)
    assert len(set(cluster.posted_slots())) == len(slots), cluster.posted_slots()


async def test_a_run_claimed_by_a_process_that_died_is_finished_by_its_successor_without_a_duplicate(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    morning = cluster.digest("morning", "0 8 * * *")
    record_sent = runs.record_sent

    async def dies_after_discord_accepted(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(runs, "record_sent", record_sent)
        raise Crash("killed between Discord's answer and the ledger")

    async with cluster.process("first", morning) as first:
        monkeypatch.setattr(runs, "record_sent", dies_after_discord_accepted)
        cluster.clock.set(utc(2026, 6, 1, 8, 0, 5))
        with pytest.raises(Crash):
            await runner_of(first).reconcile("morning")
        [claimed] = await runs.unfinished_runs(first.db, "morning")
    assert len(cluster.posted()) == 1

    cluster.clock.set(utc(2026, 6, 1, 8, 2))
    async with cluster.process("successor", morning) as successor:
        await sweep_together(successor)
        run = await runs.get_run(successor.db, claimed.id)
    assert run.status == "posted"
    assert [m.content for m in cluster.posted()] == [m.planned.payload["content"] for m in run.messages]
    assert set(cluster.posted_slots()) == {utc(2026, 6, 1, 8, 0)}


async def test_a_corpus_reload_in_one_process_reaches_the_other(cluster: Cluster) -> None:
    async with cluster.process("first") as first, cluster.process("second") as second:
        assert await current_load_seq(first.db) == await current_load_seq(second.db) == 1
        assert not await second.follow_cluster_load()
        cluster.clock.set(cluster.clock() + timedelta(minutes=1))
        await cluster.add_article(1, reloading=first, following=second)
        assert await current_load_seq(second.db) == await current_load_seq(first.db) == 2
        async with second.db.read() as conn:
            rows = await conn.execute_fetchall(
                "SELECT first_load FROM articles WHERE url = 'https://example.org/2026/06/01/newcomer-1'"
            )
        assert [row[0] for row in rows] == [2]
        assert not await second.follow_cluster_load(), "a load is followed once"
