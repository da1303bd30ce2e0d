"""Delivery paths that composing outside the write lock exposes: resumes after the nonce window with parts
already recorded, a member quoting a digest's marker line, a missed slot recorded twice after a crash, two
digests in two channels, a stale plan composed again, and writes that never wait for a compose; and a
posted digest's coverage button, a lookup like any other."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot import compose as compose_module
from bot import delivery as delivery_module
from bot.render.text import discord_timestamp
from bot.store import digests as store
from bot.store import runs
from tests.e2e import test_delivery
from tests.e2e.test_delivery import (
    EVENT_TIMEOUT,
    Crash,
    World,
    crash_once,
    digest,
    ledger,
    only_run,
    planned_contents,
    reconcile_at,
    utc,
)
from tests.emulator.state import Message

#: The delivery tests' world fixture, shared.
world = test_delivery.world

SLOT = utc(2026, 6, 1, 8, 0, 5)


def crash_on_call(monkeypatch: pytest.MonkeyPatch, name: str, call: int) -> None:
    """The `call`-th call of runs.<name> dies as a process would (after Discord did its part)."""
    original = getattr(runs, name)
    calls = 0

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call:
            monkeypatch.setattr(runs, name, original)
            raise Crash(name)
        return await original(*args, **kwargs)

    monkeypatch.setattr(runs, name, counting)


def more_stories(world: World, count: int) -> None:
    """Separate stories long enough that a run of them needs several messages (6,000 characters each)."""
    for number in range(count):
        (world.corpus / f"900_story_{number}.txt").write_text(
            f"---\ntitle: \"Separate report {number} {'with a long headline ' * 10}\"\n"
            f"webUrl: \"https://example.org/report/{number}\"\npublishedDateTime: 2026-05-31T07:00:00Z\n"
            f"quality: 90\nexcerpt: \"{'A long account of what happened. ' * 30}\"\n---\n",
            encoding="utf-8",
        )


def after_the_nonce_window(world: World) -> None:
    """Half an hour later, for the bot and for Discord's nonce memory alike."""
    world.emu.clock = lambda: time.monotonic() + 3600
    world.clock.set(utc(2026, 6, 1, 8, 30))


