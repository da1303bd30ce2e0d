"""Sharding end to end through the emulator: the recommended shard count, IDENTIFY with a shard (checked),
events and interactions routed by `(guild_id >> 22) % shard_count`, close code 4011, RESUME per shard,
`/admin status` per shard, and two processes on different shard slices of one SQLite file, each
scheduling and delivering only its own servers' digests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest

from bot.clock import FakeClock
from bot.config import Config, CorpusConfig, DatabaseConfig, DeliveryConfig, DigestSettings
from bot.delivery import runner_of
from bot.discord.client import DigestBot, create_bot
from bot.shards import shard_of
from bot.store import digests as store
from tests.emulator import Emulator, Guild, running_bot
from tests.emulator.gateway import HELLO, IDENTIFY, INVALID_SHARD, SHARDING_REQUIRED
from tests.emulator.state import MANAGE_GUILD

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"


def digest(name: str, channel_id: int) -> DigestSettings:
    return DigestSettings(
        name=name, channel_id=channel_id, schedule="0 8 * * *", timezone="UTC", min_quality=0, topics=(),
        providers=(), keywords=(), published_only=False, max_age_days=None, max_articles=3, max_related=3,
        backlog=3, mode="channel", log_channel_id=None,
    )


class Cluster:
    """One emulator, one corpus, one SQLite file and one clock; bots started from it share them."""

    def __init__(self, emu: Emulator, tmp_path: Path) -> None:
        self.emu = emu
        emu.gateway.max_concurrency = 16  # a large bot's identify concurrency: shards start at once
        self.corpus = tmp_path / "corpus"
        shutil.copytree(SEEDS, self.corpus)
        self.db_path = tmp_path / "data" / "digestbot.sqlite3"
        self.clock = FakeClock(datetime(2026, 6, 1, 7, 50, tzinfo=UTC))

    def config(self, *digests: DigestSettings, shard_ids: tuple[int, ...] | None = None,
               shard_count: int | None = None) -> Config:
        config = Config(corpus=CorpusConfig(path=self.corpus), database=DatabaseConfig(path=self.db_path),
                        digests=digests)
        return replace(config, discord=replace(config.discord, shard_ids=shard_ids, shard_count=shard_count))

    @contextlib.asynccontextmanager
    async def bot(self, config: Config) -> AsyncIterator[DigestBot]:
        async with running_bot(create_bot(config, clock=self.clock), self.emu) as bot:
            await runner_of(bot).wait_idle()
            yield bot
            await runner_of(bot).wait_idle()

    def posted(self, guild: Guild) -> list[Any]:
        channel = next(iter(guild.channels.values()))
        return [m for m in self.emu.channel_messages(channel) if m.author.id == self.emu.bot_user.id]


@pytest.fixture
def cluster(emulator: Emulator, tmp_path: Path) -> Cluster:
    return Cluster(emulator, tmp_path)


def general(guild: Guild) -> int:
    return int(next(iter(guild.channels.values())).id)


def text_of(result: Any) -> str:
    parts = [result.content or ""]
    for embed in result.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{field['name']}\n{field['value']}" for field in embed.get("fields", [])]
    return "\n".join(parts)


# --- one process, every shard ---------------------------------------------------------------------------


async def test_by_default_one_process_runs_the_recommended_shards_and_status_shows_each(
    cluster: Cluster,
) -> None:
    emu = cluster.emu
    emu.gateway.guilds_per_recommended_shard = 2
    guilds = [emu.add_guild(f"g{index}", shard=(index % 3, 3)) for index in range(6)]
    async with cluster.bot(cluster.config()) as bot:
        assert bot.shard_count == 3
        assert emu.requests_to("GET", "/gateway/bot")
        assert sorted(session.shard for session in emu.gateway.sessions.values()) == [(0, 3), (1, 3), (2, 3)]
        for guild in guilds:
            cached = bot.get_guild(int(guild.id))
            assert cached is not None and cached.shard_id == shard_of(int(guild.id), 3)

        admin = emu.add_member(guilds[4], permissions=MANAGE_GUILD)
        status = await emu.invoke("admin status", user=admin, guild=guilds[4])
        shards = next(f for f in status.embeds[0]["fields"] if f["name"].startswith("Shards"))
        assert shards["name"] == "Shards (all 3 shards)"
        lines = shards["value"].splitlines()
        assert [line.split(":")[0] for line in lines] == ["#0", "#1", "#2"]
        assert all("2 server(s)" in line for line in lines)
        assert lines[1].endswith("this server") and not lines[0].endswith("this server")
        assert all(" ms " in line or "unknown" in line for line in lines)


async def test_every_shard_resumes_its_own_session_and_gets_only_its_guilds_missed_events(
    cluster: Cluster,
) -> None:
    emu = cluster.emu
    first, second = emu.add_guild("first", shard=(0, 2)), emu.add_guild("second", shard=(1, 2))
    async with cluster.bot(cluster.config(shard_count=2)) as bot:
        sessions = {session.shard: session for session in emu.gateway.sessions.values()}
        assert set(sessions) == {(0, 2), (1, 2)}
        identifies = emu.gateway.identifies
        seen = {shard: session.seq for shard, session in sessions.items()}
        resumed = asyncio.Event()
        resumed_shards: set[int] = set()

        async def on_shard_resumed(shard_id: int) -> None:
            resumed_shards.add(shard_id)
            if resumed_shards == {0, 1}:
                resumed.set()

        bot.add_listener(on_shard_resumed)
        await emu.drop_gateway()
        added = emu.add_channel(second, "while-away")
        await emu.flush_events()
        await asyncio.wait_for(resumed.wait(), 10)

        assert emu.gateway.resumes == 2 and emu.gateway.identifies == identifies
        # The CHANNEL_CREATE went to shard 1's session only, and reached the bot through its resume.
        assert sessions[(1, 2)].seq > seen[(1, 2)] + 1  # the event, then RESUMED
        assert sessions[(0, 2)].seq == seen[(0, 2)] + 1  # RESUMED only
        assert bot.get_channel(int(added.id)) is not None
        assert bot.get_guild(int(first.id)) is not None


# --- the gateway's rules ----------------------------------------------------------------------------------


async def identify_and_close_code(emu: Emulator, shard: Any) -> int | None:
    async with aiohttp.ClientSession() as session, session.ws_connect(emu.ws_url) as ws:
        hello = json.loads((await ws.receive()).data)
        assert hello["op"] == HELLO
        identify = {"token": emu.token, "intents": 1, "properties": {}, "shard": shard}
        await ws.send_str(json.dumps({"op": IDENTIFY, "d": identify}))
        async with asyncio.timeout(10):  # a session that is not closed fails here
            while (await ws.receive()).type is aiohttp.WSMsgType.TEXT:
                continue
        return ws.close_code


@pytest.mark.parametrize("shard", [[2, 2], [0, 0], [-1, 2], ["0", 2], [0], [True, 2]])
async def test_an_identify_with_an_invalid_shard_is_closed_with_4010(emulator: Emulator, shard: Any) -> None:
    emulator.add_guild("news")
    assert await identify_and_close_code(emulator, shard) == INVALID_SHARD
    assert emulator.gateway.identifies == 0 and not emulator.gateway.sessions


async def test_a_connection_past_the_guild_limit_is_closed_with_4011_and_the_recommendation_avoids_it(
    cluster: Cluster,
) -> None:
    emu = cluster.emu
    emu.gateway.max_guilds_per_shard = 2
    emu.gateway.guilds_per_recommended_shard = 2
    for index in range(3):
        emu.add_guild(f"g{index}", shard=(0, 1))
    with pytest.raises(discord.ConnectionClosed) as closed:
        async with cluster.bot(cluster.config(shard_count=1)):
            pass
    assert closed.value.code == SHARDING_REQUIRED
    assert emu.gateway.closes == [SHARDING_REQUIRED]

    async with cluster.bot(cluster.config()) as bot:  # Discord's recommendation: 2 shards
        assert bot.shard_count == 2
        assert len(bot.guilds) == 3


# --- a cluster: two processes, one SQLite file -----------------------------------------------------------


async def test_two_processes_on_different_shards_each_post_only_their_servers_digests(
    cluster: Cluster,
) -> None:
    emu = cluster.emu
    zero, one = emu.add_guild("on-zero", shard=(0, 2)), emu.add_guild("on-one", shard=(1, 2))
    lost = digest("lost", 999_999_999_999_999_999)  # a channel Discord does not know: its server is unknown
    digests = (digest("zero", general(zero)), digest("one", general(one)), lost)
    first = cluster.config(*digests, shard_ids=(0,), shard_count=2)
    second = cluster.config(*digests, shard_ids=(1,), shard_count=2)
    async with cluster.bot(first) as bot_zero:
        # Config digests know only a channel: the process asked Discord for each at start, so it knows
        # "one" is not its own although that server is on no shard it runs (and no peer is up yet).
        assert bot_zero.get_guild(int(one.id)) is None
        records = {record.name: record for record in await store.list_digests(bot_zero.db)}
        assert records["zero"].guild_id == int(zero.id) and records["one"].guild_id == int(one.id)
        assert records["lost"].guild_id is None
        assert sorted(await bot_zero.digest_scheduler.refresh()) == ["lost", "zero"]
        async with cluster.bot(second) as bot_one:
            assert bot_one.get_guild(int(zero.id)) is None
            assert await bot_one.digest_scheduler.refresh() == ["one"]
            await deliver_once_each(cluster, bot_zero, bot_one, zero, one)


async def deliver_once_each(cluster: Cluster, bot_zero: DigestBot, bot_one: DigestBot, zero: Guild,
                            one: Guild) -> None:
    """The 08:00 slot: each process's sweep posts its own server's digest, and sweeping again posts
    nothing more."""
    cluster.clock.set(datetime(2026, 6, 1, 8, 0, 30, tzinfo=UTC))
    await bot_one.digest_scheduler.sweep()
    await runner_of(bot_one).wait_idle()
    assert cluster.posted(one) and not cluster.posted(zero)
    await bot_zero.digest_scheduler.sweep()
    await runner_of(bot_zero).wait_idle()
    posted_zero, posted_one = len(cluster.posted(zero)), len(cluster.posted(one))
    assert posted_zero > 0
    lost_record = await store.get_digest(bot_zero.db, "lost")
    assert lost_record is not None and lost_record.paused  # shard 0's process tried it, once

    for bot in (bot_zero, bot_one):  # both sweep again: nothing is posted twice
        await bot.digest_scheduler.sweep()
        await runner_of(bot).wait_idle()
    assert (len(cluster.posted(zero)), len(cluster.posted(one))) == (posted_zero, posted_one)


async def test_interactions_reach_the_process_of_their_server_and_work_there(cluster: Cluster) -> None:
    emu = cluster.emu
    zero, one = emu.add_guild("on-zero", shard=(0, 2)), emu.add_guild("on-one", shard=(1, 2))
    digests = (digest("one", general(one)),)
    async with (
        cluster.bot(cluster.config(*digests, shard_ids=(0,), shard_count=2)) as bot_zero,
        cluster.bot(cluster.config(*digests, shard_ids=(1,), shard_count=2)) as bot_one,
    ):
        searched = await emu.invoke("search", user=emu.add_member(zero), guild=zero, options={"query": "the"})
        assert searched.embeds and not searched.errors

        admin = emu.add_member(one, permissions=MANAGE_GUILD)
        status = await emu.invoke("admin status", user=admin, guild=one)
        text = text_of(status)
        assert "Shards (shard 1 of 2)" in text and "this server" in text and "**one**" in text
        run = await emu.invoke("admin digest run", user=admin, guild=one, options={"name": "one"})
        assert not run.errors and cluster.posted(one)

        direct = await emu.invoke("about", user=emu.add_user("someone"))  # a DM: shard 0's process
        assert direct.answered
        assert bot_zero.is_ready() and bot_one.is_ready()


async def test_each_process_posts_at_its_configured_pace(cluster: Cluster) -> None:
    cluster.emu.add_guild("news")
    config = replace(cluster.config(), delivery=DeliveryConfig(messages_per_second=12.5))
    async with cluster.bot(config) as bot:
        assert runner_of(bot).policy.messages_per_second == 12.5