@pytest.mark.parametrize("mode", ["channel", "thread"])
async def test_a_run_resumed_after_the_nonce_window_with_its_first_part_recorded_resends_no_part(
    world: World, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    more_stories(world, 10)
    settings = digest("morning", world.channel, mode=mode, max_articles=10, backlog=10, style="rich")
    config = world.config(settings)
    async with world.bot(config) as bot:
        crash_on_call(monkeypatch, "record_sent", 2)
        world.clock.set(SLOT)
        with pytest.raises(Crash):
            await world.runner(bot).reconcile("morning")
        claimed = await only_run(bot, "morning")
    assert claimed.messages[0].sent and not claimed.messages[1].sent
    after_the_nonce_window(world)
    async with world.bot(config) as bot:
        run = await only_run(bot, "morning")
    assert run.status == "posted"
    sent = world.posted() + (world.posted(str(run.thread_id)) if mode == "thread" else [])
    assert [int(m.id) for m in sent] == [message.message_id for message in run.messages]
    assert run.messages[0].message_id == claimed.messages[0].message_id
    posts = world.emu.requests_to("POST", r"/channels/\d+/messages")
    assert len([p for p in posts if p.status == 200]) == len(run.messages), "a part was posted twice"


async def test_a_member_quoting_a_digests_marker_line_is_never_adopted_as_the_bots_part(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = world.config(digest("morning", world.channel))
    async with world.bot(config) as bot:
        request = bot.http.request

        async def dies_before_sending(route: Any, **kwargs: Any) -> Any:
            if route.method == "POST" and route.channel_id == int(world.channel.id):
                monkeypatch.setattr(bot.http, "request", request)
                raise Crash("before the first part reached Discord")
            return await request(route, **kwargs)

        monkeypatch.setattr(bot.http, "request", dies_before_sending)
        world.clock.set(SLOT)
        with pytest.raises(Crash):
            await world.runner(bot).reconcile("morning")
        claimed = await only_run(bot, "morning")
    assert world.posted() == []
    quoter = world.emu.add_user("quoter")
    quote = Message(id=world.emu.world.snowflakes.next(), channel_id=world.channel.id,
                    guild_id=world.guild.id, author=quoter, content=planned_contents(claimed)[0])
    world.emu.world.messages[quote.id] = quote
    after_the_nonce_window(world)
    async with world.bot(config) as bot:
        run = await only_run(bot, "morning")
    assert run.status == "posted"
    assert run.messages[0].message_id != int(quote.id)
    assert [m.content for m in world.posted()] == planned_contents(run)
    looked = world.emu.requests_to("GET", rf"/channels/{world.channel.id}/messages")
    assert looked, "the marker was looked for"


async def test_one_missed_slot_recorded_twice_after_a_crash_shows_as_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = world.config(digest("morning", world.channel))
    async with world.bot(config) as bot:
        crash_once(monkeypatch, "claim_run")
        world.clock.set(utc(2026, 6, 2, 8, 0, 5))
        with pytest.raises(Crash):
            await world.runner(bot).reconcile("morning")
        await world.runner(bot).reconcile("morning")
        entries = await ledger(bot, "morning")
    assert [(entry.status, entry.skipped_count) for entry in entries] == [("skipped", 1), ("posted", None)]
    assert entries[0].skipped_first == "2026-06-01T08:00"


async def test_two_digests_in_two_channels_each_post_an_article_the_other_posted(world: World) -> None:
    other = world.emu.add_channel(world.guild, "other-news")
    config = world.config(digest("here", world.channel), digest("there", other))
    async with world.bot(config) as bot:
        await reconcile_at(world, bot, SLOT, "here")
        await reconcile_at(world, bot, SLOT, "there")
        here, there = await only_run(bot, "here"), await only_run(bot, "there")
    assert here.status == there.status == "posted"
    urls = [url for message in here.messages for url in message.planned.delivered_urls]
    assert urls and urls == [url for message in there.messages for url in message.planned.delivered_urls]
    assert len(world.posted(other)) == len(world.posted()) > 0


async def test_a_plan_gone_stale_before_its_claim_is_composed_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corpus load commits between composing and claiming: the claim refuses the stale plan and the run
    is composed again from the new load, so it posts the newcomer."""
    config = world.config(digest("morning", world.channel, backlog=0))
    newcomer = "https://example.org/2026/06/01/late-arrival"
    async with world.bot(config) as bot:
        compose_next = compose_module.compose_next
        composed: list[int] = []

        async def load_lands_meanwhile(*args: Any, **kwargs: Any) -> Any:
            plan = await compose_next(*args, **kwargs)
            composed.append(len(plan[0].messages))
            if len(composed) == 1:
                (world.corpus / "999_late.txt").write_text(
                    "---\ntitle: \"A late arrival\"\n"
                    f"webUrl: \"{newcomer}\"\npublishedDateTime: 2026-06-01T07:00:00Z\nquality: 99\n---\n",
                    encoding="utf-8",
                )
                await bot.refresh_corpus()
            return plan

        monkeypatch.setattr(delivery_module, "compose_next", load_lands_meanwhile)
        await reconcile_at(world, bot, SLOT, "morning")
        run = await only_run(bot, "morning")
    assert composed[0] == 0 and len(composed) == 2
    assert run.status == "posted"
    assert [url for message in run.messages for url in message.planned.delivered_urls] == [newcomer]


async def test_a_write_never_waits_for_a_compose(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    config = world.config(digest("morning", world.channel), digest("evening", world.channel))
    async with world.bot(config) as bot:
        compose_next = compose_module.compose_next
        composing, release = asyncio.Event(), asyncio.Event()

        async def slow_compose(*args: Any, **kwargs: Any) -> Any:
            composing.set()
            await release.wait()
            return await compose_next(*args, **kwargs)

        monkeypatch.setattr(delivery_module, "compose_next", slow_compose)
        world.clock.set(SLOT)
        run = asyncio.ensure_future(world.runner(bot).reconcile("morning"))
        await asyncio.wait_for(composing.wait(), EVENT_TIMEOUT)
        paused = await asyncio.wait_for(
            store.set_paused(bot.db, "evening", "paused by an admin", now=SLOT), EVENT_TIMEOUT
        )
        assert paused.paused_reason == "paused by an admin"
        release.set()
        outcomes = await run
    assert [outcome.status for outcome in outcomes] == ["posted"]


async def test_a_coverage_button_click_draws_on_the_members_lookup_bucket(world: World) -> None:
    config = world.config(digest("morning", world.channel, max_related=0))
    config = replace(config, lookups=replace(config.lookups, cooldown_uses=1, cooldown_seconds=30))
    async with world.bot(config) as bot:
        await reconcile_at(world, bot, SLOT, "morning")
        (posted,) = world.posted()
        member = world.emu.add_member(world.guild)
        button = "digestbot:coverage:48933d0774f4b3c7"
        first = await world.emu.click(posted, button, user=member)
        again = await world.emu.click(posted, button, user=member)
    assert first.ephemeral and first.embeds[0]["title"].startswith("NOPD has used facial recognition")
    retry_at = discord_timestamp(SLOT + timedelta(seconds=30), "R")
    assert again.ephemeral
    assert again.embeds[0]["description"] == f"You're going a bit fast. Try again in 30 s ({retry_at})."
